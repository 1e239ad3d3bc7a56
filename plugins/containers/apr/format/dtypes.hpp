// APR dtype ids (§6.1) and quantflow DTypes. Plain storage types no codec provides (f64, the
// integers) carry their geometry here, named as safetensors names them; the others are
// declared by the codec plugin whose {"apr", id} they are and found through the CodecCatalog.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantflow/container.hpp"
#include "quantflow/dtype.hpp"
#include "quantflow/status.hpp"

namespace quantflow::apr {

struct ResolvedDType {
  uint8_t id;  // canonical: a legacy id (8, 9) is reported as what it means (128, 129)
  DType dtype;
};

// The encoding stored under `id`. Refused (bad input) for an id APR does not define and no
// codec declares, and for a codec-backed id no loaded codec provides.
Result<ResolvedDType> resolve_id(uint8_t id, const CodecCatalog& catalog);

// The id that stores `dtype` as is (name and geometry), or nullopt.
std::optional<uint8_t> id_for(const DType& dtype, const CodecCatalog& catalog);

// "f32, f16, bf16, ...": what an APR file can hold, for refusals.
std::string storable_names();

}  // namespace quantflow::apr

namespace quantflow::apr {

// Bytes of a tensor of `shape` in `dtype` (DType::bytes_for), or nullopt when the element or
// byte count overflows 64 bits.
std::optional<uint64_t> checked_bytes(const DType& dtype, const std::vector<uint64_t>& shape);

}  // namespace quantflow::apr
