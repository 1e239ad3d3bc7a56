#include "pipeline/llama/hf_checkpoint/adapt.hpp"

#include <filesystem>

#include "pipeline/llama/hf_checkpoint/checkpoint_reader.hpp"

namespace quantflow::pipeline::hf {

bool is_gguf(const ContainerDescriptor& output) { return std::string_view(output.name) == "gguf"; }

Result<std::unique_ptr<Reader>> adapt_checkpoint(const core::Registry& registry, const std::string& input,
                                                 std::unique_ptr<Reader> reader, const ContainerDescriptor& output) {
  std::error_code ec;
  if (!is_gguf(output) || !std::filesystem::is_directory(input, ec)) return reader;
  QF_ASSIGN_OR_RETURN(auto checkpoint, load_checkpoint(input));
  if (!checkpoint) return reader;
  QF_ASSIGN_OR_RETURN(auto adapted,
                      CheckpointReader::open(std::move(*checkpoint), std::move(reader), registry, output));
  return std::unique_ptr<Reader>(std::move(adapted));
}

}  // namespace quantflow::pipeline::hf
