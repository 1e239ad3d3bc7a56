#include "support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "quantflow/plugin.hpp"

extern "C" const QfPluginDescriptor* quantflow_plugin_descriptor();  // plugins/codecs/f32

namespace qf_fuzz {

namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    // tmpfs keeps a file write per fuzz run cheap.
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::path(tmp ? tmp : "/tmp");
    dir = base / ("quantflow-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Scratch& scratch() {
  static Scratch s;
  return s;
}

class F32Catalog final : public quantflow::CodecCatalog {
 public:
  F32Catalog() : plugin_(quantflow_plugin_descriptor()) {}
  const quantflow::CodecDescriptor* find(std::string_view name) const override {
    for (uint32_t i = 0; i < plugin_->n_codecs; ++i)
      if (name == plugin_->codecs[i]->name) return plugin_->codecs[i];
    return nullptr;
  }
  const quantflow::CodecDescriptor* find_by_container_id(std::string_view container,
                                                         std::string_view id) const override {
    for (uint32_t i = 0; i < plugin_->n_codecs; ++i)
      for (uint32_t j = 0; j < plugin_->codecs[i]->n_container_ids; ++j) {
        const auto& cid = plugin_->codecs[i]->container_ids[j];
        if (container == cid.container && id == cid.id) return plugin_->codecs[i];
      }
    return nullptr;
  }

 private:
  const QfPluginDescriptor* plugin_;
};

}  // namespace

std::string scratch_dir() { return scratch().dir.string(); }

std::string scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const fs::path path = scratch().dir / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.good()) std::abort();  // the harness, not the parser, failed
  return path.string();
}

const quantflow::CodecCatalog& catalog() {
  static const F32Catalog c;
  return c;
}

void check_reader(const quantflow::Reader& reader) {
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto data = reader.read(i);
    if (!data.ok()) continue;  // a refusal is fine; a lie about the size is not
    if (data->bytes.size() != tensors[i].n_bytes) __builtin_trap();
    // Touch the first and last byte: a view outside the mapping faults here.
    if (!data->bytes.empty()) {
      volatile std::byte first = data->bytes.front(), last = data->bytes.back();
      (void)first;
      (void)last;
    }
  }
}

}  // namespace qf_fuzz
