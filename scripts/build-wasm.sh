#!/usr/bin/env bash
# Builds the console's hydration bundle and copies its stylesheet into the site root that
# `writ serve` serves from:
#
#   $WRIT_SITE_ROOT/writ.css          copy of style/writ.css
#   $WRIT_SITE_ROOT/pkg/writ.js       wasm-bindgen glue for the `frontend` crate
#   $WRIT_SITE_ROOT/pkg/writ_bg.wasm  the `frontend` crate compiled to WebAssembly
#
# Leptos's hydration scripts with output name `writ` request /pkg/writ.js and /pkg/writ_bg.wasm,
# and `writ serve` turns hydration on only when pkg/writ_bg.wasm exists.
#
# The compiler route is chosen from what is installed, and printed:
# - rustup: rustup's toolchain has the wasm32-unknown-unknown target, so plain `cargo build`.
# - debian: Debian's rustc-web (installed by scripts/install-wasm-toolchain.sh) rebuilds the
#   standard library from source with -Zbuild-std. RUSTC_BOOTSTRAP=1 allows that unstable flag on
#   a stable compiler. Debian's cargo is called by absolute path because rustup's cargo comes
#   first on PATH.
#
# Environment (relative paths are taken from the repository root):
#   WRIT_SITE_ROOT         site root to write to (default target/site, as `writ serve` expects);
#                          independent of CARGO_TARGET_DIR
#   WRIT_WASM_TARGET_DIR   cargo target directory for the WebAssembly build (default
#                          ${CARGO_TARGET_DIR:-target}/wasm). It is kept apart from the host
#                          build's so that two compilers never rebuild each other's artifacts.
#   WRIT_TOOLS_DIR         where binaryen's wasm-opt is installed from npm (default target/tools)
#   WRIT_WASM_OPT=0        skip the wasm-opt size step
#
# A missing style/writ.css is reported but does not fail the build: the console works unstyled,
# and the bundle does not depend on the stylesheet.
#
# Usage: scripts/build-wasm.sh
set -euo pipefail

# Bundles optimized by wasm-opt from npm's binaryen 132 hydrate in Chromium. Debian's binaryen
# 108 has produced bundles that fail to hydrate, so a wasm-opt on PATH is never used.
readonly BINARYEN_VERSION=132
readonly WASM_TARGET=wasm32-unknown-unknown
readonly PROFILE=wasm-release

main() {
    local repo
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cd "$repo"

    local site_root wasm_target_dir tools_dir
    site_root="$(absolute_path "${WRIT_SITE_ROOT:-target/site}")"
    wasm_target_dir="$(absolute_path "${WRIT_WASM_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/wasm}")"
    tools_dir="$(absolute_path "${WRIT_TOOLS_DIR:-target/tools}")"

    mkdir -p "$site_root"
    copy_stylesheet "$site_root"

    local route
    route="$(detect_route)"
    log "compiler route: $route; cargo target directory: $wasm_target_dir"

    local wasm_bindgen wasm_opt
    wasm_bindgen="$(ensure_wasm_bindgen)"
    wasm_opt="$(ensure_wasm_opt "$tools_dir")"

    compile_frontend "$route" "$wasm_target_dir"
    local wasm="$wasm_target_dir/$WASM_TARGET/$PROFILE/frontend.wasm"

    # pkg/ is regenerated only when the module or a tool changed, because wasm-opt alone takes
    # about 40 s on two cores. The record sits in the site root, outside the served pkg/.
    local inputs record="$site_root/.pkg-inputs"
    inputs="$(sha256sum <"$wasm" | cut -d ' ' -f 1) $("$wasm_bindgen" --version)"
    if [[ -n "$wasm_opt" ]]; then
        inputs+=" $("$wasm_opt" --version)"
    fi
    if [[ -f "$site_root/pkg/writ_bg.wasm" && "$(cat "$record" 2>/dev/null)" == "$inputs" ]]; then
        log "$site_root/pkg is up to date"
        return
    fi

    # Written next to pkg/ and swapped in at the end, so a failed step leaves the old bundle
    # whole rather than half replaced.
    local staging="$site_root/pkg.staging"
    rm -rf "$staging" "$record"
    "$wasm_bindgen" --target web --no-typescript --remove-name-section \
        --out-dir "$staging" --out-name writ "$wasm"
    if [[ -n "$wasm_opt" ]]; then
        local before
        before="$(wc -c <"$staging/writ_bg.wasm")"
        "$wasm_opt" -Oz "$staging/writ_bg.wasm" -o "$staging/writ_bg.opt.wasm"
        mv "$staging/writ_bg.opt.wasm" "$staging/writ_bg.wasm"
        log "wasm-opt -Oz: $before -> $(wc -c <"$staging/writ_bg.wasm") bytes"
    fi
    rm -rf "$site_root/pkg"
    mv "$staging" "$site_root/pkg"
    echo "$inputs" >"$record"

    log "wrote $site_root/pkg/writ.js and writ_bg.wasm ($(wc -c <"$site_root/pkg/writ_bg.wasm") bytes)"
}

log() {
    echo "build-wasm: $*" >&2
}

absolute_path() {
    case "$1" in
        /*) echo "$1" ;;
        *) echo "$PWD/$1" ;;
    esac
}

copy_stylesheet() {
    local site_root="$1"
    if [[ -f style/writ.css ]]; then
        cp style/writ.css "$site_root/writ.css"
    else
        log "WARNING: style/writ.css is missing, so /writ.css will not be served and the console is unstyled"
    fi
}

# Prints `rustup` or `debian`, or fails with what to install.
detect_route() {
    local targets=""
    if command -v rustup >/dev/null; then
        targets="$(rustup target list --installed 2>/dev/null || true)"
    fi
    if grep -qx "$WASM_TARGET" <<<"$targets"; then
        echo rustup
    elif [[ -x /usr/bin/cargo && -x /usr/bin/rustc && -d /usr/lib/rustlib/src/rust/library ]] &&
        [[ -e /usr/bin/rust-lld ]]; then
        echo debian
    else
        log "no compiler for $WASM_TARGET found. Run scripts/install-wasm-toolchain.sh (Debian)" \
            "or 'rustup target add $WASM_TARGET'."
        return 1
    fi
}

# Prints the path of a wasm-bindgen CLI whose version equals the wasm-bindgen crate's version
# in Cargo.lock, installing it with `cargo install` first when needed. The two must match
# exactly, or wasm-bindgen rejects the module.
ensure_wasm_bindgen() {
    local version
    version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
    if [[ -z "$version" ]]; then
        log "cannot find the wasm-bindgen version in Cargo.lock"
        return 1
    fi

    local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    local candidate
    for candidate in "$(command -v wasm-bindgen || true)" "$cargo_bin/wasm-bindgen"; do
        if [[ -x "$candidate" && "$("$candidate" --version)" == "wasm-bindgen $version" ]]; then
            echo "$candidate"
            return
        fi
    done

    log "installing wasm-bindgen-cli $version (Cargo.lock's wasm-bindgen version)"
    # Without --locked, because the lock file published with wasm-bindgen-cli can name a
    # dependency version that the configured registry lacks (0.2.130 locks webpki-roots 1.0.11).
    # CARGO_TARGET_DIR is dropped so the install builds in cargo's own temporary directory.
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$version" >&2
    echo "$cargo_bin/wasm-bindgen"
}

compile_frontend() {
    local route="$1" target_dir="$2"
    local args=(build -p frontend --lib --target "$WASM_TARGET" --profile "$PROFILE")
    case "$route" in
        rustup)
            CARGO_TARGET_DIR="$target_dir" cargo "${args[@]}"
            ;;
        debian)
            CARGO_TARGET_DIR="$target_dir" RUSTC_BOOTSTRAP=1 \
                RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
                /usr/bin/cargo "${args[@]}" -Zbuild-std=std,panic_abort
            ;;
    esac
}

# Prints the path of binaryen's wasm-opt, installed from npm under the tools directory, or
# nothing when the optional size step is off or npm cannot install it.
ensure_wasm_opt() {
    local tools_dir="$1"
    if [[ "${WRIT_WASM_OPT:-1}" == 0 ]]; then
        log "skipping wasm-opt (WRIT_WASM_OPT=0)"
        return
    fi

    local prefix="$tools_dir/binaryen-$BINARYEN_VERSION"
    local wasm_opt="$prefix/node_modules/.bin/wasm-opt"
    if [[ ! -x "$wasm_opt" ]]; then
        if ! command -v npm >/dev/null; then
            log "skipping wasm-opt: npm not found to install binaryen $BINARYEN_VERSION"
            return
        fi
        log "installing binaryen $BINARYEN_VERSION from npm into $prefix"
        mkdir -p "$prefix"
        if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund \
            "binaryen@$BINARYEN_VERSION" >&2; then
            log "skipping wasm-opt: installing binaryen $BINARYEN_VERSION failed"
            return
        fi
    fi
    echo "$wasm_opt"
}

main "$@"
