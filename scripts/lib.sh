# Shared by the set-up scripts: install what is missing, from Debian's packages.
# shellcheck shell=bash

# need CMD PACKAGE: make sure CMD exists, installing PACKAGE with apt-get as root.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "sockspec: '$1' is missing; install the Debian package '$2' (as root: apt-get install $2)" >&2
        exit 1
    fi
    if [ -z "${SOCKSPEC_APT_UPDATED:-}" ]; then
        apt-get update -qq >&2 && SOCKSPEC_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "sockspec: cargo is missing; install Rust stable (https://rustup.rs) first" >&2
        exit 1
    fi
    need cc gcc
}
