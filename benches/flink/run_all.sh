#!/usr/bin/env bash
# Runs Nexmark queries on Flink one after another (a fresh PyFlink JVM each), appending
# run_query.py's JSON lines to OUT (the JVM's own output and logs go to OUT.log).
# Usage: benches/flink/run_all.sh BOOTSTRAP TOPIC END_OFFSETS OUT [PARALLELISM] [QUERIES...]
#   e.g. benches/flink/run_all.sh "$DDFLOW_TEST_BOOTSTRAP" nexmark_peer \
#          250000,250000,250000,250000 /tmp/flink-nexmark.jsonl 2
# Env: FLINK_PEER (default /work/flink-peer), TIMEOUT (seconds per job, default 300).
set -uo pipefail
BOOTSTRAP=$1 TOPIC=$2 OFFSETS=$3 OUT=$4 P=${5:-2}
shift $(( $# < 5 ? $# : 5 ))
QUERIES=${*:-$(echo q{0..22})}
FLINK_PEER=${FLINK_PEER:-/work/flink-peer} TIMEOUT=${TIMEOUT:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
for q in $QUERIES; do
  echo "== $q" >&2
  # The outer timeout is a backstop: run_query.py cancels the job itself after $TIMEOUT s.
  line=$(timeout -k 10 $((TIMEOUT + 120)) "$FLINK_PEER/venv/bin/python" "$HERE/run_query.py" "$q" \
    --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --end-offsets "$OFFSETS" --parallelism "$P" \
    --jars "$FLINK_PEER/jars" --timeout "$TIMEOUT" 2>>"$OUT.log" | tee -a "$OUT.log" | grep '^{"query"')
  [ -n "$line" ] || line="{\"query\": \"$q\", \"status\": \"failed\", \"error\": \"run_query.py printed no result (see $OUT.log)\"}"
  echo "$line" | tee -a "$OUT"
done
