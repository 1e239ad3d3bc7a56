#include "pipeline/plan.hpp"

#include <fmt/format.h>

namespace quantflow::pipeline {

Status retarget(TensorJob& job, const CodecDescriptor& codec, const CodecCatalog& catalog) {
  const DType target = dtype_of(codec);
  if (codec.encode == nullptr)
    return unsupported(fmt::format("'{}' can only be decoded, not written", codec.name)).with_tensor(job.source.name);
  const CodecDescriptor* decoder = catalog.find(job.source.dtype.name);
  if (decoder == nullptr || decoder->decode == nullptr)
    return unsupported(fmt::format("no loaded codec can decode its encoding '{}'", job.source.dtype.name))
        .with_tensor(job.source.name);
  const uint64_t row = row_length(job.source.shape);
  if (!target.fits_row(row))
    return bad_input(fmt::format("row length {} is not a multiple of {}'s block size {}", row, target.name,
                                 target.block_elems))
        .with_tensor(job.source.name);
  job.decoder = decoder;
  job.encoder = &codec;
  job.target.dtype = target;
  job.target.n_bytes = target.bytes_for(element_count(job.source.shape));
  return {};
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

}  // namespace quantflow::pipeline
