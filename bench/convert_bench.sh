#!/usr/bin/env bash
# Whole-program timing: generates the model shape that ../shared/testdata/reference/README.md
# times llama-quantize on (hidden 1024, FFN 2816, 24 layers, vocab 32000, 1.34 GB of F32) and
# converts it to each type, reporting wall time, CPU time and peak RSS.
# usage: bench/convert_bench.sh [BUILD_DIR] [TYPES...]   (default: build/release q8_0 q4_0 Q4_K_M)
# A lower-case TYPE runs `convert --type TYPE`; an upper-case one is a llama-quantize preset
# and runs `quantize` (the same command line llama-quantize's timings were taken with).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
shift || true
types=("$@")
[ ${#types[@]} -eq 0 ] && types=(q8_0 q4_0 Q4_K_M)
qf="$build/bin/quantflow"
work=${QF_BENCH_DIR:-$build/bench-work}
mkdir -p "$work"
model="$work/bench-f32.gguf"
[ -f "$model" ] || "$qf" synth "$model" --vocab 32000 --hidden 1024 --ffn 2816 --layers 24 --heads 16 --kv-heads 4
cat "$model" >/dev/null  # warm the page cache, as the reference timings were
printf '%-8s %8s %8s %8s %10s\n' type wall_s user_s sys_s peak_rss
for t in "${types[@]}"; do
  out="$work/bench-$t.gguf"
  if [[ "$t" =~ [A-Z] ]]; then
    command=(quantize -q "$model" "$out" "$t" 2)
  else
    command=(convert -q --threads 2 --type "$t" "$model" "$out")
  fi
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$qf" "${command[@]}"
  read -r wall user sys rss <"$work/time.txt"
  printf '%-8s %8s %8s %8s %8.0fMB\n' "$t" "$wall" "$user" "$sys" "$(echo "$rss / 1024" | bc -l)"
  rm -f "$out"
done
