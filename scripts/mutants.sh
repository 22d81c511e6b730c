#!/usr/bin/env bash
# Mutation score of the catalogue: cargo-mutants over src/cases/ (or the files
# given), one file at a time, printing caught / missed / unviable per file and
# the share of viable mutants caught. A mutant of a case file is tested by
# that file's judgement tables (cargo test --lib) and by running that file's
# cases in their namespaces (tests/cases.rs with SOCKSPEC_AREA).
#
#   scripts/mutants.sh                          every file of src/cases/
#   scripts/mutants.sh src/cases/linger.rs      one file
#   scripts/mutants.sh --shard 1/4 FILE...      a quarter of each file's mutants
#
# A benchmark, not a test: it prints figures and exits 0 unless cargo-mutants
# itself fails to run. Reports go to mutants/<area>/ in cargo's target
# directory (target/mutants/<area>/ unless CARGO_TARGET_DIR says otherwise).
# FILEs are relative to the current directory, like any command's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

shard=()
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --shard) [[ "${2:-}" =~ ^[0-9]+/[0-9]+$ ]] || { echo "mutants.sh: --shard takes K/N, e.g. 1/4" >&2; exit 2; }
                 shard=(--shard "$2"); shift ;;
        -*) echo "mutants.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) [ -f "$1" ] || { echo "mutants.sh: no such file '$1'" >&2; exit 2; }
           f=$(realpath --relative-to="$SOCKSPEC_ROOT" "$1")
           case "$f" in ../*) echo "mutants.sh: '$1' is not in this checkout ($SOCKSPEC_ROOT)" >&2; exit 2 ;; esac
           files+=("$f") ;;
    esac
    shift
done
cd "$SOCKSPEC_ROOT"
if [ ${#files[@]} -eq 0 ]; then
    for f in src/cases/*.rs; do
        case "$f" in */mod.rs|*/selftest.rs) ;; *) files+=("$f") ;; esac
    done
fi

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "mutants.sh: installing cargo-mutants (once)" >&2
    cargo install --locked cargo-mutants >&2
fi

count() { if [ -f "$1" ]; then grep -c . "$1" || true; else echo 0; fi; }
target=$(target_dir)

printf '%-28s %7s %7s %9s %8s %8s\n' file caught missed unviable timeout score
for f in "${files[@]}"; do
    area=$(basename "$f" .rs)
    out=$target/mutants/$area
    rm -rf "$out"
    mkdir -p "$out"
    # cargo-mutants exits non-zero when mutants are missed: that is a figure, not an error.
    SOCKSPEC_AREA=$area cargo mutants --file "$f" "${shard[@]}" --output "$out" \
        --cargo-test-arg=--lib --cargo-test-arg=--test=cases >"$out/run.log" 2>&1 || true
    dir=$out/mutants.out
    if [ ! -f "$dir/outcomes.json" ]; then
        echo "mutants.sh: cargo-mutants did not run on $f (see $out/run.log)" >&2
        exit 1
    fi
    caught=$(count "$dir/caught.txt"); missed=$(count "$dir/missed.txt")
    unviable=$(count "$dir/unviable.txt"); timeout=$(count "$dir/timeout.txt")
    viable=$((caught + missed + timeout))
    score=$(awk -v c="$caught" -v t="$timeout" -v v="$viable" 'BEGIN { if (v == 0) print "-"; else printf "%.0f%%", 100 * (c + t) / v }')
    printf '%-28s %7s %7s %9s %8s %8s\n' "$f" "$caught" "$missed" "$unviable" "$timeout" "$score"
done
echo "missed mutants are listed in $target/mutants/<area>/mutants.out/missed.txt"
