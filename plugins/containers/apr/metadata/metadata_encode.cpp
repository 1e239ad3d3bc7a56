// Writing Metadata as APR metadata JSON (metadata_codec.hpp).
#include <map>
#include <set>
#include <variant>
#include <vector>

#include "metadata/json_text.hpp"
#include "metadata/metadata_codec.hpp"
#include "metadata/metadata_fields.hpp"
#include "metadata/metadata_values.hpp"
#include "quantflow/utf8.hpp"

namespace quantflow::apr {

namespace {

// A custom value: a Metadata value, or parsed JSON (apr.json.* keys and the sidecar).
using CustomValue = std::variant<const MetaValue*, Json>;

struct Plan {
  std::map<std::pair<const Field*, const SubField*>, const MetaValue*> fields;
  std::map<std::string, CustomValue> custom;         // byte order of keys
  std::map<std::string, std::string> custom_source;  // custom key -> the Metadata key it came from
};

bool always_written(const Field& field, const SubField* member) {
  return (member ? member->absent : field.absent) == Absent::zero;
}

FieldKind kind_of(const Field& field, const SubField* member) { return member ? member->kind : field.kind; }

std::string field_name(const Field& field, const SubField* member) {
  return std::string(field.json_key) + (member ? "." + std::string(member->key) : "");
}

Status add_custom(Plan& plan, const std::string& key, CustomValue value, const std::string& meta_key) {
  if (find_field(key) != nullptr)
    return bad_input("metadata key '" + meta_key + "' would be written as '" + key +
                     "', which is the name of an APR field; rename the key");
  if (!plan.custom.emplace(key, std::move(value)).second)
    return bad_input("metadata keys '" + plan.custom_source[key] + "' and '" + meta_key +
                     "' would both be written as '" + key + "'");
  plan.custom_source.emplace(key, meta_key);
  return {};
}

Result<Plan> plan_keys(const Metadata& metadata) {
  std::string arch;
  if (const MetaValue* a = metadata.find("general.architecture"); a != nullptr && a->type == MetaType::string)
    arch = a->text;
  Plan plan;
  std::set<std::string_view> seen;
  for (const MetaEntry& e : metadata.entries()) {
    if (!seen.insert(e.key).second) return bad_input("metadata key '" + e.key + "' appears twice");
    if (invalid_utf8_offset(e.key) != std::string_view::npos)
      return bad_input("metadata key '" + e.key + "' is not valid UTF-8, which APR's JSON metadata cannot carry");
    if (e.key == kSidecarKey)
      return usage_error("metadata key '" + e.key + "' is reserved for quantflow's APR type list");
    if (e.key.starts_with(kJsonKeyPrefix)) {
      const std::string where = "metadata key '" + e.key + "'";
      if (e.value.type != MetaType::string) return bad_input(where + " must hold JSON text");
      Json parsed = Json::parse(e.value.text, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) return bad_input(where + " must hold JSON text, found " + e.value.text.substr(0, 40));
      QF_RETURN_IF_ERROR(add_custom(plan, e.key.substr(kJsonKeyPrefix.size()), std::move(parsed), e.key));
      continue;
    }
    if (const auto loc = locate(e.key, arch)) {
      const auto slot = std::make_pair(loc->field, loc->member);
      const bool fits = fits_kind(e.value, kind_of(*loc->field, loc->member));
      if (fits && !plan.fields.count(slot)) {
        plan.fields.emplace(slot, &e.value);
        continue;
      }
      // A field written in any case cannot also appear as a custom key of the same name.
      if (always_written(*loc->field, loc->member))
        return bad_input("metadata key '" + e.key + "' (" + meta_type_name(e.value.type) +
                         ") cannot be written as APR's field '" + field_name(*loc->field, loc->member) + "'");
    }
    QF_RETURN_IF_ERROR(add_custom(plan, e.key, &e.value, e.key));
  }
  for (const auto& [key, value] : plan.custom)
    if (const Field* typed = field_of_alias(key))
      for (const auto& [slot, v] : plan.fields)
        if (slot.first == typed)
          return bad_input("metadata key '" + key + "' is an alias of APR's field '" + std::string(typed->json_key) +
                           "', which is written too; a file must not hold both");
  return plan;
}

void append_zero(std::string& out, FieldKind kind) {
  switch (kind) {
    case FieldKind::string:
      out += "\"\"";
      return;
    case FieldKind::boolean:
      out += "false";
      return;
    default:
      out += "0";
  }
}

// Appends `"key":` after a comma when something precedes it.
void append_key(std::string& out, std::string_view key) {
  if (out.size() > 1) out += ',';
  append_json_string(out, key);
  out += ':';
}

Result<std::string> emit(const Plan& plan) {
  std::string out = "{";
  for (const Field& f : fields()) {
    if (f.kind == FieldKind::object) {
      bool any = false;
      for (const SubField& m : f.members) any = any || plan.fields.count({&f, &m});
      if (!any) continue;
      append_key(out, f.json_key);
      std::string body = "{";
      for (const SubField& m : f.members) {
        const auto it = plan.fields.find({&f, &m});
        if (it == plan.fields.end() && m.absent == Absent::skip) continue;
        append_key(body, m.key);
        if (it != plan.fields.end())
          append_field(body, *it->second, m.kind);
        else if (m.absent == Absent::null)
          body += "null";
        else
          append_zero(body, m.kind);
      }
      out += body + "}";
      continue;
    }
    const auto it = plan.fields.find({&f, nullptr});
    if (it == plan.fields.end() && f.absent == Absent::skip) continue;
    append_key(out, f.json_key);
    if (it != plan.fields.end())
      append_field(out, *it->second, f.kind);
    else if (f.absent == Absent::null)
      out += "null";
    else
      append_zero(out, f.kind);
  }
  for (const auto& [key, value] : plan.custom) {
    append_key(out, key);
    if (const auto* meta = std::get_if<const MetaValue*>(&value)) {
      QF_RETURN_IF_ERROR(append_value(out, **meta, key));
    } else if (!append_json(out, std::get<Json>(value), kMaxDepth)) {
      return bad_input("metadata key '" + std::string(kJsonKeyPrefix) + key + "' nests too deeply");
    }
  }
  return out + "}";
}

// The split keys describe one file of a sharded model; readers drop them, so neither their
// position nor the sidecar concerns them.
bool is_split_key(std::string_view key) { return key.starts_with("apr.sharding."); }

// Whether reading `text` gives back `metadata`: its keys in its order with its types
// (keys the writer added, such as a total_size of 0, do not count).
bool reads_back(const std::string& text, const Metadata& metadata) {
  auto decoded = decode_metadata(text);
  if (!decoded.ok()) return false;
  std::vector<const MetaEntry*> kept, wanted;
  for (const MetaEntry& e : decoded->entries())
    if (metadata.contains(e.key) && !is_split_key(e.key)) kept.push_back(&e);
  for (const MetaEntry& e : metadata.entries())
    if (!is_split_key(e.key)) wanted.push_back(&e);
  if (kept.size() != wanted.size()) return false;
  for (size_t i = 0; i < kept.size(); ++i) {
    const MetaEntry& want = *wanted[i];
    if (kept[i]->key != want.key) return false;
    // JSON text is compared as JSON: the writer re-renders it compactly.
    if (want.key.starts_with(kJsonKeyPrefix) && want.value.type == MetaType::string &&
        kept[i]->value.type == MetaType::string) {
      if (Json::parse(want.value.text, nullptr, false) != Json::parse(kept[i]->value.text, nullptr, false))
        return false;
    } else if (!(kept[i]->value == want.value)) {
      return false;
    }
  }
  return true;
}

// Without the fields that are always written and hold their zero ("" or 0): the writer
// emits that zero anyway and the reader reports it as absent.
Metadata without_zero_fields(const Metadata& metadata) {
  std::string arch;
  if (const MetaValue* a = metadata.find("general.architecture"); a != nullptr && a->type == MetaType::string)
    arch = a->text;
  Metadata out;
  for (const MetaEntry& e : metadata.entries()) {
    const auto loc = locate(e.key, arch);
    if (loc && loc->member == nullptr && loc->field->absent == Absent::zero && fits_kind(e.value, loc->field->kind) &&
        is_zero(e.value))
      continue;
    out.append(e.key, e.value);
  }
  return out;
}

}  // namespace

Result<std::string> encode_metadata(const Metadata& input) {
  const Metadata metadata = without_zero_fields(input);
  QF_ASSIGN_OR_RETURN(Plan plan, plan_keys(metadata));
  QF_ASSIGN_OR_RETURN(std::string text, emit(plan));
  if (reads_back(text, metadata)) return text;
  Json types = Json::array();
  for (const MetaEntry& e : metadata.entries())
    if (!is_split_key(e.key))
      types.push_back(
          Json::array({e.key, e.key.starts_with(kJsonKeyPrefix) ? Json("json") : type_descriptor(e.value)}));
  plan.custom.emplace(std::string(kSidecarKey), std::move(types));
  QF_ASSIGN_OR_RETURN(text, emit(plan));
  // The sidecar restores every listed key; anything else would be a bug here.
  if (!reads_back(text, metadata))
    return internal_error("the metadata would not read back as written (a bug in the APR writer)");
  return text;
}

}  // namespace quantflow::apr
