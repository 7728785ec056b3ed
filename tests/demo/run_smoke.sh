#!/usr/bin/env bash
# ctest entry: scripts/demo.sh --smoke --fresh on binaries already built, on a
# free loopback port, run as the README types it (the script's own path, so its
# execute bit counts) from a shell with no terminal (its own session, stdin
# from /dev/null), then the checks of the issue: it exits 0, the report
# exists, every fit is finite, every run succeeded with no missing checkpoint.
set -euo pipefail
SOURCE_DIR="$1" BUILD_DIR="$2" DEMO_DIR="$3"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
FLOPWISE_BUILD_DIR="$BUILD_DIR" FLOPWISE_DEMO_DIR="$DEMO_DIR" FLOPWISE_DEMO_PORT="$PORT" \
  setsid "$SOURCE_DIR/scripts/demo.sh" --smoke --fresh --no-build </dev/null &
demo=$!
# A timeout of ctest ends this script: pass it on so the demo stops its daemons.
trap 'kill -TERM "$demo" 2>/dev/null || true' EXIT
status=0
wait "$demo" || status=$?
trap - EXIT
if ((status != 0)); then
  echo "run_smoke: scripts/demo.sh exited $status" >&2
  exit 1
fi
/usr/bin/python3 "$(dirname "$0")/check_demo.py" "$DEMO_DIR" llama tnl
