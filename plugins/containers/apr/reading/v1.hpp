// Files with an APR magic that are not v2 tensor containers (§9): APR v1 ("APRN"), a single
// serialized aprender model, and "APR\0" files of version 1 such as aprender-tsp's solver
// files. They are recognised so that the refusal says what they are.
#pragma once

#include <span>

#include "quantflow/input_file.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

// The refusal for an "APRN" file: its header fields and whether its trailer CRC holds.
Status refuse_v1(const InputFile& file);

// The refusal for an "APR\0" file whose version is 1 (its model type tag named).
Status refuse_version1(const InputFile& file);

}  // namespace quantflow::apr
