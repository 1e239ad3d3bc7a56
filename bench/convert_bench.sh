#!/usr/bin/env bash
# Whole-program timing: generates the model shape that ../shared/testdata/reference/README.md
# times llama-quantize on (hidden 1024, FFN 2816, 24 layers, vocab 32000, 1.34 GB of F32) and
# converts it to each type, reporting wall time, CPU time and peak RSS.
# usage: bench/convert_bench.sh [--layers N] [--llama-quantize PATH] [BUILD_DIR] [TYPES...]
#        (default: build/release q8_0 q4_0 Q4_K_M hf:Q4_K_M)
# A lower-case TYPE runs `convert --type TYPE`; an upper-case one is a llama-quantize preset
# and runs `quantize` (the same command line llama-quantize's timings were taken with).
# hf:PRESET compares the two routes from a Hugging Face checkpoint folder (F16 weights of the
# same shape, llama names, the llama-2 tokenizer of ../shared/testdata/hf/llama-2-tiny-random)
# to PRESET: one pass (`quantize DIR OUT PRESET`) against two (`convert DIR F16.gguf --type
# f16`, then llama-quantize when --llama-quantize names it, else `quantflow quantize`), the
# median of 3 runs each, alternating, and checks that both give the same bytes.
# --layers N makes a smaller model of the same widths (to try the script quickly).
set -euo pipefail
cd "$(dirname "$0")/.."
layers=24
llama_quantize=${QF_LLAMA_QUANTIZE:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --layers) layers=$2; shift 2 ;;
    --llama-quantize) llama_quantize=$2; shift 2 ;;
    *) break ;;
  esac
done
build=${1:-build/release}
shift || true
types=("$@")
[ ${#types[@]} -eq 0 ] && types=(q8_0 q4_0 Q4_K_M hf:Q4_K_M)
qf=$(realpath "$build/bin/quantflow")
work=${QF_BENCH_DIR:-$build/bench-work}
mkdir -p "$work"
shared=${QUANTFLOW_SHARED_DIR:-../shared}
suffix=$([ "$layers" = 24 ] && echo "" || echo "-$layers")
model="$work/bench-f32$suffix.gguf"
[ -f "$model" ] || "$qf" synth "$model" --vocab 32000 --hidden 1024 --ffn 2816 --layers "$layers" --heads 16 --kv-heads 4
cat "$model" >/dev/null  # warm the page cache, as the reference timings were

# Runs a command under /usr/bin/time; sets wall, user, sys and rss (KiB).
timed() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@"
  read -r wall user sys rss <"$work/time.txt"
}

mb() { echo "$1 / 1024" | bc; }

# The middle one of three numbers.
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# An F16 Hugging Face llama checkpoint folder of the model's shape, written by quantflow
# itself: the tensors renamed to the checkpoint's names, config.json from the shape.
make_checkpoint() {
  local dir=$1 tokenizer="$shared/testdata/hf/llama-2-tiny-random"
  [ -f "$dir/config.json" ] && return 0  # written last
  if [ ! -f "$tokenizer/tokenizer.model" ]; then
    echo "skipping hf: $tokenizer/tokenizer.model is missing (a checkpoint needs a tokenizer)" >&2
    return 1
  fi
  mkdir -p "$dir"
  local recipe="$work/to-hf.yaml"
  {
    echo "inputs: $(realpath "$model")"
    echo "output: {path: $(realpath "$dir")/model.safetensors}"
    echo "metadata: {delete: ['*']}"
    echo "tensors: [{glob: '*', type: f16}]"
    echo "rename:"
    echo "  builtin: none"
    echo "  map:"
    echo "    token_embd.weight: model.embed_tokens.weight"
    echo "    output_norm.weight: model.norm.weight"
    echo "    output.weight: lm_head.weight"
    for ((i = 0; i < layers; i++)); do
      echo "    blk.$i.attn_norm.weight: model.layers.$i.input_layernorm.weight"
      echo "    blk.$i.ffn_norm.weight: model.layers.$i.post_attention_layernorm.weight"
      for p in q k v; do echo "    blk.$i.attn_$p.weight: model.layers.$i.self_attn.${p}_proj.weight"; done
      echo "    blk.$i.attn_output.weight: model.layers.$i.self_attn.o_proj.weight"
      for p in gate up down; do echo "    blk.$i.ffn_$p.weight: model.layers.$i.mlp.${p}_proj.weight"; done
    done
  } >"$recipe"
  "$qf" run -q "$recipe"
  cp "$tokenizer/tokenizer.model" "$dir/"
  [ -f "$tokenizer/tokenizer_config.json" ] && cp "$tokenizer/tokenizer_config.json" "$dir/"
  cat >"$dir/config.json" <<EOF
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 1024,
 "intermediate_size": 2816, "num_hidden_layers": $layers, "num_attention_heads": 16,
 "num_key_value_heads": 4, "max_position_embeddings": 4096, "rms_norm_eps": 1e-05,
 "rope_theta": 10000.0, "vocab_size": 32000, "tie_word_embeddings": false,
 "torch_dtype": "float16", "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2}
EOF
  return 0
}

# One pass against two from the checkpoint folder to `preset`, 3 runs each, alternating.
bench_hf() {
  local preset=$1 dir="$work/bench-hf$suffix"
  make_checkpoint "$dir" || return 0
  local one="$work/one-pass-$preset.gguf" f16="$work/two-pass-F16.gguf" two="$work/two-pass-$preset.gguf"
  local second="quantflow quantize"
  [ -n "$llama_quantize" ] && second=$(basename "$llama_quantize")
  local one_wall=() one_user=() one_rss=() two_wall=() two_user=() two_rss=()
  for run in 1 2 3; do
    cat "$dir/model.safetensors" >/dev/null
    timed "$qf" quantize -q "$dir" "$one" "$preset" 2
    one_wall+=("$wall") one_user+=("$user") one_rss+=("$rss")
    cat "$dir/model.safetensors" >/dev/null
    timed "$qf" convert -q --threads 2 --type f16 "$dir" "$f16"
    local w1=$wall u1=$user r1=$rss
    if [ -n "$llama_quantize" ]; then
      timed "$llama_quantize" "$f16" "$two" "$preset" 2 >/dev/null 2>&1
    else
      timed "$qf" quantize -q "$f16" "$two" "$preset" 2
    fi
    two_wall+=("$(echo "$w1 + $wall" | bc)") two_user+=("$(echo "$u1 + $user" | bc)")
    two_rss+=("$((r1 > rss ? r1 : rss))")
    echo "  run $run: one pass ${one_wall[-1]}s, two passes ${two_wall[-1]}s (convert ${w1}s + $second ${wall}s)"
  done
  local ow ou tw tu
  ow=$(median "${one_wall[@]}") ou=$(median "${one_user[@]}")
  tw=$(median "${two_wall[@]}") tu=$(median "${two_user[@]}")
  printf '%-34s %8s %8s %9s\n' "hf -> $preset (median of 3)" wall_s user_s peak_rss
  printf '%-34s %8s %8s %7sMB\n' "one pass (quantflow)" "$ow" "$ou" "$(mb "$(median "${one_rss[@]}")")"
  printf '%-34s %8s %8s %7sMB\n' "two passes (+ $second)" "$tw" "$tu" "$(mb "$(median "${two_rss[@]}")")"
  printf 'two passes / one pass: %.2fx wall, %.2fx user; F16 intermediate: %s MB\n' \
    "$(echo "$tw / $ow" | bc -l)" "$(echo "$tu / $ou" | bc -l)" "$(($(stat -c %s "$f16") / 1000000))"
  if cmp -s "$one" "$two"; then
    echo "outputs: byte-identical ($(stat -c %s "$one") bytes)"
  else
    echo "outputs: DIFFER ($(cmp "$one" "$two" | head -1))"
    return 1
  fi
  rm -f "$one" "$two" "$f16"
}

printf '%-8s %8s %8s %8s %10s\n' type wall_s user_s sys_s peak_rss
for t in "${types[@]}"; do
  if [[ "$t" == hf:* ]]; then
    bench_hf "${t#hf:}"
    continue
  fi
  out="$work/bench-$t.gguf"
  if [[ "$t" =~ [A-Z] ]]; then
    command=(quantize -q "$model" "$out" "$t" 2)
  else
    command=(convert -q --threads 2 --type "$t" "$model" "$out")
  fi
  timed "$qf" "${command[@]}"
  printf '%-8s %8s %8s %8s %8.0fMB\n' "$t" "$wall" "$user" "$sys" "$(echo "$rss / 1024" | bc -l)"
  rm -f "$out"
done
