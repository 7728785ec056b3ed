#!/usr/bin/env bash
# ctest entry: scripts/demo.sh --smoke --fresh on binaries already built, on a
# free loopback port, then the checks of the issue: the report exists, every
# fit is finite, every run succeeded with no missing checkpoint.
set -euo pipefail
SOURCE_DIR="$1" BUILD_DIR="$2" DEMO_DIR="$3"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
FLOPWISE_BUILD_DIR="$BUILD_DIR" FLOPWISE_DEMO_DIR="$DEMO_DIR" FLOPWISE_DEMO_PORT="$PORT" \
  bash "$SOURCE_DIR/scripts/demo.sh" --smoke --fresh --no-build
/usr/bin/python3 "$(dirname "$0")/check_demo.py" "$DEMO_DIR" llama tnl
