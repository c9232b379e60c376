#!/usr/bin/env bash
# Installs the compiler that scripts/build-wasm.sh needs for the wasm32-unknown-unknown target.
#
# With rustup's wasm32-unknown-unknown target installed there is nothing to do. Without it, this
# installs Debian's rustc-web toolchain, which can build the WebAssembly standard library from
# source. The packages are:
#   rustc-web, cargo-web  Rust 1.96 in /usr/bin
#   rust-web-src          the standard library source that -Zbuild-std compiles
#   rust-web-llvm         /usr/bin/rust-lld, which rustc-web only recommends
#   lld-22                the linker that /usr/bin/rust-lld links to, which no package depends on
# It uses apt-get, so it runs as root or through sudo. A second run with everything installed
# only reads dpkg's status and takes well under a second.
#
# Usage: scripts/install-wasm-toolchain.sh
set -euo pipefail

readonly DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

main() {
    if rustup_has_wasm_target; then
        echo "install-wasm-toolchain: rustup has the wasm32-unknown-unknown target; nothing to install"
        return
    fi

    local missing=()
    local package
    for package in "${DEBIAN_PACKAGES[@]}"; do
        if ! is_installed "$package"; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]} == 0)); then
        echo "install-wasm-toolchain: Debian packages ${DEBIAN_PACKAGES[*]} are installed"
        return
    fi

    if ! command -v apt-get >/dev/null; then
        echo "install-wasm-toolchain: apt-get not found. Install the Rust target with" \
            "'rustup target add wasm32-unknown-unknown' instead." >&2
        exit 1
    fi
    echo "install-wasm-toolchain: rustup has no wasm32-unknown-unknown target;" \
        "installing Debian packages: ${missing[*]}"
    apt_install "${missing[@]}"
}

rustup_has_wasm_target() {
    command -v rustup >/dev/null || return 1
    local targets
    targets="$(rustup target list --installed 2>/dev/null)" || return 1
    grep -qx wasm32-unknown-unknown <<<"$targets"
}

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# Installs packages with apt-get, refreshing the package lists first when any package has no
# install candidate (lists never downloaded, or too old), and once more if the install fails
# (a list can name a version the mirror no longer serves).
apt_install() {
    local sudo=()
    if ((EUID != 0)); then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive

    local package policy
    for package in "$@"; do
        # Captured first: with pipefail, `grep -q` closing the pipe early fails apt-cache.
        policy="$(apt-cache policy "$package" 2>/dev/null)"
        if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
            "${sudo[@]}" apt-get update -q
            break
        fi
    done
    if ! "${sudo[@]}" apt-get install -y -q "$@"; then
        echo "install-wasm-toolchain: apt-get install failed; refreshing package lists and retrying" >&2
        "${sudo[@]}" apt-get update -q
        "${sudo[@]}" apt-get install -y -q "$@"
    fi
}

main "$@"
