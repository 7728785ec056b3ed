#!/usr/bin/env bash
# Writes tiktoken-format ranks files (cl100k_base, r50k_base, o200k_base) into
# .deps/tokenizers/ from the js-tiktoken package that scripts/install-deps.sh
# installed into .deps/npm. Idempotent; never touches the network.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${FLOPWISE_DATA_DIR:-$ROOT/.deps}"
PACKAGE="$ROOT/.deps/npm/node_modules/js-tiktoken"
if [[ ! -f "$PACKAGE/package.json" ]]; then
  echo "prepare-tokenizers: $PACKAGE is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
if ! command -v node >/dev/null; then
  echo "prepare-tokenizers: node is not on PATH; run scripts/install-deps.sh" >&2
  exit 1
fi
node "$ROOT/worker/data/tools/convert-ranks.mjs" "$PACKAGE" "$DATA_DIR/tokenizers" \
  cl100k_base r50k_base o200k_base
