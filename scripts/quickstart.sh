#!/usr/bin/env bash
# Fresh machine to first conversion: installs what is missing, builds, generates a small
# llama-shaped model and quantizes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh release
qf=build/release/bin/quantflow
out=${QUANTFLOW_QUICKSTART_OUT:-out}  # the test suite runs this script into a folder of its own
mkdir -p "$out"
$qf synth "$out"/demo-f32.gguf --layers 4 --hidden 256 --ffn 768 --vocab 1024
$qf convert "$out"/demo-f32.gguf "$out"/demo-q8_0.gguf --type q8_0
$qf convert "$out"/demo-q8_0.gguf "$out"/demo-q8_0.safetensors
$qf quantize "$out"/demo-f32.gguf "$out"/demo-q4_k_m.gguf Q4_K_M --model-card --force  # the card is this script's own output
# Full outputs go to files: a pipe into head would end the command early (SIGPIPE, exit 141
# under pipefail) and make this script fail on a fresh machine.
$qf verify "$out"/demo-q4_k_m.gguf --against "$out"/demo-f32.gguf > "$out"/demo-q4_k_m.verify.txt
tail -n 1 "$out"/demo-q4_k_m.verify.txt
$qf inspect "$out"/demo-q8_0.gguf --max-array 4 > "$out"/demo-q8_0.inspect.txt
sed -n 1,30p "$out"/demo-q8_0.inspect.txt
echo
echo "quantflow is built in build/release; try: $qf --help"
