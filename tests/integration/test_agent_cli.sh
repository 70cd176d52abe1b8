#!/usr/bin/env bash
# mandatectl agent: add, list, show, rotate-key and remove on a copy of the
# shipped entities file; every refusal leaves the file byte for byte as it
# was (and no temporary file beside it); the file keeps its mode; the
# result loads in mandated (--check-config).
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

e=$dir/etc/entities.json
mkdir -p "$dir/etc" "$dir/keys"
cp "$MDT_SOURCE_DIR/policies/entities.json" "$e"
chmod 640 "$e"
ag() { mandatectl agent "$@"; }
labs=spiffe://clinic.example/agent/labs
mandatectl keygen --out "$dir/keys/labs" >/dev/null
mandatectl keygen --out "$dir/keys/labs2" >/dev/null

# The broker loads what the command writes.
check_broker() {
	mandated --check-config --policy-dir "$MDT_SOURCE_DIR/policies" \
	    --entities "$e" --data-dir "$dir/data" --run-dir "$dir/run" \
	    >"$dir/check.out" 2>&1 || { cat "$dir/check.out"; fail "$1"; }
}

# add
out=$(ag add --entities "$e" --id "$labs" --kind summarizer \
    --key "$dir/keys/labs.pub" --ceiling "patient/Observation.rs" \
    --ceiling "patient/Patient.r tool/codes.x" --max-depth 1 --max-fanout 2 \
    --target spiffe://clinic.example/agent/coder --tool codes \
    --valid-until 2031-01-01T00:00:00Z)
grep -q "^added $labs (key id [0-9a-f]\{32\})" <<<"$out" || fail "add: $out"
grep -q SIGHUP <<<"$out" || fail "add: no reload hint"
[ "$(stat -c %a "$e")" = 640 ] || fail "mode not kept: $(stat -c %a "$e")"
check_broker "broker refuses the registry written by add"

# list and show, text and JSON
ag list --entities "$e" | grep -q "^$labs  *summarizer  *key:[0-9a-f]\{32\}  *depth=1 fanout=2" ||
    fail "list: $(ag list --entities "$e")"
[ "$(ag list --entities "$e" | wc -l)" = 6 ] || fail "list: six agents"
[ "$(ag list --entities "$e" --format json | python3 -c \
    'import json,sys; print(len(json.load(sys.stdin)))')" = 6 ] ||
    fail "list --format json"
show=$(ag show --entities "$e" --id "$labs")
grep -q '^ceiling *patient/Observation.rs patient/Patient.r tool/codes.x$' \
    <<<"$show" || fail "show ceiling: $show"
grep -q "^allowedTargets *spiffe://clinic.example/agent/coder$" <<<"$show" ||
    fail "show targets: $show"
grep -q "^auth *key:.* $(cat "$dir/keys/labs.pub")$" <<<"$show" ||
    fail "show key: $show"
grep -q '^validUntil *2031-01-01T00:00:00Z$' <<<"$show" || fail "show until"
ag show --entities "$e" --id "$labs" --format json | python3 -c '
import json, sys
a = json.load(sys.stdin)["attrs"]
assert a["maxDepth"] == 1 and a["maxFanout"] == 2, a
assert a["tools"] == [{"__entity": {"type": "Mandate::Tool", "id": "codes"}}], a
assert a["publicKey"].startswith("mdtpk1."), a
' || fail "show --format json"

# an SVID-only agent
ag add --entities "$e" --id spiffe://clinic.example/agent/svid --kind coding \
    --svid --ceiling patient/Condition.rs --max-depth 2 >/dev/null
ag list --entities "$e" | grep -q '^spiffe://clinic.example/agent/svid .*svid-only' ||
    fail "svid agent"

# Refusals: exit status, message, and nothing written.
refused() { # STATUS PATTERN ARGS...
	local want=$1 pat=$2 rc=0 msg
	shift 2
	cp -p "$e" "$dir/before"
	msg=$(mandatectl agent "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, not $want ($msg)"
	grep -q -- "$pat" <<<"$msg" || fail "$*: message '$msg' lacks '$pat'"
	cmp -s "$e" "$dir/before" || fail "$*: the file changed"
	[ -z "$(ls "$dir/etc" | grep -v '^entities.json$')" ] ||
	    fail "$*: left $(ls "$dir/etc")"
	[ "$(stat -c %a "$e")" = 640 ] || fail "$*: mode changed"
}
base=(--entities "$e" --kind k --ceiling patient/Observation.rs --max-depth 1)
x=spiffe://clinic.example/agent/x
refused 64 'missing --id' add --entities "$e" --svid
refused 64 'missing --kind' add --entities "$e" --svid
refused 64 'missing --max-depth' add --entities "$e" --svid
refused 2 'already registered' add "${base[@]}" --id "$labs" --svid
refused 64 "trailing '/'" add "${base[@]}" --id "$x/" --svid
refused 64 '"\.\."' add "${base[@]}" --id spiffe://clinic.example/a/../x --svid
refused 64 'lowercase' add "${base[@]}" --id spiffe://Clinic.example/x --svid
refused 64 'bare trust domain' add "${base[@]}" --id spiffe://clinic.example --svid
refused 64 'at most 255' add "${base[@]}" --svid \
    --id "spiffe://clinic.example/$(printf 'a%.0s' $(seq 250))"
refused 64 'exactly one of --key' add "${base[@]}" --id "$x"
refused 64 'exactly one of --key' add "${base[@]}" --id "$x" --svid \
    --key "$dir/keys/labs.pub"
refused 64 'not an Ed25519 public key' add "${base[@]}" --id "$x" \
    --public-key mdtpk1.short
refused 2 'not a public key file' add "${base[@]}" --id "$x" \
    --key "$dir/keys/labs.key"
refused 64 "--ceiling 'patient/Observation.rz'" add --entities "$e" --kind k \
    --max-depth 1 --id "$x" --svid --ceiling patient/Observation.rz
refused 64 '--max-depth 17' add "${base[@]:0:6}" --max-depth 17 --id "$x" --svid
refused 64 '--max-fanout -1' add "${base[@]}" --id "$x" --svid --max-fanout -1
refused 64 "--target 'spiffe://clinic.example/agent/%2e'" add "${base[@]}" \
    --id "$x" --svid --target spiffe://clinic.example/agent/%2e
refused 2 "no Mandate::Tool" add "${base[@]}" --id "$x" --svid --tool nope
refused 64 'not a datetime' add "${base[@]}" --id "$x" --svid --valid-until soon
refused 64 "unknown option --bogus" add "${base[@]}" --id "$x" --svid --bogus
refused 64 "expected text or json" list --entities "$e" --format yaml
refused 2 'not registered' show --entities "$e" --id "$x"
refused 2 'already has that key' rotate-key --entities "$e" --id "$labs" \
    --key "$dir/keys/labs.pub"
refused 2 'not registered' rotate-key --entities "$e" --id "$x" \
    --key "$dir/keys/labs2.pub"
refused 2 'allowed target of spiffe://clinic.example/agent/labs' remove \
    --entities "$e" --id spiffe://clinic.example/agent/coder
refused 2 'not registered' remove --entities "$e" --id "$x"
refused 64 'unknown subcommand' frobnicate
# A registry the broker would refuse is not written, even when the entry
# at fault was written by hand: the message names the agent and field.
python3 - "$e" <<'PY'
import json, sys
ents = json.load(open(sys.argv[1]))
for ent in ents:
    if ent["uid"]["id"] == "spiffe://clinic.example/agent/coder":
        ent["attrs"]["allowedTargets"] = ["spiffe://clinic.example/a//b"]
json.dump(ents, open(sys.argv[1], "w"))
PY
refused 2 'agent "spiffe://clinic.example/agent/coder": allowedTargets\[0\]: .*"//"' \
    add "${base[@]}" --id "$x" --svid
cp "$MDT_SOURCE_DIR/policies/entities.json" "$e"
ag add --entities "$e" --id "$labs" --kind summarizer --key \
    "$dir/keys/labs.pub" --ceiling patient/Observation.rs --max-depth 1 \
    --target spiffe://clinic.example/agent/coder >/dev/null
# A file that is not an entities array is refused with where.
echo '{"not": "an array"}' >"$dir/other.json"
msg=$(ag add --entities "$dir/other.json" "${base[@]:2}" --id "$x" --svid 2>&1) &&
    fail "object accepted"
grep -q 'expected an array of entities' <<<"$msg" || fail "array: $msg"

# rotate-key: a new key, from a file or as text
old=$(ag show --entities "$e" --id "$labs" | sed -n 's/^auth *//p')
ag rotate-key --entities "$e" --id "$labs" --key "$dir/keys/labs2.pub" |
    grep -q "^new key for $labs (key id" || fail "rotate-key"
new=$(ag show --entities "$e" --id "$labs" | sed -n 's/^auth *//p')
[ "$old" != "$new" ] && grep -q "$(cat "$dir/keys/labs2.pub")" <<<"$new" ||
    fail "rotate-key: $old -> $new"
ag rotate-key --entities "$e" --id "$labs" --public-key \
    "$(cat "$dir/keys/labs.pub")" >/dev/null || fail "rotate --public-key"
check_broker "broker refuses the registry after rotate-key"

# A symbolic link to the registry stays a link; the file it names changes.
ln -s "$e" "$dir/link.json"
ag add --entities "$dir/link.json" --id "$x" --kind k --svid \
    --ceiling patient/Observation.rs --max-depth 1 >/dev/null
[ -L "$dir/link.json" ] || fail "link replaced by a file"
ag show --entities "$e" --id "$x" >/dev/null || fail "add through a link"

# remove, with --prune-targets for a referenced agent
ag remove --entities "$e" --id "$x" | grep -q "^removed $x" || fail remove
ag remove --entities "$e" --id spiffe://clinic.example/agent/coder \
    --prune-targets >/dev/null || fail "remove --prune-targets"
ag show --entities "$e" --id "$labs" | grep -q '^allowedTargets *$' ||
    fail "pruned target still listed"
ag show --entities "$e" --id spiffe://clinic.example/agent/summarizer |
    grep -q '^allowedTargets *$' || fail "summarizer's target not pruned"
check_broker "broker refuses the registry after remove"
[ "$(stat -c %a "$e")" = 640 ] || fail "mode after edits"

# help
mandatectl agent --help | grep -q 'rotate-key' || fail help
mandatectl --help | grep -q '^  agent ' || fail "agent not in the command list"
echo "ok: mandatectl agent"
