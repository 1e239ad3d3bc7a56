// How outputs are split (engine/output_files): llama-gguf-split's size units, its padded
// byte count, the tensor-count limit, and both together.
#include "pipeline/engine/output_files.hpp"
#include "support/test_support.hpp"

using namespace quantflow;
using pipeline::SplitLimits;

namespace {

// A plan of tensors of these byte sizes (the packing looks at nothing else).
pipeline::Plan plan_of(const std::vector<uint64_t>& sizes) {
  pipeline::Plan plan;
  for (size_t i = 0; i < sizes.size(); ++i) {
    pipeline::TensorJob job;
    job.target.name = "t" + std::to_string(i);
    job.target.n_bytes = sizes[i];
    plan.jobs.push_back(job);
  }
  return plan;
}

using Groups = std::vector<std::vector<size_t>>;

}  // namespace

BOOST_AUTO_TEST_CASE(split_sizes_use_llama_gguf_split_units) {
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("512M"), 512'000'000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("2G"), 2'000'000'000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("2g"), 2'000'000'000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("1.5GB"), 1'500'000'000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("64K"), 64'000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("4GiB"), 4ull << 30);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("512MiB"), 512ull << 20);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("1000"), 1000u);
  BOOST_CHECK_EQUAL(*pipeline::parse_split_size("1000B"), 1000u);
  auto bad = pipeline::parse_split_size("lots");
  BOOST_REQUIRE(!bad.ok());
  BOOST_CHECK_EQUAL(bad.status().message(),
                    "'lots' is not a split size; use e.g. 512M or 2G (10^6 and 10^9 bytes, as llama-gguf-split reads "
                    "them), 4GiB, or a number of bytes");
  BOOST_CHECK(!pipeline::parse_split_size("5X").ok());
  BOOST_CHECK(!pipeline::parse_split_size("1.2.3M").ok());
  BOOST_CHECK_EQUAL(pipeline::parse_split_size("0M").status().message(), "split size '0M' is out of range");
}

BOOST_AUTO_TEST_CASE(size_limit_counts_tensors_padded_to_32_bytes) {
  // 40 bytes count as 64: three of them are 192 > 160, so a file holds two.
  BOOST_CHECK(
      (pipeline::pack_split_files(plan_of({40, 40, 40, 40, 40}), {.max_bytes = 160}) == Groups{{0, 1}, {2, 3}, {4}}));
  // Exactly at the limit still fits; one byte more does not.
  BOOST_CHECK((pipeline::pack_split_files(plan_of({64, 64, 32}), {.max_bytes = 160}) == Groups{{0, 1, 2}}));
  BOOST_CHECK((pipeline::pack_split_files(plan_of({64, 64, 33}), {.max_bytes = 160}) == Groups{{0, 1}, {2}}));
  // A tensor larger than the limit gets a file of its own (llama-gguf-split refuses it).
  BOOST_CHECK((pipeline::pack_split_files(plan_of({32, 500, 32}), {.max_bytes = 100}) == Groups{{0}, {1}, {2}}));
}

BOOST_AUTO_TEST_CASE(tensor_limit_and_both_limits) {
  BOOST_CHECK(
      (pipeline::pack_split_files(plan_of({1, 1, 1, 1, 1}), {.max_tensors = 2}) == Groups{{0, 1}, {2, 3}, {4}}));
  BOOST_CHECK((pipeline::pack_split_files(plan_of({1, 1}), {.max_tensors = 2}) == Groups{{0, 1}}));
  // Whichever limit is reached first closes the file.
  BOOST_CHECK((pipeline::pack_split_files(plan_of({32, 32, 32, 96, 32}), {.max_bytes = 96, .max_tensors = 2}) ==
               Groups{{0, 1}, {2}, {3}, {4}}));
  BOOST_CHECK((pipeline::pack_split_files(plan_of({}), {.max_tensors = 2}) == Groups{{}}));
  BOOST_CHECK(!SplitLimits{}.splits());
  BOOST_CHECK(SplitLimits{.max_tensors = 1}.splits());
}
