#include "pipeline/llama/imatrix.hpp"

#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "quantflow/mapped_file.hpp"

namespace quantflow::pipeline {

namespace {

constexpr std::string_view kSumSuffix = ".in_sum2";
constexpr std::string_view kCountSuffix = ".counts";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::vector<float>> read_f32(const Reader& reader, const CodecCatalog& catalog, size_t index) {
  const TensorInfo& t = reader.tensors()[index];
  const CodecDescriptor* codec = catalog.find(t.dtype.name);
  if (codec == nullptr || codec->decode == nullptr)
    return bad_input(fmt::format("cannot decode its encoding '{}'", t.dtype.name)).with_tensor(t.name);
  QF_ASSIGN_OR_RETURN(TensorData data, reader.read(index));
  const uint64_t n = element_count(t.shape);
  std::vector<float> out(n);
  const uint64_t row = row_length(t.shape);
  if (n > 0 && codec->decode(data.bytes.data(), out.data(), static_cast<int64_t>(n / row), static_cast<int64_t>(row)) !=
                   QF_CODEC_OK)
    return bad_input("cannot be decoded").with_tensor(t.name);
  return out;
}

}  // namespace

// The GGUF form: sums of squared activations and, per matrix, how many rows were summed.
Result<ImportanceMatrix> load_container_imatrix(const CodecCatalog& catalog, const Reader& reader) {
  ImportanceMatrix im;
  std::map<std::string, size_t> sums, counts;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    const std::string& name = reader.tensors()[i].name;
    if (ends_with(name, kSumSuffix)) sums[name.substr(0, name.size() - kSumSuffix.size())] = i;
    if (ends_with(name, kCountSuffix)) counts[name.substr(0, name.size() - kCountSuffix.size())] = i;
  }
  if (sums.empty()) return bad_input("not an importance matrix: it has no '<tensor>.in_sum2' tensors");
  for (const auto& [name, sum_index] : sums) {
    auto count_it = counts.find(name);
    if (count_it == counts.end()) return bad_input("has no matching '.counts' tensor").with_tensor(name + ".in_sum2");
    QF_ASSIGN_OR_RETURN(auto sum, read_f32(reader, catalog, sum_index));
    QF_ASSIGN_OR_RETURN(auto count, read_f32(reader, catalog, count_it->second));
    if (count.empty() || sum.size() % count.size() != 0)
      return bad_input(fmt::format("{} sums do not divide into {} counts", sum.size(), count.size())).with_tensor(name);
    const size_t per = sum.size() / count.size();
    std::vector<float> w(sum.size());
    for (size_t m = 0; m < count.size(); ++m)
      for (size_t i = 0; i < per; ++i) w[m * per + i] = count[m] > 0.0f ? sum[m * per + i] / count[m] : 1.0f;
    im.weights.emplace(name, std::move(w));
  }
  if (const MetaValue* v = reader.metadata().find("imatrix.chunk_count"); v && v->is_integer())
    im.chunk_count = static_cast<uint32_t>(v->integer);
  if (const MetaValue* v = reader.metadata().find("imatrix.datasets"); v && v->type == MetaType::array)
    for (const auto& e : v->elements) im.datasets.push_back(e.text);
  return im;
}

// The legacy layout: i32 n_entries; per entry i32 name length, name bytes, i32 ncall,
// i32 nval, nval f32; then optionally i32 chunk count, i32 dataset length, dataset bytes.
Result<ImportanceMatrix> load_legacy_imatrix(const std::string& path) {
  QF_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  const std::byte* p = file->data();
  uint64_t pos = 0;
  const uint64_t size = file->size();
  auto read_i32 = [&](int32_t& v) {
    if (size - pos < 4) return false;
    std::memcpy(&v, p + pos, 4);
    pos += 4;
    return true;
  };
  auto truncated = [&] { return bad_input(fmt::format("legacy imatrix truncated at byte {}", pos)); };
  ImportanceMatrix im;
  im.legacy = true;
  int32_t n_entries = 0;
  if (!read_i32(n_entries)) return truncated();
  if (n_entries <= 0 || static_cast<uint64_t>(n_entries) > size / 12)
    return bad_input(fmt::format("not an importance matrix: implausible entry count {}", n_entries));
  for (int32_t e = 0; e < n_entries; ++e) {
    int32_t len = 0, ncall = 0, nval = 0;
    if (!read_i32(len)) return truncated();
    if (len <= 0 || static_cast<uint64_t>(len) > size - pos)
      return bad_input(fmt::format("not an importance matrix: bad name length {} in entry {}", len, e));
    std::string name(reinterpret_cast<const char*>(p + pos), static_cast<size_t>(len));
    pos += static_cast<uint64_t>(len);
    if (!read_i32(ncall) || !read_i32(nval)) return truncated();
    if (nval <= 0 || static_cast<uint64_t>(nval) > (size - pos) / 4)
      return bad_input(fmt::format("entry '{}' claims {} values", name, nval));
    std::vector<float> w(static_cast<size_t>(nval));
    std::memcpy(w.data(), p + pos, w.size() * 4);
    pos += w.size() * 4;
    if (ncall > 0)
      for (float& x : w) x /= static_cast<float>(ncall);
    im.weights[name] = std::move(w);
  }
  int32_t chunks = 0, dataset_len = 0;
  if (read_i32(chunks)) {
    im.chunk_count = static_cast<uint32_t>(std::max(chunks, 0));
    if (read_i32(dataset_len) && dataset_len > 0 && static_cast<uint64_t>(dataset_len) <= size - pos)
      im.datasets.emplace_back(reinterpret_cast<const char*>(p + pos), static_cast<size_t>(dataset_len));
  }
  return im;
}

Result<std::shared_ptr<const ImportanceMatrix>> load_imatrix(const core::Registry& registry, const std::string& path) {
  auto reader = registry.open_reader(path);
  Result<ImportanceMatrix> im = reader.ok() ? load_container_imatrix(registry, **reader) : load_legacy_imatrix(path);
  if (!im.ok()) {
    // A container that recognised the file explains best why it is unusable.
    if (!reader.ok() && reader.status().code() != ErrorCode::bad_input) return reader.take_status().with_file(path);
    return im.take_status().with_file(path);
  }
  im->file = path;
  return std::make_shared<const ImportanceMatrix>(std::move(im).value());
}

}  // namespace quantflow::pipeline
