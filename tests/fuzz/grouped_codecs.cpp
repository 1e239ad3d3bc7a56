#include "grouped_codecs.hpp"

#include <deque>
#include <string>

namespace qf_fuzz {

namespace {

struct Geometry {
  std::string name;
  uint32_t block_elems, block_bytes;
  std::string container, id;
};

std::vector<Geometry> geometries() {
  std::vector<Geometry> out;
  for (const uint32_t bits : {2u, 3u, 4u, 5u, 6u, 8u})
    for (const uint32_t group : {32u, 64u, 128u})
      for (const auto& [dtype, bytes] : {std::pair{"f16", 2u}, std::pair{"bf16", 2u}, std::pair{"f32", 4u}}) {
        const std::string b = std::to_string(bits), g = std::to_string(group);
        out.push_back({"mlx_q" + b + "_g" + g + "_" + dtype, group, 2 * bytes + group * bits / 8, "mlx",
                       "affine/" + b + "/" + g + "/" + dtype});
      }
  out.push_back({"mlx_mxfp4", 32, 17, "mlx", "mxfp4/4/32/u8"});
  out.push_back({"mlx_mxfp8", 32, 33, "mlx", "mxfp8/8/32/u8"});
  out.push_back({"mlx_nvfp4", 16, 9, "mlx", "nvfp4/4/16/u8"});
  for (const uint32_t bits : {2u, 4u, 8u})
    for (const uint32_t group : {32u, 64u, 128u}) {
      const std::string b = std::to_string(bits), g = std::to_string(group);
      out.push_back({"zp_q" + b + "_g" + g, group, 4 + group * bits / 8, "zero_point", b + "/" + g});
    }
  return out;
}

}  // namespace

const std::vector<const QfCodecDescriptor*>& grouped_codecs() {
  // Descriptors point into these; deques never move their elements.
  static std::deque<Geometry> storage;
  static std::deque<QfContainerId> ids;
  static std::deque<QfCodecDescriptor> descriptors;
  static const std::vector<const QfCodecDescriptor*> codecs = [] {
    std::vector<const QfCodecDescriptor*> out;
    for (auto& g : geometries()) {
      const Geometry& kept = storage.emplace_back(std::move(g));
      const QfContainerId& id = ids.emplace_back(QfContainerId{kept.container.c_str(), kept.id.c_str()});
      out.push_back(&descriptors.emplace_back(QfCodecDescriptor{.name = kept.name.c_str(),
                                                                .description = "geometry only",
                                                                .block_elems = kept.block_elems,
                                                                .block_bytes = kept.block_bytes,
                                                                .kind = QF_KIND_QUANTIZED,
                                                                .container_ids = &id,
                                                                .n_container_ids = 1}));
    }
    return out;
  }();
  return codecs;
}

}  // namespace qf_fuzz
