#!/usr/bin/env bash
# The judge workers' broker for the tests: a PostgreSQL server of its own, on loopback only.
#   .ci/broker.sh start   initdb (if needed) and start it; prints the JDBC URL the tests read from
#                         ISOLATION_TEST_BROKER
#   .ci/broker.sh stop    stop it (fast shutdown) and remove its data directory
#   .ci/broker.sh url     print the URL
# Environment: ISOLATION_BROKER_DIR (default /tmp/isolation-broker-pg), ISOLATION_BROKER_PORT
# (default 55432). The server runs as the unprivileged user `postgres` (initdb refuses root), listens
# on 127.0.0.1 only, trusts local connections (a test server that nothing else can reach), and every
# step is bounded (pg_ctl -t). Nothing here touches a cluster it did not create.
set -euo pipefail

DIR="${ISOLATION_BROKER_DIR:-/tmp/isolation-broker-pg}"
PORT="${ISOLATION_BROKER_PORT:-55432}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
RUN_AS=postgres
URL="jdbc:postgresql://127.0.0.1:$PORT/postgres?user=postgres"

case "$DIR" in
  *isolation*) ;;
  *) echo "broker.sh: ISOLATION_BROKER_DIR=$DIR must have 'isolation' in its name" >&2; exit 2 ;;
esac

as_postgres() {
  setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups --reset-env -- "$@"
}

case "${1:-}" in
  start)
    [ -n "$BIN" ] || { echo "broker.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
    id "$RUN_AS" >/dev/null
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      rm -rf "$DIR"
      install -d -o "$RUN_AS" -g "$RUN_AS" -m 700 "$DIR"
      as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories=$DIR -c max_connections=200" start >/dev/null \
      || { tail -n 30 "$DIR/server.log" >&2; exit 1; }
    echo "$URL"
    ;;
  stop)
    if [ -f "$DIR/data/postmaster.pid" ] && [ -n "$BIN" ]; then
      as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$DIR"
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: .ci/broker.sh start|stop|url" >&2
    exit 2
    ;;
esac
