#!/usr/bin/env bash
# Runs Cedar's conformance corpus through `mandatectl policy conformance`
# and fails on any failing request, on any skip (templates are the only
# feature allowed to be skipped, and the corpus has none), on a wrong
# summary line, and when an unreadable corpus file does not fail.
set -euo pipefail

# The corpus ships with the repository, xz-compressed
# (tests/data/cedar-corpus: origin and licence in its README); it is
# unpacked into a temporary file for the run.  MDT_CEDAR_CORPUS names
# another cases.jsonl (plain or .xz) instead.
src="${MDT_CEDAR_CORPUS:-${MDT_SOURCE_DIR:?MDT_SOURCE_DIR must be set}/tests/data/cedar-corpus/cases.jsonl.xz}"
out="$(mktemp)"
corpus="$(mktemp --suffix=.jsonl)"
trap 'rm -f "$out" "$corpus"' EXIT
if [[ ! -r "$src" ]]; then
	echo "FAIL: corpus not readable at $src" >&2
	exit 1
fi
case "$src" in
*.xz) xz -dc "$src" >"$corpus" || { echo "FAIL: cannot unpack $src" >&2; exit 1; } ;;
*) cp "$src" "$corpus" ;;
esac

status=0
mandatectl policy conformance "$corpus" >"$out" || status=$?
grep '^FAIL' "$out" | head -40 || true
summary="$(tail -n 1 "$out")"
echo "$(tail -n 2 "$out" | head -n 1)"
echo "$summary"

if [[ ! "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
	echo "FAIL: no summary line" >&2
	exit 1
fi
passed="${BASH_REMATCH[1]}" failed="${BASH_REMATCH[2]}" skipped="${BASH_REMATCH[3]}"
# Only policy templates (documented as not supported yet) may be skipped.
if grep '^SKIP' "$out" | grep -v 'policy templates are not supported yet$'; then
	echo "FAIL: a case was skipped for a reason other than templates" >&2
	exit 1
fi
if (( failed != 0 || status != 0 )); then
	echo "FAIL: $failed failed, $skipped skipped (exit $status)" >&2
	exit 1
fi
# The corpus holds about 43,000 requests: a runner that silently skipped
# cases would pass far fewer.
if (( passed < 40000 )); then
	echo "FAIL: only $passed requests ran" >&2
	exit 1
fi

# An unreadable corpus is an error, not an empty success.
if mandatectl policy conformance /nonexistent/cases.jsonl >/dev/null 2>&1; then
	echo "FAIL: unreadable corpus accepted" >&2
	exit 1
fi
# A corrupted expectation is detected.
head -n 20 "$corpus" | sed '1s/"decision":"allow"/"decision":"deny"/' >"$out.mut"
if mandatectl policy conformance "$out.mut" >/dev/null; then
	rm -f "$out.mut"
	echo "FAIL: a wrong expected decision went unnoticed" >&2
	exit 1
fi
# A case using a template slot is skipped, counted in requests, with its
# reason; the other cases still run.
printf '%s\n' '{"name":"tmpl","policies":"permit(principal == ?principal, action, resource);","entities":[],"requests":[{"description":"r0","principal":{"type":"U","id":"a"},"action":{"type":"A","id":"a"},"resource":{"type":"R","id":"r"},"context":{},"decision":"deny","reason":[],"errors":[]},{"description":"r1","principal":{"type":"U","id":"a"},"action":{"type":"A","id":"a"},"resource":{"type":"R","id":"r"},"context":{},"decision":"deny","reason":[],"errors":[]}]}' >"$out.mut"
head -n 1 "$corpus" >>"$out.mut"
mandatectl policy conformance "$out.mut" >"$out" || { rm -f "$out.mut"; echo "FAIL: template case" >&2; exit 1; }
grep -q '^SKIP tmpl (2 requests): policy templates are not supported yet$' "$out" &&
	grep -q ' passed, 0 failed, 2 skipped$' "$out" || { rm -f "$out.mut"; echo "FAIL: template skip: $(cat "$out")" >&2; exit 1; }
rm -f "$out.mut"

# The engine's own decision cases for the shapes Cedar 4 loads (whitespace,
# trailing commas, flat chains, attribute chains, namespaced actions,
# escapes, deep and diamond hierarchies, long lists), each expectation
# asked of Cedar itself (tests/data/cedar-syntax/make-requests.mjs).
syntax="${MDT_SOURCE_DIR:?}/tests/data/cedar-syntax/requests.jsonl"
mandatectl policy conformance "$syntax" >"$out" || { grep '^FAIL' "$out" | head -20; echo "FAIL: cedar-syntax requests" >&2; exit 1; }
grep -q '^30 passed, 0 failed, 0 skipped$' "$out" || { echo "FAIL: cedar-syntax requests: $(tail -n 1 "$out")" >&2; exit 1; }
echo "PASS: conformance $passed requests, and 30 cedar-syntax requests"
