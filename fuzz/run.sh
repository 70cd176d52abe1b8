#!/usr/bin/env bash
# Runs every libFuzzer harness (or the NAMEs given) for a bounded time
# over its seed corpus.
#   fuzz/run.sh BUILD_DIR SECONDS [NAME...]
# New inputs go to a scratch folder; crashes are written to fuzz/crashes/
# and make the run fail.  Copy a fixed crash into fuzz/corpus/NAME/ so it
# is replayed by every test run.
set -euo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS}
secs=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
only=" $* "
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/crashes"
status=0
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz_}
	[ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || continue
	scratch=$(mktemp -d)
	echo "fuzz: $name for ${secs}s"
	if ! "$bin" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$here/crashes/$name-" "$scratch" "$here/corpus/$name" \
	    2>"$scratch.log"; then
		echo "fuzz: $name FAILED; see $here/crashes/ and $scratch.log" >&2
		tail -40 "$scratch.log" >&2
		status=1
	else
		grep -E 'stat::number_of_executed_units|cov:' "$scratch.log" | tail -2 || true
	fi
	rm -rf "$scratch"
done
exit $status
