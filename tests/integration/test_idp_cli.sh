#!/usr/bin/env bash
# mandatectl idp: keygen, assert and verify for every algorithm, refusals
# with the documented exit statuses, and --help texts.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

iss=https://idp.clinic.example
aud=spiffe://clinic.example/broker
for alg in ES256 RS256 EdDSA; do
	mandatectl idp keygen --alg "$alg" --out "$dir/$alg" >/dev/null
	[ "$(stat -c %a "$dir/$alg.pem")" = 600 ] || fail "$alg key mode"
	head -1 "$dir/$alg.pub.pem" | grep -q '^Mandate development identity' ||
	    fail "$alg public key not marked as a development key"
	jwt=$(mandatectl idp assert --key "$dir/$alg.pem" --iss "$iss" \
	    --aud "$aud" --sub dr-lee --patient p-001 --fhir-user \
	    Practitioner/7 --scope "openid patient/Observation.read tool/fax.x" \
	    --ttl 300)
	out=$(mandatectl idp verify --pub "$dir/$alg.pub.pem" --iss "$iss" \
	    --aud "$aud" --token "$jwt")
	grep -q '^scopes    patient/Observation.rs tool/fax.x$' <<<"$out" ||
	    fail "$alg scopes: $out"
	grep -q '^patient   p-001$' <<<"$out" || fail "$alg patient"
	# standard input; trusting a development key is reported
	warn=$(echo "$jwt" | mandatectl idp verify --pub "$dir/$alg.pub.pem" \
	    --iss "$iss" --aud "$aud" --token - 2>&1 >/dev/null) ||
	    fail "$alg stdin"
	grep -q 'development identity provider key' <<<"$warn" ||
	    fail "$alg: no development-key warning"
done

# Existing files are never overwritten.
set +e
mandatectl idp keygen --alg ES256 --out "$dir/ES256" 2>/dev/null
[ $? -eq 2 ] || fail "keygen over existing files"
# Wrong key, wrong audience, expired: exit 2 with the reason.
jwt=$(mandatectl idp assert --key "$dir/ES256.pem" --iss "$iss" --aud "$aud" \
    --sub s --patient p --scope "patient/*.rs" --ttl 60 --iat 1800000000)
msg=$(mandatectl idp verify --pub "$dir/EdDSA.pub.pem" --iss "$iss" \
    --aud "$aud" --token "$jwt" --now 1800000010 2>&1)
[ $? -eq 2 ] && grep -q 'does not match' <<<"$msg" || fail "alg mismatch: $msg"
msg=$(mandatectl idp verify --pub "$dir/ES256.pub.pem" --iss "$iss" \
    --aud other --token "$jwt" --now 1800000010 2>&1)
[ $? -eq 2 ] && grep -q 'aud' <<<"$msg" || fail "audience: $msg"
msg=$(mandatectl idp verify --pub "$dir/ES256.pub.pem" --iss "$iss" \
    --aud "$aud" --token "$jwt" --now 1800001000 --skew 0 2>&1)
[ $? -eq 2 ] && grep -q 'expired' <<<"$msg" || fail "expiry: $msg"
# A malformed scope is refused before signing.
msg=$(mandatectl idp assert --key "$dir/ES256.pem" --iss "$iss" --aud "$aud" \
    --sub s --patient p --scope "patient/Observation.dus" --ttl 60 2>&1)
[ $? -eq 2 ] && grep -q 'byte 21: permission' <<<"$msg" || fail "scope: $msg"
# A private key readable by others is refused.
chmod 644 "$dir/ES256.pem"
mandatectl idp assert --key "$dir/ES256.pem" --iss "$iss" --aud "$aud" \
    --sub s --patient p --scope "" --ttl 60 >/dev/null 2>&1
[ $? -eq 2 ] || fail "world-readable key accepted"
# Usage errors.
mandatectl idp keygen --alg HS256 --out "$dir/x" 2>/dev/null
[ $? -eq 64 ] || fail "HS256 keygen"
mandatectl idp assert --key "$dir/EdDSA.pem" 2>/dev/null
[ $? -eq 64 ] || fail "missing options"
mandatectl idp bogus 2>/dev/null
[ $? -eq 64 ] || fail "unknown command"
set -e
# A key set: two keys under their kids; the assertion's kid picks one.
mandatectl idp jwks --pub "$dir/EdDSA.pub.pem" --kid ed-1 \
    --pub "$dir/RS256.pub.pem" --kid rsa-1 >"$dir/idp.jwks"
python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["keys"]
assert [j["kid"] for j in k] == ["ed-1", "rsa-1"], k
assert all("d" not in j for j in k), k' "$dir/idp.jwks" || fail "jwks: $(cat "$dir/idp.jwks")"
for pair in EdDSA:ed-1 RS256:rsa-1; do
	jwt=$(mandatectl idp assert --key "$dir/${pair%%:*}.pem" --kid "${pair#*:}" \
	    --iss "$iss" --aud "$aud" --sub s --patient p --scope "patient/*.rs" \
	    --ttl 60)
	mandatectl idp verify --jwks "$dir/idp.jwks" --iss "$iss" --aud "$aud" \
	    --token "$jwt" | grep -q '^patient   p$' || fail "jwks verify $pair"
done
set +e
jwt=$(mandatectl idp assert --key "$dir/EdDSA.pem" --kid ed-9 --iss "$iss" \
    --aud "$aud" --sub s --patient p --scope "patient/*.rs" --ttl 60)
msg=$(mandatectl idp verify --jwks "$dir/idp.jwks" --iss "$iss" --aud "$aud" \
    --token "$jwt" 2>&1)
[ $? -eq 2 ] && grep -q "kid 'ed-9': no key" <<<"$msg" || fail "unknown kid: $msg"
msg=$(mandatectl idp jwks --pub "$dir/ES256.pem" --kid x 2>&1)
[ $? -eq 2 ] || fail "private key in a key set: $msg"
mandatectl idp jwks --pub "$dir/ES256.pub.pem" 2>/dev/null
[ $? -eq 64 ] || fail "jwks without --kid"
mandatectl idp verify --pub "$dir/ES256.pub.pem" --jwks "$dir/idp.jwks" \
    --iss "$iss" --aud "$aud" --token "$jwt" 2>/dev/null
[ $? -eq 64 ] || fail "verify with --pub and --jwks"
set -e
mandatectl idp --help | grep -q '^Exit status:' || fail "help"
mandatectl --help | grep -q 'idp' || fail "command table"
echo "idp cli: ok"
