# Shared by the set-up scripts: install what is missing, from Debian's packages.
# shellcheck shell=bash

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
