// MLX's affine quantization (mlx-quant.md §2), the family mlx_q{bits}_g{group}_{f16|bf16|f32}:
// every width MLX offers (2, 3, 4, 5, 6, 8 bits) in every group size (32, 64, 128), with the
// scale and bias in each float dtype a model may have. One block per group:
// { S scale; S bias; uint8 codes[group * bits / 8] }, the codes being the group's slice of the
// row's bit stream, so MLX's U32 weight row is the concatenation of the blocks' codes.
#include <array>
#include <cstdio>
#include <iterator>
#include <utility>

#include "affine_group.hpp"
#include "bit_stream.hpp"
#include "codec_kit/block_rows.hpp"
#include "quantflow/plugin.hpp"
#include "scale_fields.hpp"

namespace {

namespace kit = quantflow::codec_kit;
using quantflow::mlx_affine::ScaleField;
using quantflow::mlx_affine::ScaleType;

template <int Bits, int Group, ScaleType S>
struct BlockAffine {
  typename ScaleField<S>::type scale;
  typename ScaleField<S>::type bias;
  uint8_t codes[Group * Bits / 8];  // element e at bits [e * Bits, (e + 1) * Bits), LSB first
};

// The importance matrix is ignored: MLX's quantizer has no weighted form.
template <int Bits, int Group, ScaleType S>
int32_t encode(const float* src, void* dst, int64_t n_rows, int64_t n_per_row, const float* imatrix) {
  using Block = BlockAffine<Bits, Group, S>;
  return kit::encode_blocks<Group, Block>(src, dst, n_rows, n_per_row, imatrix, [](const float* x, Block& y) {
    uint8_t q[Group];
    const auto fit = quantflow::mlx_affine::fit_group(x, Group, Bits, q);
    store(y.scale, fit.scale);
    store(y.bias, fit.bias);
    quantflow::mlx_affine::pack_codes(q, Group, Bits, y.codes);
  });
}

// scale * q + bias in float32 (MLX computes in the scale dtype; the result is rounded to the
// target dtype once, by whoever stores it).
template <int Bits, int Group, ScaleType S>
int32_t decode(const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  using Block = BlockAffine<Bits, Group, S>;
  return kit::decode_blocks<Group, Block>(src, dst, n_rows, n_per_row, [](const Block& b, float* y) {
    const float scale = load(b.scale), bias = load(b.bias);
    uint8_t q[Group];
    quantflow::mlx_affine::unpack_codes(b.codes, Group, Bits, q);
    for (int i = 0; i < Group; ++i) y[i] = scale * static_cast<float>(q[i]) + bias;
  });
}

// The family: every combination of these, in this order.
constexpr int kBits[] = {2, 3, 4, 5, 6, 8};
constexpr int kGroups[] = {32, 64, 128};
constexpr ScaleType kScales[] = {ScaleType::f16, ScaleType::bf16, ScaleType::f32};
constexpr size_t kCount = std::size(kBits) * std::size(kGroups) * std::size(kScales);

struct Variant {
  int bits;
  int group;
  ScaleType scale;
};

constexpr Variant variant(size_t i) {
  return {.bits = kBits[i / (std::size(kGroups) * std::size(kScales))],
          .group = kGroups[i / std::size(kScales) % std::size(kGroups)],
          .scale = kScales[i % std::size(kScales)]};
}

// What the templates give each variant; the strings are made at load time.
struct Instance {
  Variant v;
  uint32_t block_bytes;
  qf_encode_fn encode;
  qf_decode_fn decode;
};

template <size_t I>
constexpr Instance instance() {
  constexpr Variant v = variant(I);
  using Block = BlockAffine<v.bits, v.group, v.scale>;
  static_assert(sizeof(Block) == 2 * sizeof(typename ScaleField<v.scale>::type) + v.group * v.bits / 8);
  static_assert(kit::kIsBlockLayout<Block>);
  return {.v = v,
          .block_bytes = sizeof(Block),
          .encode = encode<v.bits, v.group, v.scale>,
          .decode = decode<v.bits, v.group, v.scale>};
}

template <size_t... I>
constexpr std::array<Instance, kCount> instances(std::index_sequence<I...>) {
  return {instance<I>()...};
}

constexpr auto kInstances = instances(std::make_index_sequence<kCount>{});

// One descriptor with the storage its strings and container id point into.
struct Codec {
  char name[48];
  char container_id[48];
  char description[160];
  QfContainerId ids[1];
  QfCodecDescriptor descriptor;
};

// "4.5" for 4.5 bits per weight: block bytes over group elements is a multiple of 1/4.
void format_bits_per_weight(char* out, size_t size, const Instance& in) {
  const unsigned quarters = in.block_bytes * 8u * 4u / static_cast<unsigned>(in.v.group);
  static constexpr const char* kFractions[] = {"", ".25", ".5", ".75"};
  std::snprintf(out, size, "%u%s", quarters / 4, kFractions[quarters % 4]);
}

void describe(Codec& c, const Instance& in) {
  const char* scale = quantflow::mlx_affine::scale_type_name(in.v.scale);
  std::snprintf(c.name, sizeof c.name, "mlx_q%d_g%d_%s", in.v.bits, in.v.group, scale);
  std::snprintf(c.container_id, sizeof c.container_id, "affine/%d/%d/%s", in.v.bits, in.v.group, scale);
  char bits_per_weight[16];
  format_bits_per_weight(bits_per_weight, sizeof bits_per_weight, in);
  std::snprintf(c.description, sizeof c.description,
                "MLX affine: %d-bit codes, groups of %d, %s scale and bias (%s bits per weight)", in.v.bits, in.v.group,
                scale, bits_per_weight);
  c.ids[0] = {.container = "mlx", .id = c.container_id};
  c.descriptor = {
      .name = c.name,
      .description = c.description,
      .block_elems = static_cast<uint32_t>(in.v.group),
      .block_bytes = in.block_bytes,
      .kind = QF_KIND_QUANTIZED,
      .container_ids = c.ids,
      .n_container_ids = static_cast<uint32_t>(std::size(c.ids)),
      .encode = in.encode,
      .decode = in.decode,
  };
}

// Built once, on the loader's first call, and never moved (its descriptors point into it).
struct Family {
  std::array<Codec, kCount> codecs{};
  std::array<const QfCodecDescriptor*, kCount> pointers{};
  QfPluginDescriptor plugin{};

  Family() {
    for (size_t i = 0; i < kCount; ++i) {
      describe(codecs[i], kInstances[i]);
      pointers[i] = &codecs[i].descriptor;
    }
    plugin = {
        .abi_version = QUANTFLOW_ABI_VERSION,
        .name = "codec-mlx_affine",
        .version = "1.0.0",
        .description =
            "MLX affine quantization (CPU reference): mlx_q{2,3,4,5,6,8}_g{32,64,128}_{f16,bf16,f32}, scale * q + bias "
            "per group",
        .codecs = pointers.data(),
        .n_codecs = static_cast<uint32_t>(kCount),
        .containers = nullptr,
        .n_containers = 0,
    };
  }
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;
};

const Family& family() {
  static const Family instance;
  return instance;
}

}  // namespace

QUANTFLOW_EXPORT_PLUGIN(family().plugin)
