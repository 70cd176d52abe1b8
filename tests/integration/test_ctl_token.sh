#!/usr/bin/env bash
# mandatectl keygen and token mint/attenuate/seal/inspect/check, end to
# end with real key files and real processes: outputs and exit statuses
# (0 allow/success, 1 deny/refused, 2 undecodable or unverifiable, 64
# usage).
set -uo pipefail
command -v mandatectl >/dev/null || { echo "mandatectl not on PATH" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fails=0
T0=1767225600

# expect STATUS DESCRIPTION CMD...: runs CMD, compares its exit status.
expect() {
	local want=$1 what=$2 got
	shift 2
	"$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want" >&2
		sed 's/^/  stdout: /' out.txt >&2
		sed 's/^/  stderr: /' err.txt >&2
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}
# contains FILE TEXT DESCRIPTION
contains() {
	if grep -qF -- "$2" "$1"; then echo "ok: $3"; else
		echo "FAIL: $3: '$2' not in $1:" >&2; sed 's/^/  /' "$1" >&2
		fails=$((fails + 1)); fi
}

# keygen
expect 0 "keygen root" mandatectl keygen --out ./root
contains out.txt "key id " "keygen prints the key id"
expect 0 "keygen orch" mandatectl keygen --out ./orch
expect 0 "keygen labs" mandatectl keygen --out ./labs
expect 0 "keygen other root" mandatectl keygen --out ./evil
[ "$(stat -c %a root.key)" = 600 ] && echo "ok: root.key is 0600" ||
	{ echo "FAIL: root.key mode $(stat -c %a root.key)" >&2; fails=$((fails+1)); }
expect 2 "keygen refuses to overwrite" mandatectl keygen --out ./root
expect 64 "keygen without --out" mandatectl keygen
expect 0 "keygen --help" mandatectl keygen --help
contains out.txt "Exit status" "keygen help has exit status"

# mint
mint() {
	mandatectl token mint --key root.key --holder-pub orch.pub \
	    --sub spiffe://clinic.example/orchestrator --clinician dr-ada \
	    --patient pat-123 --purpose TREAT \
	    --scope "patient/Observation.rs" --scope patient/Condition.rs \
	    --ttl 600 --depth 1 --task task-1 --now $T0 "$@"
}
expect 64 "mint with nothing" mandatectl token mint
contains err.txt "missing --scope, --key, --holder-pub, --sub, --clinician, --patient, --purpose, --ttl, --depth" \
	"every missing option named at once"
expect 64 "check with only --token" mandatectl token check --token x
contains err.txt "missing --root, --action, --resource" "check names what is missing, not what is given"
mandatectl help token mint >help1.txt 2>&1
mandatectl token mint --help >help2.txt 2>&1
cmp -s help1.txt help2.txt && echo "ok: help token mint = token mint --help" ||
	{ echo "FAIL: help token mint differs from token mint --help" >&2; fails=$((fails+1)); }
expect 64 "help of an unknown command" mandatectl help nope
expect 0 "mint" mint
cp out.txt orch.tok
grep -q '^mdt1\.' orch.tok && echo "ok: text form" || { echo "FAIL: text form" >&2; fails=$((fails+1)); }
expect 64 "mint with a malformed scope" mint --scope patient/Observation.rr
contains err.txt "repeated" "malformed scope reason"
expect 64 "mint with a wrong-case purpose" mint --purpose treat
expect 64 "mint with a bad SPIFFE id" mandatectl token mint --key root.key \
    --holder-pub orch.pub --sub spiffe://Clinic/x --clinician d --patient p \
    --purpose TREAT --scope patient/Observation.r --ttl 60 --depth 0
expect 64 "mint without --depth" mandatectl token mint --key root.key \
    --holder-pub orch.pub --sub spiffe://clinic.example/o --clinician d \
    --patient p --purpose TREAT --scope patient/Observation.r --ttl 60
expect 64 "mint with --ttl 0" mint --ttl 0
expect 64 "mint with an unknown option" mint --frobnicate
chmod 644 root.key
expect 2 "mint with a world-readable key" mint
chmod 600 root.key

# only the broker hands a token on or starts a subtask
expect 1 "offline delegation is refused" mandatectl token attenuate \
    --token @orch.tok --holder-pub labs.pub \
    --sub spiffe://clinic.example/agent/labs --now $((T0+10))
contains err.txt "only the broker hands a token to another holder" \
    "offline delegation reason"
contains err.txt "--root-key" "the reason names the way"
expect 1 "offline subtask is refused" mandatectl token attenuate \
    --token @orch.tok --task task-1.9 --now $((T0+10))
contains err.txt "only the broker starts a subtask" "offline subtask reason"
expect 2 "a broker block with another root key" mandatectl token attenuate \
    --token @orch.tok --root-key evil.key --holder-pub labs.pub \
    --sub spiffe://clinic.example/agent/labs --now $((T0+10))
contains err.txt "root key" "another root key reason"

# attenuate (the broker delegates to labs, narrower), from stdin
expect 0 "attenuate from stdin" bash -c "mandatectl token attenuate --token - \
    --root-key root.key \
    --holder-pub labs.pub --sub spiffe://clinic.example/agent/labs \
    --scope patient/Observation.r --ttl 300 --task task-1.1 --now $((T0+10)) < orch.tok"
cp out.txt labs.tok
expect 1 "attenuate that widens is refused" mandatectl token attenuate \
    --token @labs.tok --scope patient/Observation.rs --now $((T0+20))
contains err.txt "not contained" "widening reason"
expect 1 "delegation with depth exhausted is refused" mandatectl token \
    attenuate --token @labs.tok --root-key root.key --holder-pub orch.pub \
    --sub spiffe://clinic.example/orchestrator --now $((T0+20))
contains err.txt "depth" "depth reason"
expect 64 "attenuate with --sub but no --holder-pub" mandatectl token \
    attenuate --token @labs.tok --sub spiffe://clinic.example/x
expect 2 "attenuate a garbage token" mandatectl token attenuate --token mdt1.AAAA

# check
check() { mandatectl token check --root root.pub --token @labs.tok "$@"; }
expect 0 "allowed read" check --action r --resource Observation/obs-1 --now $((T0+30))
contains out.txt "allow" "allow printed"
expect 1 "search outside the narrowed scope" check --action s --resource Observation --now $((T0+30))
contains err.txt "block 1" "deny names block 1"
expect 1 "condition outside block 1" check --action r --resource Condition/c-1 --now $((T0+30))
expect 0 "the parent still allows it" mandatectl token check --root root.pub \
    --token @orch.tok --action r --resource Condition/c-1 --now $((T0+30))
expect 1 "other patient" check --action r --resource Observation/obs-1 --patient pat-999 --now $((T0+30))
contains err.txt "patient" "patient reason"
expect 1 "expired" check --action r --resource Observation/obs-1 --now $((T0+310))
contains err.txt "expired" "expiry reason"
expect 1 "not yet valid" check --action r --resource Observation/obs-1 --now $((T0-100))
expect 1 "wrong holder" check --action r --resource Observation/obs-1 \
    --holder spiffe://clinic.example/orchestrator --now $((T0+30))
expect 0 "right holder" check --action r --resource Observation/obs-1 \
    --holder spiffe://clinic.example/agent/labs --now $((T0+30))
# proofs of possession: token prove signs one, check --proof checks it
prove() { mandatectl token prove --token @labs.tok --key labs.key "$@"; }
expect 0 "prove" prove --action r --resource Observation/obs-1 --now $((T0+30))
cp out.txt proof.txt
grep -Eq '^mdtpop1\.[0-9]+\.[0-9a-z]{16,64}\.[A-Za-z0-9_-]{86}$' proof.txt &&
	echo "ok: the proof's text form" || { echo "FAIL: proof text $(cat proof.txt)" >&2; fails=$((fails+1)); }
expect 0 "check with the proof" check --action r --resource Observation/obs-1 \
    --now $((T0+31)) --proof @proof.txt
expect 0 "check with the proof as text" check --action r --resource Observation/obs-1 \
    --now $((T0+31)) --proof "$(cat proof.txt)"
expect 1 "the proof is for another resource" check --action r --resource Observation/obs-2 \
    --now $((T0+31)) --proof @proof.txt
contains err.txt "holder" "a proof for another request is a holder refusal"
expect 1 "a stale proof" check --action r --resource Observation/obs-1 \
    --now $((T0+100)) --proof @proof.txt
expect 0 "a longer proof age" check --action r --resource Observation/obs-1 \
    --now $((T0+100)) --proof @proof.txt --proof-max-age 120
expect 1 "only the holder's key proves" mandatectl token prove --token @labs.tok \
    --key orch.key --action r --resource Observation/obs-1
expect 2 "a proof that does not parse" check --action r --resource Observation/obs-1 \
    --now $((T0+31)) --proof mdtpop1.x
contains err.txt "--proof: proof: expected time.nonce.signature after offset 8" "the parse error says what and where"
expect 64 "a nonce out of its alphabet" prove --action r --resource Observation/obs-1 --nonce ABCDEFGHIJKLMNOPQ
expect 2 "another root" mandatectl token check --root evil.pub --token @labs.tok \
    --action r --resource Observation/obs-1 --now $((T0+30))
expect 64 "check without --action" check --resource Observation/obs-1
expect 64 "check with a malformed reference" check --action r --resource 'obs 1' --now $((T0+30))

# tampering: flip one character in the middle of the text form
tok=$(cat labs.tok)
mid=$(( ${#tok} / 2 ))
c=${tok:$mid:1}; [ "$c" = A ] && r=B || r=A
printf '%s%s%s\n' "${tok:0:$mid}" "$r" "${tok:$((mid+1))}" > tampered.tok
expect 2 "tampered token refused" mandatectl token check --root root.pub \
    --token @tampered.tok --action r --resource Observation/obs-1 \
    --now $((T0+30))
expect 2 "truncated token refused" mandatectl token check --root root.pub \
    --token "${tok:0:100}" --action r --resource Observation/obs-1

# seal
expect 0 "seal" mandatectl token seal --token @labs.tok
cp out.txt sealed.tok
expect 1 "a sealed token cannot be attenuated" mandatectl token attenuate \
    --token @sealed.tok --scope patient/Observation.r
expect 1 "nor sealed again" mandatectl token seal --token @sealed.tok
expect 0 "sealed token still allows" mandatectl token check --root root.pub \
    --token @sealed.tok --action r --resource Observation/obs-1 --now $((T0+30))

# single-action style: resource + audience + seal, checked by a resource
# server, which accepts it only from the broker
expect 0 "single-action attenuation, offline" mandatectl token attenuate \
    --token @labs.tok --resource Observation/obs-1 \
    --audience spiffe://clinic.example/fhir --seal --ttl 60 --now $((T0+30))
cp out.txt own.tok
expect 1 "a resource server refuses the holder's own" mandatectl token check \
    --root root.pub --token @own.tok --single-action \
    --audience spiffe://clinic.example/fhir --action r \
    --resource Observation/obs-1 --now $((T0+40))
contains err.txt "not made by the broker" "offline single-action reason"
expect 0 "which is otherwise a valid token" mandatectl token check \
    --root root.pub --token @own.tok --audience spiffe://clinic.example/fhir \
    --action r --resource Observation/obs-1 --now $((T0+40))
expect 0 "single-action attenuation by the broker" mandatectl token attenuate \
    --token @labs.tok --root-key root.key --resource Observation/obs-1 \
    --audience spiffe://clinic.example/fhir --seal --ttl 60 --now $((T0+30))
cp out.txt single.tok
rs() { mandatectl token check --root root.pub --token @single.tok --single-action "$@"; }
expect 0 "resource server accepts it" rs --audience spiffe://clinic.example/fhir \
    --action r --resource Observation/obs-1 --now $((T0+40))
expect 1 "for another resource" rs --audience spiffe://clinic.example/fhir \
    --action r --resource Observation/obs-2 --now $((T0+40))
expect 1 "at another server" rs --audience spiffe://clinic.example/other \
    --action r --resource Observation/obs-1 --now $((T0+40))
expect 1 "the unsealed token is not single-action" mandatectl token check \
    --root root.pub --token @labs.tok --single-action \
    --audience spiffe://clinic.example/fhir --action r \
    --resource Observation/obs-1 --now $((T0+40))

# inspect
expect 0 "inspect" mandatectl token inspect --token @labs.tok --root root.pub
contains out.txt "verified against the root key" "inspect verifies"
contains out.txt "spiffe://clinic.example/agent/labs" "inspect shows the holder"
contains out.txt "task-1 > task-1.1" "inspect shows the task chain"
contains out.txt "attenuation, by the broker" "inspect shows the broker block"
expect 0 "inspect --json" mandatectl token inspect --token @sealed.tok --json
contains out.txt '"sealed": true' "json shows the seal"
contains out.txt '"carries_secret": false' "json: no secret in a sealed token"
expect 2 "inspect against another root" mandatectl token inspect --token @labs.tok --root evil.pub
expect 2 "inspect garbage" mandatectl token inspect --token not-a-token
expect 64 "inspect without --token" mandatectl token inspect

# help for every subcommand
for sub in mint attenuate seal inspect check prove; do
	expect 0 "token $sub --help" mandatectl token $sub --help
	contains out.txt "Exit status" "token $sub help has exit status"
	contains out.txt "Example" "token $sub help has an example"
done
expect 64 "unknown subcommand" mandatectl token frob

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)" >&2
	exit 1
fi
echo "all mandatectl token checks passed"
