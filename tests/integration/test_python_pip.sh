#!/usr/bin/env bash
# The Python package as its users meet it: the build installed into a
# temporary prefix, a fresh virtual environment, `pip install` of
# agentsdk/python offline (no index: the package builds itself), then the
# module's broker tests run with the installed package (not the source
# tree) against a real mandated, the library found through
# MANDATE_AGENT_LIB alone (no LD_LIBRARY_PATH), and once more through the
# package directory with no variable at all.
set -euo pipefail
: "${MDT_SOURCE_DIR:?}" "${MDT_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH PYTHONPATH MANDATE_AGENT_LIB

cmake --install "$MDT_BINARY_DIR" --prefix "$tmp/prefix" >"$tmp/install.log"
lib=$(find "$tmp/prefix" -name 'libmandate-agent.so' | head -n1)
test -n "$lib"

python3 -m venv "$tmp/venv"
cp -r "$MDT_SOURCE_DIR/agentsdk/python" "$tmp/src"
rm -rf "$tmp/src/tests"
"$tmp/venv/bin/pip" install --no-index --quiet \
	--disable-pip-version-check "$tmp/src" >"$tmp/pip.log" 2>&1 ||
	{ cat "$tmp/pip.log"; exit 1; }

if ldd "$lib" | grep libasan >/dev/null; then
	export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
mkdir "$tmp/run"
cp -r "$MDT_SOURCE_DIR/agentsdk/python/tests" "$tmp/run/tests"
cd "$tmp/run"
# the package imported is the installed one, with its type marker
MANDATE_AGENT_LIB="$lib" "$tmp/venv/bin/python" - "$tmp/venv" <<'PY'
import os, sys
import mandate_agent as m
venv = sys.argv[1]
assert m.__file__.startswith(venv), m.__file__
assert os.path.exists(os.path.join(os.path.dirname(m.__file__), "py.typed"))
print("installed", m.__file__, m.version())
PY
MANDATE_AGENT_LIB="$lib" "$tmp/venv/bin/python" -m unittest discover \
	-s tests -t . -p 'test_broker.py'
# no variable: the library next to the package is found (and its
# libmandate sibling loaded first)
site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cp -P "$(dirname "$lib")"/libmandate-agent.so* "$(dirname "$lib")"/libmandate.so* \
	"$site/mandate_agent/"
"$tmp/venv/bin/python" -c 'import mandate_agent as m; k = m.Keypair.generate(); k.close(); print("found without MANDATE_AGENT_LIB:", m.version())'
