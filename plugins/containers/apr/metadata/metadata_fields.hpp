// The typed metadata fields of APR v2 (§5) in the order the writer emits them, and where each
// lives in quantflow's Metadata. docs/containers.md ("APR") lists the mapping for users.
//
// - Fields with a GGUF equivalent use its key: name -> general.name, architecture ->
//   general.architecture, chat_template -> tokenizer.chat_template, and the model shape
//   fields per architecture: hidden_size -> <arch>.embedding_length, num_layers ->
//   <arch>.block_count, rope_theta -> <arch>.rope.freq_base, ... (<arch> is the file's
//   `architecture`; without one they are apr.hidden_size, apr.num_layers, ...).
// - The others are apr.<field>: apr.model_type, apr.data_source, apr.total_size, ...
// - Objects are flattened to dotted keys: apr.quantization.bits, apr.special_tokens.bos_token,
//   apr.sharding.shard_count (the sharding keys describe one file of a split model).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "quantflow/metadata.hpp"

namespace quantflow::apr {

enum class FieldKind : uint8_t { string, u64, u32, f32, boolean, object };

// What the writer emits for a field the metadata lacks.
enum class Absent : uint8_t {
  skip,  // nothing
  null,  // `null` (license, data_source, data_license; optional values inside objects)
  zero,  // 0, false or "" by kind (model_type, total_size, param_count, object members)
};

struct SubField {
  std::string_view key;
  FieldKind kind;
  Absent absent;
};

struct Field {
  std::string_view json_key;
  // The Metadata key; one starting with '.' is a suffix after the architecture
  // ("<arch>.embedding_length"). Objects: unused, members are "apr.<json_key>.<member>".
  std::string_view meta_key;
  FieldKind kind;
  Absent absent;
  std::span<const SubField> members;  // objects only
};

// Every typed field, in the writer's order.
std::span<const Field> fields();
const Field* find_field(std::string_view json_key);

// The Metadata key of a scalar field or of an object's member, for architecture `arch`
// ("" when the file names none).
std::string meta_key_of(const Field& field, std::string_view arch);
std::string meta_key_of(const Field& object, const SubField& member);

// Where a Metadata key goes in the JSON: a field (and a member of an object field).
struct Location {
  const Field* field = nullptr;
  const SubField* member = nullptr;
};
std::optional<Location> locate(std::string_view meta_key, std::string_view arch);

// The HF-style alias of a typed field ("num_hidden_layers" -> "num_layers"); null if none.
const Field* field_of_alias(std::string_view key);

// Whether `value` is the zero of its kind: "", 0 or false.
bool is_zero(const MetaValue& value);

// Whether `value` can be written as a field of `kind` (integers must not be negative,
// floats finite).
bool fits_kind(const MetaValue& value, FieldKind kind);

}  // namespace quantflow::apr
