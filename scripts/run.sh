#!/usr/bin/env bash
# Builds sockspec and runs the harness: `scripts/run.sh` runs the whole
# catalogue; any arguments go to `sockspec run` (e.g. 'linger.*' --format json).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_rust
cargo build --release --quiet
exec target/release/sockspec run "$@"
