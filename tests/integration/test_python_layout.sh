#!/usr/bin/env bash
# The Python module's ctypes structs against <mandate/agent.h>: the module
# prints each struct's size and each field's offset (layout.py); a C
# program generated from that list prints the same with sizeof and
# offsetof, compiled against the headers; the two must agree.  A field the
# module names that the header lacks fails the compile; one the module
# lacks moves an offset or the size.
set -euo pipefail
: "${MDT_SOURCE_DIR:?}" "${MDT_BINARY_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lib=$(find "$MDT_BINARY_DIR/agentsdk" -maxdepth 1 -name 'libmandate-agent.so' | head -n1)
test -n "$lib"
export MANDATE_AGENT_LIB="$lib"
export PYTHONPATH="$MDT_SOURCE_DIR/agentsdk/python"
if ldd "$lib" | grep libasan >/dev/null; then
	export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi
python3 "$MDT_SOURCE_DIR/agentsdk/python/tests/layout.py" >"$tmp/py.txt"
test "$(wc -l <"$tmp/py.txt")" -gt 40

{
	echo '#include <stddef.h>'
	echo '#include <stdio.h>'
	echo '#include <mandate/agent.h>'
	echo 'int main(void) {'
	while read -r name kind _; do
		if [ "$kind" = size ]; then
			echo "printf(\"$name size %zu\\n\", sizeof($name));"
		else
			s=${name%%.*} f=${name#*.}
			echo "printf(\"$name %zu\\n\", offsetof($s, $f));"
		fi
	done <"$tmp/py.txt"
	echo 'return 0; }'
} >"$tmp/layout.c"
unset LD_PRELOAD
cc -std=c11 -Wall -Werror -I"$MDT_SOURCE_DIR/include" -I"$MDT_BINARY_DIR/include" \
	"$tmp/layout.c" -o "$tmp/layout"
"$tmp/layout" >"$tmp/c.txt"
if ! diff -u "$tmp/c.txt" "$tmp/py.txt"; then
	echo "FAIL: ctypes layouts differ from <mandate/agent.h> (- C, + Python)"
	exit 1
fi
echo "ok: $(grep -c ' size ' "$tmp/py.txt") structs, $(wc -l <"$tmp/py.txt") lines agree"
