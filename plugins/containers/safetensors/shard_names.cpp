#include "shard_names.hpp"

#include <filesystem>
#include <regex>

namespace quantflow::safetensors {

namespace {

namespace fs = std::filesystem;

std::string five_digits(unsigned long value) {
  std::string text = std::to_string(value);
  return std::string(text.size() < 5 ? 5 - text.size() : 0, '0') + text;
}

}  // namespace

Result<std::optional<std::string>> index_of_shard(const std::string& path) {
  static const std::regex kShardName(R"((.+)-(\d{5})-of-(\d{5})\.safetensors)");
  const fs::path file(path);
  const std::string name = file.filename().string();
  std::smatch match;
  if (!std::regex_match(name, match, kShardName)) return std::optional<std::string>();
  const unsigned long number = std::stoul(match[2].str()), count = std::stoul(match[3].str());
  const std::string prefix = match[1].str();
  const fs::path index = file.parent_path() / (prefix + ".safetensors.index.json");
  std::error_code ec;
  if (count < 2 || number == 0 || number > count || !fs::is_regular_file(index, ec))
    return std::optional<std::string>();
  if (number != 1)
    return bad_input("this is shard " + std::to_string(number) + " of " + std::to_string(count) +
                     " of a split checkpoint; give the first shard, " + prefix + "-00001-of-" + five_digits(count) +
                     ".safetensors, or its index, " + index.filename().string())
        .with_file(path);
  return std::optional<std::string>(index.string());
}

}  // namespace quantflow::safetensors
