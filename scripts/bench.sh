#!/usr/bin/env bash
# Prints the benchmark figures: full-run wall time, longest case, per-case
# sandbox overhead next to `unshare -n true`. See benches/catalogue.rs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust
cd "$SOCKSPEC_ROOT"
exec cargo bench --quiet --bench catalogue
