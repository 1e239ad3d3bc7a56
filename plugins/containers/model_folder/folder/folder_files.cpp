#include "folder/folder_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "safetensors/index_reader.hpp"
#include "safetensors/json_text.hpp"
#include "safetensors/reader.hpp"

namespace quantflow::model_folder {

namespace fs = std::filesystem;

namespace {

// Every *.safetensors file directly in `folder`, sorted by name.
std::vector<fs::path> safetensors_files(const std::string& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace

int32_t model_folder_score(const std::string& folder) {
  if (!is_file(fs::path(folder) / kWeightsIndex) && safetensors_files(folder).empty()) return 0;
  return is_file(fs::path(folder) / kConfigFile) ? 60 : 5;
}

Result<nlohmann::json> parse_json_file(std::istream& in, const std::string& path) {
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    return bad_input("not valid JSON: " + safetensors::json_error_text(e.what())).with_file(path);
  }
}

Result<nlohmann::json> load_config(const std::string& folder) {
  const std::string path = (fs::path(folder) / kConfigFile).string();
  std::ifstream in(path, std::ios::binary);
  if (!in && is_file(fs::path(folder) / "adapter_config.json"))
    return bad_input(
               "this is a PEFT adapter folder, not a model: convert it with `quantflow convert ADAPTER_DIR out.gguf "
               "--base BASE_DIR` (docs/hf.md)")
        .with_file(folder);
  if (!in) return bad_input("a model folder needs a config.json; there is none").with_file(folder);
  QF_ASSIGN_OR_RETURN(auto config, parse_json_file(in, path));
  if (!config.is_object()) return bad_input("config.json must hold a JSON object").with_file(path);
  return config;
}

Result<std::unique_ptr<Reader>> open_weights(const std::string& folder, const CodecCatalog& catalog) {
  const fs::path index = fs::path(folder) / kWeightsIndex;
  if (is_file(index)) {
    QF_ASSIGN_OR_RETURN(auto reader, safetensors::IndexReader::open(index.string(), catalog));
    return std::unique_ptr<Reader>(std::move(reader));
  }
  fs::path weights = fs::path(folder) / kWeightsFile;
  if (!is_file(weights)) {
    const auto files = safetensors_files(folder);
    if (files.empty()) return bad_input("no safetensors weights in the model folder").with_file(folder);
    if (files.size() > 1)
      return bad_input("several safetensors files but no model.safetensors.index.json to say how they fit together")
          .with_file(folder);
    weights = files.front();
  }
  QF_ASSIGN_OR_RETURN(auto reader, safetensors::FileReader::open(weights.string(), catalog));
  return std::unique_ptr<Reader>(std::move(reader));
}

}  // namespace quantflow::model_folder
