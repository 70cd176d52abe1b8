#!/usr/bin/env bash
# Installs the Debian packages Mandate needs to build, test and run.
# Idempotent: packages already present are left alone, and apt is not
# touched at all when nothing is missing.  Uses sudo when not root.
#
#   scripts/install-deps.sh [--fuzz]    --fuzz adds clang and its runtime
set -euo pipefail

pkgs=(build-essential cmake pkg-config git python3
      libnng-dev libmsgpack-dev libsodium-dev libssl-dev libsqlite3-dev
      check libsubunit-dev libjansson-dev sqlite3 valgrind jq xz-utils
      systemd man-db libpq-dev postgresql graphviz)
# node and npm run the real MCP clients and servers of the MCP gateway's
# test (tests/npm); a node (18 or later) already on PATH is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	pkgs+=(nodejs npm)
fi
# chromium is the headless browser of the console's test, driven through
# puppeteer-core (tests/npm).
pkgs+=(chromium)
if [ "${1:-}" = "--fuzz" ]; then
	pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
