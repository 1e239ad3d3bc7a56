#include "writing/writer.hpp"

#include <algorithm>
#include <cstring>
#include <exception>

#include "format/crc32.hpp"
#include "format/format.hpp"

namespace quantflow::apr {

Result<std::vector<size_t>> FileWriter::begin(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  if (state_ != State::fresh) return internal_error("APR writer: begin() called twice").with_file(sink_.target_path());
  state_ = State::failed;  // until begin() succeeds
  // Allocation failures (a huge vocabulary in metadata) must not escape the plugin.
  try {
    auto order = start(metadata, tensors);
    if (!order.ok()) return order.take_status().with_file(sink_.target_path());
    state_ = State::writing;
    return order;
  } catch (const std::exception& e) {
    return internal_error(std::string("APR writer failed: ") + e.what()).with_file(sink_.target_path());
  }
}

Result<std::vector<size_t>> FileWriter::start(const Metadata& metadata, const std::vector<TensorInfo>& tensors) {
  QF_ASSIGN_OR_RETURN(layout_, plan_layout(metadata, tensors, catalog_, sink_.target_path(), compression_.zstd));
  names_.clear();
  for (const auto& t : tensors) names_.push_back(t.name);
  if (compression_.zstd) {
    QF_ASSIGN_OR_RETURN(spill_, SpillFile::create(sink_.target_path()));
    encoder_ = std::make_unique<FrameEncoder>(compression_.level);
  } else {
    QF_RETURN_IF_ERROR(emit(encode_prefix(layout_)));
  }
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  return order;
}

Status FileWriter::write_tensor(size_t index, std::span<const std::byte> bytes) {
  if (state_ != State::writing) return internal_error("APR writer: write_tensor() outside begin()/finish()");
  Status s;
  try {
    s = store(index, bytes);
  } catch (const std::exception& e) {  // allocation failures must not escape the plugin
    s = internal_error(std::string("APR writer failed: ") + e.what());
  }
  if (!s.ok()) {
    state_ = State::failed;
    return std::move(s)
        .with_tensor(index < names_.size() ? names_[index] : std::string())
        .with_file(sink_.target_path());
  }
  return {};
}

Status FileWriter::store(size_t index, std::span<const std::byte> bytes) {
  if (index != next_ || next_ >= layout_.entries.size())
    return internal_error("tensor #" + std::to_string(index) + " written out of order");
  IndexEntry& entry = layout_.entries[next_];
  if (bytes.size() != entry.size)
    return internal_error("got " + std::to_string(bytes.size()) + " bytes, declared " + std::to_string(entry.size));
  if (compression_.zstd) {
    QF_ASSIGN_OR_RETURN(auto frame, encoder_->encode(bytes));
    spilled_at_.push_back(spill_->size());
    QF_RETURN_IF_ERROR(spill_->append(frame));
    entry.size = frame.size();
  } else {
    QF_RETURN_IF_ERROR(emit(bytes));
    QF_RETURN_IF_ERROR(emit_zeros(padded(bytes.size()) - bytes.size()));
  }
  ++next_;
  return {};
}

Status FileWriter::finish() {
  if (state_ != State::writing) return internal_error("APR writer: finish() without a successful begin()");
  state_ = State::failed;
  Status s;
  try {
    s = complete();
  } catch (const std::exception& e) {
    s = internal_error(std::string("APR writer failed: ") + e.what());
  }
  if (!s.ok()) return std::move(s).with_file(sink_.target_path());
  state_ = State::finished;
  return {};
}

Status FileWriter::complete() {
  if (next_ != layout_.entries.size())
    return internal_error("finish() after " + std::to_string(next_) + " of " + std::to_string(layout_.entries.size()) +
                          " tensors");
  if (compression_.zstd) {
    QF_RETURN_IF_ERROR(emit(encode_prefix(layout_)));
    for (size_t k = 0; k < layout_.entries.size(); ++k) {
      const uint64_t size = layout_.entries[k].size;
      QF_RETURN_IF_ERROR(spill_->copy(spilled_at_[k], size, [this](std::span<const std::byte> b) { return emit(b); }));
      QF_RETURN_IF_ERROR(emit_zeros(padded(size) - size));
    }
    spill_.reset();
  }
  std::byte footer[kFooterBytes];
  std::memcpy(footer, &crc_, sizeof crc_);
  return sink_.write(footer);
}

Status FileWriter::emit(std::span<const std::byte> bytes) {
  crc_ = crc32_update(crc_, bytes);
  return sink_.write(bytes);
}

Status FileWriter::emit_zeros(uint64_t n) {
  static constexpr std::byte zeros[kAlignment] = {};
  return n == 0 ? Status{} : emit({zeros, static_cast<size_t>(n)});
}

}  // namespace quantflow::apr
