#!/usr/bin/env bash
# Builds sockspec and runs the harness: `scripts/run.sh` runs the whole
# catalogue; any arguments go to `sockspec run` (e.g. 'linger.*' --format json).
# Works from any directory (paths in the arguments are relative to it) and
# runs the binary cargo built, wherever CARGO_TARGET_DIR puts it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
need_rust
bin=$(build_sockspec)
exec "$bin" run "$@"
