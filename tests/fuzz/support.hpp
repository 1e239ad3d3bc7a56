// What the fuzz entry points share: a scratch directory for parsers that read from a path,
// a codec catalog, and the checks an accepted input must pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "quantflow/container.hpp"

namespace qf_fuzz {

// Writes the bytes to `name` inside this process's scratch directory (removed at exit) and
// returns the path. The same name is reused by every run, so nothing piles up.
std::string scratch_file(const std::string& name, const uint8_t* data, size_t size);
std::string scratch_dir();

// A catalog holding the f32 codec (imatrix files are f32), linked in from its plugin, and the
// geometry of the other codec-backed types the seeds use (f16, bf16, q8_0, apr_q4, apr_q8).
const quantflow::CodecCatalog& catalog();

// Traps unless every tensor of `reader` can be read and lies inside [begin, begin + size)
// of one of the files it came from: a parser that accepts a file must keep that promise.
void check_reader(const quantflow::Reader& reader);

}  // namespace qf_fuzz
