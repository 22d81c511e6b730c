#!/usr/bin/env bash
# Builds a multicast LAN out of named network namespaces, runs sockspec's
# mcast.* cases across it, and tears it all down on exit, error or Ctrl-C.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PREFIX=sockspec
NAMESPACES=("$PREFIX-switch" "$PREFIX-h1" "$PREFIX-h2" "$PREFIX-h3" "$PREFIX-h4")

usage() {
    cat <<USAGE
usage: sudo scripts/netns.sh [--keep | --down | --help] [-- SOCKSPEC-RUN-ARGS...]

Builds a small Ethernet LAN from named network namespaces and runs the
multicast cases (mcast.*) of sockspec across it:

  $PREFIX-switch   bridges br0 (segment A) and br1 (segment B), snooping off
  $PREFIX-h1       eth0 198.51.100.11/24 (A), eth1 203.0.113.1/24 (B)
  $PREFIX-h2       eth0 198.51.100.12/24 (A)
  $PREFIX-h3       eth0 198.51.100.13/24 (A)
  $PREFIX-h4       eth0 203.0.113.4/24   (B)

Every host routes 224.0.0.0/4 out of its eth0. The addresses exist only in
these namespaces. Everything is removed on exit, on error and on Ctrl-C.

  --keep   leave the LAN up afterwards and print how to enter each host
  --down   remove a LAN left up by --keep, and exit
  --help   this text

Arguments after -- go to 'sockspec run' (default: 'mcast.*').
The sockspec binary is built with cargo (wherever CARGO_TARGET_DIR puts it)
unless SOCKSPEC_BIN names one.
USAGE
}

keep=0
down=0
run_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --keep) keep=1 ;;
        --down) down=1 ;;
        --) shift; run_args=("$@"); break ;;
        *) echo "netns.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ ${#run_args[@]} -gt 0 ] || run_args=('mcast.*')

if [ "$(id -u)" -ne 0 ]; then
    echo "netns.sh: must run as root (named namespaces live in /run/netns): sudo scripts/netns.sh" >&2
    exit 1
fi
need ip iproute2

teardown() {
    for ns in "${NAMESPACES[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

if [ "$down" = 1 ]; then
    present=()
    for ns in "${NAMESPACES[@]}"; do
        [ -e "/run/netns/$ns" ] && present+=("$ns")
    done
    if [ ${#present[@]} -eq 0 ]; then
        echo "netns.sh: no LAN to remove (none of ${NAMESPACES[*]} exists)" >&2
        exit 0
    fi
    teardown
    echo "netns.sh: removed ${present[*]}" >&2
    exit 0
fi

for ns in "${NAMESPACES[@]}"; do
    if [ -e "/run/netns/$ns" ]; then
        echo "netns.sh: namespace $ns already exists (a LAN kept with --keep?); remove it with: sudo scripts/netns.sh --down" >&2
        exit 1
    fi
done

# Human messages go to stderr: stdout is exactly sockspec's report.
say() { echo "$@" >&2; }

on_exit() {
    status=$?
    if [ "$keep" = 1 ] && [ "$status" = 0 ]; then
        say
        say "The LAN is still up. Enter a host with:"
        for ns in "${NAMESPACES[@]}"; do say "  sudo ip netns exec $ns bash"; done
        say "Remove it with:"
        say "  sudo scripts/netns.sh --down"
    else
        teardown
    fi
    exit "$status"
}

if [ -n "${SOCKSPEC_BIN:-}" ]; then
    bin=$SOCKSPEC_BIN
else
    need_rust
    bin=$(build_sockspec)
fi

# `ip -n NS` enters NS by remounting /sys in a mount namespace of its own,
# and a mount waits for the kernel's RCU grace period: under load (other
# namespaces being made and freed) each call took up to 0.9 s here. So each
# namespace is entered once, with one batch of commands (`ip -batch`).
in_ns() {
    ip -n "$1" -batch -
}

build_and_run() {
    local sw=$PREFIX-switch
    local h
    ip netns add "$sw"
    for h in 1 2 3 4; do
        ip netns add "$PREFIX-h$h"
    done

    # host  interface  segment(0=A,1=B)  address
    local plan=(
        "1 eth0 0 198.51.100.11"
        "1 eth1 1 203.0.113.1"
        "2 eth0 0 198.51.100.12"
        "3 eth0 0 198.51.100.13"
        "4 eth0 1 203.0.113.4"
    )
    local row ifname seg addr port
    {
        echo "link set lo up"
        for br in br0 br1; do
            echo "link add $br type bridge mcast_snooping 0"
            echo "link set $br up"
        done
        for row in "${plan[@]}"; do
            read -r h ifname seg addr <<<"$row"
            port=sw$h-$ifname
            echo "link add $port type veth peer name $ifname netns $PREFIX-h$h"
            echo "link set $port master br$seg up"
        done
    } | in_ns "$sw"
    for h in 1 2 3 4; do
        {
            echo "link set lo up"
            for row in "${plan[@]}"; do
                local host
                read -r host ifname seg addr <<<"$row"
                [ "$host" = "$h" ] || continue
                echo "link set $ifname address 02:00:00:00:0$seg:0$h"
                echo "addr add $addr/24 dev $ifname"
                echo "link set $ifname up"
                if [ "$ifname" = eth0 ]; then
                    echo "route add 224.0.0.0/4 dev eth0"
                fi
            done
        } | in_ns "$PREFIX-h$h"
    done

    say "LAN up: ${NAMESPACES[*]}"
    say "running: sockspec run ${run_args[*]} across it"
    say
    SOCKSPEC_NETNS_PREFIX=$PREFIX "$bin" run "${run_args[@]}"
}

# The LAN is built and used in a background job that this shell waits for.
# A Ctrl-C then always reaches the trap below: bash runs an INT trap after a
# foreground command only if that command died of SIGINT, so a signal landing
# just as an `ip` call exits normally would be dropped and the script would
# carry on; the `wait` builtin, by contrast, returns at once on a trapped
# signal. (The job itself ignores SIGINT, as background jobs of scripts do:
# it is stopped here, then the LAN is removed.)
trap on_exit EXIT
interrupted=
trap 'interrupted=130' INT
trap 'interrupted=143' TERM
build_and_run &
job=$!
status=0
wait "$job" || status=$?
if [ -n "$interrupted" ]; then
    kill -TERM "$job" 2>/dev/null || true
    pkill -TERM -P "$job" 2>/dev/null || true
    wait "$job" 2>/dev/null || true
    exit "$interrupted"
fi
exit "$status"
