// The checks run on one codec. Descriptor checks read the descriptor only; behaviour checks
// call encode and decode (each in its own child process, see isolation.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "conformance/conformance.hpp"
#include "conformance/isolation.hpp"
#include "quantflow/codec.hpp"

namespace quantflow::conformance {

// What every behaviour check of one codec shares.
struct CodecSubject {
  const CodecDescriptor& codec;
  int64_t n_per_row;
  std::vector<float> imatrix;  // standard_imatrix(n_per_row)
  double bound;                // accuracy_bound() for this codec's bits per element

  explicit CodecSubject(const CodecDescriptor& c);
  bool imatrix_required() const { return (codec.flags & QF_CODEC_IMATRIX_REQUIRED) != 0; }
  // What value checks pass to encode: the standard imatrix only when the codec needs one.
  const float* encode_imatrix() const { return imatrix_required() ? imatrix.data() : nullptr; }
};

// Value checks (codec_value_checks.cpp): what decode gives for standard inputs.
Outcome check_zeros(const CodecSubject& s);
Outcome check_constants(const CodecSubject& s);
Outcome check_ramp(const CodecSubject& s);
Outcome check_random(const CodecSubject& s);
Outcome check_extremes(const CodecSubject& s);
Outcome check_subnormals(const CodecSubject& s);
Outcome check_non_finite(const CodecSubject& s);

// Contract checks (codec_contract_checks.cpp): error values, determinism, thread safety.
Outcome check_imatrix(const CodecSubject& s);
Outcome check_bad_row_length(const CodecSubject& s);
Outcome check_determinism(const CodecSubject& s);
Outcome check_thread_safety(const CodecSubject& s);

// Names the other plugins on the search path provide, with the file providing each: a name
// taken there would make quantflow refuse this plugin (the first in search order wins).
using NameOwners = std::map<std::string, std::string>;

// Descriptor checks (descriptor_checks.cpp).
std::vector<Check> check_codec_descriptor(const CodecDescriptor& codec, const NameOwners& others);

// Every check of one codec, in report order (codec_check_list.cpp).
std::vector<Check> check_codec(const CodecDescriptor& codec, const NameOwners& others);

}  // namespace quantflow::conformance
