#!/usr/bin/env bash
# Installs the Debian 12 packages agentrace's build, tests and demo need, when missing.
# Idempotent: does nothing (and needs no network) when everything is there.
set -euo pipefail
pkgs=(cmake make g++ clang libfmt-dev libconcurrentqueue-dev nlohmann-json3-dev catch2
      libbenchmark-dev libcurl4-openssl-dev zlib1g-dev libsqlite3-dev nodejs npm python3 ccache
      ninja-build pkg-config clang-format-14 clang-tidy-14 git libasio-dev libclang-rt-14-dev
      chromium libcivetweb-dev prometheus)
missing=()
for p in "${pkgs[@]}"; do
  # node/npm from another source (nodesource's nodejs bundles npm and conflicts with Debian's)
  case "$p" in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
