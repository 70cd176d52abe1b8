#!/usr/bin/env bash
# The clinic demo as a test: runs examples/clinic/run-demo.sh against this
# build and asserts each expected outcome from its narrative, the way a
# reader would see it (the script checks them too and must exit 0).
set -euo pipefail
: "${MDT_SOURCE_DIR:?}" "${MDT_BINARY_DIR:?}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

rc=0
# The run's directory (demo.log, broker.log, the audit store) is kept, and
# removed here only when the demo passed, so a failed or timed-out run
# leaves everything needed to diagnose it.  timeout sends SIGTERM first,
# which run-demo turns into its own cleanup (stopping its processes).
DEMO_KEEP=1 timeout 120 bash "$MDT_SOURCE_DIR/examples/clinic/run-demo.sh" \
	"$MDT_BINARY_DIR" >"$out" 2>&1 || rc=$?
cat "$out"
kept=$(sed -n 's/^run-demo: kept //p' "$out" | tail -n 1)
if [ "$rc" -ne 0 ]; then
	echo "run-demo exited $rc; its logs are kept in ${kept:-?}" >&2
	exit 1
fi
[ -n "$kept" ] && rm -rf "$kept"

expect() { # NAME PATTERN: a CHECK line and a narrative line
	grep -q "CHECK $1: ok" "$out" || { echo "missing outcome $1" >&2; exit 1; }
	grep -Eq "$2" "$out" || { echo "missing narrative for $1: $2" >&2; exit 1; }
}
expect read-in-scope 'gateway\] served read Patient/pat-001'
expect search-in-scope 'gateway\] served search Observation\?subject=Patient/pat-001'
expect replay-refused 'gateway\] REFUSED read Observation\?subject=Patient/pat-001|gateway\] REFUSED search Observation\?subject=Patient/pat-001'
expect other-patient-refused 'broker: DENY read Patient/pat-002'
expect delegation-narrowed '\[coder\] task .* scopes: .*Condition'
expect coder-widen-refused '\[coder\] broker: DENY search Observation'
expect export-held-for-step-up 'dr-alice is asked'
expect approval-without-act-refused 'approval.unbound'
expect emergency-by-software-refused 'emergency.unasserted'
expect export-approved 'gateway\] exported Procedure/proc-001-1'
expect care-team-refused 'orchestrator\]   refused'
expect break-glass-read 'served read Patient/pat-003 .*purpose ETREAT'
expect late-request-refused 'gateway\] REFUSED search Encounter\?patient=pat-001: .*revoked'
expect delegation-graph 'delegation graph of task'
if grep -q 'CHECK .*: FAIL' "$out"; then
	echo "a CHECK failed" >&2
	exit 1
fi
echo "clinic demo: every outcome observed"
