#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a small agent
# program outside the tree with nothing but
#   cc agent.c $(pkg-config --cflags --libs mandate-agent)
# then runs it against the installed libraries.  The prefix is given to
# pkg-config with --define-variable, as for any relocated installation.
set -euo pipefail
: "${MDT_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$MDT_BINARY_DIR" --prefix "$tmp/prefix" >"$tmp/install.log"
pcdir=$(dirname "$(find "$tmp/prefix" -name mandate-agent.pc | head -n1)")
libdir=$(dirname "$(find "$tmp/prefix" -name 'libmandate-agent.so*' | head -n1)")
test -f "$tmp/prefix/include/mandate/agent.h"
test -f "$pcdir/mandate.pc"

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
	rq.action = "r";
	rq.resource = "Patient/pat-001";
	rq.patient = "pat-001";
	rv = mdt_rs_verify(v, NULL, NULL, &rq, NULL, err, sizeof(err));
	printf("%s: %s\n", mdt_strerror(rv), err);
	mdt_rs_verifier_free(v);
	mdt_keypair_free(kp);
	return rv == -MDT_EAUTH ? 0 : 3;
}
C
extra=()
# A sanitizer build's libraries need the sanitizer runtime in the program.
if [[ $(ldd "$libdir/libmandate-agent.so") == *libasan* ]]; then
	extra=(-fsanitize=address,undefined)
fi
export PKG_CONFIG_PATH="$pcdir"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "${extra[@]}" "$tmp/agent.c" \
	$(pkg-config --define-variable=prefix="$tmp/prefix" --cflags --libs \
	mandate-agent) -o "$tmp/agent"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/agent")
echo "$out"
case "$out" in
*"no token or no proof"*) echo "pkg-config build OK" ;;
*) echo "unexpected output" >&2; exit 1 ;;
esac
