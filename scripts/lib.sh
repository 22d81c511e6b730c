# Shared by the scripts: where the checkout is, building sockspec and finding
# the binary cargo built, installing what is missing from Debian's packages.
# shellcheck shell=bash

# The checkout these scripts belong to, wherever they are run from. Scripts do
# not cd into it for their own work: paths given by the user (--output FILE,
# --out DIR) stay relative to the directory the user ran them from.
SOCKSPEC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# in_checkout CMD...: runs CMD in the checkout (cargo reads the checkout's
# .cargo/config.toml from the current directory, not from --manifest-path).
in_checkout() {
    (cd "$SOCKSPEC_ROOT" && "$@")
}

# build_sockspec [CARGO-BUILD-ARGS...]: builds the sockspec binary and prints
# its path as cargo reports it, so that CARGO_TARGET_DIR, a configured
# build.target-dir and --target are honoured. The profile is release unless
# SOCKSPEC_PROFILE names another (dev: what `cargo build` builds).
# shellcheck disable=SC2120 # its arguments are optional
build_sockspec() {
    local out exe
    out=$(in_checkout cargo build --quiet --bin sockspec --profile "${SOCKSPEC_PROFILE:-release}" \
        --message-format=json-render-diagnostics "$@") || return 1
    exe=$(printf '%s\n' "$out" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        echo "sockspec: cargo reported no sockspec binary" >&2
        return 1
    fi
    printf '%s\n' "$exe"
}

# target_dir: cargo's target directory (CARGO_TARGET_DIR, a configured one, or
# target/ in the checkout).
target_dir() {
    local dir
    dir=$(in_checkout cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    if [ -z "$dir" ]; then
        echo "sockspec: cargo metadata named no target directory" >&2
        return 1
    fi
    printf '%s\n' "$dir"
}

# need CMD PACKAGE: make sure CMD exists, installing PACKAGE with apt-get as root.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    install_package "$2" "'$1' is missing"
}

# need_package PACKAGE: make sure the Debian package PACKAGE is installed (for
# packages that bring no command of their own name: busybox-static, keyrings).
need_package() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' && return 0
    install_package "$1" "the Debian package '$1' is missing"
}

# install_package PACKAGE WHY: apt-get install as root, or say what to install.
install_package() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "sockspec: $2; install the Debian package '$1' (as root: apt-get install $1)" >&2
        exit 1
    fi
    if [ -z "${SOCKSPEC_APT_UPDATED:-}" ]; then
        apt-get update -qq >&2 && SOCKSPEC_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "sockspec: cargo is missing; install Rust stable (https://rustup.rs) first" >&2
        exit 1
    fi
    need cc gcc
}
