#!/usr/bin/env bash
# The main job: a real, small version of the paper's study on this machine.
# Installs what is missing, builds, starts a coordinator and one worker per
# core on loopback, tokenizes the Brown corpus (bytes), trains the four
# architectures at five small sizes (examples/sweeps/cpu-demo.yaml),
# fits the scaling laws and writes ./flopwise-demo/report/report.md with its
# figures. State lives in ./flopwise-demo/: a rerun reuses a finished study
# (and reports again), an interrupted one resumes its unfinished runs.
#
#   scripts/demo.sh            the study (about 15 minutes on 2 quiet cores)
#   scripts/demo.sh --smoke    2 architectures x 3 sizes, a fraction of the tokens (CI)
#   scripts/demo.sh --fresh    forget the previous study and start again
#   scripts/demo.sh --no-build skip install and build (binaries from $FLOPWISE_BUILD_DIR)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

SMOKE=0 FRESH=0 BUILD=1
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    --fresh) FRESH=1 ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ((BUILD)); then
  "$ROOT/scripts/install-deps.sh"
  "$ROOT/scripts/build.sh"
fi
BIN="${FLOPWISE_BUILD_DIR:-$ROOT/build}/bin"
for exe in flopwise flopwise-coordinator flopwise-worker flopwise-train; do
  [[ -x "$BIN/$exe" ]] || { echo "demo: $BIN/$exe is missing: build first (scripts/build.sh)" >&2; exit 1; }
done
if ((SMOKE)); then
  SPEC="$ROOT/examples/sweeps/cpu-demo-smoke.yaml" BOOTSTRAP=50
  DEMO="${FLOPWISE_DEMO_DIR:-$PWD/flopwise-demo-smoke}"
else
  SPEC="$ROOT/examples/sweeps/cpu-demo.yaml" BOOTSTRAP=200
  DEMO="${FLOPWISE_DEMO_DIR:-$PWD/flopwise-demo}"
fi
PORT="${FLOPWISE_DEMO_PORT:-7450}"
ADDR="127.0.0.1:$PORT"
say() { printf 'demo: %s\n' "$*"; }

if ((FRESH)) && [[ -d "$DEMO" ]]; then
  say "--fresh: removing the previous study in $DEMO (the tokenized corpus is kept)"
  find "$DEMO" -mindepth 1 -maxdepth 1 ! -name data -exec rm -rf {} +
fi
mkdir -p "$DEMO"
cd "$DEMO"
START=$(date +%s)
[[ -f client.token ]] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >client.token)
[[ -f worker.token ]] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >worker.token)
if [[ ! -f data/brown-bytes/manifest.json ]]; then
  say "tokenizing the Brown corpus (byte level) into $DEMO/data/brown-bytes"
  "$BIN/flopwise" data prepare --tokenizer byte --input brown --out data/brown-bytes
fi

# Daemons run in their own sessions, so a Ctrl-C reaches only this script,
# which stops them with SIGTERM on every exit: the workers first (each
# checkpoints its run and hands it back to the coordinator, so a rerun
# resumes it), then the coordinator.
coordinator_pid="" worker_pids=() interrupted=0
stop_daemons() {
  if ((${#worker_pids[@]})); then
    say "stopping the workers (each checkpoints its run) and the coordinator"
    kill -TERM "${worker_pids[@]}" 2>/dev/null || true
    wait "${worker_pids[@]}" 2>/dev/null || true
    worker_pids=()
  fi
  if [[ -n "$coordinator_pid" ]]; then
    kill -TERM "$coordinator_pid" 2>/dev/null || true
    wait "$coordinator_pid" 2>/dev/null || true
    coordinator_pid=""
  fi
}
interrupt() {
  interrupted=1
  stop_daemons
  say "interrupted: run scripts/demo.sh again to resume the study where it stopped"
  exit 130
}
# The exit status is the script's own: 0 exactly when the report was written.
# Nothing in the cleanup may replace it (set -e would end the trap at the first
# failed command, e.g. a write to a closed stdout, with that command's status).
on_exit() {
  local status=$?
  set +e
  stop_daemons
  exit "$status"
}
trap on_exit EXIT
trap interrupt INT TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  say "port $PORT is in use: set FLOPWISE_DEMO_PORT to a free port" >&2
  exit 1
fi
setsid "$BIN/flopwise-coordinator" --listen "$ADDR" --db "$DEMO/flopwise.db" \
  --client-token-file client.token --worker-token-file worker.token \
  --lease-seconds 30 --log-level warn 2>>coordinator.log &
coordinator_pid=$!
# One single-threaded worker per core: runs are small, so running several at
# once uses the cores better than splitting one run across them.
cores=$(nproc)
for i in $(seq 1 "$cores"); do
  setsid "$BIN/flopwise-worker" --coordinator "$ADDR" --token-file worker.token \
    --work-dir "$DEMO/worker-$i" --max-runs 1 --threads-per-run 1 --cpu-cores 1 \
    --log-level warn 2>>"worker-$i.log" &
  worker_pids+=($!)
done

export FLOPWISE_COORDINATOR="$ADDR" FLOPWISE_TOKEN_FILE="$DEMO/client.token"
for _ in $(seq 1 100); do
  "$BIN/flopwise" workers >/dev/null 2>&1 && break
  sleep 0.2
done
"$BIN/flopwise" workers >/dev/null || { say "the coordinator did not start: see $DEMO/coordinator.log" >&2; exit 1; }

# Submit once; a rerun follows (and resumes) the study already in the database.
if [[ ! -s submitted ]]; then
  # The spec's data.path is relative: submitted from $DEMO, it is $DEMO/data/brown-bytes/train.
  "$BIN/flopwise" submit "$SPEC" | tee submit.out
  sed -n 's/^submitted sweep \([0-9]*\).*/\1/p' submit.out >submitted
  [[ -s submitted ]] || { say "submit did not print a sweep id (see submit.out)" >&2; exit 1; }
else
  say "reusing sweep $(cat submitted) in $DEMO/flopwise.db (scripts/demo.sh --fresh starts over)"
fi
SWEEP=$(cat submitted)
# Ctrl-C during the watch ends the watch first; the INT trap then stops the daemons.
WATCH_START=$(date +%s)
"$BIN/flopwise" status "$SWEEP" --watch || true
((interrupted == 0)) || exit 130
# Training time adds up over the invocations that trained (a resumed study, a
# rerun that only reports), so the report never says "trained in 0 s".
TRAINING_SECONDS=$(($(cat training.seconds 2>/dev/null || echo 0) + $(date +%s) - WATCH_START))
echo "$TRAINING_SECONDS" >training.seconds
"$BIN/flopwise" runs --sweep "$SWEEP" >runs.txt
if grep -Eqi '\b(pending|running)\b' runs.txt; then
  say "the sweep has unfinished runs (see $DEMO/runs.txt): run scripts/demo.sh again to resume it" >&2
  exit 1
fi
if grep -Eqi '\b(failed|diverged|cancelled)\b' runs.txt; then
  say "some runs did not succeed (see $DEMO/runs.txt); the report covers the others"
fi

# The watch ends with the runs; the eval jobs of their last checkpoints may
# still be running.
say "waiting for the eval jobs (needle, brown-continuation)"
"$BIN/flopwise" eval --sweep "$SWEEP" --wait >evals.txt ||
  say "some eval jobs did not succeed (see $DEMO/evals.txt); the report shows the others"
"$BIN/flopwise" export --sweep "$SWEEP" --format csv -o metrics.csv
"$BIN/flopwise" export --sweep "$SWEEP" --what checkpoints --format csv -o checkpoints.csv
"$BIN/flopwise" export --sweep "$SWEEP" --what evals --format csv -o evals.csv
stop_daemons
say "fitting ($BOOTSTRAP bootstrap resamples) and drawing the figures"
rm -f report/report.md
# The fits run on the trainer's validation loss at each checkpoint
# (--metric validation), not on the noisy per-step training loss.
# --skip-fraction: each run's first half (warmup, and the fast early drop
# that no longer-trained model follows) is left out of the fits; with it the
# paper method predicts the largest run's final loss within 5% for every
# architecture (docs/demo-study.md).
"$BIN/flopwise" report --input checkpoints.csv --metric validation --evals evals.csv --out report \
  --bootstrap "$BOOTSTRAP" --skip-fraction 0.5 \
  --title "flopwise CPU study: $(sed -n 's/^name: *//p' "$SPEC")" \
  --source "Brown corpus, byte-level tokens. Sweep $SWEEP of $DEMO/flopwise.db (spec: \
$(basename "$SPEC")), trained in $TRAINING_SECONDS s by $cores single-threaded workers." |
  tee report.txt
[[ -s report/report.md ]] || { say "the report was not written (see $DEMO/report.txt)" >&2; exit 1; }
END=$(date +%s)
cat <<EOF || true  # the report is written: a closed stdout must not turn that into a failure
demo: done in $((END - START)) s (training $TRAINING_SECONDS s in all). The report: $DEMO/report/report.md
demo: metrics in $DEMO/metrics.csv, evaluations in $DEMO/evals.csv, checkpoints in $DEMO/checkpoints/.
demo: the daemons are stopped; to query the study again:
  $BIN/flopwise-coordinator --listen $ADDR --db $DEMO/flopwise.db \\
      --client-token-file $DEMO/client.token --worker-token-file $DEMO/worker.token &
  export FLOPWISE_COORDINATOR=$ADDR FLOPWISE_TOKEN_FILE=$DEMO/client.token
  $BIN/flopwise status --all
  $BIN/flopwise fit --input $DEMO/metrics.csv --bootstrap 200
  $BIN/flopwise optimal --input $DEMO/metrics.csv --budget 1e16 --unit flops
EOF
exit 0
