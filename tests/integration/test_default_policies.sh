#!/bin/bash
# The default policy set (policies/) through the real `mandatectl policy`
# commands: the directory checks clean, the entity data is consistent, and a
# table of requests -- each shaped like the broker's (docs/policy-guide.md)
# -- gets the expected decision (exit 0 allow, 1 deny, 3 step-up) and the
# expected determining policy, covering the allow and deny side of every
# policy.  Well-formed requests must evaluate without policy errors.
set -u

SRC=${MDT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
POL=$SRC/policies
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v mandatectl >/dev/null || { echo "mandatectl not on PATH"; exit 1; }
command -v jq >/dev/null || { echo "jq is required"; exit 1; }

# Resources are per-request entities in the broker; here a fixture adds them.
ENT=$WORK/entities.json
jq -s 'add' "$POL/entities.json" "$SRC/tests/integration/data/clinic_resources.json" >"$ENT" ||
	exit 1

D=spiffe://clinic.example
ORCH="Mandate::Agent::\"$D/orchestrator\""
SUM="Mandate::Agent::\"$D/agent/summarizer\""
COD="Mandate::Agent::\"$D/agent/coder\""
PA="Mandate::Agent::\"$D/agent/priorauth\""
RET="Mandate::Agent::\"$D/agent/scribe-retired\""
act() { printf 'Mandate::Action::"%s"' "$1"; }
res() { printf 'Mandate::Resource::"%s"' "$1"; }
tool() { printf 'Mandate::Tool::"%s"' "$1"; }
pat() { printf 'Mandate::Patient::"%s"' "$1"; }
ent() { printf '{"__entity": {"type": "%s", "id": "%s"}}' "$1" "$2"; }
clin() { ent Mandate::Clinician "$1"; }
patient() { ent Mandate::Patient "$1"; }
# chain orchestrator agent/summarizer ...: context.agentChain
chain() {
	local a out=
	for a in "$@"; do out+="${out:+,}$(ent Mandate::Agent "$D/$a")"; done
	printf '[%s]' "$out"
}
APPROVED='{"valid": true, "requestHash": "9f2c"}'

# ctx [KEY=JSON | -KEY]...: the context the broker sends for a summarizer
# task of dr-alice's on pat-001 under TREAT, with fields replaced or removed
# (one jq run: JSON values are jq expressions too).
ctx() {
	local kv prog='.'
	for kv in "$@"; do
		if [ "${kv:0:1}" = - ]; then
			prog+=" | del(.${kv:1})"
		else
			prog+=" | .${kv%%=*} = (${kv#*=})"
		fi
	done
	jq -c "$prog" <<EOF || { echo "bad context overrides: $*" >&2; return 1; }
{"clinician": $(clin dr-alice), "patient": $(patient pat-001),
 "purpose": "TREAT", "breakGlass": false, "depth": 1,
 "agentChain": $(chain orchestrator agent/summarizer), "children": 0,
 "tool": "", "boundary": "none", "requestHash": "9f2c",
 "approval": {"valid": false, "requestHash": ""},
 "time": {"__extn": {"fn": "datetime", "arg": "2026-11-29T09:30:00Z"}},
 "taskId": "task-1"}
EOF
}

total=0
failed=0
# expect WANT_RC REASON PRINCIPAL ACTION RESOURCE [context overrides...]
# REASON is the policy id that must be among the determining policies, or
# "-" for a default deny (no policy determines it).
expect() {
	local want=$1 reason=$2 principal=$3 action=$4 resource=$5 out rc
	shift 5
	total=$((total + 1))
	out=$(mandatectl policy eval --policies "$POL" --entities "${ENTITIES:-$ENT}" \
		--principal "$principal" --action "$action" --resource "$resource" \
		--context "$(ctx "$@")" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ] ||
		{ [ "$reason" != - ] && ! grep -qw -- "$reason" <<<"$out"; } ||
		{ [ "$reason" != context-complete ] && grep -qiE '(^|[^a-z])errors?( |:|\[)' <<<"$out"; }; then
		failed=$((failed + 1))
		echo "FAIL #$total: $principal $action $resource $*"
		echo "  want exit $want ($reason), got exit $rc:"
		sed 's/^/    /' <<<"$out"
	fi
}

OBS1=$(res Observation/obs-001-1)
OBS2=$(res Observation/obs-002-1)
BOB_P2=("clinician=$(clin dr-bob)" "patient=$(patient pat-002)")
PA_CHAIN="agentChain=$(chain orchestrator agent/priorauth)"
COD_CHAIN="agentChain=$(chain orchestrator agent/summarizer agent/coder)"

# ---- treatment and care team ----
expect 0 treat-clinical-access "$SUM" "$(act read)" "$OBS1"
expect 0 treat-clinical-access "$SUM" "$(act search)" "$(res Observation)"
expect 0 treat-clinical-access "$SUM" "$(act read)" "$OBS1" "clinician=$(clin dr-bob)"
expect 1 care-team-required "$SUM" "$(act read)" "$OBS2" "${BOB_P2[@]}"
expect 1 care-team-required "$SUM" "$(act read)" "$OBS1" "clinician=$(clin dr-nobody)"
expect 1 care-team-required "$SUM" "$(act read)" "$OBS1" "patient=$(patient pat-999)"
expect 0 treat-clinical-access "$SUM" "$(act read)" "$OBS2" "patient=$(patient pat-002)"
expect 1 same-patient "$SUM" "$(act read)" "$OBS2"
expect 1 same-patient "$SUM" "$(act read)" "$(res Observation/obs-003-1)"

# ---- break-the-glass ----
expect 0 break-glass-read "$SUM" "$(act read)" "$OBS2" "${BOB_P2[@]}" 'purpose="ETREAT"' breakGlass=true
expect 1 break-glass-clinician-role "$SUM" "$(act read)" "$OBS2" "${BOB_P2[@]}" 'purpose="ETREAT"'
expect 1 break-glass-clinician-role "$SUM" "$(act read)" "$OBS1" breakGlass=true
expect 1 break-glass-clinician-role "$SUM" "$(act read)" "$OBS2" "clinician=$(clin clerk-dan)" \
	"patient=$(patient pat-002)" 'purpose="ETREAT"' breakGlass=true
expect 1 - "$SUM" "$(act update)" "$OBS2" "${BOB_P2[@]}" 'purpose="ETREAT"' breakGlass=true

# ---- purposes ----
expect 1 forbid-research-marketing "$SUM" "$(act read)" "$OBS1" 'purpose="HRESCH"'
expect 1 forbid-research-marketing "$SUM" "$(act read)" "$OBS1" 'purpose="HMARKT"'
expect 1 forbid-research-marketing "$ORCH" "$(act open)" "$(pat pat-001)" 'purpose="CLINTRCH"' \
	depth=0 "agentChain=$(chain orchestrator)"
expect 1 - "$SUM" "$(act read)" "$OBS1" 'purpose="HOPERAT"'
expect 0 payment-read "$PA" "$(act read)" "$(res Condition/cond-001-1)" 'purpose="HPAYMT"' "$PA_CHAIN"
expect 0 payment-read "$PA" "$(act read)" "$(res Coverage/cov-001)" 'purpose="HPAYMT"' "$PA_CHAIN"
expect 1 payment-prior-auth-only "$SUM" "$(act read)" "$(res Condition/cond-001-1)" 'purpose="HPAYMT"'
expect 1 payment-billing-types "$PA" "$(act read)" "$OBS1" 'purpose="HPAYMT"' "$PA_CHAIN"
expect 1 payment-billing-types "$PA" "$(act read)" "$(res MedicationRequest/mr-001-1)" \
	'purpose="HPAYMT"' "$PA_CHAIN"
expect 1 - "$PA" "$(act update)" "$(res Coverage/cov-001)" 'purpose="HPAYMT"' "$PA_CHAIN"

# ---- tools ----
expect 0 tool-use "$COD" "$(act codes)" "$(tool codes)" depth=2 "$COD_CHAIN" 'tool="codes"'
expect 1 tool-registered "$SUM" "$(act codes)" "$(tool codes)" 'tool="codes"'
expect 1 tool-registered "$COD" "$(act fax)" "$(tool codes)" depth=2 "$COD_CHAIN" 'tool="codes"'
expect 1 tool-registered "$COD" "$(act fax)" "$(tool fax)" depth=2 "$COD_CHAIN" 'tool="fax"'
expect 1 tool-registered "$PA" "$(act fax)" "$(tool shredder)" 'purpose="HPAYMT"' "$PA_CHAIN"
expect 1 tool-registered "$PA" "$(act fax)" "$OBS1" 'purpose="HPAYMT"' "$PA_CHAIN"

# ---- boundary crossings: step-up, then the approval for this request ----
expect 3 export-step-up "$PA" "$(act export)" "$(tool export)" 'purpose="HPAYMT"' "$PA_CHAIN" \
	'tool="export"' 'boundary="export"'
expect 3 export-step-up "$PA" "$(act fax)" "$(tool fax)" 'purpose="HPAYMT"' "$PA_CHAIN" 'tool="fax"'
expect 0 tool-use "$PA" "$(act fax)" "$(tool fax)" 'purpose="HPAYMT"' "$PA_CHAIN" 'tool="fax"' \
	"approval=$APPROVED"
expect 3 export-step-up "$PA" "$(act fax)" "$(tool fax)" 'purpose="HPAYMT"' "$PA_CHAIN" 'tool="fax"' \
	"approval=$APPROVED" 'requestHash="77aa"'
expect 3 export-step-up "$PA" "$(act fax)" "$(tool fax)" 'purpose="HPAYMT"' "$PA_CHAIN" 'tool="fax"' \
	"approval=$APPROVED" 'approval.valid=false'
expect 3 export-step-up "$SUM" "$(act read)" "$OBS1" 'boundary="export"'
expect 3 writeback-step-up "$SUM" "$(act create)" "$(res DocumentReference)"
expect 3 writeback-step-up "$SUM" "$(act read)" "$OBS1" 'boundary="writeback"'
expect 0 treat-clinical-access "$SUM" "$(act create)" "$(res DocumentReference)" "approval=$APPROVED"
expect 1 care-team-required "$SUM" "$(act create)" "$OBS2" "${BOB_P2[@]}"

# ---- request hygiene and registration ----
expect 1 context-complete "$SUM" "$(act read)" "$OBS1" 'boundary="elsewhere"'
expect 1 context-complete "$SUM" "$(act read)" "$OBS1" -approval
expect 1 context-complete "$SUM" "$(act read)" "$OBS1" -time
expect 1 context-complete "$SUM" "$(act create)" "$(res DocumentReference)" "approval={\"valid\": true}"
expect 1 agent-registration-expired "$RET" "$(act read)" "$OBS1"
expect 0 treat-clinical-access "$RET" "$(act read)" "$OBS1" \
	'time={"__extn": {"fn": "datetime", "arg": "2025-06-29T23:59:59Z"}}'

# ---- opening tasks ----
OPEN=(depth=0 "agentChain=$(chain orchestrator)")
expect 0 open-task "$ORCH" "$(act open)" "$(pat pat-001)" "${OPEN[@]}"
expect 0 open-task "$ORCH" "$(act open)" "$(pat pat-001)" "${OPEN[@]}" 'purpose="HPAYMT"'
expect 1 care-team-required "$ORCH" "$(act open)" "$(pat pat-002)" "${OPEN[@]}" "${BOB_P2[@]}"
expect 0 open-task-break-glass "$ORCH" "$(act open)" "$(pat pat-002)" "${OPEN[@]}" "${BOB_P2[@]}" \
	'purpose="ETREAT"' breakGlass=true
expect 1 same-patient "$ORCH" "$(act open)" "$(pat pat-002)" "${OPEN[@]}"
expect 1 - "$SUM" "$(act open)" "$(pat pat-001)"
expect 1 agent-depth-limit "$ORCH" "$(act open)" "$(pat pat-001)" depth=1

# ---- dispatch and delegation ----
expect 0 delegate-task "$ORCH" "$(act dispatch)" "$SUM" "${OPEN[@]}"
expect 0 delegate-task "$ORCH" "$(act dispatch)" "$PA" "${OPEN[@]}" 'purpose="HPAYMT"'
expect 0 delegate-task "$SUM" "$(act delegate)" "$COD"
expect 0 delegate-task "$ORCH" "$(act dispatch)" "$SUM" "${OPEN[@]}" children=7
expect 1 delegation-fanout-limit "$ORCH" "$(act dispatch)" "$SUM" "${OPEN[@]}" children=8
expect 1 delegation-fanout-limit "$COD" "$(act delegate)" "$SUM" depth=2 "$COD_CHAIN"
expect 1 delegation-target-allowed "$SUM" "$(act delegate)" "$PA"
expect 1 delegation-target-allowed "$ORCH" "$(act dispatch)" "$COD" "${OPEN[@]}"
expect 1 no-delegation-cycles "$SUM" "$(act delegate)" "$COD" "$COD_CHAIN"
expect 1 agent-depth-limit "$SUM" "$(act delegate)" "$COD" depth=2
expect 1 payment-prior-auth-only "$ORCH" "$(act dispatch)" "$SUM" "${OPEN[@]}" 'purpose="HPAYMT"'
expect 1 care-team-required "$ORCH" "$(act dispatch)" "$SUM" "${OPEN[@]}" "${BOB_P2[@]}"

# Registry changes: a shallower coder, then deeper agents against the
# set-wide limit of three hops.
ENTITIES=$WORK/shallow.json
jq "map(if .uid.id == \"$D/agent/coder\" then .attrs.maxDepth = 1 else . end)" "$ENT" >"$ENTITIES"
expect 1 delegation-depth-limit "$SUM" "$(act delegate)" "$COD"
ENTITIES=$WORK/deep.json
jq "map(if .uid.type == \"Mandate::Agent\" then .attrs.maxDepth = 9 else . end)" "$ENT" >"$ENTITIES"
expect 0 delegate-task "$SUM" "$(act delegate)" "$COD" depth=2
expect 1 delegation-depth-limit "$SUM" "$(act delegate)" "$COD" depth=3
unset ENTITIES

# ---- the directory itself ----
total=$((total + 1))
if ! out=$(mandatectl policy check "$POL" 2>&1); then
	failed=$((failed + 1))
	echo "FAIL: mandatectl policy check $POL:"
	echo "$out"
fi
total=$((total + 1))
cp -r "$POL" "$WORK/broken"
printf '\n@id("broken")\npermit (principal, action, resource)\nwhen { context.x = 1 };\n' \
	>>"$WORK/broken/30-delegation.cedar"
out=$(mandatectl policy check "$WORK/broken" 2>&1)
rc=$?
line=$(wc -l <"$WORK/broken/30-delegation.cedar")
if [ $rc = 0 ] || ! grep -q "30-delegation.cedar:$line:" <<<"$out"; then
	failed=$((failed + 1))
	echo "FAIL: a syntax error at 30-delegation.cedar:$line was not reported (exit $rc):"
	echo "$out"
fi

# Patients' parents and careTeams attribute name the same teams.
total=$((total + 1))
bad=$(jq -r '.[] | select(.uid.type == "Mandate::Patient")
	| select(([.parents[].id] | sort) != ([.attrs.careTeams[].__entity.id] | sort)) | .uid.id' \
	"$POL/entities.json")
if [ -n "$bad" ]; then
	failed=$((failed + 1))
	echo "FAIL: parents and careTeams differ for: $bad"
fi

echo "default policies: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ]
