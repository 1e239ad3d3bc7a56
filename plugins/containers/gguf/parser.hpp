// Parses a mapped GGUF file's header, metadata and tensor infos into a GgufReader. Everything
// read from the file is treated as hostile: every length and count is checked against the
// bytes that remain before use.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "byte_cursor.hpp"
#include "gguf_reader.hpp"
#include "gguf_types.hpp"

namespace quantflow::gguf {

class Parser {
 public:
  Parser(GgufReader& out, const CodecCatalog& catalog)
      : out_(out), catalog_(catalog), file_size_(out.file_->size()), cur_(out.file_->bytes()) {}

  Status parse();

 private:
  Status truncated(const std::string& what) const;

  // parser.cpp: the fixed header, alignment, tensor infos and data layout.
  Status parse_header();
  Status parse_alignment();
  Status parse_tensor_infos();
  Status parse_tensor_info(const std::string& name, std::unordered_set<std::string>& names);
  Status check_data_layout();

  // metadata_parser.cpp: the key/value section (read_string also reads tensor names).
  Result<std::string_view> read_string(const std::string& what);
  Status parse_metadata();
  template <typename T>
  Status read_scalar(T& out, const std::string& where);
  Result<MetaValue> read_value(ValueType type, const std::string& where, int depth);
  template <typename T>
  Result<MetaValue> read_int(MetaType meta, const std::string& where);
  Result<MetaValue> read_array(const std::string& where, int depth);

  GgufReader& out_;
  const CodecCatalog& catalog_;
  uint64_t file_size_;
  ByteCursor cur_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

}  // namespace quantflow::gguf
