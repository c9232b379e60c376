#!/usr/bin/env bash
# Measures the decision API under load on loopback, with release builds of `writ` and of the
# load generator in server/examples/load.rs:
#   1. server CPU per request of GET /healthz (a trivial endpoint) and of POST /api/v1/decisions,
#      from the writ process's user+system CPU time over each run;
#   2. decision throughput with WRIT_DECISION_LOG=durable and with it off.
# It creates (and drops first) the database writ_load on the PostgreSQL server of
# WRIT_LOAD_SERVER_URL (default postgres://postgres@127.0.0.1:5432), seeds one identity, one
# resource and one decision client, and prints one line per run plus the ratios.
#
# Usage: scripts/load-decisions.sh [seconds per run, default 15] [concurrency, default 32]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly SECONDS_PER_RUN="${1:-15}"
readonly CONCURRENCY="${2:-32}"
readonly SERVER_URL="${WRIT_LOAD_SERVER_URL:-postgres://postgres@127.0.0.1:5432}"
readonly DATABASE="$SERVER_URL/writ_load"
readonly LISTEN="127.0.0.1:3977"
readonly TOKEN="writc_load-test-token-not-a-secret"
readonly TARGET="${CARGO_TARGET_DIR:-target}"

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
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -f "$body_file"
}
trap cleanup EXIT

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

start_server() {
    DATABASE_URL="$DATABASE" WRIT_LISTEN="$LISTEN" WRIT_DECISION_LOG="$1" RUST_LOG=warn \
        "$WRIT" serve >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if curl -fsS "http://$LISTEN/healthz" >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "writ did not start on $LISTEN" >&2
    exit 1
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# Prints the writ process's user+system CPU time in clock ticks.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$server_pid/stat"
}

# Runs the generator once and prints "<requests> <per second> <CPU µs per request>".
measure() {
    local before after result ok per_second ticks
    # A short warm-up fills the caches and the connection pools.
    "$LOAD" "$@" >/dev/null
    before=$(cpu_ticks)
    result=$("$LOAD" "${@:1:1}" "$SECONDS_PER_RUN" "${@:3}")
    after=$(cpu_ticks)
    ok=$(sed -E 's/.*"ok": ([0-9]+).*/\1/' <<<"$result")
    per_second=$(sed -E 's/.*"per_second": ([0-9.]+).*/\1/' <<<"$result")
    ticks=$(getconf CLK_TCK)
    echo "$ok $per_second $(awk -v t=$((after - before)) -v hz="$ticks" -v n="$ok" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
}

decisions=("http://$LISTEN/api/v1/decisions" 2 "$CONCURRENCY" "$TOKEN" "$body_file")

start_server durable
read -r trivial_n trivial_rate trivial_cpu < <(measure "http://$LISTEN/healthz" 2 "$CONCURRENCY")
read -r durable_n durable_rate durable_cpu < <(measure "${decisions[@]}")
stop_server
logged=$(psql "$DATABASE" -Atc "select count(*) from decisions")

start_server off
read -r off_n off_rate off_cpu < <(measure "${decisions[@]}")
stop_server

echo "machine: $(nproc) vCPU $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%Y-%m-%d)"
echo "runs: $SECONDS_PER_RUN s each, $CONCURRENCY concurrent connections"
printf '%-28s %10s %12s %16s\n' run requests "per second" "server CPU µs/req"
printf '%-28s %10s %12s %16s\n' "GET /healthz" "$trivial_n" "$trivial_rate" "$trivial_cpu"
printf '%-28s %10s %12s %16s\n' "decisions, log durable" "$durable_n" "$durable_rate" "$durable_cpu"
printf '%-28s %10s %12s %16s\n' "decisions, log off" "$off_n" "$off_rate" "$off_cpu"
echo "decisions in the log after the durable runs (warm-up included): $logged"
awk -v d="$durable_cpu" -v t="$trivial_cpu" 'BEGIN { printf "server CPU per decision / per trivial request: %.2f\n", d / t }'
awk -v d="$durable_rate" -v o="$off_rate" 'BEGIN { printf "throughput with durable logging / without: %.3f (%.1f%% below)\n", d / o, (1 - d / o) * 100 }'
