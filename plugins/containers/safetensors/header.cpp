#include "header.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_set>

#include "json_text.hpp"

namespace quantflow::safetensors {

namespace {

// Keeps the file's key order, which breaks ties between zero-size tensors at one offset.
using json = nlohmann::ordered_json;

std::string offsets_text(uint64_t begin, uint64_t end) {
  return "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// nlohmann keeps the last of duplicate keys silently; the parser callback sees every key,
// so duplicates are caught at the two levels where they matter (tensor names and the
// fields of one entry) with the object they occur in.
struct DuplicateFinder {
  std::vector<std::unordered_set<std::string>> open;  // one per open object or array
  std::vector<bool> is_object;
  std::string top_key;
  bool found = false;
  size_t level = 0;  // 1: top-level key, 2: key inside `top_key`
  std::string key;

  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        open.emplace_back();
        is_object.push_back(event == json::parse_event_t::object_start);
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) {
          open.pop_back();
          is_object.pop_back();
        }
        break;
      case json::parse_event_t::key: {
        const size_t depth = open.size();
        if (depth == 0 || depth > 2 || !is_object.back() || !parsed.is_string()) break;
        // Only objects directly under the top level are entries; arrays between reset it.
        if (depth == 2 && !is_object[0]) break;
        const auto& k = parsed.get_ref<const std::string&>();
        if (depth == 1) top_key = k;
        if (!found && !open.back().insert(k).second) {
          found = true;
          level = depth;
          key = k;
        }
        break;
      }
      default:
        break;
    }
    return true;
  }
};

Status duplicate_error(const DuplicateFinder& d) {
  if (d.level == 1) {
    if (d.key == "__metadata__") return bad_input("the header has two '__metadata__' entries");
    return bad_input("the header names this tensor twice").with_tensor(d.key);
  }
  if (d.top_key == "__metadata__") return bad_input("__metadata__ has the key '" + d.key + "' twice");
  return bad_input("field '" + d.key + "' appears twice").with_tensor(d.top_key);
}

bool read_u64_array(const json& j, std::vector<uint64_t>& out) {
  if (!j.is_array()) return false;
  out.clear();
  out.reserve(j.size());
  for (const auto& v : j) {
    if (!v.is_number_unsigned()) return false;
    out.push_back(v.get<uint64_t>());
  }
  return true;
}

Result<HeaderTensor> parse_tensor(const std::string& name, const json& entry, uint64_t buffer_length,
                                  const CodecCatalog& catalog) {
  const auto fail = [&](std::string message) { return bad_input(std::move(message)).with_tensor(name); };
  if (!entry.is_object()) return fail("the header entry is not an object");
  const auto dtype_it = entry.find("dtype");
  const auto shape_it = entry.find("shape");
  const auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end()) return fail("missing field 'dtype'");
  if (shape_it == entry.end()) return fail("missing field 'shape'");
  if (offsets_it == entry.end()) return fail("missing field 'data_offsets'");

  HeaderTensor t;
  t.name = name;
  if (!dtype_it->is_string()) return fail("field 'dtype' is not a string");
  const auto& dtype_id = dtype_it->get_ref<const std::string&>();
  auto resolved = resolve_id(dtype_id, catalog);
  if (!resolved.ok()) return resolved.take_status().with_tensor(name);
  t.dtype_id = resolved->entry->id;
  t.dtype = std::move(resolved->dtype);
  if (!read_u64_array(*shape_it, t.shape)) return fail("field 'shape' is not an array of non-negative integers");
  std::vector<uint64_t> offsets;
  if (!read_u64_array(*offsets_it, offsets) || offsets.size() != 2)
    return fail("field 'data_offsets' is not an array of two non-negative integers");
  t.begin = offsets[0];
  t.end = offsets[1];

  uint64_t elems = 0, bytes = 0;
  if (!checked_element_count(t.shape, elems))
    return fail("shape " + shape_to_string(t.shape) + " has more elements than fit in 64 bits");
  if (elems % t.dtype.block_elems != 0)
    return fail("shape " + shape_to_string(t.shape) + " holds " + std::to_string(elems) + " " +
                std::string(t.dtype_id) + " elements, which do not fill whole bytes");
  if (!checked_byte_count(elems, t.dtype.block_elems, t.dtype.block_bytes, bytes))
    return fail("shape " + shape_to_string(t.shape) + " of " + std::string(t.dtype_id) +
                " needs more bytes than fit in 64 bits");
  if (t.end < t.begin) return fail(offsets_text(t.begin, t.end) + " end before they begin");
  if (t.end - t.begin != bytes)
    return fail(offsets_text(t.begin, t.end) + " hold " + std::to_string(t.end - t.begin) + " bytes, but " +
                std::string(t.dtype_id) + " " + shape_to_string(t.shape) + " needs " + std::to_string(bytes));
  if (t.end > buffer_length)
    return fail(offsets_text(t.begin, t.end) + " extend past the end of the " + std::to_string(buffer_length) +
                "-byte data buffer");
  return t;
}

// Rule 6: sorted by begin, the ranges must tile [0, buffer_length) exactly.
Status check_coverage(const std::vector<HeaderTensor>& tensors, uint64_t buffer_length) {
  uint64_t pos = 0;
  const HeaderTensor* prev = nullptr;
  for (const auto& t : tensors) {
    if (t.begin > pos) {
      if (prev == nullptr)
        return bad_input(offsets_text(t.begin, t.end) + " leave the first " + std::to_string(t.begin) +
                         " bytes of the data buffer unused")
            .with_tensor(t.name);
      return bad_input(offsets_text(t.begin, t.end) + " leave a gap of " + std::to_string(t.begin - pos) +
                       " bytes after tensor '" + prev->name + "' (which ends at " + std::to_string(pos) + ")")
          .with_tensor(t.name);
    }
    if (t.begin < pos)
      return bad_input(offsets_text(t.begin, t.end) + " overlap tensor '" + prev->name + "' (which ends at " +
                       std::to_string(pos) + ")")
          .with_tensor(t.name);
    pos = t.end;
    prev = &t;
  }
  if (pos != buffer_length) {
    if (prev == nullptr)
      return bad_input("the header lists no tensors but the data buffer holds " + std::to_string(buffer_length) +
                       " bytes");
    return bad_input("the last tensor ends at byte " + std::to_string(pos) + " of the data buffer, leaving " +
                     std::to_string(buffer_length - pos) + " trailing bytes")
        .with_tensor(prev->name);
  }
  return {};
}

}  // namespace

Result<ParsedHeader> parse_header(std::span<const std::byte> file, const CodecCatalog& catalog) {
  return parse_header(file, file.size(), catalog);
}

Result<ParsedHeader> parse_header(std::span<const std::byte> file, uint64_t size, const CodecCatalog& catalog) {
  if (size < 8) return bad_input("file is " + std::to_string(size) + " bytes, too short for the 8-byte header length");
  ParsedHeader h;
  for (int i = 7; i >= 0; --i) h.header_length = (h.header_length << 8) | static_cast<uint8_t>(file[i]);
  // Checked against the file size before anything is allocated, so a text file or a
  // truncated download fails here with both numbers instead of a huge allocation.
  if (h.header_length > size - 8)
    return bad_input("header length " + std::to_string(h.header_length) + " exceeds the file size " +
                     std::to_string(size));
  if (h.header_length > kMaxHeaderLength)
    return bad_input("header length " + std::to_string(h.header_length) + " exceeds the limit of " +
                     std::to_string(kMaxHeaderLength) + " bytes");
  if (8 + h.header_length > file.size())
    return bad_input("the header (" + std::to_string(h.header_length) + " bytes) runs past the first " +
                     std::to_string(kCompressedHeadLimit >> 20) +
                     " MiB that are decoded for headers of a compressed input; decompress the file first");
  h.data_start = 8 + h.header_length;
  h.buffer_length = size - h.data_start;

  const std::string_view text(reinterpret_cast<const char*>(file.data()) + 8, h.header_length);
  if (text.empty()) return bad_input("header length is 0, the header must be a JSON object");
  if (text.front() != '{') {
    static constexpr char hex[] = "0123456789abcdef";
    const auto c = static_cast<unsigned char>(text.front());
    return bad_input(std::string("header does not start with '{' (first byte 0x") + hex[c >> 4] + hex[c & 15] + ")");
  }
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos)
    return bad_input("header is not valid UTF-8 (at header byte " + std::to_string(bad) + ")");

  DuplicateFinder dups;
  json root;
  try {
    root = json::parse(text.begin(), text.end(), std::ref(dups));
  } catch (const std::exception& e) {
    return bad_input("header is not valid JSON: " + json_error_text(e.what()));
  }
  if (dups.found) return duplicate_error(dups);
  if (!root.is_object()) return bad_input("header is not a JSON object");

  h.tensors.reserve(root.size());
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      // serde reads the reference's Option<HashMap> from null as "absent".
      if (value.is_null()) continue;
      if (!value.is_object()) return bad_input("__metadata__ is not an object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) return bad_input("__metadata__ value of key '" + mkey + "' is not a string");
        h.metadata.emplace(mkey, mvalue.get<std::string>());
      }
      continue;
    }
    QF_ASSIGN_OR_RETURN(auto tensor, parse_tensor(key, value, h.buffer_length, catalog));
    h.tensors.push_back(std::move(tensor));
  }
  std::stable_sort(h.tensors.begin(), h.tensors.end(), [](const HeaderTensor& a, const HeaderTensor& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  QF_RETURN_IF_ERROR(check_coverage(h.tensors, h.buffer_length));
  return h;
}

}  // namespace quantflow::safetensors
