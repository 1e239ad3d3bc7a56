// Reading APR metadata JSON into Metadata (metadata_codec.hpp).
#include <set>
#include <stdexcept>
#include <unordered_set>
#include <vector>

#include "metadata/json_text.hpp"
#include "metadata/metadata_codec.hpp"
#include "metadata/metadata_fields.hpp"
#include "metadata/metadata_values.hpp"

namespace quantflow::apr {

namespace {

// Objects and arrays deeper than this are refused while parsing, before anything recurses.
constexpr int kMaxJsonDepth = 64;

struct TooDeep : std::runtime_error {
  TooDeep() : std::runtime_error("the metadata JSON nests deeper than 64 levels") {}
};

// nlohmann keeps one of two equal keys silently; the callback sees every key.
struct KeyChecker {
  std::vector<std::unordered_set<std::string>> open;  // one per open object (arrays: empty, unused)
  std::string duplicate;

  bool operator()(int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) throw TooDeep();
        open.emplace_back();
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key:
        if (duplicate.empty() && !open.empty() && parsed.is_string() &&
            !open.back().insert(parsed.get<std::string>()).second)
          duplicate = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  }
};

// One value of the file: where it sits and what it reads as without the sidecar.
struct Slot {
  std::string meta_key;
  MetaValue value;
  const Json* node = nullptr;
  const Field* field = nullptr;  // null for a custom key
  const SubField* member = nullptr;
  std::string custom_key;
  bool used = false;
};

Status decode_field_slots(const Field& field, const Json& node, std::string_view arch, std::vector<Slot>& slots) {
  const std::string what = "metadata field '" + std::string(field.json_key) + "'";
  if (field.kind != FieldKind::object) {
    QF_ASSIGN_OR_RETURN(auto value, decode_field(node, field.kind, what));
    // Fields written in any case (model_type, total_size, param_count) hold their zero when
    // unset: that is no information, and the writer puts it back.
    if (field.absent == Absent::zero && is_zero(value)) return {};
    slots.push_back({meta_key_of(field, arch), std::move(value), &node, &field, nullptr, {}, false});
    return {};
  }
  if (!node.is_object()) return bad_input(what + " must be an object, found " + describe(node));
  // Members aprender does not know are ignored, as its own reader ignores them.
  for (const SubField& m : field.members) {
    const auto it = node.find(std::string(m.key));
    if (it == node.end() || it->is_null()) continue;
    const std::string member_what = "metadata field '" + std::string(field.json_key) + "." + std::string(m.key) + "'";
    QF_ASSIGN_OR_RETURN(auto value, decode_field(*it, m.kind, member_what));
    slots.push_back({meta_key_of(field, m), std::move(value), &*it, &field, &m, {}, false});
  }
  return {};
}

Status decode_custom_slot(const std::string& key, const Json& node, std::vector<Slot>& slots) {
  if (auto value = infer_value(node)) {
    slots.push_back({key, std::move(*value), &node, nullptr, nullptr, key, false});
    return {};
  }
  std::string text;
  if (!append_json(text, node, kMaxDepth)) return bad_input("metadata key '" + key + "' nests too deeply");
  slots.push_back({std::string(kJsonKeyPrefix) + key, MetaValue::make_string(std::move(text)), &node, nullptr, nullptr,
                   key, false});
  return {};
}

Slot* find_slot(std::vector<Slot>& slots, const Field* field, const SubField* member) {
  for (auto& s : slots)
    if (!s.used && s.field != nullptr && s.field == field && s.member == member) return &s;
  return nullptr;
}

Slot* find_custom(std::vector<Slot>& slots, std::string_view key) {
  for (auto& s : slots)
    if (!s.used && s.field == nullptr && s.custom_key == key) return &s;
  return nullptr;
}

// The sidecar's [key, type] list: each key's value, converted to its type, in its order.
Status apply_sidecar(const Json& sidecar, std::string_view arch, std::vector<Slot>& slots, Metadata& out) {
  const std::string where = "metadata key '" + std::string(kSidecarKey) + "'";
  if (!sidecar.is_array()) return bad_input(where + " must be an array of [key, type] pairs");
  std::set<std::string> seen;
  for (size_t i = 0; i < sidecar.size(); ++i) {
    const Json& entry = sidecar[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string())
      return bad_input(where + ": entry " + std::to_string(i) + " is not a [key, type] pair");
    const auto& key = entry[0].get_ref<const std::string&>();
    const Json& type = entry[1];
    if (!seen.insert(key).second) return bad_input(where + " lists the key '" + key + "' twice");
    Slot* slot = nullptr;
    const bool raw_json = type.is_string() && type.get_ref<const std::string&>() == "json";
    if (raw_json) {
      if (!key.starts_with(kJsonKeyPrefix))
        return bad_input(where + ": key '" + key + "' has the type \"json\" but does not start with '" +
                         std::string(kJsonKeyPrefix) + "'");
      slot = find_custom(slots, std::string_view(key).substr(kJsonKeyPrefix.size()));
    } else {
      // A custom key of this very name is the writer's choice for a value that did not fit
      // the field the key would map to.
      slot = find_custom(slots, key);
      if (const auto loc = locate(key, arch); slot == nullptr && loc) slot = find_slot(slots, loc->field, loc->member);
    }
    if (slot == nullptr) return bad_input(where + " lists the key '" + key + "', which the metadata does not hold");
    slot->used = true;
    if (raw_json) {
      std::string text;
      if (!append_json(text, *slot->node, kMaxDepth)) return bad_input("metadata key '" + key + "' nests too deeply");
      out.append(key, MetaValue::make_string(std::move(text)));
      continue;
    }
    auto value = decode_typed(*slot->node, type);
    if (!value.ok()) return bad_input(where + ": key '" + key + "': " + value.status().message());
    out.append(key, std::move(value).value());
  }
  return {};
}

}  // namespace

Result<Metadata> decode_metadata(std::string_view text) {
  KeyChecker keys;
  Json root;
  try {
    root = Json::parse(text.begin(), text.end(), std::ref(keys));
  } catch (const TooDeep& e) {
    return bad_input(e.what());
  } catch (const std::exception& e) {
    return bad_input("the metadata is not valid JSON: " + json_error_text(e.what()));
  }
  if (!keys.duplicate.empty()) return bad_input("the metadata JSON has the key '" + keys.duplicate + "' twice");
  if (!root.is_object()) return bad_input("the metadata JSON is not an object");

  std::string arch;
  if (const auto it = root.find("architecture"); it != root.end() && it->is_string()) arch = it->get<std::string>();

  std::vector<Slot> slots;
  const Json* sidecar = nullptr;
  for (const auto& [key, node] : root.items()) {
    if (key == kSidecarKey) {
      sidecar = &node;
    } else if (const Field* field = find_field(key)) {
      if (!node.is_null()) QF_RETURN_IF_ERROR(decode_field_slots(*field, node, arch, slots));
    } else {
      QF_RETURN_IF_ERROR(decode_custom_slot(key, node, slots));
    }
  }
  std::set<std::string_view> names;
  for (const auto& s : slots)
    if (!names.insert(s.meta_key).second) return bad_input("two metadata entries become the key '" + s.meta_key + "'");

  Metadata out;
  if (sidecar != nullptr) QF_RETURN_IF_ERROR(apply_sidecar(*sidecar, arch, slots, out));
  for (auto& s : slots)
    if (!s.used) out.append(std::move(s.meta_key), std::move(s.value));
  return out;
}

}  // namespace quantflow::apr
