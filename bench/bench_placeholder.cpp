#include <benchmark/benchmark.h>
static void noop(benchmark::State& s) { for (auto _ : s) benchmark::DoNotOptimize(0); }
BENCHMARK(noop);
BENCHMARK_MAIN();
