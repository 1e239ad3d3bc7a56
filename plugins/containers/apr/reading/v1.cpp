#include "reading/v1.hpp"

#include <cstring>
#include <string>

#include "format/format.hpp"
#include "format/header.hpp"
#include "reading/input_bytes.hpp"

namespace quantflow::apr {

namespace {

constexpr uint64_t kV1HeaderBytes = 32;

// aprender's ModelType ids.
constexpr struct {
  uint16_t id;
  const char* name;
} kModelTypes[] = {
    {0x0001, "LinearRegression"},
    {0x0002, "LogisticRegression"},
    {0x0003, "DecisionTree"},
    {0x0004, "RandomForest"},
    {0x0005, "GradientBoosting"},
    {0x0006, "KMeans"},
    {0x0007, "Pca"},
    {0x0008, "NaiveBayes"},
    {0x0009, "Knn"},
    {0x000A, "Svm"},
    {0x0010, "NgramLm"},
    {0x0011, "Tfidf"},
    {0x0012, "CountVectorizer"},
    {0x0020, "NeuralSequential"},
    {0x0021, "NeuralCustom"},
    {0x0030, "ContentRecommender"},
    {0x0040, "MixtureOfExperts"},
    {0x0050, "TransformerLM"},
    {0x00FF, "Custom"},
};

constexpr const char* kCompressions[] = {"none", "zstd level 3", "zstd level 19", "lz4"};

std::string hex16(uint16_t v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out += digits[(v >> shift) & 0xF];
  return out;
}

std::string model_type_name(uint16_t id) {
  for (const auto& t : kModelTypes)
    if (t.id == id) return std::string(t.name) + " (" + hex16(id) + ")";
  return "unknown (" + hex16(id) + ")";
}

}  // namespace

Status refuse_v1(const InputFile& file) {
  const std::string what =
      "APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export it as APR v2 with aprender";
  const uint64_t size = file.size();
  if (size < kV1HeaderBytes + kFooterBytes)
    return bad_input(what + " (the file has only " + std::to_string(size) + " bytes, truncated)");
  QF_ASSIGN_OR_RETURN(auto head, bytes_at(file, 0, kV1HeaderBytes));
  const auto* h = reinterpret_cast<const unsigned char*>(head.bytes.data());
  uint16_t model_type = 0;
  uint32_t metadata_size = 0, payload_size = 0, uncompressed_size = 0;
  std::memcpy(&model_type, h + 6, 2);
  std::memcpy(&metadata_size, h + 8, 4);
  std::memcpy(&payload_size, h + 12, 4);
  std::memcpy(&uncompressed_size, h + 16, 4);
  const uint8_t compression = h[20];
  std::string details = "version " + std::to_string(h[4]) + "." + std::to_string(h[5]) + ", model type " +
                        model_type_name(model_type) + ", metadata " + std::to_string(metadata_size) +
                        " bytes, payload " + std::to_string(payload_size) + " bytes (" +
                        std::to_string(uncompressed_size) + " uncompressed), compression " +
                        (compression < std::size(kCompressions) ? kCompressions[compression]
                                                                : "unknown (" + std::to_string(compression) + ")");
  if (kV1HeaderBytes + uint64_t{metadata_size} + payload_size + kFooterBytes > size)
    details += ", sections larger than the " + std::to_string(size) + "-byte file";
  QF_ASSIGN_OR_RETURN(const uint32_t computed, crc_of_prefix(file, size - kFooterBytes));
  QF_ASSIGN_OR_RETURN(const uint32_t stored, u32_at(file, size - kFooterBytes));
  details += stored == computed ? ", trailer CRC " + hex32(stored) + " ok"
                                : ", trailer CRC mismatch: stored " + hex32(stored) + ", computed " + hex32(computed);
  return bad_input(what + " (" + details + ")");
}

Status refuse_version1(const InputFile& file) {
  std::string tag;
  if (file.size() >= 12) {
    auto head = bytes_at(file, 0, 12);
    if (head.ok()) {
      // The tag is a u32 whose big-endian bytes spell it ("TSP\0" is stored 00 50 53 54).
      const auto* b = reinterpret_cast<const unsigned char*>(head->bytes.data());
      for (int i = 11; i >= 8; --i) {
        if (b[i] == 0) continue;
        tag += (b[i] >= 0x20 && b[i] < 0x7F) ? static_cast<char>(b[i]) : '?';
      }
    }
  }
  if (tag == "TSP")
    return bad_input("APR file of version 1 with model type TSP: an aprender-tsp solver file, not a tensor container");
  return bad_input("APR file of version 1" + (tag.empty() ? std::string() : " with model type " + tag) +
                   ": not an APR v2 tensor container");
}

}  // namespace quantflow::apr
