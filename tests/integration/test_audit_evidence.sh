#!/usr/bin/env bash
# The evidence exports against a store a real broker wrote (the clinic
# demo's run: allows, denials, a step-up, a widening attempt, a
# break-the-glass read, delegation three hops deep): every FHIR AuditEvent
# (one a line, and the --bundle Bundle) validates against the FHIR R4 JSON
# schema and every OCSF event against the OCSF 1.3.0 API Activity class
# (tests/data/ocsf), both with the npm packages of tests/npm; a changed
# event fails them (the validators are not vacuous); the exports carry the
# chain, the clinician, the patient, the verdict and the purpose where
# FHIR and OCSF put them; filters select the same decisions as `audit
# query`; `audit disclosures` lists the patient's disclosures.
set -euo pipefail
: "${MDT_SOURCE_DIR:?}" "${MDT_BINARY_DIR:?}" "${MDT_NPM_DIR:?}"
ctl="$MDT_BINARY_DIR/broker/mandatectl"
validate="node $MDT_SOURCE_DIR/tests/npm/validate_evidence.mjs"
schema="$MDT_SOURCE_DIR/tests/data/ocsf/api_activity-1.3.0.schema.json"
export NODE_PATH="$MDT_NPM_DIR/node_modules"
work=$(mktemp -d /tmp/mdt-evidence-XXXXXX)
kept=""
cleanup() { rm -rf "$work"; [ -z "$kept" ] || rm -rf "$kept"; }
trap cleanup EXIT
fail() { echo "test_audit_evidence: $*" >&2; exit 1; }
# The first line of FILE that FILTER selects.
pick() { jq -c -n "first(inputs | select($2))" "$1"; }

# A real broker run.
DEMO_KEEP=1 timeout 300 bash "$MDT_SOURCE_DIR/examples/clinic/run-demo.sh" \
	"$MDT_BINARY_DIR" >"$work/demo.log" 2>&1 ||
	{ cat "$work/demo.log"; fail "the clinic demo failed"; }
kept=$(sed -n 's/^run-demo: kept //p' "$work/demo.log" | tail -n 1)
db="$kept/data/audit.db"
[ -f "$db" ] || fail "no store kept by the demo"

"$ctl" audit query --db "$db" --format jsonl >"$work/all.jsonl"
n=$(wc -l <"$work/all.jsonl")
[ "$n" -ge 20 ] || fail "only $n decisions in the demo's store"
for v in allow deny step_up; do
	grep -q "\"verdict\":\"$v\"" "$work/all.jsonl" || fail "no $v decision"
done

# Every decision, in each format.
"$ctl" audit export --db "$db" --format fhir >"$work/fhir.ndjson"
"$ctl" audit export --db "$db" --format fhir --bundle >"$work/bundle.json"
"$ctl" audit export --db "$db" --format ocsf >"$work/ocsf.ndjson"
[ "$(wc -l <"$work/fhir.ndjson")" -eq "$n" ] || fail "fhir: not one per decision"
[ "$(wc -l <"$work/ocsf.ndjson")" -eq "$n" ] || fail "ocsf: not one per decision"
[ "$(wc -l <"$work/bundle.json")" -eq 1 ] || fail "bundle: one line"
[ "$(jq '.entry | length' "$work/bundle.json")" -eq "$n" ] || fail "bundle size"
"$ctl" audit export --db "$db" --format fhir --bundle --patient nobody \
	>"$work/empty.json"
jq -e '.resourceType == "Bundle" and (has("entry") | not)' "$work/empty.json" \
	>/dev/null || fail "an empty Bundle has no entry array"

# Schema validation (and the validators refuse what is wrong).
head -n 1 "$work/fhir.ndjson" | jq -c '.outcome = "3"' >"$work/bad-fhir"
head -n 1 "$work/fhir.ndjson" | jq -c '.agent[0].who.name = "x"' >>"$work/bad-fhir"
head -n 1 "$work/fhir.ndjson" | jq -c 'del(.source)' >>"$work/bad-fhir"
head -n 1 "$work/ocsf.ndjson" | jq -c '.severity_id = 7' >"$work/bad-ocsf"
head -n 1 "$work/ocsf.ndjson" | jq -c 'del(.api)' >>"$work/bad-ocsf"
head -n 1 "$work/ocsf.ndjson" | jq -c '.actor.user.clinician = "x"' >>"$work/bad-ocsf"
head -n 1 "$work/ocsf.ndjson" | jq -c '.time = "yesterday"' >>"$work/bad-ocsf"
$validate fhir "$work/fhir.ndjson" "$work/bundle.json" "$work/empty.json" \
	"!$work/bad-fhir" ||
	fail "FHIR validation"
$validate ocsf "$schema" "$work/ocsf.ndjson" "!$work/bad-ocsf" ||
	fail "OCSF validation"

# What goes where: the decision of the coder, three hops deep.
seq=$(pick "$work/all.jsonl" '.agent_chain | length == 3' | jq .seq)
[ -n "$seq" ] || fail "no decision three hops deep"
f=$(pick "$work/fhir.ndjson" ".id == \"mandate-$seq\"")
[ "$(jq '.agent | length' <<<"$f")" -eq 4 ] || fail "clinician + 3 hops: $f"
jq -e '.agent[0].requestor == true and .agent[0].who.identifier.value == "dr-alice"' <<<"$f" >/dev/null || fail "clinician agent: $f"
jq -e '.agent[3].who.identifier.value == "spiffe://clinic.example/agent/coder" and .agent[3].type.coding[0].code == "110153"' <<<"$f" >/dev/null || fail "acting agent: $f"
jq -e '[.entity[] | select(.role.code == "1")][0].what.reference == "Patient/pat-001"' <<<"$f" >/dev/null || fail "patient entity: $f"
jq -e '.purposeOfEvent[0].coding[0].code == "TREAT"' <<<"$f" >/dev/null || fail "purpose: $f"
o=$(pick "$work/ocsf.ndjson" ".metadata.sequence == $seq")
jq -e '.class_uid == 6003 and .actor.user.uid == "dr-alice" and (.src_endpoint.agent_list | length) == 3 and .src_endpoint.uid == "spiffe://clinic.example/agent/coder"' <<<"$o" >/dev/null || fail "ocsf chain: $o"
jq -e '[.resources[].type] | index("Patient") != null' <<<"$o" >/dev/null || fail "ocsf patient: $o"

# Verdicts: a denial with its reason, the step-up, break-the-glass.
seq=$(pick "$work/all.jsonl" '.verdict == "deny" and .reasons.failed == "scope.token"' | jq .seq)
pick "$work/fhir.ndjson" ".id == \"mandate-$seq\"" | jq -e '.outcome == "4" and (.outcomeDesc | startswith("scope.token"))' >/dev/null || fail "fhir deny"
pick "$work/ocsf.ndjson" ".metadata.sequence == $seq" | jq -e '.status_id == 2 and .status_code == "scope.token"' >/dev/null || fail "ocsf deny"
seq=$(pick "$work/all.jsonl" '.verdict == "step_up"' | jq .seq)
pick "$work/ocsf.ndjson" ".metadata.sequence == $seq" | jq -e '.status_id == 99 and .unmapped.verdict == "step_up"' >/dev/null || fail "ocsf step-up"
seq=$(pick "$work/all.jsonl" '.operation == "authorize" and (.flags | index("break_glass"))' | jq .seq)
pick "$work/fhir.ndjson" ".id == \"mandate-$seq\"" | jq -e '.purposeOfEvent[0].coding[0].code == "ETREAT" and .outcome == "0"' >/dev/null || fail "fhir break-the-glass"
pick "$work/ocsf.ndjson" ".metadata.sequence == $seq" | jq -e '.severity_id == 3' >/dev/null || fail "ocsf break-the-glass severity"
pick "$work/ocsf.ndjson" '.unmapped.policy_ids | length > 0' | jq -e '.actor.authorizations[0].policy.uid == .unmapped.policy_ids[0]' >/dev/null || fail "ocsf policy ids"

# The same filters as the query.
for filter in "--patient pat-003" "--verdict deny" "--agent spiffe://clinic.example/agent/coder"; do
	# shellcheck disable=SC2086
	q=$("$ctl" audit query --db "$db" --format jsonl $filter | jq -s -c 'map(.seq)')
	# shellcheck disable=SC2086
	fs=$("$ctl" audit export --db "$db" --format fhir $filter | jq -s -c 'map(.id | ltrimstr("mandate-") | tonumber)')
	# shellcheck disable=SC2086
	os=$("$ctl" audit export --db "$db" --format ocsf $filter | jq -s -c 'map(.metadata.sequence)')
	[ "$q" = "$fs" ] && [ "$q" = "$os" ] || fail "filter $filter: query $q fhir $fs ocsf $os"
done

# Accounting of disclosures: the break-the-glass read of pat-003 only.
"$ctl" audit disclosures --db "$db" --patient pat-003 --format jsonl >"$work/disc"
[ "$(wc -l <"$work/disc")" -eq 1 ] || fail "pat-003 disclosures: $(cat "$work/disc")"
jq -e '.recipient == "spiffe://clinic.example/agent/summarizer" and .on_behalf_of == "dr-alice" and .purpose == "ETREAT" and .resource == "Patient/pat-003" and .break_glass' "$work/disc" >/dev/null || fail "disclosure: $(cat "$work/disc")"
"$ctl" audit disclosures --db "$db" --patient pat-001 >"$work/disc1"
[[ "$(head -n 1 "$work/disc1")" =~ ^DATE\ +RECIPIENT\ +ON\ BEHALF\ OF\ +PURPOSE ]] ||
	fail "table header"
grep -q "spiffe://clinic.example/agent/coder .*Condition?patient=pat-001" "$work/disc1" || fail "coder's search: $(cat "$work/disc1")"
grep -q "Patient/pat-002" "$work/disc1" && fail "a refused access listed"
st=0; "$ctl" audit disclosures --db "$db" >/dev/null 2>&1 || st=$?
[ "$st" -eq 64 ] || fail "disclosures without --patient: $st"
st=0; "$ctl" audit export --db "$db" --format ocsf --bundle >/dev/null 2>&1 || st=$?
[ "$st" -eq 64 ] || fail "--bundle with ocsf: $st"
echo "test_audit_evidence: $n decisions exported and validated"
