// Files a folder output carries over unchanged from its input folder (a tokenizer, generation
// settings), as the output container's QfFolderLayout::carried_files names them, so that the
// written folder loads on its own. Only a conversion with exactly one input, a folder, carries
// anything: with several inputs no folder is "the" model's.
#pragma once

#include <string>
#include <vector>

#include "core/atomic_output.hpp"
#include "pipeline/engine/conversion.hpp"

namespace quantflow::pipeline {

struct CarriedFile {
  std::string name;    // the file name, the same in both folders
  std::string source;  // the file to read: the input's entry, or the file its link leads to
  std::string target;  // inside conversion.folder
};

// The files to carry, sorted by name; none unless the output is a folder whose container
// declares patterns and the only input is a folder. Refuses, naming the link, a matching link
// that leads outside the input folder or nowhere. Reads only the input folder's listing.
Result<std::vector<CarriedFile>> plan_carried_files(const Conversion& conversion);

// Copies each file byte for byte into an atomic file at its target.
Status copy_carried_files(const std::vector<CarriedFile>& files, const std::vector<std::string>& input_paths,
                          core::OutputSet& output);

// One line for a command's summary: the files carried and from where, or why a model made from
// several inputs carried none; "" when there is nothing to say.
std::string carried_summary(const Conversion& conversion, const std::vector<std::string>& carried);

}  // namespace quantflow::pipeline
