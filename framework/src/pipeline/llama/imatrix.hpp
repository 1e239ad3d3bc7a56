// Importance matrices as llama.cpp's imatrix tool writes them: per tensor, the mean of the
// squared activations seen by each input column. Codecs weight their error by these.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace quantflow::pipeline {

struct ImportanceMatrix {
  std::string file;
  bool legacy = false;  // the original `.dat` form rather than GGUF
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0;
  // Tensor name -> weights: row_length values, or row_length * n for a 3-D tensor of n
  // matrices (one segment per matrix, as for MoE experts).
  std::map<std::string, std::vector<float>> weights;

  // The weights for `tensor`, or null when the file has none for it. Fails when the file
  // has an entry of the wrong size for the tensor's shape.
  Result<const std::vector<float>*> for_tensor(const TensorInfo& tensor) const;
};

// Reads either form: a container file (GGUF) with `<name>.in_sum2` and `<name>.counts`
// tensors, or the legacy binary `.dat` layout.
Result<ImportanceMatrix> load_imatrix(const core::Registry& registry, const std::string& path);

// The two forms on their own, for load_imatrix and the fuzz targets (tests/fuzz): the
// tensors of an opened container (decoded through `catalog`), and the legacy file at `path`.
Result<ImportanceMatrix> load_container_imatrix(const CodecCatalog& catalog, const Reader& reader);
Result<ImportanceMatrix> load_legacy_imatrix(const std::string& path);

}  // namespace quantflow::pipeline
