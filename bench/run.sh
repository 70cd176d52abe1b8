#!/usr/bin/env bash
# Runs every benchmark of a Release build in turn.  Each prints its figures
# and `ratio NAME: VALUE` lines measured against a baseline in the same run.
set -euo pipefail
build=${1:?usage: bench/run.sh BUILD_DIR}
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== ${b##*/}"
	"$b"
done
