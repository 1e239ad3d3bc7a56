// Typed, ordered key/value metadata able to carry every GGUF value type losslessly.
// Containers with poorer metadata (safetensors' string map, APR's JSON) map into it: a
// Reader returns a Metadata, a Writer receives one in begin().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quantflow {

// The value types, GGUF's set; an array's elements all have one type (array of array too).
enum class MetaType : uint8_t { u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, boolean, string, array };

// "u8", ..., "bool", "string", "array": the names `inspect` and recipes use.
inline const char* meta_type_name(MetaType type) {
  static constexpr const char* names[] = {"u8",  "i8",  "u16", "i16",  "u32",    "i32",  "u64",
                                          "i64", "f32", "f64", "bool", "string", "array"};
  return names[static_cast<int>(type)];
}

// The reverse of meta_type_name; false (and `out` unchanged) for an unknown name.
inline bool meta_type_from_name(std::string_view name, MetaType& out) {
  for (int i = 0; i <= static_cast<int>(MetaType::array); ++i) {
    if (name == meta_type_name(static_cast<MetaType>(i))) {
      out = static_cast<MetaType>(i);
      return true;
    }
  }
  return false;
}

// One value. Scalars keep their exact bits: integers in `integer` (sign-extended for
// signed widths, zero-extended for unsigned), floats in `real` (an f32 widened to double
// is exact, so narrowing back restores the original bits), strings as bytes.
// Arrays carry their element type even when empty; elements are MetaValues of that type.
struct MetaValue {
  MetaType type = MetaType::u8;
  uint64_t integer = 0;
  double real = 0.0;
  std::string text;
  MetaType element_type = MetaType::u8;
  std::vector<MetaValue> elements;

  // Constructors for each kind of value; `t` must be an unsigned (make_unsigned) or signed
  // (make_signed) integer type of a width that holds `v`.
  static MetaValue make_unsigned(MetaType t, uint64_t v) {
    MetaValue m;
    m.type = t;
    m.integer = v;
    return m;
  }
  static MetaValue make_signed(MetaType t, int64_t v) {
    MetaValue m;
    m.type = t;
    m.integer = static_cast<uint64_t>(v);
    return m;
  }
  static MetaValue make_u32(uint32_t v) { return make_unsigned(MetaType::u32, v); }
  static MetaValue make_i32(int32_t v) { return make_signed(MetaType::i32, v); }
  static MetaValue make_u64(uint64_t v) { return make_unsigned(MetaType::u64, v); }
  static MetaValue make_bool(bool v) { return make_unsigned(MetaType::boolean, v ? 1 : 0); }
  static MetaValue make_f32(float v) {
    MetaValue m;
    m.type = MetaType::f32;
    m.real = v;
    return m;
  }
  static MetaValue make_f64(double v) {
    MetaValue m;
    m.type = MetaType::f64;
    m.real = v;
    return m;
  }
  static MetaValue make_string(std::string v) {
    MetaValue m;
    m.type = MetaType::string;
    m.text = std::move(v);
    return m;
  }
  static MetaValue make_array(MetaType element_type, std::vector<MetaValue> elements) {
    MetaValue m;
    m.type = MetaType::array;
    m.element_type = element_type;
    m.elements = std::move(elements);
    return m;
  }

  bool is_integer() const { return type <= MetaType::i64; }  // any width, signed or not
  bool is_signed() const {
    return type == MetaType::i8 || type == MetaType::i16 || type == MetaType::i32 || type == MetaType::i64;
  }
  // The integer as stored: sign-extended for signed types, so as_i64 of an i8 -1 is -1.
  int64_t as_i64() const { return static_cast<int64_t>(integer); }
  uint64_t as_u64() const { return integer; }

  // Same type and value; NaN equals NaN, so a round trip of any file compares equal.
  friend bool operator==(const MetaValue& a, const MetaValue& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
      case MetaType::f32:
      case MetaType::f64:
        return a.real == b.real || (a.real != a.real && b.real != b.real);
      case MetaType::string:
        return a.text == b.text;
      case MetaType::array:
        return a.element_type == b.element_type && a.elements == b.elements;
      default:
        return a.integer == b.integer;
    }
  }
};

// One key and its value, e.g. {"general.architecture", make_string("llama")}.
struct MetaEntry {
  std::string key;
  MetaValue value;
  friend bool operator==(const MetaEntry&, const MetaEntry&) = default;
};

// Insertion-ordered map. Order matters: GGUF writers reproduce it byte for byte.
class Metadata {
 public:
  const std::vector<MetaEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // The value of `key`, or null when absent.
  const MetaValue* find(std::string_view key) const {
    for (const auto& e : entries_)
      if (e.key == key) return &e.value;
    return nullptr;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  // Appends a new key; if the key exists it is removed first and the new value goes to the
  // end (ggml's gguf_set_* behaviour, which llama-quantize's metadata order depends on).
  void set(std::string key, MetaValue value) {
    erase(key);
    entries_.push_back({std::move(key), std::move(value)});
  }
  // Replaces in place, keeping the position; appends if absent.
  void assign(std::string key, MetaValue value) {
    for (auto& e : entries_)
      if (e.key == key) {
        e.value = std::move(value);
        return;
      }
    entries_.push_back({std::move(key), std::move(value)});
  }
  // Appends without looking for an existing key; readers use it after their own duplicate check.
  void append(std::string key, MetaValue value) { entries_.push_back({std::move(key), std::move(value)}); }
  // Removes `key`; false when it was absent.
  bool erase(std::string_view key) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->key == key) {
        entries_.erase(it);
        return true;
      }
    return false;
  }

  friend bool operator==(const Metadata&, const Metadata&) = default;

 private:
  std::vector<MetaEntry> entries_;
};

}  // namespace quantflow
