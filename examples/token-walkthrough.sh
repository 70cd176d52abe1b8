#!/usr/bin/env bash
# A walk-through of delegation tokens with mandatectl alone.
#   bash examples/token-walkthrough.sh BUILD_DIR
# A broker root key mints a token for an orchestrator; the broker hands a
# narrower token to a lab agent (only the broker may change the holder);
# the lab agent narrows it further offline; a resource server then answers
# requests.  Every outcome is compared with the expected one and the
# script exits non-zero if any differs.
set -uo pipefail
build=${1:?usage: examples/token-walkthrough.sh BUILD_DIR}
bindir=$(cd "$build/broker" 2>/dev/null && pwd) ||
	{ echo "demo: $build/broker not found (run make build)" >&2; exit 1; }
[ -x "$bindir/mandatectl" ] || { echo "demo: mandatectl not built" >&2; exit 1; }
export PATH="$bindir:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

T0=1767225600   # 2026-01-01T00:00:00Z: fixed instants keep the demo repeatable
LABS=spiffe://clinic.example/agent/labs
FHIR=spiffe://clinic.example/fhir
failures=0

say() { printf '\n== %s\n' "$*"; }

# Prints a command line, single-quoting the words that need it.
show() {
	local w out="   \$"
	for w in "$@"; do
		case $w in
		*[!A-Za-z0-9_./:@=+-]*) out="$out '$w'" ;;
		*) out="$out $w" ;;
		esac
	done
	printf '%s\n' "$out"
}

# expect WANT TITLE ARGS...: runs `mandatectl ARGS...`, shows the command
# and its answer, and whether the exit status is the expected one.
expect() {
	local want=$1 title=$2 got
	shift 2
	show mandatectl "$@"
	mandatectl "$@" >out.txt 2>err.txt
	got=$?
	cat out.txt err.txt | cut -c1-160 | sed 's/^/     /'
	if [ "$got" = "$want" ]; then
		printf '   -> %s (exit %s, as expected)\n' "$title" "$got"
	else
		printf '   -> %s: exit %s, EXPECTED %s\n' "$title" "$got" "$want"
		failures=$((failures + 1))
	fi
}

# make FILE ARGS...: runs `mandatectl ARGS...` and keeps its output.
make_tok() {
	local file=$1
	shift
	printf '%s > %s\n' "$(show mandatectl "$@")" "$file"
	mandatectl "$@" > "$file" || { echo "demo: that failed" >&2; exit 1; }
	printf '     %s...\n' "$(cut -c1-70 "$file")"
}

say "1. Keys: the broker's root key, an orchestrator and a lab agent"
for k in root orch labs; do
	show mandatectl keygen --out "$k"
	mandatectl keygen --out "$k" | sed 's/^/     /'
done

say "2. The broker mints a token for the orchestrator (block 0)"
echo "   Dr Ada treats patient pat-123: observations and conditions,"
echo "   10 minutes, at most 2 further delegations."
make_tok orch.tok token mint --key root.key --holder-pub orch.pub \
    --sub spiffe://clinic.example/orchestrator --clinician dr-ada \
    --patient pat-123 --purpose TREAT \
    --scope "patient/Observation.rs patient/Condition.rs" \
    --ttl 600 --depth 2 --task visit-42 --now $T0

say "3. The orchestrator cannot hand its token to the lab agent itself"
echo "   Offline it may only narrow: a delegation the broker never saw would"
echo "   escape its registry checks and its audit."
expect 1 "offline delegation refused" token attenuate --token @orch.tok \
    --holder-pub labs.pub --sub $LABS --now $((T0 + 10))

say "3b. The broker delegates to the lab agent (a broker block)"
echo "   Read-only, laboratory observations only, 5 minutes, for a subtask."
make_tok labs.tok token attenuate --token @orch.tok --root-key root.key \
    --holder-pub labs.pub --sub $LABS --task visit-42/labs \
    --scope "patient/Observation.r?category=laboratory" --ttl 300 \
    --now $((T0 + 10))

say "4. What the lab agent holds: two blocks, decoded and verified"
expect 0 "verified" token inspect --token @labs.tok --root root.pub

say "5. Requests checked against the lab agent's token"
expect 0 "a lab result: allowed" token check --root root.pub --token @labs.tok \
    --action r --resource Observation/obs-7 --attr category=laboratory \
    --holder $LABS --now $((T0 + 60))
expect 1 "a vital sign: denied" token check --root root.pub --token @labs.tok \
    --action r --resource Observation/obs-8 --attr category=vital-signs \
    --now $((T0 + 60))
expect 1 "a search (wider than read): denied" token check --root root.pub \
    --token @labs.tok --action s --resource "Observation?category=laboratory" \
    --now $((T0 + 60))
expect 0 "...which the orchestrator's own token allows" token check \
    --root root.pub --token @orch.tok --action s \
    --resource "Observation?category=laboratory" --now $((T0 + 60))
expect 1 "a condition (outside the delegation): denied" token check \
    --root root.pub --token @labs.tok --action r --resource Condition/c-1 \
    --now $((T0 + 60))
expect 1 "another patient: denied" token check --root root.pub \
    --token @labs.tok --action r --resource Observation/obs-9 \
    --attr category=laboratory --patient pat-999 --now $((T0 + 60))
expect 1 "after 5 minutes: expired" token check --root root.pub \
    --token @labs.tok --action r --resource Observation/obs-7 \
    --attr category=laboratory --now $((T0 + 400))
expect 1 "presented by another agent: denied" token check --root root.pub \
    --token @labs.tok --action r --resource Observation/obs-7 \
    --attr category=laboratory --holder spiffe://clinic.example/agent/notes \
    --now $((T0 + 60))

say "6. The lab agent tries to widen its own token: refused"
expect 1 "widening refused" token attenuate --token @labs.tok \
    --scope "patient/Observation.rs patient/Condition.r" --now $((T0 + 70))

say "7. A tampered token is refused before any decision"
tok=$(cat labs.tok)
mid=$(( ${#tok} / 2 ))
c=${tok:$mid:1}; [ "$c" = A ] && r=B || r=A
printf '%s%s%s\n' "${tok:0:$mid}" "$r" "${tok:$((mid + 1))}" > tampered.tok
echo "   (character $mid of the text form changed from $c to $r)"
expect 2 "tampered token refused" token check --root root.pub \
    --token @tampered.tok --action r --resource Observation/obs-7 \
    --attr category=laboratory --now $((T0 + 60))

say "8. A single-action token the lab agent makes itself: refused by the gateway"
echo "   It is a valid narrowing, but the broker never checked nor recorded it."
make_tok own.tok token attenuate --token @labs.tok \
    --resource Observation/obs-7 --audience $FHIR --seal --ttl 60 \
    --now $((T0 + 80))
expect 1 "the FHIR gateway refuses it" token check --root root.pub \
    --token @own.tok --single-action --audience $FHIR --action r \
    --resource Observation/obs-7 --attr category=laboratory --now $((T0 + 90))

say "9. The broker's single-action token for the FHIR gateway"
echo "   One action, one resource, one audience, made by the broker."
make_tok single.tok token attenuate --token @labs.tok --root-key root.key \
    --resource Observation/obs-7 --audience $FHIR --seal --ttl 60 \
    --now $((T0 + 80))
expect 0 "the FHIR gateway accepts it" token check --root root.pub \
    --token @single.tok --single-action --audience $FHIR --action r \
    --resource Observation/obs-7 --attr category=laboratory --now $((T0 + 90))
expect 1 "for another resource: denied" token check --root root.pub \
    --token @single.tok --single-action --audience $FHIR --action r \
    --resource Observation/obs-8 --attr category=laboratory --now $((T0 + 90))
expect 1 "at another server: denied" token check --root root.pub \
    --token @single.tok --single-action \
    --audience spiffe://clinic.example/billing --action r \
    --resource Observation/obs-7 --attr category=laboratory --now $((T0 + 90))
expect 1 "nothing can be appended to it" token attenuate --token @single.tok \
    --ttl 10 --now $((T0 + 90))

echo
if [ "$failures" -ne 0 ]; then
	echo "demo: $failures outcome(s) differed from the expected ones" >&2
	exit 1
fi
echo "demo: every outcome was the expected one"
