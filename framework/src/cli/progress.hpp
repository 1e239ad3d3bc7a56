// --progress MODE for every command that reads a whole model: a live bar on stderr, one line
// per tensor on stderr, or JSON events on stdout (docs/cli.md "Progress", docs/json.md).
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/analysis/read_progress.hpp"
#include "pipeline/engine/executor.hpp"
#include "quantflow/status.hpp"

namespace quantflow::cli {

enum class ProgressMode { none, bar, lines, json };

// The option as given on the command line; resolved once the command line is parsed.
struct ProgressOption {
  std::string mode;  // empty: not given
  void add_to(boost::program_options::options_description& options);
  // The mode given, else none under -q, else a bar when stderr is a terminal and nothing
  // when it is not (scripts and logs stay as they were). A mode given wins over -q.
  Result<ProgressMode> resolve(bool quiet) const;
};

// What the command is about to read and write: the `start` event.
struct ProgressStart {
  std::vector<std::string> inputs;
  std::vector<std::string> files;  // the model files written; none for a command that only reads
  size_t tensors = 0;
  uint64_t input_bytes = 0;
  uint64_t bytes = 0;  // output tensor data
};

// One tensor done. `type` is what it was written as (its source type when nothing is written).
struct TensorStep {
  size_t index = 0;
  size_t total = 0;
  std::string_view name, source_type, type;
  uint64_t input_bytes = 0, bytes = 0;
  uint64_t input_bytes_done = 0, input_bytes_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;
};

// Renders one command's progress in its mode. Used from one thread at a time (the executor
// calls back from its serial writer stage).
class ProgressReporter {
 public:
  explicit ProgressReporter(ProgressMode mode);
  ProgressMode mode() const { return mode_; }
  bool json() const { return mode_ == ProgressMode::json; }
  double seconds() const;  // since the reporter was made (the command started)
  size_t tensors_reported() const { return tensors_reported_; }

  void start(const ProgressStart& start);
  void tensor(const TensorStep& step);
  // Ends the command: a json reporter prints `event` (whose "event" is "done").
  void done(const nlohmann::json& event);
  // The done event of a command that reads and writes no file (verify, diff): `key` holds its result.
  void done_reading(const char* key, nlohmann::json result);

  // Adapters for the engine's executor and for verify/diff; the latter also starts the
  // stream, with `inputs`, when it hears the totals.
  std::function<void(const pipeline::Progress&)> engine_callback();
  pipeline::ReadProgressCallback read_callback(std::vector<std::string> inputs);

 private:
  void draw_bar(const TensorStep& step);
  void print_line(const TensorStep& step) const;
  void print_event(const TensorStep& step) const;

  ProgressMode mode_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_drawn_{};
  size_t tensors_reported_ = 0;
  bool writes_ = true;  // whether the command writes a model (lines say "read" when not)
};

// A bar left unfinished by an error is ended before the error line is printed.
void end_progress_line();

}  // namespace quantflow::cli
