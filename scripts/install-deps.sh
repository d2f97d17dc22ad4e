#!/usr/bin/env bash
# Installs poet's build and test dependencies from Debian's archive.
# Idempotent: when every package is already present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
  cmake g++ make ninja-build
  libdnnl-dev
  libprotobuf-dev protobuf-compiler
  libpng-dev
  libjpeg62-turbo-dev libturbojpeg0-dev
  nlohmann-json3-dev
  libssl-dev
  ccache
  libbenchmark-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-dev libomp-dev  # the sanitizer + fuzz build (scripts/build.sh --sanitize)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
