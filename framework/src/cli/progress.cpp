#include "cli/progress.hpp"

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/cli_common.hpp"
#include "core/units.hpp"

namespace quantflow::cli {

namespace {

struct ModeName {
  std::string_view name;
  ProgressMode mode;
};
constexpr std::array kModeNames = {
    ModeName{"bar", ProgressMode::bar},
    ModeName{"lines", ProgressMode::lines},
    ModeName{"json", ProgressMode::json},
    ModeName{"none", ProgressMode::none},
};

// Whether a bar line is on stderr without its newline yet.
bool g_bar_line_open = false;

// A bar is redrawn at most this often; the first and the last tensor are always drawn.
constexpr std::chrono::milliseconds kBarInterval{100};

// 9 -> "9s", 125 -> "2m05s", 7500 -> "2h05m".
std::string format_duration(double seconds) {
  const auto s = static_cast<uint64_t>(std::llround(std::max(seconds, 0.0)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

void print_json_line(const nlohmann::json& event) {
  std::cout << event.dump(-1, ' ', false, kJsonInvalidUtf8) << std::endl;
}

}  // namespace

void ProgressOption::add_to(boost::program_options::options_description& options) {
  options.add_options()("progress", boost::program_options::value(&mode),
                        "MODE: bar (a live bar on stderr), lines (one line per tensor on stderr, for logs), json "
                        "(events on stdout, one object per line) or none (default: bar when stderr is a terminal, "
                        "otherwise none; none under -q)");
}

Result<ProgressMode> ProgressOption::resolve(bool quiet) const {
  if (!mode.empty()) {
    for (const auto& [name, value] : kModeNames)
      if (name == mode) return value;
    return usage_error(fmt::format("--progress must be bar, lines, json or none, not '{}'", mode));
  }
  if (quiet || !::isatty(STDERR_FILENO)) return ProgressMode::none;
  return ProgressMode::bar;
}

ProgressReporter::ProgressReporter(ProgressMode mode) : mode_(mode), started_(std::chrono::steady_clock::now()) {}

double ProgressReporter::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void ProgressReporter::start(const ProgressStart& start) {
  writes_ = !start.files.empty();
  if (!json()) return;
  print_json_line({{"event", "start"},
                   {"inputs", start.inputs},
                   {"files", start.files},
                   {"tensors", start.tensors},
                   {"input_bytes", start.input_bytes},
                   {"bytes", start.bytes}});
}

void ProgressReporter::tensor(const TensorStep& step) {
  ++tensors_reported_;
  switch (mode_) {
    case ProgressMode::bar:
      return draw_bar(step);
    case ProgressMode::lines:
      return print_line(step);
    case ProgressMode::json:
      return print_event(step);
    case ProgressMode::none:
      return;
  }
}

void ProgressReporter::done_reading(const char* key, nlohmann::json result) {
  done({{"event", "done"},
        {"files", nlohmann::json::array()},
        {"tensors", tensors_reported_},
        {"bytes", 0},
        {"seconds", seconds()},
        {key, std::move(result)}});
}

void ProgressReporter::done(const nlohmann::json& event) {
  end_progress_line();
  if (json()) print_json_line(event);
}

void ProgressReporter::draw_bar(const TensorStep& step) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = step.index + 1 == step.total;
  if (step.index != 0 && !last && now - last_drawn_ < kBarInterval) return;
  last_drawn_ = now;
  const double elapsed = seconds();
  const double done = static_cast<double>(step.input_bytes_done);
  const double fraction = step.input_bytes_total > 0 ? done / static_cast<double>(step.input_bytes_total)
                                                     : static_cast<double>(step.index + 1) / step.total;
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const std::string eta =
      rate > 0 ? format_duration(static_cast<double>(step.input_bytes_total - step.input_bytes_done) / rate) : "?";
  // \r returns to the line's start and \033[K clears what a longer previous bar left.
  std::fputs(fmt::format("\r\033[K[{}/{}] {:3.0f}%  {} / {} read  {}/s  ETA {}", step.index + 1, step.total,
                         fraction * 100, core::format_size(step.input_bytes_done),
                         core::format_size(step.input_bytes_total), core::format_size(static_cast<uint64_t>(rate)), eta)
                 .c_str(),
             stderr);
  g_bar_line_open = true;
  if (last) end_progress_line();
  std::fflush(stderr);
}

void ProgressReporter::print_line(const TensorStep& step) const {
  const std::string what =
      writes_ ? fmt::format("{} -> {}  {} -> {} bytes", step.source_type, step.type, step.input_bytes, step.bytes)
              : fmt::format("{}  {} bytes read", step.source_type, step.input_bytes);
  std::fputs(fmt::format("[{}/{}] {}  {}  {:.2f}s\n", step.index + 1, step.total, step.name, what, seconds()).c_str(),
             stderr);
}

void ProgressReporter::print_event(const TensorStep& step) const {
  print_json_line({{"event", "tensor"},
                   {"index", step.index},
                   {"total", step.total},
                   {"name", step.name},
                   {"source_type", step.source_type},
                   {"type", step.type},
                   {"input_bytes", step.input_bytes},
                   {"bytes", step.bytes},
                   {"input_bytes_done", step.input_bytes_done},
                   {"input_bytes_total", step.input_bytes_total},
                   {"bytes_done", step.bytes_done},
                   {"bytes_total", step.bytes_total},
                   {"seconds", seconds()}});
}

std::function<void(const pipeline::Progress&)> ProgressReporter::engine_callback() {
  if (mode_ == ProgressMode::none) return {};
  return [this](const pipeline::Progress& p) {
    const pipeline::TensorJob& job = *p.last;
    tensor({.index = p.tensors_done - 1,
            .total = p.tensors_total,
            .name = job.target.name,
            .source_type = job.source.dtype.name,
            .type = job.target.dtype.name,
            .input_bytes = job.source_bytes_read(),
            .bytes = job.target.n_bytes,
            .input_bytes_done = p.input_bytes_done,
            .input_bytes_total = p.input_bytes_total,
            .bytes_done = p.bytes_done,
            .bytes_total = p.bytes_total});
  };
}

pipeline::ReadProgressCallback ProgressReporter::read_callback(std::vector<std::string> inputs) {
  return [this, inputs = std::move(inputs)](const pipeline::ReadProgress& p) {
    if (p.last == nullptr) {
      start({.inputs = inputs, .files = {}, .tensors = p.tensors_total, .input_bytes = p.bytes_total, .bytes = 0});
      return;
    }
    tensor({.index = p.tensors_done - 1,
            .total = p.tensors_total,
            .name = p.last->name,
            .source_type = p.last->dtype.name,
            .type = p.last->dtype.name,
            .input_bytes = p.last_bytes,
            .bytes = 0,
            .input_bytes_done = p.bytes_done,
            .input_bytes_total = p.bytes_total,
            .bytes_done = 0,
            .bytes_total = 0});
  };
}

void end_progress_line() {
  if (!g_bar_line_open) return;
  std::fputc('\n', stderr);
  std::fflush(stderr);
  g_bar_line_open = false;
}

}  // namespace quantflow::cli
