#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests: its cluster and its Unix
# socket in one directory, reachable only through that socket.
#
#   pg_harness.sh start DIR   initdb + pg_ctl start (an old server in DIR
#                             is stopped and its cluster removed first);
#                             prints the maintenance URI
#   pg_harness.sh stop DIR    stops the server and removes DIR
#   pg_harness.sh halt DIR    stops the server, keeps the cluster
#   pg_harness.sh resume DIR  starts the kept cluster again
#   pg_harness.sh uri DIR     prints postgresql:///postgres?host=DIR/sock
#
# MDT_PG_OPTS adds server options to start and resume (e.g. "-c
# commit_delay=100"), for a bench that measures a setting.
#
# PostgreSQL refuses to run as root: as root, the server runs as nobody
# (setpriv) and DIR is handed to it (so DIR's parent must be searchable by
# nobody, as /tmp and a build tree are); otherwise it runs as the caller.
set -euo pipefail

PGBIN=${MDT_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg_harness.sh start|stop|halt|resume|uri DIR}
dir=${2:?usage: pg_harness.sh start|stop|halt|resume|uri DIR}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		    env HOME="$dir" "$@"
	else
		"$@"
	fi
}

uri() {
	echo "postgresql:///postgres?host=$dir/sock&user=postgres"
}

pg_start() {
	# fsync on: the store's durability is what the tests check
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 120 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -c max_connections=400 -c shared_buffers=32MB -c fsync=on ${MDT_PG_OPTS:-}" \
	    start >/dev/null
}

pg_halt() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 120 stop \
		    >/dev/null 2>&1 ||
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
}

case "$cmd" in
start)
	if [ -d "$dir" ]; then
		pg_halt
		rm -rf "$dir"
	fi
	mkdir -p "$dir/sock"
	chmod 700 "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R 65534:65534 "$dir"
		if ! as_pg test -w "$dir"; then
			echo "pg_harness.sh: $dir is out of reach of user nobody" \
			    "(a parent directory is not searchable)" >&2
			exit 1
		fi
	fi
	as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
	    --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	pg_start || { cat "$dir/log" >&2; exit 1; }
	uri
	;;
stop)
	pg_halt
	rm -rf "$dir"
	;;
halt)
	pg_halt
	;;
resume)
	pg_start || { cat "$dir/log" >&2; exit 1; }
	;;
uri)
	uri
	;;
*)
	echo "pg_harness.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
