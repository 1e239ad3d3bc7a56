#include "pipeline/engine/plan.hpp"

#include <fmt/format.h>

namespace quantflow::pipeline {

Status retarget(TensorJob& job, const CodecDescriptor& codec, const CodecCatalog& catalog) {
  DType target = dtype_of(codec);
  if (codec.row_scale != nullptr)
    target = DType{codec.row_scale->values_dtype, codec.block_elems, codec.block_bytes, DTypeKind::integer};
  if (codec.encode == nullptr)
    return unsupported(fmt::format("'{}' can only be decoded, not written", codec.name)).with_tensor(job.source.name);
  // A joined row-scaled pair already knows its decoder.
  const CodecDescriptor* decoder = job.scale_source_index ? job.decoder : catalog.find(job.source.dtype.name);
  if (decoder == nullptr || decoder->decode == nullptr)
    return unsupported(fmt::format("no loaded codec can decode its encoding '{}'", job.source.dtype.name))
        .with_tensor(job.source.name);
  // The same name with another geometry (a container that lost part of it) would be decoded
  // with the wrong layout: refuse rather than produce garbage.
  if (!job.scale_source_index && !(dtype_of(*decoder) == job.source.dtype))
    return bad_input(fmt::format("its stored encoding '{}' does not have the geometry of the codec of that name",
                                 job.source.dtype.name))
        .with_tensor(job.source.name);
  const uint64_t row = row_length(job.source.shape);
  if (!target.fits_row(row))
    return bad_input(fmt::format("row length {} is not a multiple of {}'s block size {}", row, target.name,
                                 target.block_elems))
        .with_tensor(job.source.name);
  job.decoder = decoder;
  job.encoder = &codec;
  job.transcoder = nullptr;  // chosen once the plan is complete (engine/direct)
  job.target.dtype = target;
  job.target.n_bytes = target.bytes_for(element_count(job.source.shape));
  return {};
}

void expand_row_scales(Plan& plan) {
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    TensorJob& job = plan.jobs[i];
    if (job.encoder == nullptr || job.encoder->row_scale == nullptr || job.part != TensorJob::Part::whole) continue;
    const QfRowScale& rs = *job.encoder->row_scale;
    job.part = TensorJob::Part::row_values;
    TensorJob scales = job;
    scales.part = TensorJob::Part::row_scales;
    scales.target.name = job.target.name + rs.scale_suffix;
    scales.target.dtype = DType{rs.scale_dtype, 1, rs.scale_bytes_per_row, DTypeKind::floating};
    scales.target.shape = Shape(job.source.shape.begin(), job.source.shape.end() - 1);
    if (scales.target.shape.empty()) scales.target.shape = {1};
    scales.target.n_bytes = row_count(job.source.shape) * rs.scale_bytes_per_row;
    plan.jobs.insert(plan.jobs.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(scales));
    ++i;
  }
}

void join_row_scaled_pairs(Plan& plan, const CodecCatalog& /*catalog*/,
                           const std::vector<const CodecDescriptor*>& codecs) {
  std::vector<bool> consumed(plan.jobs.size(), false);
  for (auto& job : plan.jobs) {
    for (const CodecDescriptor* codec : codecs) {
      const QfRowScale* rs = codec->row_scale;
      if (rs == nullptr || codec->decode == nullptr || job.source.dtype.name != rs->values_dtype) continue;
      Shape rows(job.source.shape.begin(), job.source.shape.end() - (job.source.shape.empty() ? 0 : 1));
      if (rows.empty()) rows = {1};
      for (size_t k = 0; k < plan.jobs.size(); ++k) {
        const TensorInfo& s = plan.jobs[k].source;
        if (s.name == job.source.name + rs->scale_suffix && s.dtype.name == rs->scale_dtype && s.shape == rows) {
          job.decoder = codec;
          job.scale_source_index = plan.jobs[k].source_index;
          consumed[k] = true;
        }
      }
      if (job.scale_source_index) break;
    }
  }
  std::vector<TensorJob> kept;
  for (size_t k = 0; k < plan.jobs.size(); ++k)
    if (!consumed[k]) kept.push_back(std::move(plan.jobs[k]));
  plan.jobs = std::move(kept);
}

Plan copy_plan(const Reader& reader) {
  Plan plan;
  plan.metadata = reader.metadata();
  const auto& tensors = reader.tensors();
  plan.jobs.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    TensorJob job;
    job.source_index = i;
    job.source = tensors[i];
    job.target = tensors[i];
    job.target.offset = 0;
    plan.jobs.push_back(std::move(job));
  }
  return plan;
}

PlanTotals totals_of(const Plan& plan) {
  PlanTotals totals;
  totals.tensors = plan.jobs.size();
  for (const auto& job : plan.jobs) {
    totals.reencoded += job.reencodes_a_source() ? 1 : 0;
    totals.source_bytes += job.source_bytes_read();
    totals.target_bytes += job.target.n_bytes;
  }
  return totals;
}

}  // namespace quantflow::pipeline
