#!/usr/bin/env bash
# Runs the browser journeys: starts the test OpenID provider and Writ on loopback against a
# fresh database, then drives them with Playwright in Debian's Chromium (/usr/bin/chromium;
# Playwright never downloads a browser). Writ signs people in through the provider and keeps
# local sign-in for the journeys that use local accounts.
#
# Environment:
#   WRIT_TEST_DATABASE_URL  server to create the journey database on
#                           (default postgres://postgres@127.0.0.1:5432/postgres)
#   WRIT_E2E_PORT           port for the server (default 3210)
#   WRIT_E2E_PROVIDER_PORT  port for the test OpenID provider (default 3211)
#   WRIT_E2E_SMTP_PORT      port of the SMTP server that the journeys start (default: a free one)
#   WRIT_SITE_ROOT          built console assets (default target/site)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

admin_url="${WRIT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
port="${WRIT_E2E_PORT:-3210}"
provider_port="${WRIT_E2E_PROVIDER_PORT:-3211}"
provider_url="http://127.0.0.1:$provider_port"
# Node.js is needed for the journeys anyway, so it picks a free loopback port.
smtp_port="${WRIT_E2E_SMTP_PORT:-$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')}"
database="writ_e2e_$$"
target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
log="$(mktemp -t writ-e2e.XXXXXX.log)"
provider_log="$(mktemp -t writ-e2e-provider.XXXXXX.log)"

echo "building the writ binary"
cargo build -p server --bin writ

echo "installing the journey dependencies"
(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
scripts/install-test-provider.sh

psql "$admin_url" -q -c "create database $database"
server_pid=""
provider_pid=""
cleanup() {
    for pid in "$server_pid" "$provider_pid"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    psql "$admin_url" -q -c "drop database if exists $database with (force)" || true
}
trap cleanup EXIT

provider_options=$(cat <<JSON
{
  "port": $provider_port,
  "clients": [{
    "client_id": "writ-e2e",
    "client_secret": "writ-e2e-client-secret",
    "redirect_uris": ["http://127.0.0.1:$port/sign-in/oidc/callback"]
  }],
  "accounts": {
    "olivia": {
      "password": "olivia-provider-password",
      "claims": {
        "name": "Olivia Provider",
        "email": "olivia@example.test",
        "email_verified": true,
        "groups": ["writ-requesters"]
      }
    }
  }
}
JSON
)
node server/tests/oidc-provider/provider.mjs "$provider_options" >"$provider_log" 2>&1 &
provider_pid=$!
for _ in $(seq 1 30); do
    if curl -fs "$provider_url/.well-known/openid-configuration" >/dev/null; then
        break
    fi
    if ! kill -0 "$provider_pid" 2>/dev/null; then
        echo "the test OpenID provider exited; its log:" >&2
        cat "$provider_log" >&2
        exit 1
    fi
    sleep 1
done

database_url="${admin_url%/*}/$database"
DATABASE_URL="$database_url" \
    WRIT_LISTEN="127.0.0.1:$port" \
    WRIT_OIDC_ISSUER="$provider_url" \
    WRIT_OIDC_CLIENT_ID=writ-e2e \
    WRIT_OIDC_CLIENT_SECRET=writ-e2e-client-secret \
    WRIT_OIDC_SCOPES="openid email profile groups" \
    WRIT_OIDC_ROLE_MAP="writ-requesters=requester" \
    WRIT_SITE_ROOT="${WRIT_SITE_ROOT:-$PWD/target/site}" \
    WRIT_SMTP_HOST=127.0.0.1 WRIT_SMTP_PORT="$smtp_port" WRIT_SMTP_TLS=none \
    WRIT_SMTP_FROM="Writ <writ@example.test>" WRIT_NOTIFY_RETRY_DELAY=1s \
    "$target_dir/debug/writ" serve >"$log" 2>&1 &
server_pid=$!

for _ in $(seq 1 60); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "writ serve exited; its log:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 1
done

status=0
(cd e2e && WRIT_E2E_URL="http://127.0.0.1:$port" WRIT_E2E_LOG="$log" WRIT_E2E_SMTP_PORT="$smtp_port" \
    WRIT_E2E_PROVIDER_URL="$provider_url" \
    WRIT_E2E_BIN="$target_dir/debug/writ" WRIT_E2E_DATABASE_URL="$database_url" \
    npx playwright test) || status=$?
if ((status != 0)); then
    echo "the browser journeys failed; the server log follows" >&2
    cat "$log" >&2
fi
exit "$status"
