#include "pipeline/llama/hf_checkpoint/special_tokens.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace quantflow::pipeline::hf {

namespace {

constexpr const char* kTokenTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};

// A tokenizer_config.json token is "text" or {"content": "text", ...}.
std::string token_text(const nlohmann::json& config, const std::string& key) {
  const nlohmann::json* value = first_present(config, {key.c_str()});
  if (value == nullptr) return "";
  if (value->is_string()) return value->get<std::string>();
  if (value->is_object() && value->contains("content") && (*value)["content"].is_string())
    return (*value)["content"].get<std::string>();
  return "";
}

class Collector {
 public:
  Collector(SpecialTokens& out, std::optional<uint64_t> limit) : out_(out), limit_(limit) {}

  bool has(const std::string& type) const {
    for (const auto& [t, id] : out_.ids)
      if (t == type) return true;
    return false;
  }
  // The converter accepts non-negative integer ids (below the vocabulary on its SentencePiece path).
  void set_id(const std::string& type, const nlohmann::json* id) {
    if (has(type) || id == nullptr || !id->is_number_integer() || id->get<int64_t>() < 0) return;
    const uint64_t value = id->get<uint64_t>();
    if ((limit_ && value >= *limit_) || value > UINT32_MAX) return;
    out_.ids.emplace_back(type, static_cast<uint32_t>(value));
  }

 private:
  SpecialTokens& out_;
  std::optional<uint64_t> limit_;
};

// Step 1: what tokenizer.json's post-processor adds around a single sequence.
void read_post_processor(const nlohmann::json& tokenizer, const nlohmann::json& config, SpecialTokens& out) {
  const nlohmann::json* processor = first_present(tokenizer, {"post_processor"});
  if (processor == nullptr || !processor->is_object()) return;
  const nlohmann::json steps =
      processor->contains("processors") ? (*processor)["processors"] : nlohmann::json::array({*processor});
  const std::string bos = token_text(config, "bos_token"), cls = token_text(config, "cls_token");
  const std::string eos = token_text(config, "eos_token");
  for (const auto& step : steps) {
    if (!step.is_object()) continue;
    const std::string type = step.value("type", std::string());
    if (type == "RobertaProcessing") {
      for (const char* flag : {"bos", "eos", "sep"}) out.set_flag(flag, true);
    } else if (type == "TemplateProcessing") {
      const nlohmann::json single = step.value("single", nlohmann::json::array());
      if (!single.is_array() || single.size() < 2) continue;
      auto special_id = [](const nlohmann::json& item) -> std::string {
        if (!item.is_object() || !item.contains("SpecialToken")) return "";
        return item["SpecialToken"].value("id", std::string());
      };
      if (const std::string first = special_id(single.front()); !first.empty())
        out.set_flag("bos", first == bos || first == cls);
      if (const std::string last = special_id(single.back()); !last.empty()) out.set_flag("eos", last == eos);
    }
  }
}

Result<std::optional<std::string>> read_optional_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<std::string>();
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

// tokenizer_config.json's chat_template (a string or a list of {name, template}), else
// chat_template.jinja, else chat_template.json's chat_template.
Status read_chat_template(const Checkpoint& checkpoint, const nlohmann::json& config, SpecialTokens& out) {
  const std::string config_path = checkpoint.file("tokenizer_config.json");
  if (const nlohmann::json* chat = first_present(config, {"chat_template"})) {
    if (chat->is_string()) {
      out.chat_templates.emplace_back("", chat->get<std::string>());
      return {};
    }
    if (!chat->is_array()) return bad_input("chat_template is neither a string nor a list").with_file(config_path);
    for (const auto& entry : *chat) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
          !entry["template"].is_string())
        return bad_input("a chat_template entry is not {name, template}").with_file(config_path);
      const std::string name = entry["name"].get<std::string>();
      out.chat_templates.emplace_back(name == "default" ? "" : name, entry["template"].get<std::string>());
    }
    return {};
  }
  QF_ASSIGN_OR_RETURN(const auto jinja, read_optional_text(checkpoint.file("chat_template.jinja")));
  if (jinja) {
    out.chat_templates.emplace_back("", *jinja);
    return {};
  }
  const std::string json_path = checkpoint.file("chat_template.json");
  QF_ASSIGN_OR_RETURN(const auto json, read_json_file(json_path));
  if (json && json->contains("chat_template")) {
    if (!(*json)["chat_template"].is_string()) return bad_input("chat_template is not a string").with_file(json_path);
    out.chat_templates.emplace_back("", (*json)["chat_template"].get<std::string>());
  }
  return {};
}

}  // namespace

void SpecialTokens::set_flag(const std::string& type, bool value) {
  for (auto& [t, v] : add_flags)
    if (t == type) {
      v = value;
      return;
    }
  add_flags.emplace_back(type, value);
}

Result<SpecialTokens> read_special_tokens(const Checkpoint& checkpoint, std::optional<uint64_t> vocab_limit) {
  SpecialTokens out;
  Collector ids(out, vocab_limit);
  QF_ASSIGN_OR_RETURN(const auto tokenizer, read_json_file(checkpoint.file("tokenizer.json")));
  QF_ASSIGN_OR_RETURN(auto config_file, read_json_file(checkpoint.file("tokenizer_config.json")));
  const nlohmann::json config = config_file && config_file->is_object() ? *config_file : nlohmann::json::object();
  if (tokenizer) read_post_processor(*tokenizer, config, out);

  QF_RETURN_IF_ERROR(read_chat_template(checkpoint, config, out));
  for (const char* type : kTokenTypes) {
    const std::string flag = std::string("add_") + type + "_token";
    if (const nlohmann::json* value = first_present(config, {flag.c_str()}); value != nullptr && value->is_boolean())
      out.set_flag(type, value->get<bool>());
  }
  // Token texts name ids only through tokenizer.json's added_tokens.
  if (tokenizer && tokenizer->contains("added_tokens") && (*tokenizer)["added_tokens"].is_array())
    for (const char* type : kTokenTypes) {
      const std::string text = token_text(config, std::string(type) + "_token");
      if (text.empty()) continue;
      for (const auto& added : (*tokenizer)["added_tokens"])
        if (added.is_object() && added.value("content", std::string()) == text) {
          ids.set_id(type, added.contains("id") ? &added["id"] : nullptr);
          break;
        }
    }
  // Last, config.json's <type>_token_id, from text_config when the root has none.
  const nlohmann::json text_config = checkpoint.config.value("text_config", nlohmann::json::object());
  for (const char* type : kTokenTypes) {
    const std::string key = std::string(type) + "_token_id";
    const nlohmann::json* id = first_present(checkpoint.config, {key.c_str()});
    ids.set_id(type, id != nullptr ? id : first_present(text_config, {key.c_str()}));
  }
  return out;
}

}  // namespace quantflow::pipeline::hf
