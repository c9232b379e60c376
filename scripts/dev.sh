#!/usr/bin/env bash
# Builds and runs the console on this machine: installs the WebAssembly toolchain when missing,
# builds the hydration bundle, then starts `writ serve` with a release build. Arguments are
# passed on to `writ serve`, such as `--listen 127.0.0.1:8080`.
#
# Hydration is optional. When the toolchain cannot be installed or the bundle fails to build,
# the stale bundle is removed, so the server renders plain HTML pages with forms instead of
# hydrating with outdated code.
#
# Usage: scripts/dev.sh [writ serve options]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! scripts/install-wasm-toolchain.sh; then
    echo "dev: installing the WebAssembly toolchain failed" >&2
fi
# build-wasm.sh copies the stylesheet before it looks for a compiler, so the console is styled
# even when the bundle cannot be built.
if ! scripts/build-wasm.sh; then
    echo "dev: no hydration bundle was built; the console will run without hydration" >&2
    rm -rf "${WRIT_SITE_ROOT:-target/site}/pkg"
fi

exec cargo run --release -p server --bin writ -- serve "$@"
