#!/usr/bin/env bash
# Measures the decision API under load on loopback, with release builds of `writ` and of the
# load generator in server/examples/load.rs. Two `writ serve` processes run side by side on one
# database, one with WRIT_DECISION_LOG=durable and one with it off, and each round measures, one
# after the other:
#   1. GET /healthz (a trivial endpoint) on the durable server;
#   2. POST /api/v1/decisions on the durable server;
#   3. POST /api/v1/decisions on the server with the log off.
# For each run it takes the requests per second, the CPU time (user+system) the measured writ
# process spent per request, and the CPU time all PostgreSQL processes spent per request. It
# prints every round, then the median of each figure over the rounds and the ratios of the
# medians. Alternating the runs keeps a noisy neighbour from favouring one configuration.
#
# With WRIT_LOAD_SEPARATE_POSTGRES=1 it pins every PostgreSQL process to the last CPU and runs
# writ and the generator on the others, as when the database has a host of its own; it needs
# the right to change the affinity of the PostgreSQL processes (root, or their user), and puts
# back their CPU mask when it ends.
#
# It creates (and drops first) the database writ_load on the PostgreSQL server of
# WRIT_LOAD_SERVER_URL (default postgres://postgres@127.0.0.1:5432) and seeds one identity, one
# resource and one decision client.
#
# Usage: scripts/load-decisions.sh [seconds per run, default 10] [concurrency, default 32]
#                                  [rounds, default 3]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly SECONDS_PER_RUN="${1:-10}"
readonly CONCURRENCY="${2:-32}"
readonly ROUNDS="${3:-3}"
readonly SERVER_URL="${WRIT_LOAD_SERVER_URL:-postgres://postgres@127.0.0.1:5432}"
readonly DATABASE="$SERVER_URL/writ_load"
readonly DURABLE_LISTEN="127.0.0.1:3977"
readonly OFF_LISTEN="127.0.0.1:3978"
readonly TOKEN="writc_load-test-token-not-a-secret"
readonly TARGET="${CARGO_TARGET_DIR:-target}"
readonly SEPARATE_POSTGRES="${WRIT_LOAD_SEPARATE_POSTGRES:-0}"

cargo build --release -q -p server --bin writ --example load
readonly WRIT="$TARGET/release/writ"
readonly LOAD="$TARGET/release/examples/load"

psql "$SERVER_URL/postgres" -qc "drop database if exists writ_load" -c "create database writ_load"
DATABASE_URL="$DATABASE" "$WRIT" migrate >/dev/null

token_hash=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
psql "$DATABASE" -q <<SQL
insert into identities (id, kind, name, environment)
values ('00000000-0000-0000-0000-00000000a001', 'service_account', 'billing-exporter', 'production');
insert into resources (name, target, role, sensitivity, max_duration_secs)
values ('billing-db', 'billing-db.internal', 'reader', 'high', 3600);
insert into decision_clients (name, token_hash, prefix, created_at)
values ('load', decode('$token_hash', 'hex'), 'writc_load-tes', now());
SQL

body_file=$(mktemp)
rounds_file=$(mktemp)
server_pids=()
postgres_mask=""
# The command prefix for writ and the generator, which keeps them off PostgreSQL's CPU when it
# has one of its own.
run=()
cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$postgres_mask" ]]; then
        for pid in $(pgrep -x postgres); do
            taskset -a -p "$postgres_mask" "$pid" >/dev/null || true
        done
    fi
    rm -f "$body_file" "$rounds_file"
}
trap cleanup EXIT

if [[ "$SEPARATE_POSTGRES" == 1 ]]; then
    last_cpu=$(($(nproc) - 1))
    if ((last_cpu < 1)); then
        echo "WRIT_LOAD_SEPARATE_POSTGRES=1 needs at least 2 CPUs" >&2
        exit 1
    fi
    # New backends are forked by the oldest postgres process and inherit its mask.
    postgres_mask=$(taskset -p "$(pgrep -o -x postgres)" | awk '{ print $NF }')
    for pid in $(pgrep -x postgres); do
        taskset -a -p -c "$last_cpu" "$pid" >/dev/null
    done
    run=(taskset -c "0-$((last_cpu - 1))")
fi

cat >"$body_file" <<'JSON'
{
  "principal": "00000000-0000-0000-0000-00000000a001",
  "action": "read",
  "resource": "billing-db",
  "context": {
    "device": { "managed": true, "compliant": true, "disk_encrypted": true },
    "risk_score": 12,
    "geo": { "country": "DE", "ip": "192.0.2.10" },
    "time": "2026-12-04T10:00:00+01:00",
    "mfa": true,
    "sensitivity": "medium"
  }
}
JSON

# Starts writ with the decision log mode $1 on the address $2 and waits until it responds.
start_server() {
    DATABASE_URL="$DATABASE" WRIT_LISTEN="$2" WRIT_DECISION_LOG="$1" RUST_LOG=warn \
        "${run[@]}" "$WRIT" serve >/dev/null 2>&1 &
    server_pids+=($!)
    for _ in $(seq 1 100); do
        if curl -fsS "http://$2/healthz" >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "writ did not start on $2" >&2
    exit 1
}

# Prints the user+system CPU time of process $1 in clock ticks.
process_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# Prints the user+system CPU time of all PostgreSQL server processes in clock ticks.
postgres_ticks() {
    local total=0 stat
    for stat in /proc/[0-9]*/stat; do
        # The second field is the command name in parentheses; it has no spaces for postgres.
        read -r _ name _ _ _ _ _ _ _ _ _ _ _ user system _ <"$stat" 2>/dev/null || continue
        if [[ "$name" == "(postgres)" ]]; then
            total=$((total + user + system))
        fi
    done
    echo "$total"
}

# Prints CPU µs per request from clock ticks and a request count.
per_request() {
    awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'
}

# Runs the generator against the writ process $1 with the arguments that follow, and prints
# "<per second> <writ CPU µs per request> <PostgreSQL CPU µs per request>".
measure() {
    local pid=$1 before after pg_before pg_after result ok per_second
    shift
    # A short warm-up fills the caches and the connection pools.
    "${run[@]}" "$LOAD" "$1" 2 "${@:2}" >/dev/null
    before=$(process_ticks "$pid")
    pg_before=$(postgres_ticks)
    result=$("${run[@]}" "$LOAD" "$1" "$SECONDS_PER_RUN" "${@:2}")
    after=$(process_ticks "$pid")
    pg_after=$(postgres_ticks)
    ok=$(sed -E 's/.*"ok": ([0-9]+).*/\1/' <<<"$result")
    per_second=$(sed -E 's/.*"per_second": ([0-9.]+).*/\1/' <<<"$result")
    echo "$per_second $(per_request $((after - before)) "$ok") $(per_request $((pg_after - pg_before)) "$ok")"
}

# Prints the median of column $1 of the rounds file.
median() {
    awk -v c="$1" '{ print $c }' "$rounds_file" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start_server durable "$DURABLE_LISTEN"
durable_pid=${server_pids[0]}
start_server off "$OFF_LISTEN"
off_pid=${server_pids[1]}

echo "machine: $(nproc) vCPU $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
echo "runs: $SECONDS_PER_RUN s each, $CONCURRENCY concurrent connections, $ROUNDS rounds"
if [[ "$SEPARATE_POSTGRES" == 1 ]]; then
    echo "PostgreSQL pinned to CPU $last_cpu; writ and the load generator on CPUs 0-$((last_cpu - 1))"
else
    echo "PostgreSQL, writ and the load generator share all CPUs"
fi
printf '%-6s | %-22s | %-22s | %-22s\n' "" "GET /healthz" "decisions, log durable" "decisions, log off"
printf '%-6s | %9s %12s | %9s %5s %6s | %9s %5s %6s\n' round "per second" "writ CPU µs" \
    "per second" writ PG "per second" writ PG
for round in $(seq 1 "$ROUNDS"); do
    read -r trivial_rate trivial_cpu _ < <(measure "$durable_pid" "http://$DURABLE_LISTEN/healthz" "$CONCURRENCY")
    read -r durable_rate durable_cpu durable_pg < <(measure "$durable_pid" \
        "http://$DURABLE_LISTEN/api/v1/decisions" "$CONCURRENCY" "$TOKEN" "$body_file")
    read -r off_rate off_cpu off_pg < <(measure "$off_pid" \
        "http://$OFF_LISTEN/api/v1/decisions" "$CONCURRENCY" "$TOKEN" "$body_file")
    echo "$trivial_rate $trivial_cpu $durable_rate $durable_cpu $durable_pg $off_rate $off_cpu $off_pg" >>"$rounds_file"
    printf '%-6s | %10s %11s | %10s %5s %6s | %10s %5s %6s\n' "$round" "$trivial_rate" "$trivial_cpu" \
        "$durable_rate" "$durable_cpu" "$durable_pg" "$off_rate" "$off_cpu" "$off_pg"
done
printf '%-6s | %10s %11s | %10s %5s %6s | %10s %5s %6s\n' median "$(median 1)" "$(median 2)" \
    "$(median 3)" "$(median 4)" "$(median 5)" "$(median 6)" "$(median 7)" "$(median 8)"
echo "(writ and PG columns: CPU µs per request of the measured writ process and of PostgreSQL)"

logged=$(psql "$DATABASE" -Atc "select count(*) from decisions")
echo "decisions in the log (durable runs and their warm-ups): $logged"
awk -v d="$(median 4)" -v t="$(median 2)" \
    'BEGIN { printf "writ CPU per decision (durable) / per trivial request: %.2f\n", d / t }'
awk -v d="$(median 7)" -v t="$(median 2)" \
    'BEGIN { printf "writ CPU per decision (log off) / per trivial request: %.2f\n", d / t }'
awk -v d="$(median 3)" -v o="$(median 6)" \
    'BEGIN { printf "throughput with durable logging / without: %.3f (%.1f%% below)\n", d / o, (1 - d / o) * 100 }'
