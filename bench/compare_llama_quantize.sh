#!/usr/bin/env bash
# Side-by-side timing of `quantflow quantize` and llama-quantize on the same F32 model (the
# shape of ../shared/testdata/reference/README.md: hidden 1024, FFN 2816, 24 layers, vocab
# 32000, 16 heads, 4 KV heads, llama tensor names), the same thread count and the same types.
# usage: bench/compare_llama_quantize.sh --llama-quantize PATH [--runs N] [--threads T]
#          [--layers N] [--markdown FILE] [--work-dir DIR] [BUILD_DIR] [TYPES...]
#        (defaults: 5 runs, 2 threads, 24 layers, build/release, Q8_0 Q4_0 Q4_K_M IQ4_XS;
#         work dir $QF_BENCH_DIR or ${TMPDIR:-/tmp}/quantflow-bench)
# Per type the two tools run alternately (the order flips every run so neither always goes
# first), N times each. Before every run both tools' previous outputs are deleted and dirty
# pages are flushed (outside the timing): a tool overwriting its own previous output reuses
# freed page-cache pages and looks faster, and neither should pay for the other's writeback.
# Reports the median and min-max of wall time, CPU time (user + sys) and peak RSS per tool,
# the quantflow / llama-quantize ratios of the medians, and fails unless every run pair's
# outputs are byte-identical. --markdown FILE also writes the results as a Markdown table.
# --layers N makes a smaller model of the same widths (to try the script quickly).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

llama_quantize="" runs=5 threads=2 layers=24 markdown="" work=${QF_BENCH_DIR:-${TMPDIR:-/tmp}/quantflow-bench}
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-quantize) llama_quantize=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --markdown) markdown=$2; shift 2 ;;
    --work-dir) work=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
[ -n "$llama_quantize" ] || { echo "--llama-quantize PATH is required" >&2; usage; }
[ -x "$llama_quantize" ] || { echo "not an executable: $llama_quantize" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ && "$threads" =~ ^[1-9][0-9]*$ ]] || { echo "--runs and --threads take positive integers" >&2; exit 2; }
build=build/release
if [ $# -gt 0 ] && [ -d "$1" ]; then build=$1; shift; fi
types=("$@")
[ ${#types[@]} -eq 0 ] && types=(Q8_0 Q4_0 Q4_K_M IQ4_XS)
qf=$(realpath "$build/bin/quantflow")
lq=$(realpath "$llama_quantize")
mkdir -p "$work"
work=$(realpath "$work")

# The model, generated once per layer count (into a temporary name, so an interrupted run
# leaves no half-written model behind).
suffix=$([ "$layers" = 24 ] && echo "" || echo "-$layers")
model="$work/bench-f32$suffix.gguf"
if [ ! -f "$model" ]; then
  "$qf" synth "${model%.gguf}.part.gguf" --vocab 32000 --hidden 1024 --ffn 2816 --layers "$layers" --heads 16 --kv-heads 4 >/dev/null
  mv "${model%.gguf}.part.gguf" "$model"
fi
cat "$model" >/dev/null  # warm the page cache, as the reference timings were

# Everything printed is also kept for the Markdown file's header.
header=()
say() {
  echo "$1"
  header+=("$1")
}
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
lq_build=$("$lq" --dry-run "$model" "$work/dry-run.gguf" Q8_0 1 2>&1 | sed -n 's/^llama_print_build_info: //p' | paste -sd ';' - | sed 's/;/; /g')
say "date:           $(date -u '+%Y-%m-%d %H:%M UTC')"
say "machine:        $(nproc) CPUs ($cpu_model), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "quantflow:      $("$qf" --version) ($qf)"
say "llama-quantize: ${lq_build:-no build line} ($lq)"
say "model:          $model ($(stat -c %s "$model") bytes F32, $layers layers), page cache warm"
say "commands:       $qf quantize -q $model $work/qf-TYPE.gguf TYPE $threads"
say "                $lq $model $work/lq-TYPE.gguf TYPE $threads"
say "runs:           $runs per tool and type, alternating (order flips every run); outputs deleted and sync before every run"

# Runs one tool once under /usr/bin/time; appends wall, CPU (user + sys) and peak RSS (KiB)
# to the arrays named <tool>_wall, <tool>_cpu and <tool>_rss. Fails with the tool's log.
timed_run() {
  local tool=$1 out=$2 type=$3 log="$work/$1.log"
  local -a command
  case "$tool" in
    qf) command=("$qf" quantize -q "$model" "$out" "$type" "$threads") ;;
    lq) command=("$lq" "$model" "$out" "$type" "$threads") ;;
  esac
  sync
  if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "${command[@]}" >"$log" 2>&1; then
    echo "FAILED: ${command[*]}" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  local wall user sys rss
  read -r wall user sys rss <"$work/time.txt"
  eval "${tool}_wall+=($wall) ${tool}_cpu+=($(echo "$user + $sys" | bc)) ${tool}_rss+=($rss)"
}

# "median min max" of the numbers given (the median of an even count is the mean of the two
# middle ones).
stats() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
    END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR]}'
}

# "median (min-max)" with the given printf number format.
spread() {
  local format=$1 median min max
  shift
  read -r median min max < <(stats "$@")
  # shellcheck disable=SC2059 # the format is the caller's number format
  printf "$format ($format-$format)" "$median" "$min" "$max"
}

ratio() { echo "$1 $2" | awk '{printf "%.2fx", $1 / $2}'; }

mib() { for kib in "$@"; do echo $((kib / 1024)); done; }

rows=()
for type in "${types[@]}"; do
  qf_wall=() qf_cpu=() qf_rss=() lq_wall=() lq_cpu=() lq_rss=()
  qf_out="$work/qf-$type.gguf" lq_out="$work/lq-$type.gguf"
  cat "$model" >/dev/null
  for ((run = 1; run <= runs; run++)); do
    rm -f "$qf_out" "$lq_out"
    if ((run % 2)); then order=(qf lq); else order=(lq qf); fi
    for tool in "${order[@]}"; do
      out=$([ "$tool" = qf ] && echo "$qf_out" || echo "$lq_out")
      timed_run "$tool" "$out" "$type"
    done
    if ! cmp -s "$qf_out" "$lq_out"; then
      echo "$type run $run: outputs DIFFER: $(cmp "$qf_out" "$lq_out" 2>&1 | head -1)" >&2
      echo "(kept for inspection: $qf_out $lq_out)" >&2
      exit 1
    fi
    echo "  $type run $run (${order[0]} first): quantflow ${qf_wall[-1]}s, llama-quantize ${lq_wall[-1]}s wall; outputs identical" >&2
  done
  size=$(stat -c %s "$qf_out")
  rm -f "$qf_out" "$lq_out"

  read -r qw _ < <(stats "${qf_wall[@]}")
  read -r lw _ < <(stats "${lq_wall[@]}")
  read -r qc _ < <(stats "${qf_cpu[@]}")
  read -r lc _ < <(stats "${lq_cpu[@]}")
  read -r qr _ < <(stats "${qf_rss[@]}")
  read -r lr _ < <(stats "${lq_rss[@]}")
  mapfile -t qf_mib < <(mib "${qf_rss[@]}")
  mapfile -t lq_mib < <(mib "${lq_rss[@]}")
  echo
  printf '%-30s %-22s %-22s %-22s\n' "$type ($runs runs, $threads threads)" "wall s (min-max)" "CPU s (min-max)" "peak RSS MiB (min-max)"
  printf '%-30s %-22s %-22s %-22s\n' quantflow "$(spread %.2f "${qf_wall[@]}")" \
    "$(spread %.2f "${qf_cpu[@]}")" "$(spread %.0f "${qf_mib[@]}")"
  printf '%-30s %-22s %-22s %-22s\n' llama-quantize "$(spread %.2f "${lq_wall[@]}")" \
    "$(spread %.2f "${lq_cpu[@]}")" "$(spread %.0f "${lq_mib[@]}")"
  printf '%-30s %-22s %-22s %-22s\n' "quantflow / llama-quantize" "$(ratio "$qw" "$lw")" \
    "$(ratio "$qc" "$lc")" "$(ratio "$qr" "$lr")"
  echo "outputs: byte-identical in all $runs runs ($size bytes)"
  rows+=("| $type | $(spread %.2f "${qf_wall[@]}") | $(spread %.2f "${lq_wall[@]}") | $(ratio "$qw" "$lw") \
| $(spread %.2f "${qf_cpu[@]}") | $(spread %.2f "${lq_cpu[@]}") | $(ratio "$qc" "$lc") \
| $(spread %.0f "${qf_mib[@]}") | $(spread %.0f "${lq_mib[@]}") | $(ratio "$qr" "$lr") | yes |")
done
rm -f "$work/time.txt" "$work/qf.log" "$work/lq.log"

if [ -n "$markdown" ]; then
  {
    printf '    %s\n' "${header[@]}"
    echo
    echo "Median (min-max) of $runs runs; CPU = user + sys; ratio = quantflow / llama-quantize of the medians."
    echo
    echo "| type | quantflow wall s | llama-quantize wall s | wall ratio | quantflow CPU s | llama-quantize CPU s | CPU ratio | quantflow peak RSS MiB | llama-quantize peak RSS MiB | RSS ratio | identical bytes |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } >"$markdown"
  echo "wrote $markdown"
fi
