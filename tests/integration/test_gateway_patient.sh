#!/usr/bin/env bash
# The clinic FHIR gateway derives the patient of each request by the
# compartment rules before it looks at any token: a search must name the
# patient in a compartment parameter, one patient only, as a Patient id.
# Requests without a token that pass that rule are refused later, for the
# missing token (401); those that fail it are refused for the patient
# (403); requests the store cannot apply are 400.
set -uo pipefail
command -v fhir-gateway >/dev/null || { echo "fhir-gateway not on PATH" >&2; exit 1; }
command -v mandatectl >/dev/null || { echo "mandatectl not on PATH" >&2; exit 1; }
: "${MDT_SOURCE_DIR:?}"
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fails=0

mandatectl keygen --out "$dir/root" >/dev/null || exit 1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
fhir-gateway --listen "$base" --data "$MDT_SOURCE_DIR/examples/clinic/fhir/resources.json" \
	--broker-key "$dir/root.pub" >"$dir/gateway.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fs "$base/status" >/dev/null 2>&1 && break
	sleep 0.1
done

# expect STATUS TEXT PATH: the HTTP status, and TEXT in the body.
expect() {
	local want=$1 text=$2 path=$3 got
	got=$(curl -s -o "$dir/body" -w '%{http_code}' -g "$base$path")
	if [ "$got" != "$want" ] || ! grep -q -- "$text" "$dir/body"; then
		echo "FAIL: $path: HTTP $got, expected $want with '$text'" >&2
		sed 's/^/  body: /' "$dir/body" >&2
		fails=$((fails + 1))
	else
		echo "ok: $path -> $want"
	fi
}

# The patient is derived; the missing token is what is refused.
expect 401 '' '/fhir/Observation?subject=Patient/pat-001'
expect 401 '' '/fhir/Observation?subject:Patient=pat-001'
expect 401 '' '/fhir/Condition?patient=pat-002'
expect 401 '' '/fhir/Observation?patient=pat-001'
expect 401 '' '/fhir/Patient?_id=pat-001'
expect 401 '' '/fhir/Observation/obs-001-1'
expect 401 '' '/fhir/Patient/pat-003'
# Refused for the patient, before any token is looked at.
expect 403 'another type' '/fhir/Observation?subject=Group/g1'
expect 403 'absolute URL' '/fhir/Observation?subject=http://x/Patient/pat-001'
expect 403 'names pat-002' '/fhir/Condition?patient=pat-001&patient=pat-002'
expect 403 'names pat-002' '/fhir/Patient?_id=pat-001&_id=pat-002'
expect 403 'not a FHIR id' "/fhir/Observation?subject=Patient/$(printf 'p%.0s' $(seq 65))"
expect 403 'across patients' '/fhir/Patient'
expect 403 'no patient' '/fhir/Observation'
# Not something the store applies, or not a well-formed reference.
expect 400 'unsupported' '/fhir/Observation?code=x'
expect 400 'unsupported' '/fhir/Observation?subject:Group=g1'
expect 400 'unsupported' '/fhir/Observation?subject=pat-001,pat-002'
expect 400 'unsupported' '/fhir/Observation?subject=Patient%2Fpat-001'
expect 400 'unsupported' '/fhir/Patient/pat-001/_history/1'
expect 404 'not found' '/fhir/Observation/obs-999'

grep -q 'REFUSED search Observation?subject=Group/g1: patient mismatch' "$dir/gateway.log" || {
	echo "FAIL: the gateway log does not name the patient refusal" >&2
	sed 's/^/  log: /' "$dir/gateway.log" >&2
	fails=$((fails + 1))
}
[ "$fails" -eq 0 ] || { echo "$fails failures" >&2; exit 1; }
echo "gateway patient derivation: all cases as expected"
