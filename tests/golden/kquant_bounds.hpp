// Per-element bounds for ggml's K-quants, from the decoded sub-block scales: after choosing
// its scales, ggml's reference encoder rounds every element to the nearest code of its
// sub-block's decoded grid (value = step * k + offset), so the error is at most step / 2
// plus whatever lies beyond the code range. Layouts are ggml's block_q2_K ... block_q6_K.
#pragma once

#include <cstdint>
#include <string>

#include "golden/format_bounds.hpp"

namespace qf_bounds {

// One sub-block's decoded grid.
struct SubBlock {
  double step = 0, offset = 0;
};

struct KQuantLayout {
  int sub_elems = 0;  // elements per sub-block
  int kmin = 0, kmax = 0;
};

inline double half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return half_to_double(h);
}

// ggml's get_scale_min_k4: 6-bit scale and min j of Q4_K / Q5_K's 12 packed bytes.
inline void scale_min_k4(int j, const uint8_t* q, int& sc, int& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

inline KQuantLayout kquant_layout(const std::string& type) {
  if (type == "q2_k") return {16, 0, 3};
  if (type == "q3_k") return {16, -4, 3};
  if (type == "q4_k") return {32, 0, 15};
  if (type == "q5_k") return {32, 0, 31};
  return {16, -32, 31};  // q6_k
}

inline SubBlock kquant_sub_block(const std::string& type, const uint8_t* b, int j) {
  if (type == "q2_k") {  // scales[16] @0, qs[64] @16, d @80, dmin @82
    return {half_at(b + 80) * (b[j] & 0xF), -half_at(b + 82) * (b[j] >> 4)};
  }
  if (type == "q3_k") {  // hmask[32] @0, qs[64] @32, scales[12] @96, d @108; 6-bit signed scales
    const uint8_t* s = b + 96;
    int sc = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    sc = (sc | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    return {half_at(b + 108) * sc, 0};
  }
  if (type == "q4_k" || type == "q5_k") {  // d @0, dmin @2, scales[12] @4
    int sc = 0, m = 0;
    scale_min_k4(j, b + 4, sc, m);
    return {half_at(b) * sc, -half_at(b + 2) * m};
  }
  // q6_k: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d @208
  return {half_at(b + 208) * static_cast<int8_t>(b[192 + j]), 0};
}

// The encoder divides (x - offset) by step in f32; 2^-21 of the magnitudes covers that.
inline BlockBound kquant_bound(const float* x, const uint8_t* block, const std::string& type) {
  const KQuantLayout l = kquant_layout(type);
  BlockBound out;
  out.per_element.resize(256);
  for (int j = 0; j < 256 / l.sub_elems; ++j) {
    const SubBlock s = kquant_sub_block(type, block, j);
    for (int i = j * l.sub_elems; i < (j + 1) * l.sub_elems; ++i) {
      const double slack = (std::fabs(x[i]) + std::fabs(s.offset)) * std::ldexp(1.0, -21);
      if (s.step == 0) {
        out.per_element[static_cast<size_t>(i)] = std::fabs(x[i] - s.offset) + slack;
        continue;
      }
      const double t = (x[i] - s.offset) / s.step;
      const double beyond = std::max({0.0, t - l.kmax, l.kmin - t});
      out.per_element[static_cast<size_t>(i)] = std::fabs(s.step) * (0.5 + beyond) + slack;
    }
  }
  return out;
}

}  // namespace qf_bounds
