#!/usr/bin/env bash
# Installs what is missing, builds, and runs a real small study on this machine:
# a coordinator and workers on loopback, the Brown corpus tokenized, the smoke
# sweep trained, its checkpoints fitted and plotted. State is kept in
# ./flopwise-demo/ so the daemons' database can be queried afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
BIN="${FLOPWISE_BUILD_DIR:-$ROOT/build}/bin"
DEMO="${FLOPWISE_DEMO_DIR:-$PWD/flopwise-demo}"
SPEC="$ROOT/examples/sweeps/smoke.yaml"
PORT="${FLOPWISE_DEMO_PORT:-7450}"
ADDR="127.0.0.1:$PORT"

echo "demo: this is the smoke study (2 architectures x 2 CPU sizes); the four-architecture"
echo "demo: CPU study with its markdown report is still to land (see the README)."
mkdir -p "$DEMO"
cd "$DEMO"
[[ -f client.token ]] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >client.token
[[ -f worker.token ]] || head -c 24 /dev/urandom | base64 | tr -d '/+=' >worker.token
if [[ ! -f data/brown/manifest.json ]]; then
  "$BIN/flopwise" data prepare --tokenizer gpt2 --input brown --out data/brown
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

"$BIN/flopwise-coordinator" --listen "$ADDR" --db "$DEMO/flopwise.db" \
  --client-token-file client.token --worker-token-file worker.token \
  --lease-seconds 30 --log-level warn 2>coordinator.log &
pids+=($!)
cores=$(nproc)
for i in $(seq 1 "$cores"); do
  "$BIN/flopwise-worker" --coordinator "$ADDR" --token-file worker.token \
    --work-dir "$DEMO/worker-$i" --max-runs 1 --threads-per-run 1 --cpu-cores 1 \
    --log-level warn 2>"worker-$i.log" &
  pids+=($!)
done

export FLOPWISE_COORDINATOR="$ADDR" FLOPWISE_TOKEN_FILE="$DEMO/client.token"
for _ in $(seq 1 50); do
  "$BIN/flopwise" workers >/dev/null 2>&1 && break
  sleep 0.2
done
# Submit once; a rerun resumes the study already in the database.
if [[ ! -f submitted ]]; then
  sed "s|path: data/brown/train|path: $DEMO/data/brown/train|" "$SPEC" >smoke.yaml
  "$BIN/flopwise" submit smoke.yaml | tee submit.out
  sed -n 's/^submitted sweep \([0-9]*\).*/\1/p' submit.out >submitted
fi
"$BIN/flopwise" status "$(cat submitted)" --watch
"$BIN/flopwise" export --format csv -o metrics.csv
"$BIN/flopwise" fit --input metrics.csv | tee fit.txt
"$BIN/flopwise" plot --input metrics.csv --out plots
echo "demo: metrics in $DEMO/metrics.csv, fits in $DEMO/fit.txt, figures in $DEMO/plots/"
echo "demo: the daemons are stopped; restart the coordinator with the same --db to query the study."
