#!/usr/bin/env bash
# mandate-authzen's command line: --help, usage errors, and the start-up
# refusals that keep it from serving with unsafe or missing credentials.
set -euo pipefail
bin="$MDT_BINARY_DIR/authzen/mandate-authzen"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" --help)
for w in /access/v1/evaluation /access/v1/evaluations \
    /.well-known/authzen-configuration --credentials evaluators 401; do
	grep -qF -- "$w" <<<"$out" || fail "--help does not mention $w"
done

set +e
"$bin" >/dev/null 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "no options: exit $rc, want 2"
grep -q "are required" "$tmp/err" || fail "no options: $(cat "$tmp/err")"

set +e
"$bin" --broker ipc:///nonexistent --agent spiffe://x/y --key k \
    --credentials c --bogus 1 >/dev/null 2>&1; rc=$?
set -e
[ "$rc" = 2 ] || fail "unknown option: exit $rc, want 2"

printf 'secret\n' >"$tmp/creds"
chmod 644 "$tmp/creds"
set +e
"$bin" --broker ipc://"$tmp"/none --agent spiffe://x/y --key "$tmp/k.key" \
    --credentials "$tmp/creds" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "readable credentials: exit $rc, want 1"
grep -q "chmod 600" "$tmp/err" || fail "readable credentials: $(cat "$tmp/err")"

chmod 600 "$tmp/creds"
set +e
"$bin" --broker ipc://"$tmp"/none --agent spiffe://x/y --key "$tmp/k.key" \
    --credentials "$tmp/creds" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" = 1 ] || fail "missing key: exit $rc, want 1"
echo "test_authzen_cli: ok"
