#!/usr/bin/env bash
# `mandatectl policy check|eval`: exit statuses (0 allow, 1 deny, 3
# step-up, 2 invalid input, 64 usage), file:line:col in errors, Cedar-CLI
# style output, and --help.
set -euo pipefail

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/pol"
cat >"$dir/pol/10-base.cedar" <<'CEDAR'
@id("staff-read")
permit(principal in Group::"staff", action == Action::"read", resource);
CEDAR
cat >"$dir/pol/20-export.cedar" <<'CEDAR'
permit(principal in Group::"staff", action == Action::"export", resource);
@id("export-needs-approval") @step_up("privacy-officer")
forbid(principal, action == Action::"export", resource)
unless { context has approval && context.approval == "granted" };
forbid(principal, action, resource) when { resource.locked };
CEDAR
cat >"$dir/ents.json" <<'JSON'
[{"uid":{"type":"User","id":"alice"},"attrs":{},"parents":[{"type":"Group","id":"staff"}]},
 {"uid":{"type":"Group","id":"staff"},"attrs":{},"parents":[]},
 {"uid":{"type":"Doc","id":"open"},"attrs":{"locked":false},"parents":[]},
 {"uid":{"type":"Doc","id":"shut"},"attrs":{"locked":true},"parents":[]}]
JSON

fail() { echo "FAIL: $*" >&2; exit 1; }
run() { local rc=0; "$@" >"$dir/out" 2>"$dir/err" || rc=$?; echo "$rc"; }

[[ "$(run mandatectl policy check "$dir/pol")" == 0 ]] || fail "check"
grep -q '^4 policies, sha256 [0-9a-f]\{64\}$' "$dir/out" || fail "check output: $(cat "$dir/out")"
grep -q 'export-needs-approval' "$dir/out" || fail "check lists ids"

ev=(mandatectl policy eval --policies "$dir/pol" --entities "$dir/ents.json"
    --principal 'User::"alice"')
[[ "$(run "${ev[@]}" --action 'Action::"read"' --resource 'Doc::"open"')" == 0 ]] || fail "allow"
grep -q '^ALLOW$' "$dir/out" && grep -q '^  staff-read$' "$dir/out" || fail "allow output"
[[ "$(run "${ev[@]}" --action 'Action::"read"' --resource 'Doc::"shut"')" == 1 ]] || fail "deny"
grep -q '^DENY$' "$dir/out" && grep -q '^  policy3$' "$dir/out" || fail "deny output"
[[ "$(run "${ev[@]}" --action 'Action::"export"' --resource 'Doc::"open"')" == 3 ]] || fail "step-up"
grep -q '^STEP-UP$' "$dir/out" && grep -q 'privacy-officer' "$dir/out" || fail "step-up output"
[[ "$(run "${ev[@]}" --action 'Action::"export"' --resource 'Doc::"open"' \
    --context '{"approval":"granted"}')" == 0 ]] || fail "approved export"
echo '{"approval":"granted"}' >"$dir/ctx.json"
[[ "$(run "${ev[@]}" --action 'Action::"export"' --resource 'Doc::"open"' \
    --context "@$dir/ctx.json")" == 0 ]] || fail "context file"
# An errored policy is reported and skipped.
[[ "$(run "${ev[@]}" --action 'Action::"read"' --resource 'Doc::"ghost"')" == 0 ]] || fail "error skip"
grep -q 'following errors' "$dir/out" && grep -q 'policy3: ' "$dir/out" || fail "error output"

# Invalid inputs name file:line:col.
printf 'permit(principal,\n  action resource);\n' >"$dir/pol/30-bad.cedar"
[[ "$(run mandatectl policy check "$dir/pol")" == 2 ]] || fail "bad policy accepted"
grep -q '30-bad.cedar:2:10: expected' "$dir/err" || fail "bad policy message: $(cat "$dir/err")"
rm "$dir/pol/30-bad.cedar"
echo '[{"uid":{"type":"User","id":"x"}, "attrs":{"a":1.5}}]' >"$dir/bad.json"
[[ "$(run mandatectl policy eval --policies "$dir/pol" --entities "$dir/bad.json" \
    --principal 'User::"x"' --action 'Action::"read"' --resource 'Doc::"open"')" == 2 ]] ||
    fail "bad entities accepted"
grep -q 'bad.json:1:48: floating-point' "$dir/err" || fail "entities message: $(cat "$dir/err")"
[[ "$(run "${ev[@]}" --action 'Action::"read"' --resource 'Doc::"open"' --context '{"a":')" == 2 ]] ||
    fail "bad context accepted"
grep -q -- '--context:1:6' "$dir/err" || fail "context message: $(cat "$dir/err")"
[[ "$(run "${ev[@]}" --action 'read' --resource 'Doc::"open"')" == 64 ]] || fail "bad uid"
[[ "$(run mandatectl policy frobnicate)" == 64 ]] || fail "unknown subcommand"
[[ "$(run mandatectl policy check --help)" == 0 ]] || fail "help"
grep -q '^Exit status' "$dir/out" && grep -q '^Example' "$dir/out" || fail "help text"
# The help's example runs as printed against the shipped policies: the
# command lines after the "Example" heading, joined, from the top directory.
mandatectl policy eval --help >"$dir/help"
example=$(sed -n '/^Example/,$p' "$dir/help" | grep '^    ' | sed 's/\\$//' | tr '\n' ' ')
[[ "$example" == *"mandatectl policy eval"* ]] || fail "no example in eval --help"
(cd "${MDT_SOURCE_DIR:?}" && eval "$example") >"$dir/out" 2>"$dir/err" ||
    fail "the help's example exits $?: $(cat "$dir/out" "$dir/err")"
grep -q '^ALLOW' "$dir/out" && grep -q 'open-task' "$dir/out" ||
    fail "the help's example: $(cat "$dir/out")"
example=${example//open-pat-001.json/open-pat-003.json}
example=${example//'"pat-001"'/'"pat-003"'}
rc=0; (cd "$MDT_SOURCE_DIR" && eval "$example") >"$dir/out" 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q 'care-team-required' "$dir/out" ||
    fail "outside the care team: exit $rc: $(cat "$dir/out")"
echo "PASS: policy CLI"
