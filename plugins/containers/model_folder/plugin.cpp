// The "mlx" container: model folders as mlx-lm and Hugging Face lay them out (config.json and
// safetensors weights, single or sharded). Reads plain, MLX-quantized, AutoAWQ and GPTQ
// folders, quantized modules presented as single tensors of the MLX or zero-point codecs;
// writes MLX folders.
#include <exception>

#include "folder/folder_files.hpp"
#include "quantflow/plugin.hpp"
#include "reading/folder_reader.hpp"
#include "writing/folder_files_text.hpp"
#include "writing/mlx_writer.hpp"

namespace {

using namespace quantflow;

// A model folder is never a single file's bytes.
int32_t probe(const unsigned char*, size_t) { return 0; }

int32_t probe_folder(const char* path) { return model_folder::model_folder_score(path); }

Result<std::unique_ptr<Reader>> open_reader(const std::string& path, const CodecCatalog& catalog) {
  try {
    QF_ASSIGN_OR_RETURN(auto reader, model_folder::FolderReader::open(path, catalog));
    return std::unique_ptr<Reader>(std::move(reader));
  } catch (const std::exception& e) {
    return internal_error(std::string("model folder reader failed: ") + e.what()).with_file(path);
  }
}

Result<std::unique_ptr<Writer>> create_writer(OutputSink& sink, const CodecCatalog& catalog, const WriterOptions&) {
  return std::unique_ptr<Writer>(new model_folder::MlxWriter(sink, catalog));
}

// mlx-lm's shard names; every shard is a complete safetensors file.
const QfSplitConvention kSplit = {
    .file_name = "{stem}-{number:05d}-of-{count:05d}{extension}",
    .metadata_in_every_file = 1,
    .split_keys = nullptr,
    .tag_file = nullptr,
    .index_suffix = ".index.json",
    .index_text = model_folder::weights_index_text,
};

const QfCompanionFile kCompanions[] = {{model_folder::kConfigFile, model_folder::config_json_text}};

// What mlx_lm.load and transformers read beside the weights and config.json: the tokenizer
// (fast, SentencePiece, BPE vocabularies, tiktoken ranks), its chat template, generation
// settings and a multimodal model's preprocessor. The host copies them from an input folder.
const char* const kCarriedFiles[] = {
    "tokenizer.json",      "tokenizer_config.json",
    "tokenizer.model",     "special_tokens_map.json",
    "added_tokens.json",   "vocab.json",
    "merges.txt",          "generation_config.json",
    "chat_template.jinja", "chat_template.json",
    "*.tiktoken",          "preprocessor_config.json",
};

const QfFolderLayout kFolder = {
    .weights_file = model_folder::kWeightsFile,
    .companions = kCompanions,
    .n_companions = std::size(kCompanions),
    .carried_files = kCarriedFiles,
    .n_carried_files = std::size(kCarriedFiles),
};

const QfContainerDescriptor kContainer = {
    .name = model_folder::kContainerName,
    .description =
        "MLX / Hugging Face model folder: config.json + safetensors (reads plain and MLX-quantized "
        "folders, writes MLX folders)",
    .extensions = "",
    .probe = probe,
    .open_reader = open_reader,
    .create_writer = create_writer,
    .split = &kSplit,
    .probe_folder = probe_folder,
    .folder = &kFolder,
};

}  // namespace

QUANTFLOW_CONTAINER_PLUGIN("container-model_folder", "0.1.0", "model folder container (MLX)", kContainer)
