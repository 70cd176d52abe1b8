#!/usr/bin/env bash
# The clinic demo: a real run of Mandate with every process it needs.
#
#   examples/clinic/run-demo.sh [BUILD_DIR]      (default: build)
#
# Starts, in a fresh temporary directory: the broker (mandated) on its
# embedded defaults plus a generated agent registry and a development
# identity provider, the FHIR gateway (loopback HTTP), the summarizer, coder
# and prior-authorization agents, then runs the orchestrator acting for
# dr-alice.  Every program narrates what it does and why; lines starting
# with CHECK state an outcome the demo expects.  The script exits non-zero
# when an expected outcome is missing or differs, and stops every process it
# started (also on failure or interruption).
#
# Environment: DEMO_KEEP=1 keeps the temporary directory (logs, audit store).
set -euo pipefail

build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ -d "$build" ] || build="$src/$build"
build=$(cd "$build" && pwd)
mandated="$build/broker/mandated"
ctl="$build/broker/mandatectl"
ex="$build/examples/clinic"
for p in "$mandated" "$ctl" "$ex/fhir-gateway" "$ex/clinic-agent" \
	"$ex/clinic-orchestrator"; do
	[ -x "$p" ] || { echo "run-demo: $p is missing (build first)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mandate-demo.XXXXXX")
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		echo "run-demo: kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log="$tmp/demo.log"
say() { printf '\n== %s\n' "$*" >>"$log"; }
run_bg() { "$@" >>"$log" 2>&1 & pids+=($!); }

# Waits up to 10 s for a command to succeed.
wait_for() {
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "run-demo: timed out waiting for: $*" >&2
	return 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

http_ok() {
	python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1"
}

touch "$log"
tail -n +1 -f "$log" & pids+=($!)

say "Setting up: agent keys, registry, development identity provider"
mkdir -p "$tmp/keys" "$tmp/run" "$tmp/data"
declare -A agent_ids=(
	[orchestrator]=spiffe://clinic.example/orchestrator
	[summarizer]=spiffe://clinic.example/agent/summarizer
	[coder]=spiffe://clinic.example/agent/coder
	[priorauth]=spiffe://clinic.example/agent/priorauth
)
keymap=()
for name in "${!agent_ids[@]}"; do
	"$ctl" keygen --out "$tmp/keys/$name" >/dev/null
	keymap+=("${agent_ids[$name]}=$(cat "$tmp/keys/$name.pub")")
done
python3 - "$src/policies/entities.json" "$tmp/entities.json" "${keymap[@]}" <<'EOF'
import json, sys
src, dst, pairs = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
ents = json.load(open(src))
for e in ents:
    if e["uid"]["type"] == "Mandate::Agent" and e["uid"]["id"] in pairs:
        e["attrs"]["publicKey"] = pairs[e["uid"]["id"]]
json.dump(ents, open(dst, "w"), indent=1)
EOF
"$ctl" idp keygen --alg EdDSA --out "$tmp/idp" >"$tmp/setup.log" 2>&1
broker_id=spiffe://mandate.local/broker
issuer=https://idp.clinic.example
assertion() { # PATIENT FILE [IDP-ASSERT-OPTION...]
	local patient=$1 file=$2
	shift 2
	"$ctl" idp assert --key "$tmp/idp.pem" --iss "$issuer" --aud "$broker_id" \
		--sub dr-alice --patient "$patient" --scope "patient/*.rs tool/export.x" \
		--ttl 600 "$@" >"$file"
}
assertion pat-001 "$tmp/alice-pat-001.jwt"
assertion pat-003 "$tmp/alice-pat-003.jwt"
# dr-alice herself declares the emergency when she signs in for pat-003
assertion pat-003 "$tmp/alice-pat-003-etreat.jwt" --purpose-of-use ETREAT
mkdir -m 700 "$tmp/acts"
echo "[setup] 4 agent keys, registry with their public keys, dr-alice's launch assertions for pat-001 and pat-003" >>"$log"

cat >"$tmp/mandated.conf" <<EOF
run_dir = $tmp/run
data_dir = $tmp/data
policy_dir = $src/policies
entities = $tmp/entities.json
idp_key = $tmp/idp.pub.pem
idp_issuer = $issuer
idp_alg = EdDSA
idp_dev = 1
broker_id = $broker_id
gateway_audience = spiffe://clinic.example/fhir-gateway
audiences = spiffe://clinic.example/payer-exchange=export
admins = spiffe://clinic.example/orchestrator
stepup_timeout_ms = 20000
EOF

say "Starting the broker"
"$mandated" --config "$tmp/mandated.conf" 2>"$tmp/broker.log" & pids+=($!)
broker_pid=$!
api="ipc://$tmp/run/mandated.sock"
events="ipc://$tmp/run/mandated-events.sock"
wait_for test -S "$tmp/run/mandated.sock"
wait_for test -f "$tmp/data/root.pub"

say "Starting the FHIR gateway and the agents"
port=$(free_port)
gateway="http://127.0.0.1:$port"
run_bg "$ex/fhir-gateway" --listen "$gateway" --data "$src/examples/clinic/fhir/resources.json" \
	--broker-key "$tmp/data/root.pub" --events "$events" \
	--audience spiffe://clinic.example/fhir-gateway \
	--export-audience spiffe://clinic.example/payer-exchange
wait_for http_ok "$gateway/status"
agent_pids=()
for role in summarizer coder priorauth; do
	run_bg "$ex/clinic-agent" --role "$role" --broker "$api" --events "$events" \
		--key "$tmp/keys/$role.key" --id "${agent_ids[$role]}" \
		--gateway "$gateway" --payer-audience spiffe://clinic.example/payer-exchange \
		--timeout 50
	agent_pids+=($!)
done

say "The orchestrator acts for dr-alice"
orc_rc=0
"$ex/clinic-orchestrator" --broker "$api" --events "$events" \
	--key "$tmp/keys/orchestrator.key" --id "${agent_ids[orchestrator]}" \
	--assertion-pat-001 "$tmp/alice-pat-001.jwt" \
	--assertion-pat-003 "$tmp/alice-pat-003.jwt" \
	--emergency-pat-003 "$tmp/alice-pat-003-etreat.jwt" \
	--acts "$tmp/acts" >>"$log" 2>&1 &
orc_pid=$!
pids+=("$orc_pid")
# dr-alice's UI: when the orchestrator shows her a step-up, she signs in
# again and the identity provider issues an assertion naming it.
for _ in $(seq 300); do
	[ -s "$tmp/acts/stepup.id" ] && break
	kill -0 "$orc_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -s "$tmp/acts/stepup.id" ]; then
	stepup=$(cat "$tmp/acts/stepup.id")
	echo "[clinician] dr-alice reviews step-up $stepup and approves it with a fresh sign-in naming it" >>"$log"
	assertion pat-001 "$tmp/acts/stepup.jwt.tmp" --stepup "$stepup"
	mv "$tmp/acts/stepup.jwt.tmp" "$tmp/acts/stepup.jwt"
fi
wait "$orc_pid" || orc_rc=$?
agents_rc=0
for p in "${agent_pids[@]}"; do wait "$p" || agents_rc=$?; done

say "Audit chain: every decision above is in the tamper-evident store"
# SIGTERM drains the broker; every batch it committed has a signed receipt
# head covering its records.
kill -TERM "$broker_pid" 2>/dev/null || true
wait "$broker_pid" 2>/dev/null || true
audit_rc=0
"$ctl" audit verify --store "sqlite:$tmp/data/audit.db" --pub "$tmp/data/root.pub" \
	>>"$log" 2>&1 || audit_rc=$?
sleep 0.2

# Every outcome the demo must show, by CHECK name.
expected=(
	open-task read-in-scope search-in-scope replay-refused
	other-patient-refused delegation-allowed delegation-narrowed coder-read
	coder-widen-refused coder-delegate-refused coder-result priorauth-read
	export-held-for-step-up approval-without-act-refused clinician-approved
	export-approved priorauth-result summary-result care-team-refused
	emergency-by-software-refused break-glass-open
	break-glass-read break-glass-result complete-break-glass complete-task
	late-request-refused delegation-graph
)
# The commands to look further, printed after a run that went as expected.
explore() {
	local store="sqlite:$tmp/data/audit.db" root keep
	root=$(grep -o -m1 'task t-[0-9a-f]* granted' "$log" | cut -d' ' -f2)
	keep=$([ "${DEMO_KEEP:-0}" = 1 ] && echo "kept" || echo "removed at exit; DEMO_KEEP=1 make demo keeps it")
	cat <<EOT

== Explore further
The run's directory is $tmp ($keep): the broker's log
(broker.log), the audit store (data/audit.db) and its verification key
(data/root.pub).  With it kept:
  $ctl graph $root --store $store
        the delegation tree of dr-alice's pat-001 task, with every decision
        (--format svg draws it through Graphviz)
  $ctl audit query --store $store --patient pat-001 --verdict deny
        every refusal on pat-001's record, one line each
  $ctl audit query --store $store --agent spiffe://clinic.example/agent/coder
        everything the coder did, at any hop
  $ctl audit verify --store $store --pub $tmp/data/root.pub
        the hash chain and its signed receipt heads
See docs/clinic-demo.md for what each step shows.
EOT
}

missing=0
for name in "${expected[@]}"; do
	if ! grep -q "CHECK $name: ok" "$log"; then
		echo "run-demo: outcome '$name' missing or different" >>"$log"
		missing=$((missing + 1))
	fi
done
failed=$(grep -c 'CHECK .*: FAIL' "$log" || true)
say "Summary"
if [ "$missing" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$orc_rc" -eq 0 ] &&
	[ "$agents_rc" -eq 0 ] && [ "$audit_rc" -eq 0 ]; then
	echo "run-demo: all ${#expected[@]} expected outcomes observed in $SECONDS s" >>"$log"
	sleep 0.2
	explore
	exit 0
fi
echo "run-demo: FAILED ($missing missing, $failed failed, orchestrator $orc_rc, agents $agents_rc, audit $audit_rc)" >>"$log"
echo "run-demo: broker log follows" >&2
tail -n 40 "$tmp/broker.log" >&2
sleep 0.2
exit 1
