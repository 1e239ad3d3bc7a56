// llama-quantize's command line as `quantize` reads it: the positionals IN [OUT] TYPE
// [NTHREADS], and the PATTERN=TYPE lists of --tensor-type and --tensor-type-file in the order given.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "pipeline/llama/preset.hpp"
#include "quantflow/status.hpp"

namespace quantflow::cli {

struct QuantizeArgs {
  std::string input, output, type;
  int threads = 0;
  bool output_named = true;  // false: OUT was omitted and `output` is the default
};

// When the second positional names a type, the output goes beside the input as
// ggml-model-<TYPE>.gguf. `preset` receives the preset TYPE names.
Result<QuantizeArgs> resolve_positionals(const std::vector<std::string>& positionals,
                                         std::optional<pipeline::Preset>& preset);

// "KEY=VALUE" -> (KEY, VALUE), both non-empty; otherwise a usage error saying `option` must be `form`.
Result<std::pair<std::string, std::string>> split_assignment(const std::string& text, const char* option,
                                                             const char* form);

// Every PATTERN=TYPE of --tensor-type and --tensor-type-file, in command-line order (the first
// match wins, so the order matters). A file holds PATTERN=TYPE items separated by white space,
// as llama-quantize reads it.
Result<std::vector<std::pair<std::string, std::string>>> ordered_tensor_types(
    const std::vector<boost::program_options::option>& given);

}  // namespace quantflow::cli
