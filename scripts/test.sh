#!/usr/bin/env bash
# Runs the test suite: one test per catalogue case, plus the CLI, rootless,
# sabotage (LD_PRELOAD shim) and no-residue tests. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_rust
exec cargo test "$@"
