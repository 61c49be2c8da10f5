#!/usr/bin/env bash
# Make a throwaway PostgreSQL available for the tests and print its URL as the last line of stdout.
#
#   export TOURNAMENT_TEST_PG_URL=$(bash scripts/postgres.sh)
#
# - TOURNAMENT_TEST_PG_URL already set: print it and exit (use your own server).
# - Otherwise find initdb/pg_ctl (PATH, then /usr/lib/postgresql/*/bin); install Debian's `postgresql`
#   package when missing and we are root.
# - Create (once) a cluster in $TOURNAMENT_PG_DIR (default /tmp/tournament-pg) owned by an unprivileged user
#   (initdb refuses root): the `postgres` system user, created if missing; as non-root, the current user.
# - Start it (or reuse it) on 127.0.0.1:$TOURNAMENT_PG_PORT (default 55432) with trust auth and durability
#   switched off (it is a test server), and create the database `tournament_test`.
# Idempotent; a second call takes a fraction of a second. Everything but the URL goes to stderr.
set -euo pipefail

if [[ -n "${TOURNAMENT_TEST_PG_URL:-}" ]]; then
    echo "$TOURNAMENT_TEST_PG_URL"
    exit 0
fi

PORT="${TOURNAMENT_PG_PORT:-55432}"
BASE="${TOURNAMENT_PG_DIR:-/tmp/tournament-pg}"
DATA="$BASE/data"
LOG="$BASE/server.log"
DB_NAME="tournament_test"
URL="postgresql://postgres@127.0.0.1:${PORT}/${DB_NAME}"

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

find_bindir() {
    local candidate
    if candidate="$(command -v pg_ctl 2>/dev/null)" && [[ -x "$(dirname "$(readlink -f "$candidate")")/initdb" ]]; then
        dirname "$(readlink -f "$candidate")"
        return 0
    fi
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$candidate/pg_ctl" && -x "$candidate/initdb" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

BINDIR="$(find_bindir || true)"
if [[ -z "$BINDIR" ]]; then
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed; install the 'postgresql' package or set TOURNAMENT_TEST_PG_URL"
    say "installing PostgreSQL (apt-get install postgresql)..."
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2 \
        || die "apt-get install postgresql failed"
    BINDIR="$(find_bindir || true)"
    [[ -n "$BINDIR" ]] || die "PostgreSQL installed but initdb/pg_ctl not found"
fi

# Run PostgreSQL tools as an unprivileged user: initdb and postgres refuse to run as root.
if [[ "$(id -u)" == 0 ]]; then
    RUN_USER=postgres
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        say "creating system user $RUN_USER"
        useradd --system --no-create-home --home-dir "$BASE" --shell /usr/sbin/nologin "$RUN_USER" >&2 \
            || die "cannot create user $RUN_USER"
    fi
    as_owner() {
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$RUN_USER" -- "$@")
        else
            (cd / && su -s /bin/sh "$RUN_USER" -c "$(printf '%q ' "$@")")
        fi
    }
else
    RUN_USER="$(id -un)"
    as_owner() { (cd / && "$@"); }
fi

mkdir -p "$BASE"
if [[ "$(id -u)" == 0 ]]; then
    chown "$RUN_USER" "$BASE"
fi
chmod 700 "$BASE"

server_is_ours() {
    as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    say "creating cluster in $DATA (owner $RUN_USER, $("$BINDIR/postgres" --version))"
    rm -rf "$DATA"
    as_owner "$BINDIR/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync \
        >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
    cat >>"$DATA/postgresql.conf" <<EOF
# tournament test server: fast, not durable
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$BASE'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
fi

if ! server_is_ours; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        die "port $PORT on 127.0.0.1 is taken by another server; set TOURNAMENT_PG_PORT or TOURNAMENT_TEST_PG_URL"
    fi
    say "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG)"
    touch "$LOG"
    if [[ "$(id -u)" == 0 ]]; then chown "$RUN_USER" "$LOG"; fi
    as_owner "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $BASE" >/dev/null 2>&1 \
        || { tail -n 20 "$LOG" >&2; die "the server did not start"; }
fi

psql_run() {
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

for _ in $(seq 1 50); do
    if psql_run -tAc "SELECT 1" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done
psql_run -tAc "SELECT 1" >/dev/null || die "cannot connect to 127.0.0.1:$PORT as postgres"

if [[ "$(psql_run -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    say "creating database $DB_NAME"
    psql_run -c "CREATE DATABASE $DB_NAME" >/dev/null
fi

echo "$URL"
