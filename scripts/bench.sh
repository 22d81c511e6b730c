#!/usr/bin/env bash
# Prints the benchmark figures: full-run wall time, longest case, per-case
# sandbox overhead next to `unshare -n true`. See benches/catalogue.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_rust
exec cargo bench --quiet --bench catalogue
