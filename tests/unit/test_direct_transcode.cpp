// The engine's direct path (engine/direct, engine/transcode_direct) with the toy codecs of
// tests/plugins/toy_transcoder.cpp: which jobs get a transcoder, the route a tensor takes
// (direct, or through f32 when any chunk is INEXACT), the same bytes at any thread count, no
// scratch for an always-exact transcoder, and the loader's checks on transcoder descriptors.
#include <tbb/global_control.h>

#include <set>

#include "core/registry.hpp"
#include "pipeline/engine/direct.hpp"
#include "pipeline/engine/transcode.hpp"
#include "support/test_support.hpp"

namespace qp = quantflow::pipeline;
namespace fs = std::filesystem;

namespace {

const fs::path kTestPlugins = QF_TEST_PLUGIN_DIR;
constexpr uint8_t kTranscoded = 0xD1, kEncoded = 0x00;

quantflow::core::Registry& toy() {
  static auto* registry = [] {
    auto* r = new quantflow::core::Registry();
    r->load_directory((kTestPlugins / "toy").string());
    r->load_directory(QF_PLUGIN_DIR);
    return r;
  }();
  return *registry;
}

// Rows of 512 toy8 codes: 1027 rows are three chunks (512 rows each), the last one short.
constexpr uint64_t kCols = 512, kRows = 1027;

std::vector<std::byte> toy8_tensor(int8_t spread, std::optional<uint64_t> outlier_row = {}) {
  std::vector<std::byte> bytes(kRows * kCols);
  for (uint64_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>(static_cast<int8_t>(static_cast<int>(i * 7 % (2 * spread + 1)) - spread));
  if (outlier_row) bytes[*outlier_row * kCols + 3] = static_cast<std::byte>(int8_t{100});
  return bytes;
}

qp::TensorJob job(const char* from, const char* to, uint64_t n_bytes) {
  auto& r = toy();
  qp::TensorJob j;
  j.source = {"w", quantflow::dtype_of(*r.find(from)), {kRows, kCols}, n_bytes, 0};
  j.target = j.source;
  BOOST_REQUIRE(qp::retarget(j, *r.find(to), r).ok());
  BOOST_REQUIRE(qp::may_transcode_directly(j));
  j.transcoder = r.find_transcoder(from, to);
  BOOST_REQUIRE(j.transcoder != nullptr);
  return j;
}

// The origin byte of every qf_toy4 block.
std::set<uint8_t> origins(const std::vector<std::byte>& toy4) {
  std::set<uint8_t> out;
  for (size_t i = 1; i < toy4.size(); i += 2) out.insert(static_cast<uint8_t>(toy4[i]));
  return out;
}

struct Outcome {
  std::vector<std::byte> bytes;
  qp::TranscodeRoute route;
  qp::TensorStats stats;
};

Outcome run(const qp::TensorJob& j, const std::vector<std::byte>& source, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  Outcome o{{}, qp::TranscodeRoute::via_codecs, {}};
  auto bytes = qp::transcode(j, source, nullptr, &o.stats, {}, &o.route);
  BOOST_REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  o.bytes = std::move(bytes).value();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_tensor_whose_values_fit_is_repacked_in_every_chunk) {
  const auto fits = toy8_tensor(7);  // codes -7 .. 7
  const auto j = job("qf_toy8", "qf_toy4", fits.size());
  const Outcome one = run(j, fits, 1), two = run(j, fits, 2);
  BOOST_CHECK(one.route == qp::TranscodeRoute::direct);
  BOOST_CHECK(one.stats.route == qp::TranscodeRoute::direct);
  BOOST_CHECK(origins(one.bytes) == std::set<uint8_t>{kTranscoded});
  BOOST_CHECK(one.bytes == two.bytes);
  // Measured like any re-encoding: decoded target against decoded source, exactly equal.
  BOOST_CHECK(one.stats.measured);
  BOOST_CHECK_EQUAL(one.stats.max_abs, 0.0);
  BOOST_CHECK_EQUAL(one.stats.rel_rmse, 0.0);
}

BOOST_AUTO_TEST_CASE(one_inexact_block_sends_the_whole_tensor_through_f32_at_any_thread_count) {
  // The outlier sits in the middle chunk: chunks before and after it would transcode.
  const auto source = toy8_tensor(7, 700);
  const auto j = job("qf_toy8", "qf_toy4", source.size());
  qp::TensorJob through_f32 = j;
  through_f32.transcoder = nullptr;
  const Outcome plain = run(through_f32, source, 2);
  BOOST_CHECK(plain.route == qp::TranscodeRoute::via_codecs);
  for (const int threads : {1, 2}) {
    const Outcome o = run(j, source, threads);
    BOOST_CHECK(o.route == qp::TranscodeRoute::via_f32);
    BOOST_CHECK(o.stats.route == qp::TranscodeRoute::via_f32);
    BOOST_CHECK(origins(o.bytes) == std::set<uint8_t>{kEncoded});
    BOOST_CHECK(o.bytes == plain.bytes);
    BOOST_CHECK_EQUAL(o.stats.max_abs, plain.stats.max_abs);
  }
}

BOOST_AUTO_TEST_CASE(an_always_exact_transcoder_needs_no_scratch_one_that_may_fall_back_does) {
  const auto exact = job("qf_toy4", "qf_toy8", kRows * kCols);
  const auto may_fall_back = job("qf_toy8", "qf_toy4", kRows * kCols);
  BOOST_CHECK_EQUAL(qp::transcode_scratch_bytes(exact), 0u);
  qp::TensorJob plain = may_fall_back;
  plain.transcoder = nullptr;
  BOOST_CHECK_GT(qp::transcode_scratch_bytes(plain), 0u);
  BOOST_CHECK_EQUAL(qp::transcode_scratch_bytes(may_fall_back), qp::transcode_scratch_bytes(plain));
  BOOST_CHECK_EQUAL(qp::planned_route(exact), "direct");
  BOOST_CHECK_EQUAL(qp::planned_route(may_fall_back), "direct where exact, else via f32");
  BOOST_CHECK_EQUAL(qp::planned_route(plain), "");
}

BOOST_AUTO_TEST_CASE(choosing_transcoders_follows_the_setting_and_skips_what_they_cannot_do) {
  auto& r = toy();
  qp::Conversion c;
  auto add = [&](const char* from, const char* to) {
    qp::TensorJob j;
    j.source = {std::string(from) + "->" + to, quantflow::dtype_of(*r.find(from)), {4, 64}, 0, 0};
    j.source.n_bytes = j.source.dtype.bytes_for(256);
    j.target = j.source;
    if (to != nullptr && std::string(to) != from) BOOST_REQUIRE(qp::retarget(j, *r.find(to), r).ok());
    c.plan.jobs.push_back(j);
  };
  add("qf_toy8", "qf_toy4");  // a transcoder
  add("qf_toy8", "qf_toy8");  // a copy
  add("qf_toy8", "q8_0");     // no transcoder for the pair
  add("f32", "qf_toy4");      // f32 is no quantized source, and no transcoder
  qp::write_to_one_file(c, "unused.gguf");
  qp::choose_transcoders(c, r);
  for (const auto* plan : {&c.plan, &c.files.front().plan}) {
    BOOST_CHECK(plan->jobs[0].transcoder == r.find_transcoder("qf_toy8", "qf_toy4"));
    BOOST_CHECK(plan->jobs[1].transcoder == nullptr && plan->jobs[2].transcoder == nullptr &&
                plan->jobs[3].transcoder == nullptr);
  }
  c.settings.direct_transcoding = false;
  qp::choose_transcoders(c, r);
  BOOST_CHECK(c.plan.jobs[0].transcoder == nullptr && c.files.front().plan.jobs[0].transcoder == nullptr);
}

BOOST_AUTO_TEST_CASE(summaries_count_direct_and_fallen_back_tensors) {
  using R = qp::TranscodeRoute;
  BOOST_CHECK_EQUAL(qp::direct_summary({R::via_codecs, R::via_codecs}), "");
  BOOST_CHECK_EQUAL(qp::direct_summary({R::direct, R::via_codecs, R::via_f32, R::direct}),
                    "2 tensors transcoded directly (lossless), 1 through f32 (not exactly representable)");
  BOOST_CHECK_EQUAL(qp::direct_summary({R::direct}),
                    "1 tensor transcoded directly (lossless), 0 through f32 (not exactly representable)");
}

BOOST_AUTO_TEST_CASE(a_transcoder_that_throws_is_the_plugins_fault) {
  auto& r = toy();
  qp::TensorJob j;
  j.source = {"w", quantflow::dtype_of(*r.find("qf_throw4")), {2, 64}, 128, 0};
  j.target = j.source;
  BOOST_REQUIRE(qp::retarget(j, *r.find("qf_throw8"), r).ok());
  j.transcoder = r.find_transcoder("qf_throw4", "qf_throw8");
  BOOST_REQUIRE(j.transcoder != nullptr);
  const std::vector<std::byte> source(128);
  auto bytes = qp::transcode(j, source, nullptr);
  BOOST_REQUIRE(!bytes.ok());
  BOOST_CHECK(bytes.status().code() == quantflow::ErrorCode::internal);
  BOOST_CHECK_EQUAL(bytes.status().message(),
                    "transcoder qf_throw4 -> qf_throw8 failed: it threw: transcoder exploded (plugin " +
                        (kTestPlugins / "toy" / "qf_transcoder_throws.so").string() + ")");
}

BOOST_AUTO_TEST_CASE(the_loader_checks_transcoder_descriptors_and_pairs) {
  quantflow::core::Registry r;
  r.load_directory((kTestPlugins / "toy").string());
  r.load_directory((kTestPlugins / "transcoder_cases").string());
  std::map<std::string, std::string> reasons;
  for (const auto& f : r.failures()) reasons[fs::path(f.path).filename().string()] = f.reason;
  const std::map<std::string, std::string> expected{
      {"qf_transcoder_duplicate.so", "transcoder 'qf_toy8 -> qf_toy4' is already provided by " +
                                         (kTestPlugins / "toy" / "qf_transcoder_toy.so").string() +
                                         "; the first plugin in search order wins"},
      {"qf_transcoder_twice.so", "transcoder 'qf_a -> qf_b' is listed twice"},
      {"qf_transcoder_self.so", "transcoder 'q8_0 -> Q8_0' converts a codec into itself"},
      {"qf_transcoder_no_function.so", "transcoder 'qf_a -> qf_b' has no transcode function"},
  };
  BOOST_CHECK_EQUAL(reasons.size(), expected.size());
  for (const auto& [file, reason] : expected) BOOST_CHECK_EQUAL(reasons[file], reason);
  // A transcoder whose codec no plugin provides loads, but is never found.
  BOOST_CHECK_EQUAL(r.transcoders().size(), 3u + 1u);  // toy's two, throws' one, the orphan
  BOOST_CHECK(r.find_transcoder("qf_nowhere", "q8_0") == nullptr);
  BOOST_CHECK(r.find_transcoder("QF_TOY8", "qf_toy4") != nullptr);  // names in any case
  BOOST_CHECK(r.find_transcoder("qf_toy4", "qf_toy4") == nullptr);
}
