#!/usr/bin/env bash
# Runs the Python module's own tests (python3 -m unittest) against this
# build's libmandate-agent, with the build's broker binaries on PATH.
set -euo pipefail
: "${MDT_SOURCE_DIR:?}" "${MDT_BINARY_DIR:?}"
lib=$(find "$MDT_BINARY_DIR/agentsdk" -maxdepth 1 -name 'libmandate-agent.so' | head -n1)
test -n "$lib"
export MANDATE_AGENT_LIB="$lib"
export PYTHONPATH="$MDT_SOURCE_DIR/agentsdk/python"
if ldd "$lib" | grep libasan >/dev/null; then  # no -q: an early exit would SIGPIPE ldd under pipefail
	# ctypes loads an instrumented library into an uninstrumented python3:
	# the sanitizer runtime must come first; leaks in python3 itself are
	# not this library's.
	export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
cd "$MDT_SOURCE_DIR/agentsdk/python"
exec python3 -m unittest discover -v -s tests -t .
