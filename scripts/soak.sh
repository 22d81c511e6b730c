#!/usr/bin/env bash
# Soak test: runs the whole catalogue RUNS times in a row (default 100),
# optionally while stress-ng keeps every core busy, and prints the number of
# runs, the failures per case and the slowest time of each case.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
    cat <<USAGE
usage: scripts/soak.sh [RUNS] [--stress]
  RUNS      how many full runs (default 100)
  --stress  run stress-ng --cpu \$(nproc) for the whole soak (installed if missing)
USAGE
}

runs=100
stress=0
for a in "$@"; do
    case "$a" in
        -h|--help) usage; exit 0 ;;
        --stress) stress=1 ;;
        ''|*[!0-9]*) echo "soak.sh: bad argument '$a' (see --help)" >&2; exit 2 ;;
        *) runs=$a ;;
    esac
done

need_rust
bin=$(build_sockspec)
work=$(mktemp -d)
stress_pid=
cleanup() {
    [ -n "$stress_pid" ] && kill "$stress_pid" 2>/dev/null && wait "$stress_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$stress" = 1 ]; then
    need stress-ng stress-ng
    stress-ng --cpu "$(nproc)" --quiet &
    stress_pid=$!
fi

failed_runs=0
start=$(date +%s%N)
for i in $(seq 1 "$runs"); do
    # Progress on a terminal only; logs and pipes stay quiet.
    [ -t 2 ] && printf '\r\033[2K  run %d/%d, %d with failures' "$i" "$runs" "$failed_runs" >&2
    if ! "$bin" run --format ktap --artifacts "$work/artifacts" > "$work/run-$i.ktap"; then
        failed_runs=$((failed_runs + 1))
    fi
done
total_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ -t 2 ] && printf '\r\033[2K' >&2

echo "soak: $runs runs$([ "$stress" = 1 ] && echo " under stress-ng --cpu $(nproc)"), $failed_runs with a failure or error, ${total_ms} ms in all"
echo
echo "failures per case (fail or error):"
cat "$work"/run-*.ktap | awk '/^not ok / { n[$4]++ } END { if (length(n) == 0) print "  none"; for (id in n) printf "  %-36s %d\n", id, n[id] }'
echo
echo "slowest time per case (ms), ten slowest:"
# sed, not head: head leaves once it has ten lines, and sort, still writing,
# dies of SIGPIPE, which pipefail made the soak's exit status (141).
cat "$work"/run-*.ktap | awk -F'[ :,]+' '/^# [a-z0-9_]+\.[^ ]*: verdict/ { id = $2; ms = $(NF-1) + 0; if (ms > max[id]) max[id] = ms } END { for (id in max) printf "  %-36s %6d\n", id, max[id] }' | sort -k2 -n -r | sed -n '1,10p'
if [ -d "$work/artifacts" ]; then
    mkdir -p sockspec-artifacts && cp "$work"/artifacts/* sockspec-artifacts/ 2>/dev/null || true
    echo; echo "captures of failing cases copied to sockspec-artifacts/"
fi
[ "$failed_runs" = 0 ]
