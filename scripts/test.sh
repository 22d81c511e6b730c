#!/usr/bin/env bash
# Runs the test suite: one test per catalogue case, plus the CLI, rootless,
# sabotage (LD_PRELOAD shim) and no-residue tests. Installs what it needs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust
cd "$SOCKSPEC_ROOT"
exec cargo test "$@"
