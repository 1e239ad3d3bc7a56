// Importance matrices as llama.cpp's imatrix tool writes them: per tensor, the mean of the
// squared activations seen by each input column. Codecs weight their error by these.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/importance.hpp"

namespace quantflow::pipeline {

// Reads either form: a container file (GGUF) with `<name>.in_sum2` and `<name>.counts`
// tensors, or the legacy binary `.dat` layout. Shared: the conversion that uses it keeps it
// alive while its jobs point into it (Conversion::importance).
Result<std::shared_ptr<const ImportanceMatrix>> load_imatrix(const core::Registry& registry, const std::string& path);

// The two forms on their own, for load_imatrix and the fuzz targets (tests/fuzz): the
// tensors of an opened container (decoded through `catalog`), and the legacy file at `path`.
Result<ImportanceMatrix> load_container_imatrix(const CodecCatalog& catalog, const Reader& reader);
Result<ImportanceMatrix> load_legacy_imatrix(const std::string& path);

}  // namespace quantflow::pipeline
