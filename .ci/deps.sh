#!/usr/bin/env bash
# Build tools the C parts need on a fresh machine: a C compiler, make and perl (librdkafka,
# OpenSSL and zstd are built from source by their -sys crates). Installs what is missing.
# Usage: source .ci/deps.sh
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v perl >/dev/null 2>&1 || missing+=(perl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing build tools: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
