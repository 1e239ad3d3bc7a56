// The checks run on one transcoder (quantflow/transcoder.hpp): its descriptor, then, when both
// of its codecs are loaded (from the plugin itself or from the plugin search path), its
// behaviour against their decoders: row lengths refused as values, decoded values equal bit
// for bit (the exactness contract), QF_CODEC_INEXACT only when not flagged always exact, and
// output that depends on nothing but the input. Each behaviour check runs in a child process.
#pragma once

#include <vector>

#include "conformance/codec_checks.hpp"
#include "conformance/conformance.hpp"
#include "quantflow/container.hpp"
#include "quantflow/transcoder.hpp"

namespace quantflow::conformance {

// `others`: "from -> to" pairs other plugins on the search path provide, with their files.
std::vector<Check> check_transcoder(const TranscoderDescriptor& transcoder, const CodecCatalog& codecs,
                                    const NameOwners& others);

}  // namespace quantflow::conformance
