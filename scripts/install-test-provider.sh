#!/usr/bin/env bash
# Installs the packages of the test OpenID provider (server/tests/oidc-provider), which the
# integration tests and the browser journeys run on loopback. Does nothing when the installed
# packages already match package-lock.json.
#
# Usage: scripts/install-test-provider.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../server/tests/oidc-provider"

stamp=node_modules/.installed-lock.sha256
wanted="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -d node_modules/oidc-provider ]]; then
    echo "the test provider's packages are up to date"
    exit 0
fi
npm ci --no-audit --no-fund
echo "$wanted" >"$stamp"
