#!/usr/bin/env bash
# Sets up Flink 2.0 (PyFlink, local mini-cluster) as a Nexmark peer, outside the repository.
# Usage: benches/flink/setup.sh [DIR]   (default /work/flink-peer)
# Makes DIR/venv with apache-flink==2.0.0 and DIR/jars with the Kafka SQL connector's two jars,
# taken from shigawire-apache-flink-libraries==2.0.0.post1 (a redistribution of Apache
# flink-connector-kafka 4.0.1-2.0). That package is only downloaded and unzipped, never
# installed: installing it would replace pyflink/lib. Safe to run again.
set -euo pipefail
DIR=${1:-/work/flink-peer}
mkdir -p "$DIR/jars"

if [ -x "$DIR/venv/bin/python" ] && "$DIR/venv/bin/python" -c 'import pyflink' 2>/dev/null; then
  echo "venv: $DIR/venv already has pyflink"
else
  echo "venv: creating $DIR/venv and installing apache-flink==2.0.0"
  python3 -m venv "$DIR/venv"
  "$DIR/venv/bin/python" -m pip install --quiet apache-flink==2.0.0
fi

JARS="pyflink/lib/flink-connector-kafka.jar pyflink/lib/kafka-clients.jar"
if [ -f "$DIR/jars/flink-connector-kafka.jar" ] && [ -f "$DIR/jars/kafka-clients.jar" ]; then
  echo "jars: already in $DIR/jars"
else
  echo "jars: downloading shigawire-apache-flink-libraries==2.0.0.post1 (not installing it)"
  mkdir -p "$DIR/download"
  "$DIR/venv/bin/python" -m pip download --quiet --no-deps -d "$DIR/download" \
    shigawire-apache-flink-libraries==2.0.0.post1
  WHL=$(ls "$DIR"/download/shigawire_apache_flink_libraries-2.0.0.post1*.whl | head -n1)
  echo "jars: unzipping $JARS from $(basename "$WHL") into $DIR/jars"
  # shellcheck disable=SC2086
  unzip -o -j -q "$WHL" $JARS -d "$DIR/jars"
fi
ls -l "$DIR/jars"
echo "python: $DIR/venv/bin/python ($("$DIR/venv/bin/python" -c 'import importlib.metadata as m; print("apache-flink", m.version("apache-flink"))'))"
