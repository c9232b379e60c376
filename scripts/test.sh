#!/usr/bin/env bash
# Runs every check that CI runs, in order, stopping at the first failure: formatting, clippy,
# the hydration bundle, the test OpenID provider's packages, the Rust tests against PostgreSQL,
# then the browser tests.
#
# Needs a PostgreSQL server that the test database URL can create databases on, because each
# #[sqlx::test] creates a fresh database from it, and Node.js with npm for the test OpenID
# provider and the browser journeys. The WebAssembly toolchain comes from
# scripts/install-wasm-toolchain.sh.
#
# Environment:
#   WRIT_TEST_DATABASE_URL  server for the tests (default postgres://postgres@127.0.0.1:5432/postgres)
#
# Usage: scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The tests use the committed query metadata in .sqlx/ instead of checking queries against a
# live database at compile time.
export SQLX_OFFLINE=true
export DATABASE_URL="${WRIT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

summary=()

# Runs one named stage and prints its wall-clock time in seconds.
stage() {
    local name="$1"
    shift
    echo "==> $name"
    local start=$SECONDS
    if ! "$@"; then
        echo "==> $name FAILED after $((SECONDS - start)) s" >&2
        exit 1
    fi
    summary+=("$(printf '%-8s %5d s' "$name" $((SECONDS - start)))")
    echo "==> $name passed in $((SECONDS - start)) s"
}

# Runs the Rust tests and keeps their output, so that the totals can be printed at the end.
run_cargo_test() {
    cargo test 2>&1 | tee "$test_log"
}

run_e2e() {
    if [[ -f scripts/e2e.sh ]]; then
        bash scripts/e2e.sh
    else
        echo "scripts/e2e.sh not found; skipping the browser tests"
    fi
}

test_log="$(mktemp)"
trap 'rm -f "$test_log"' EXIT

total_start=$SECONDS
stage fmt cargo fmt --all --check
stage clippy cargo clippy --all-targets -- -D warnings
stage clippy-frontend cargo clippy -p frontend -- -D warnings
stage wasm scripts/build-wasm.sh
stage provider scripts/install-test-provider.sh
stage test run_cargo_test
stage e2e run_e2e

echo "==> stage times"
printf '    %s\n' "${summary[@]}"
echo "    total    $((SECONDS - total_start)) s"

# One closing line with the totals of every `test result:` line that cargo test printed
# (ignored tests count as skipped). Browser tests are not included.
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
    END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$test_log"
