#include "pipeline/engine/executor.hpp"

#include <unistd.h>

#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

namespace {

struct Transcoded {
  size_t seq = 0;  // position in the writer's order
  TensorData data;
  std::shared_ptr<std::vector<std::byte>> owned;
  Status status;
};

}  // namespace

uint64_t job_working_set(const TensorJob& job, int threads) {
  uint64_t bytes = job.source.n_bytes;
  if (!job.is_copy()) bytes += job.target.n_bytes + transcode_scratch_bytes(job) * static_cast<uint64_t>(threads);
  return bytes;
}

int ExecutionSettings::resolved_threads() const { return threads > 0 ? threads : tbb::info::default_concurrency(); }

uint64_t ExecutionSettings::resolved_memory_budget() const {
  return memory_budget > 0 ? memory_budget : default_memory_budget();
}

Progress progress_totals(const Plan& plan) {
  Progress progress;
  progress.tensors_total = plan.jobs.size();
  for (const auto& job : plan.jobs) {
    progress.bytes_total += job.target.n_bytes;
    progress.input_bytes_total += job.source_bytes_read();
  }
  return progress;
}

uint64_t default_memory_budget() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  const uint64_t physical = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
  const uint64_t quarter = physical / 4;
  constexpr uint64_t kCap = 4ull << 30;
  return quarter == 0 ? kCap : std::min(quarter, kCap);
}

size_t max_tensors_in_flight(const Plan& plan, uint64_t budget, int threads) {
  uint64_t largest = 1;
  for (const auto& job : plan.jobs) largest = std::max(largest, job_working_set(job, threads));
  const uint64_t fit = budget / largest;
  // Each tensor is itself spread over every thread (transcode's chunks), so one tensor being
  // encoded, one being read and one being written keep them busy; more only hold memory.
  const uint64_t useful = static_cast<uint64_t>(threads) + 1;
  return static_cast<size_t>(std::clamp<uint64_t>(fit, 1, useful));
}

uint64_t peak_memory_estimate(const Plan& plan, const ExecutionSettings& settings) {
  const int threads = settings.resolved_threads();
  uint64_t largest = 0;
  for (const auto& job : plan.jobs) largest = std::max(largest, job_working_set(job, threads));
  return largest * max_tensors_in_flight(plan, settings.resolved_memory_budget(), threads);
}

Status execute(const Plan& plan, const std::vector<size_t>& order, const Reader& reader, Writer& writer,
               const ExecuteOptions& options) {
  namespace flow = tbb::flow;
  const int threads = options.settings.resolved_threads();
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  const size_t in_flight = max_tensors_in_flight(plan, options.settings.resolved_memory_budget(), threads);
  if (options.stats) options.stats->assign(plan.jobs.size(), TensorStats{});
  if (options.routes) options.routes->assign(plan.jobs.size(), TranscodeRoute::via_codecs);

  Progress progress = progress_totals(plan);
  progress.tensors_total = order.size();

  std::atomic<bool> failed{false};
  std::mutex status_mutex;
  Status first_error;
  auto record = [&](Status s) {
    std::lock_guard lock(status_mutex);
    if (first_error.ok()) first_error = std::move(s);
    failed.store(true);
  };

  flow::graph g;
  size_t next = 0;
  flow::input_node<size_t> source(g, [&](tbb::flow_control& fc) -> size_t {
    if (next >= order.size()) {
      fc.stop();
      return 0;
    }
    return next++;
  });
  flow::limiter_node<size_t> limiter(g, in_flight);
  flow::function_node<size_t, Transcoded> transcoder(g, flow::unlimited, [&](size_t seq) {
    Transcoded out;
    out.seq = seq;
    if (failed.load()) return out;  // keep the graph flowing; the error is already recorded
    const TensorJob& job = plan.jobs[order[seq]];
    auto data = reader.read(job.source_index);
    if (!data.ok()) {
      out.status = data.take_status().with_tensor(job.source.name);
      return out;
    }
    if (job.is_copy()) {
      out.data = std::move(data).value();
      return out;
    }
    TensorStats* stats = options.stats ? &(*options.stats)[order[seq]] : nullptr;
    TensorData scales;
    if (job.scale_source_index) {
      auto read_scales = reader.read(*job.scale_source_index);
      if (!read_scales.ok()) {
        out.status = read_scales.take_status().with_tensor(job.source.name);
        return out;
      }
      scales = std::move(read_scales).value();
    }
    TranscodeRoute* route = options.routes ? &(*options.routes)[order[seq]] : nullptr;
    auto bytes = transcode(job, data->bytes, job.importance, stats, scales.bytes, route);
    if (!bytes.ok()) {
      out.status = bytes.take_status();
      return out;
    }
    out.owned = std::make_shared<std::vector<std::byte>>(std::move(bytes).value());
    out.data.bytes = std::span<const std::byte>(out.owned->data(), out.owned->size());
    return out;
  });
  flow::sequencer_node<Transcoded> sequencer(g, [](const Transcoded& t) { return t.seq; });
  flow::function_node<Transcoded, flow::continue_msg> sink(g, flow::serial, [&](Transcoded t) {
    const TensorJob& job = plan.jobs[order[t.seq]];
    if (!t.status.ok()) {
      record(std::move(t.status));
    } else if (!failed.load()) {
      if (t.data.bytes.size() != job.target.n_bytes) {
        record(internal_error("produced " + std::to_string(t.data.bytes.size()) + " bytes, declared " +
                              std::to_string(job.target.n_bytes))
                   .with_tensor(job.target.name));
      } else if (Status s = writer.write_tensor(order[t.seq], t.data.bytes); !s.ok()) {
        record(std::move(s).with_tensor(job.target.name));
      } else {
        ++progress.tensors_done;
        progress.bytes_done += job.target.n_bytes;
        progress.input_bytes_done += job.source_bytes_read();
        progress.last = &job;
        if (options.on_progress) options.on_progress(progress);
      }
    }
    t.owned.reset();
    t.data = {};
    reader.release(job.source_index);
    if (job.scale_source_index) reader.release(*job.scale_source_index);
    return flow::continue_msg();
  });

  flow::make_edge(source, limiter);
  flow::make_edge(limiter, transcoder);
  flow::make_edge(transcoder, sequencer);
  flow::make_edge(sequencer, sink);
  flow::make_edge(sink, limiter.decrementer());
  source.activate();
  g.wait_for_all();
  return first_error;
}

}  // namespace quantflow::pipeline
