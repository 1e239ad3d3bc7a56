#include "pipeline/llama/hf_checkpoint/adapt.hpp"

#include <filesystem>

#include "pipeline/llama/hf_checkpoint/checkpoint_reader.hpp"

namespace quantflow::pipeline::hf {

bool is_gguf(const ContainerDescriptor& output) { return std::string_view(output.name) == "gguf"; }

namespace {

// The checkpoint `input` holds when it is bound for GGUF, else nullopt.
Result<std::optional<Checkpoint>> checkpoint_for(const std::string& input, const ContainerDescriptor& output) {
  std::error_code ec;
  if (!is_gguf(output) || !std::filesystem::is_directory(input, ec)) return std::optional<Checkpoint>();
  return load_checkpoint(input);
}

}  // namespace

Result<std::unique_ptr<Reader>> adapt_checkpoint(const core::Registry& registry, const std::string& input,
                                                 std::unique_ptr<Reader> reader, const ContainerDescriptor& output) {
  QF_ASSIGN_OR_RETURN(auto checkpoint, checkpoint_for(input, output));
  if (!checkpoint) return reader;
  QF_ASSIGN_OR_RETURN(auto adapted,
                      CheckpointReader::open(std::move(*checkpoint), std::move(reader), registry, output));
  return std::unique_ptr<Reader>(std::move(adapted));
}

Result<std::shared_ptr<const Reader>> adapt_shared_checkpoint(const core::Registry& registry, const std::string& input,
                                                              std::shared_ptr<const Reader> reader,
                                                              const ContainerDescriptor& output) {
  QF_ASSIGN_OR_RETURN(auto checkpoint, checkpoint_for(input, output));
  if (!checkpoint) return reader;
  QF_ASSIGN_OR_RETURN(auto adapted,
                      CheckpointReader::open(std::move(*checkpoint), std::move(reader), registry, output));
  return std::shared_ptr<const Reader>(std::move(adapted));
}

}  // namespace quantflow::pipeline::hf
