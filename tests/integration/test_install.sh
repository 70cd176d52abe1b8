#!/usr/bin/env bash
# `make install` as an operator meets it, into a temporary prefix:
#   - the programs, libraries, headers, pkg-config files, default
#     policies, configuration, man pages and systemd unit are there;
#   - the unit passes `systemd-analyze verify` (missing systemd-analyze is
#     a failure, not a skip) and its hardening scores as exposure "OK" or
#     better in `systemd-analyze security --offline`;
#   - an example agent builds through pkg-config against the prefix with
#     no variable set but PKG_CONFIG_PATH, and runs without
#     LD_LIBRARY_PATH;
#   - the installed mandatectl and mandated run with an empty environment,
#     and the installed mandated finds its installed policies.
set -euo pipefail
: "${MDT_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p="$tmp/prefix"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$MDT_BINARY_DIR" --prefix "$p" >"$tmp/install.log" ||
	fail "cmake --install (log: $(cat "$tmp/install.log"))"
libdir=$(dirname "$(find "$p" -name 'libmandate-agent.so' | head -n1)")
for f in bin/mandated bin/mandatectl bin/mandate-console include/mandate/agent.h \
    share/mandate/policies/entities.json share/mandate/mandated.conf.example \
    etc/mandate/mandated.conf share/man/man8/mandated.8 \
    share/man/man1/mandatectl.1 share/man/man8/mandate-console.8 \
    lib/systemd/system/mandated.service; do
	test -e "$p/$f" || fail "not installed: $f"
done
ls "$p"/share/mandate/policies/*.cedar >/dev/null || fail "no default policies"
test -f "$libdir/pkgconfig/mandate-agent.pc" || fail "no mandate-agent.pc"

# -- the systemd unit
unit="$p/lib/systemd/system/mandated.service"
for k in Type=notify ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
    StateDirectory=mandate RuntimeDirectory=mandate CapabilityBoundingSet= \
    "ExecStart=$p/bin/mandated --config $p/etc/mandate/mandated.conf"; do
	grep -qx -- "$k" "$unit" || fail "unit lacks the line '$k'"
done
command -v systemd-analyze >/dev/null ||
	fail "systemd-analyze not found: the unit cannot be checked (install the Debian package systemd, as scripts/install-deps.sh does)"
# Documentation= names man pages, which systemd-analyze looks up with man.
out=$(MANPATH="$p/share/man" systemd-analyze verify "$unit" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
echo "systemd-analyze verify: clean"
sec=$(MANPATH="$p/share/man" systemd-analyze security --offline=yes "$unit" 2>&1) ||
	fail "systemd-analyze security: $sec"
level=$(sed -n 's/.*Overall exposure level for mandated.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' <<<"$sec")
echo "systemd-analyze security: exposure $level"
case "$level" in
*" SAFE" | *" OK") ;;
*) fail "exposure too high: $level" ;;
esac

# -- an agent built through pkg-config, nothing else in its environment
cat >"$tmp/agent.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <mandate/agent.h>

int
main(void)
{
	mdt_keypair *kp;
	mdt_pubkey pk;
	mdt_rs_verifier *v;
	mdt_rs_verifier_opts o;
	mdt_rs_request rq = MDT_RS_REQUEST_INIT;
	rq.action = "r";
	rq.resource = "Patient/pat-001";
	rq.patient = "pat-001";
	char err[MDT_ERRMSG_MAX];
	int rv;

	if (mdt_keypair_generate(&kp) != 0)
		return 1;
	mdt_keypair_public(kp, &pk);
	memset(&o, 0, sizeof(o));
	o.broker_key = &pk;
	o.audience = "spiffe://example/gw";
	if (mdt_rs_verifier_new(&o, &v, err, sizeof(err)) != 0)
		return 2;
	rv = mdt_rs_verify(v, NULL, NULL, &rq, NULL, err, sizeof(err));
	printf("mandate %s: %s\n", mdt_version(), mdt_strerror(rv));
	mdt_rs_verifier_free(v);
	mdt_keypair_free(kp);
	return rv == -MDT_EAUTH ? 0 : 3;
}
C
extra=""
# A sanitizer build's libraries need the sanitizer runtime in the program.
if [[ $(ldd "$libdir/libmandate-agent.so") == *libasan* ]]; then
	extra="-fsanitize=address,undefined"
fi
clean_env=(env -i PATH=/usr/bin:/bin)
"${clean_env[@]}" PKG_CONFIG_PATH="$libdir/pkgconfig" sh -c '
	cc -std=c11 -Wall -Werror '"$extra"' "$1" \
	    $(pkg-config --cflags --libs mandate-agent) \
	    -Wl,-rpath,"$(pkg-config --variable=libdir mandate-agent)" -o "$2"' \
	sh "$tmp/agent.c" "$tmp/agent" || fail "the agent does not build through pkg-config"
out=$("${clean_env[@]}" "$tmp/agent") || fail "the agent: $out"
echo "agent: $out"

# -- the installed programs, with an empty environment
help=$("${clean_env[@]}" "$p/bin/mandatectl" --help) || fail "mandatectl --help"
grep -q "status" <<<"$help" || fail "mandatectl --help lacks status"
"${clean_env[@]}" "$p/bin/mandatectl" status --help | grep -q -- "--url" ||
	fail "mandatectl status --help"
"${clean_env[@]}" "$p/bin/mandate-console" --help | grep -q -- "--credential-file" ||
	fail "mandate-console --help"
"${clean_env[@]}" "$p/bin/mandated" --version | grep -q "mandated" ||
	fail "mandated --version"
chk=$("${clean_env[@]}" "$p/bin/mandated" --config "$p/etc/mandate/mandated.conf" \
	--data-dir "$tmp/data" --run-dir "$tmp/run" --check-config) ||
	fail "installed mandated --check-config: $chk"
grep -q "from $p/bin/../share/mandate/policies" <<<"$chk" ||
	fail "the installed mandated does not use the installed policies: $chk"
echo "installed mandatectl and mandated run; make install OK"
