#!/usr/bin/env bash
# Installs the Debian 12 packages quantflow needs to build and test, if any are missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config clang-format
  libboost-dev libboost-filesystem-dev libboost-program-options-dev libboost-test-dev
  libtbb-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev libzstd-dev libxxhash-dev zlib1g-dev libssl-dev
  libbenchmark-dev libhwy-dev time bc
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "quantflow: installing missing packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "quantflow: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
