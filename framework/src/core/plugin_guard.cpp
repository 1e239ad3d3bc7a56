#include "core/plugin_guard.hpp"

#include <exception>
#include <string>

#include <fmt/format.h>

#include "core/plugin_origin.hpp"

namespace quantflow::core {

std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

namespace {

class GuardedReader final : public Reader {
 public:
  GuardedReader(const ContainerDescriptor& c, std::unique_ptr<Reader> r) : container_(c), inner_(std::move(r)) {}
  std::string container() const override { return inner_->container(); }
  std::string version() const override { return inner_->version(); }
  const Metadata& metadata() const override { return inner_->metadata(); }
  const std::vector<TensorInfo>& tensors() const override { return inner_->tensors(); }
  Result<TensorData> read(size_t index) const override {
    try {
      return inner_->read(index);
    } catch (...) {
      return container_threw(container_, "reading a tensor");
    }
  }
  std::vector<Property> properties() const override { return inner_->properties(); }
  void release(size_t index) const override { inner_->release(index); }

 private:
  const ContainerDescriptor& container_;
  std::unique_ptr<Reader> inner_;
};

class GuardedWriter final : public Writer {
 public:
  GuardedWriter(const ContainerDescriptor& c, std::unique_ptr<Writer> w, std::string target)
      : container_(c), inner_(std::move(w)), target_(std::move(target)) {}
  Result<std::vector<size_t>> begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) override {
    try {
      return inner_->begin(metadata, tensors);
    } catch (...) {
      return container_threw(container_, "writing the header").with_file(target_);
    }
  }
  Status write_tensor(size_t index, std::span<const std::byte> bytes) override {
    try {
      return inner_->write_tensor(index, bytes);
    } catch (...) {
      return container_threw(container_, "writing a tensor").with_file(target_);
    }
  }
  Status finish() override {
    try {
      return inner_->finish();
    } catch (...) {
      return container_threw(container_, "finishing the file").with_file(target_);
    }
  }

 private:
  const ContainerDescriptor& container_;
  std::unique_ptr<Writer> inner_;
  std::string target_;
};

}  // namespace

Status container_threw(const ContainerDescriptor& container, const char* doing) {
  return internal_error(fmt::format("container '{}' ({}) threw while {}: {}", container.name,
                                    plugin_path_of(&container), doing, current_exception_text()));
}

std::unique_ptr<Reader> guard_reader(const ContainerDescriptor& container, std::unique_ptr<Reader> reader) {
  return std::make_unique<GuardedReader>(container, std::move(reader));
}

std::unique_ptr<Writer> guard_writer(const ContainerDescriptor& container, std::unique_ptr<Writer> writer,
                                     std::string target) {
  return std::make_unique<GuardedWriter>(container, std::move(writer), std::move(target));
}

}  // namespace quantflow::core
