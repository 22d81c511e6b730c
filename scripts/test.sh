#!/usr/bin/env bash
# Runs the test suite: one test per catalogue case, the judgement tables, the
# CLI, rootless, sabotage (LD_PRELOAD shim), safe artifacts and no-residue
# tests. Installs what it needs.
#
# With arguments, they go to `cargo test` as they are (scripts/test.sh --test
# cases -- linger.). Without, the suite is built once and its test binaries
# run in three lanes at once, each a `cargo test`: the tests that compare
# machine-wide state before and after a run (residue, netns_script), one after
# the other, with matrix_page's browser; the sabotage test with lint and the
# watchdog test; and every other test binary. The lanes are balanced by what
# each binary costs on two cores beside the others.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust

cd "$SOCKSPEC_ROOT"
if [ $# -gt 0 ]; then
    exec cargo test "$@"
fi

# Lanes 1 and 2 by name; lane 3 is every other file in tests/.
host_state=(residue netns_script matrix_page)
own_lane=(sabotage lint watchdog)
others=()
for f in tests/*.rs; do
    t=$(basename "$f" .rs)
    case " ${host_state[*]} ${own_lane[*]} " in *" $t "*) ;; *) others+=(--test "$t") ;; esac
done
targets() { for t in "$@"; do printf -- '--test\n%s\n' "$t"; done; }
mapfile -t lane1 < <(targets "${host_state[@]}")
mapfile -t lane2 < <(targets "${own_lane[@]}")

cargo test --no-run --quiet

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo test --no-fail-fast "${lane1[@]}" >"$out/1" 2>&1 & p1=$!
cargo test --no-fail-fast "${lane2[@]}" >"$out/2" 2>&1 & p2=$!
cargo test --no-fail-fast --lib --bins "${others[@]}" >"$out/3" 2>&1 & p3=$!
status=0
for p in $p1 $p2 $p3; do
    wait "$p" || status=1
done
for lane in 3 1 2; do
    cat "$out/$lane"
done
# One closing line for the whole suite, counted from the lanes' own.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "\nsuite: %d passed, %d failed, %d ignored\n", p, f, i }' "$out"/1 "$out"/2 "$out"/3
exit "$status"
