#include "pipeline/llama/hf_checkpoint/tokenizer_spm.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace quantflow::pipeline::hf {

namespace {

// Protobuf's wire types; groups (3, 4) are deprecated and never appear in SentencePiece models.
enum class WireType : uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// A cursor over protobuf bytes; every read says where it failed.
class WireReader {
 public:
  explicit WireReader(std::span<const std::byte> bytes, size_t base = 0) : bytes_(bytes), base_(base) {}
  bool done() const { return at_ == bytes_.size(); }
  size_t offset() const { return base_ + at_; }

  Result<uint64_t> varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) return truncated("varint");
      const auto byte = static_cast<uint8_t>(bytes_[at_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return bad_input(fmt::format("a varint longer than 10 bytes at byte {}", offset()));
  }
  Result<std::span<const std::byte>> take(uint64_t n, const char* what) {
    if (n > bytes_.size() - at_) return truncated(what);
    const auto out = bytes_.subspan(at_, n);
    at_ += n;
    return out;
  }
  // Skips one field's value of `type`.
  Status skip(uint64_t type) {
    switch (static_cast<WireType>(type)) {
      case WireType::varint:
        return varint().take_status();
      case WireType::fixed64:
        return take(8, "fixed64 field").take_status();
      case WireType::fixed32:
        return take(4, "fixed32 field").take_status();
      case WireType::length_delimited: {
        QF_ASSIGN_OR_RETURN(const uint64_t n, varint());
        return take(n, "length-delimited field").take_status();
      }
    }
    return bad_input(fmt::format("wire type {} at byte {} (not a SentencePiece model)", type, offset()));
  }

 private:
  Status truncated(const char* what) const { return bad_input(fmt::format("truncated {} at byte {}", what, offset())); }
  std::span<const std::byte> bytes_;
  size_t base_;
  size_t at_ = 0;
};

Result<SentencePiece> parse_piece(std::span<const std::byte> bytes, size_t base) {
  SentencePiece piece;
  WireReader in(bytes, base);
  while (!in.done()) {
    QF_ASSIGN_OR_RETURN(const uint64_t tag, in.varint());
    const uint64_t field = tag >> 3, type = tag & 7;
    if (field == 1 && type == static_cast<uint64_t>(WireType::length_delimited)) {
      QF_ASSIGN_OR_RETURN(const uint64_t n, in.varint());
      QF_ASSIGN_OR_RETURN(const auto text, in.take(n, "piece text"));
      piece.text.assign(reinterpret_cast<const char*>(text.data()), text.size());
    } else if (field == 2 && type == static_cast<uint64_t>(WireType::fixed32)) {
      QF_ASSIGN_OR_RETURN(const auto raw, in.take(4, "piece score"));
      uint32_t bits = 0;
      for (size_t i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(raw[i]) << (8 * i);  // little-endian
      piece.score = std::bit_cast<float>(bits);
    } else if (field == 3 && type == static_cast<uint64_t>(WireType::varint)) {
      QF_ASSIGN_OR_RETURN(const uint64_t value, in.varint());
      if (value < 1 || value > 6) return bad_input(fmt::format("piece type {} at byte {}", value, in.offset()));
      piece.type = static_cast<SentencePiece::Type>(value);
    } else {
      QF_RETURN_IF_ERROR(in.skip(type));
    }
  }
  return piece;
}

TokenType token_type_of(SentencePiece::Type type) {
  switch (type) {
    case SentencePiece::Type::unknown:
      return TokenType::unknown;
    case SentencePiece::Type::control:
      return TokenType::control;
    case SentencePiece::Type::unused:
      return TokenType::unused;
    case SentencePiece::Type::byte:
      return TokenType::byte;
    default:  // the converter writes SentencePiece's user-defined pieces as normal tokens
      return TokenType::normal;
  }
}

Result<std::vector<std::byte>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open tokenizer.model").with_file(path);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return io_error("cannot read tokenizer.model").with_file(path);
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// added_tokens.json: {"text": id, ...}.
Status add_added_tokens_json(const Checkpoint& checkpoint, Vocabulary& vocabulary) {
  const std::string path = checkpoint.file("added_tokens.json");
  QF_ASSIGN_OR_RETURN(const auto added, read_json_file(path));
  if (!added) return {};
  if (!added->is_object()) return bad_input("not a map from token to id").with_file(path);
  for (const auto& [text, id] : added->items()) {
    if (!id.is_number_unsigned())
      return bad_input(fmt::format("token '{}' has id {}", text, id.dump())).with_file(path);
    if (id.get<uint64_t>() >= vocabulary.tokens.size()) continue;
    const size_t at = id.get<size_t>();
    vocabulary.tokens[at] = text;
    vocabulary.scores[at] = -1000.0f;
    vocabulary.types[at] = TokenType::user_defined;
  }
  return {};
}

// tokenizer_config.json's added_tokens_decoder: {"id": {"content": ..., "special": ...}, ...}.
Status add_added_tokens_decoder(const Checkpoint& checkpoint, Vocabulary& vocabulary) {
  const std::string path = checkpoint.file("tokenizer_config.json");
  QF_ASSIGN_OR_RETURN(const auto config, read_json_file(path));
  if (!config || !config->contains("added_tokens_decoder")) return {};
  const nlohmann::json& decoder = (*config)["added_tokens_decoder"];
  if (!decoder.is_object()) return bad_input("added_tokens_decoder is not a map").with_file(path);
  for (const auto& [key, entry] : decoder.items()) {
    uint64_t id = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || !entry.is_object() || !entry.contains("content") ||
        !entry["content"].is_string())
      return bad_input(fmt::format("added_tokens_decoder entry '{}' is not an id with a content", key)).with_file(path);
    if (id >= vocabulary.tokens.size()) continue;
    const bool special = entry.value("special", false);
    set_added_token(vocabulary, id, entry["content"].get<std::string>(), special);
  }
  return {};
}

}  // namespace

Result<std::vector<SentencePiece>> parse_sentencepiece_model(std::span<const std::byte> bytes) {
  std::vector<SentencePiece> pieces;
  WireReader in(bytes);
  while (!in.done()) {
    QF_ASSIGN_OR_RETURN(const uint64_t tag, in.varint());
    const uint64_t field = tag >> 3, type = tag & 7;
    if (field == 0) return bad_input(fmt::format("field number 0 at byte {} (not a SentencePiece model)", in.offset()));
    if (field != 1 || type != static_cast<uint64_t>(WireType::length_delimited)) {
      QF_RETURN_IF_ERROR(in.skip(type));
      continue;
    }
    QF_ASSIGN_OR_RETURN(const uint64_t n, in.varint());
    const size_t base = in.offset();
    QF_ASSIGN_OR_RETURN(const auto message, in.take(n, "piece"));
    QF_ASSIGN_OR_RETURN(SentencePiece piece, parse_piece(message, base));
    pieces.push_back(std::move(piece));
  }
  if (pieces.empty()) return bad_input("no pieces (not a SentencePiece model)");
  return pieces;
}

Result<Vocabulary> sentencepiece_vocabulary(const Checkpoint& checkpoint) {
  const std::string path = checkpoint.file("tokenizer.model");
  QF_ASSIGN_OR_RETURN(const auto bytes, read_file(path));
  auto pieces = parse_sentencepiece_model(bytes);
  if (!pieces.ok()) return std::move(pieces).take_status().with_file(path);
  Vocabulary vocabulary{.model = "llama", .pre = "default"};
  const nlohmann::json* declared = first_present(checkpoint.hparams, {"vocab_size"});
  const size_t size = declared != nullptr && declared->is_number_unsigned() ? declared->get<size_t>() : pieces->size();
  vocabulary.pad_to(size, true);
  for (size_t id = 0; id < std::min(size, pieces->size()); ++id) {
    const SentencePiece& piece = (*pieces)[id];
    vocabulary.tokens[id] = piece.text;
    vocabulary.scores[id] = piece.score;
    vocabulary.types[id] = token_type_of(piece.type);
  }
  QF_RETURN_IF_ERROR(add_added_tokens_json(checkpoint, vocabulary));
  QF_RETURN_IF_ERROR(add_added_tokens_decoder(checkpoint, vocabulary));
  return vocabulary;
}

}  // namespace quantflow::pipeline::hf
