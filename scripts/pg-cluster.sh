#!/bin/sh
# pg-cluster.sh — a throwaway PostgreSQL cluster for manual CDC testing, the
# same setup as the test helper stdlib/postgres/pgtest: initdb in a temporary
# directory, wal_level=logical, listening only on 127.0.0.1 at a free port,
# unix socket inside the directory. As root the server runs as the system
# user rivvenpg (created with useradd when missing); otherwise as you.
#
#   scripts/pg-cluster.sh start        # prints DIR, then the DSN on its own line
#   scripts/pg-cluster.sh stop DIR     # fast shutdown, then removes DIR
#
# The binaries come from $RIVVEN_PG_BINDIR, `pg_config --bindir`, or
# /usr/lib/postgresql/*/bin.
set -eu

bindir() {
	if [ -n "${RIVVEN_PG_BINDIR:-}" ]; then echo "$RIVVEN_PG_BINDIR"; return; fi
	if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
		pg_config --bindir; return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/initdb" ]; then echo "$d"; return; fi
	done
	echo "pg-cluster: PostgreSQL server binaries not found (apt-get install postgresql-15, or set RIVVEN_PG_BINDIR)" >&2
	exit 1
}

# as USER CMD... runs CMD as the server's user.
as() {
	if [ "$(id -u)" = 0 ]; then runuser -u rivvenpg -- "$@"; else "$@"; fi
}

start() {
	bin=$(bindir)
	if [ "$(id -u)" = 0 ] && ! id rivvenpg >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rivvenpg || id rivvenpg >/dev/null
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rivven-pg-XXXXXX")
	[ "$(id -u)" = 0 ] && chown rivvenpg: "$dir"
	chmod 700 "$dir"
	pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$pw" >"$dir/pwfile"
	[ "$(id -u)" = 0 ] && chown rivvenpg: "$dir/pwfile"
	as "$bin/initdb" -D "$dir/data" -U rivven --pwfile "$dir/pwfile" --auth-host=scram-sha-256 \
		--auth-local=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
	rm -f "$dir/pwfile"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + $$ % 20000)))
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start -o \
		"-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c wal_level=logical -c max_replication_slots=32 -c max_wal_senders=32" >/dev/null ||
		{ cat "$dir/postgres.log" >&2; rm -rf "$dir"; exit 1; }
	echo "$dir"
	echo "postgres://rivven:$pw@127.0.0.1:$port/postgres?sslmode=disable"
}

stop() {
	dir=$1
	[ -f "$dir/data/PG_VERSION" ] || { echo "pg-cluster: $dir is not a cluster directory" >&2; exit 1; }
	as "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
