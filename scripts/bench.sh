#!/usr/bin/env bash
# Prints what the catalogue costs: for one run and for `--repeat 4`, the wall
# time, the CPU time of the whole process tree, the five costliest cases by
# CPU, the ratio to the longest case and the bulk cases; first the sandbox's
# cost per case. Exits 1 when a run is over its budget (see
# benches/catalogue.rs). Run it on a quiet machine: other load inflates it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust
cd "$SOCKSPEC_ROOT"
exec cargo bench --quiet --bench catalogue
