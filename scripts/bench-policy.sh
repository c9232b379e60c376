#!/usr/bin/env bash
# Counts the instructions of one decision under valgrind's callgrind: through Writ's decision
# engine (typed query and facts to an outcome with reasons) and through a bare
# cedar_policy::Authorizer::is_authorized call on the whole policy set with the request and
# entities built beforehand. Prints both counts per decision and their ratio, for the default
# policy set and for a 60-policy set, in two scenarios.
#
# Only the loop that repeats the decision is counted (callgrind's --toggle-collect), so
# building the policy set and the fixtures is left out.
#
# Needs valgrind (Debian package `valgrind`).
#
# Environment:
#   ITERATIONS        decisions per measurement (default 1000)
#   CARGO_TARGET_DIR  cargo's target directory (default target)
#
# Usage: scripts/bench-policy.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v valgrind >/dev/null; then
    echo "valgrind not found. Install it with: apt-get install -y valgrind" >&2
    exit 1
fi

iterations="${ITERATIONS:-1000}"
cargo build --release --quiet -p policy --example decision_cost
target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/release/examples/decision_cost"

output_dir="$(mktemp -d)"
trap 'rm -rf "$output_dir"' EXIT

# Prints the instructions per decision for one path, policy set and scenario.
count() {
    local path="$1" set="$2" scenario="$3"
    local log="$output_dir/$path-$set-$scenario.log"
    valgrind --tool=callgrind \
        --callgrind-out-file="$output_dir/$path-$set-$scenario.out" \
        --toggle-collect="*measured_$path*" \
        "$binary" "$path" "$set" "$scenario" "$iterations" 2>"$log"
    local collected
    collected="$(awk '/Collected :/ { print $NF }' "$log")"
    if [[ -z "$collected" ]]; then
        echo "callgrind reported no instruction count. Its log follows:" >&2
        cat "$log" >&2
        exit 1
    fi
    echo $((collected / iterations))
}

printf '%-8s %-13s %14s %14s %7s\n' "set" "scenario" "engine (Ir)" "bare (Ir)" "ratio"
for set in default sixty; do
    for scenario in human-deploy agent-read; do
        engine="$(count engine "$set" "$scenario")"
        bare="$(count bare "$set" "$scenario")"
        ratio="$(awk -v engine="$engine" -v bare="$bare" 'BEGIN { printf "%.2f", engine / bare }')"
        printf '%-8s %-13s %14d %14d %7s\n' "$set" "$scenario" "$engine" "$bare" "$ratio"
    done
done
