#include "pipeline/recipe/recipe_output.hpp"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "pipeline/engine/convert.hpp"
#include "pipeline/llama/imatrix.hpp"
#include "pipeline/analysis/model_card.hpp"
#include "pipeline/recipe/tensor_rules.hpp"
#include "pipeline/engine/transcode.hpp"

namespace quantflow::pipeline {

namespace {

// How a container spreads one model over several files.
struct ShardConvention {
  const char* container;
  bool metadata_in_every_shard;  // false: the first shard carries the model's metadata
  bool split_keys;               // split.no / split.count / split.tensors.count in each shard
  const char* index_suffix;      // an index file "<output path><suffix>" lists the shards; null: none
  const char* stale_keys;        // glob of keys describing an input's own sharding, dropped
};

constexpr ShardConvention kShardConventions[] = {
    {"gguf", false, true, nullptr, "split.*"},
    {"safetensors", true, false, ".index.json", nullptr},
};

const ShardConvention* convention_for(const std::string& container) {
  for (const auto& c : kShardConventions)
    if (container == c.container) return &c;
  return nullptr;
}

std::string shard_path(const std::string& path, size_t number, size_t count) {
  const std::filesystem::path p(path);
  const std::string stem = (p.parent_path() / p.stem()).string();
  return fmt::format("{}-{:05d}-of-{:05d}{}", stem, number, count, p.extension().string());
}

void drop_keys(Metadata& metadata, const char* glob) {
  if (glob == nullptr) return;
  std::vector<std::string> doomed;
  for (const auto& e : metadata.entries())
    if (glob_matches(glob, e.key)) doomed.push_back(e.key);
  for (const auto& k : doomed) metadata.erase(k);
}

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  return core::same_file(a, b) || std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

// Counts bytes instead of storing them: running a writer against it measures its output.
class CountingSink final : public OutputSink {
 public:
  explicit CountingSink(std::string path) : path_(std::move(path)) {}
  Status write(std::span<const std::byte> bytes) override {
    position_ += bytes.size();
    return {};
  }
  uint64_t position() const override { return position_; }
  const std::string& target_path() const override { return path_; }

 private:
  std::string path_;
  uint64_t position_ = 0;
};

Result<uint64_t> measure_file(const core::Registry& registry, const ContainerDescriptor& container,
                              const PlannedShard& shard) {
  CountingSink sink(shard.path);
  auto writer_result = core::create_writer(container, sink, registry, shard.plan.writer_options);
  if (!writer_result.ok()) return writer_result.take_status().with_file(shard.path);
  auto writer = std::move(writer_result).value();
  QF_ASSIGN_OR_RETURN(auto order, writer->begin(shard.plan.metadata, shard.plan.target_infos()));
  uint64_t largest = 0;
  for (const auto& job : shard.plan.jobs) largest = std::max(largest, job.target.n_bytes);
  // calloc'd zero pages are shared until written, and the counting sink never reads them.
  std::unique_ptr<std::byte, decltype(&std::free)> zeros(static_cast<std::byte*>(std::calloc(largest + 1, 1)),
                                                         &std::free);
  if (!zeros) return internal_error("out of memory while measuring the output");
  for (size_t index : order)
    QF_RETURN_IF_ERROR(writer->write_tensor(index, {zeros.get(), shard.plan.jobs[index].target.n_bytes}));
  QF_RETURN_IF_ERROR(writer->finish());
  return sink.position();
}

// The executor's view of one tensor's resident bytes (source pages, output, f32 scratch).
uint64_t working_set(const TensorJob& job, int threads) {
  uint64_t bytes = job.source.n_bytes;
  if (!job.is_copy()) bytes += job.target.n_bytes + transcode_scratch_bytes(job) * static_cast<uint64_t>(threads);
  return bytes;
}

// Every file the recipe writes must differ from the inputs and from each other.
Status check_output_paths(const Recipe& recipe, const RecipePlan& out) {
  const std::string& path = recipe.output.path.value;
  std::vector<std::string> written;
  for (const auto& s : out.shards) written.push_back(s.path);
  if (!out.index_path.empty()) written.push_back(out.index_path);
  if (recipe.output.model_card.value) written.push_back(model_card_path(path));
  if (!recipe.output.report.value.empty()) written.push_back(recipe.output.report.value);
  for (size_t i = 0; i < written.size(); ++i) {
    for (const auto& input : recipe.inputs)
      if (same_path(written[i], input.value))
        return recipe_error(recipe.output.path.mark,
                            fmt::format("output file '{}' is also an input ({})", written[i], input.mark.to_string()));
    for (size_t j = 0; j < i; ++j)
      if (written[i] == written[j])
        return recipe_error(recipe.output.path.mark, fmt::format("two output files are both '{}'", written[i]));
  }
  return {};
}

}  // namespace

Status plan_output_files(const Recipe& recipe, RecipePlan& out) {
  const ShardConvention* convention = convention_for(out.container->name);
  if (convention != nullptr) drop_keys(out.plan.metadata, convention->stale_keys);
  const std::string& path = recipe.output.path.value;
  const uint64_t split = recipe.output.split_size.value;
  if (split == 0) {
    out.shards.push_back({path, out.plan});
    return check_output_paths(recipe, out);
  }
  if (convention == nullptr)
    return recipe_error(recipe.output.split_size.mark,
                        fmt::format("the {} container has no convention for split files", out.container->name));

  // Greedy packing in output order: a shard closes when the next tensor would overflow it.
  std::vector<std::vector<size_t>> groups;
  uint64_t filled = 0;
  for (size_t i = 0; i < out.plan.jobs.size(); ++i) {
    const uint64_t bytes = out.plan.jobs[i].target.n_bytes;
    if (groups.empty() || (filled > 0 && filled + bytes > split)) {
      groups.emplace_back();
      filled = 0;
    }
    groups.back().push_back(i);
    filled += bytes;
  }
  if (groups.empty()) groups.emplace_back();

  const size_t count = groups.size();
  for (size_t g = 0; g < count; ++g) {
    PlannedShard shard;
    shard.path = shard_path(path, g + 1, count);
    shard.plan.writer_options = out.plan.writer_options;
    if (g == 0 || convention->metadata_in_every_shard) shard.plan.metadata = out.plan.metadata;
    if (convention->split_keys) {
      shard.plan.metadata.set("split.no", MetaValue::make_unsigned(MetaType::u16, g));
      shard.plan.metadata.set("split.tensors.count", MetaValue::make_i32(static_cast<int32_t>(out.plan.jobs.size())));
      shard.plan.metadata.set("split.count", MetaValue::make_unsigned(MetaType::u16, count));
    }
    for (size_t i : groups[g]) shard.plan.jobs.push_back(out.plan.jobs[i]);
    out.shards.push_back(std::move(shard));
  }
  if (convention->index_suffix != nullptr) out.index_path = path + convention->index_suffix;

  return check_output_paths(recipe, out);
}

std::string shard_index_text(const RecipePlan& plan) {
  if (plan.index_path.empty()) return {};
  nlohmann::json index;
  uint64_t total = 0;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const auto& shard : plan.shards)
    for (const auto& job : shard.plan.jobs) {
      total += job.target.n_bytes;
      weight_map[job.target.name] = std::filesystem::path(shard.path).filename().string();
    }
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = std::move(weight_map);
  return index.dump(2) + "\n";
}

Result<OutputEstimate> estimate_output(const core::Registry& registry, const RecipePlan& plan) {
  OutputEstimate estimate;
  for (const auto& shard : plan.shards) {
    QF_ASSIGN_OR_RETURN(uint64_t bytes, measure_file(registry, *plan.container, shard));
    estimate.files.emplace_back(shard.path, bytes);
    estimate.file_bytes += bytes;
  }
  if (!plan.index_path.empty()) {
    const uint64_t bytes = shard_index_text(plan).size();
    estimate.files.emplace_back(plan.index_path, bytes);
    estimate.file_bytes += bytes;
  }
  int threads = plan.threads > 0 ? plan.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const uint64_t budget = plan.memory_budget > 0 ? plan.memory_budget : default_memory_budget();
  uint64_t largest = 0;
  for (const auto& job : plan.plan.jobs) {
    estimate.tensor_bytes += job.target.n_bytes;
    auto& [count, bytes] = estimate.per_type[job.target.dtype.name];
    ++count;
    bytes += job.target.n_bytes;
    largest = std::max(largest, working_set(job, threads));
  }
  estimate.memory_bytes = largest * max_tensors_in_flight(plan.plan, budget, threads);
  return estimate;
}

Status execute_recipe(const core::Registry& registry, const RecipePlan& plan,
                      const std::function<void(const Progress&)>& on_progress, std::vector<TensorStats>* stats) {
  std::optional<ImportanceMatrix> imatrix;
  if (!plan.imatrix.empty()) {
    QF_ASSIGN_OR_RETURN(imatrix, load_imatrix(registry, plan.imatrix));
  }
  // Refuse missing importance weights for every shard before the first byte is written.
  std::vector<Plan> shard_plans;
  for (const auto& shard : plan.shards) {
    shard_plans.push_back(shard.plan);
    if (Status s = attach_importance(shard_plans.back(), imatrix ? &*imatrix : nullptr); !s.ok())
      return std::move(s).with_file(plan.source->input_paths().front());
  }

  Progress overall;
  for (const auto& job : plan.plan.jobs) overall.bytes_total += job.target.n_bytes;
  overall.tensors_total = plan.plan.jobs.size();
  for (size_t s = 0; s < plan.shards.size(); ++s) {
    const PlannedShard& shard = plan.shards[s];
    const Progress before = overall;
    ExecuteOptions options;
    options.threads = plan.threads;
    options.memory_budget = plan.memory_budget;
    options.on_progress = [&](const Progress& p) {
      overall.tensors_done = before.tensors_done + p.tensors_done;
      overall.bytes_done = before.bytes_done + p.bytes_done;
      overall.last = p.last;
      if (on_progress) on_progress(overall);
    };
    std::vector<TensorStats> shard_stats;
    if (stats != nullptr) options.stats = &shard_stats;
    QF_RETURN_IF_ERROR(write_plan(registry, *plan.source, shard_plans[s], *plan.container, shard.path,
                                  plan.source->input_paths(), options));
    // Shards hold consecutive runs of the plan's jobs, so their statistics concatenate.
    if (stats != nullptr) stats->insert(stats->end(), shard_stats.begin(), shard_stats.end());
  }
  if (!plan.index_path.empty()) {
    QF_RETURN_IF_ERROR(
        core::write_file_atomically(plan.index_path, shard_index_text(plan), plan.source->input_paths()));
  }
  return {};
}

}  // namespace quantflow::pipeline
