#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit and integration tests,
# the external and frozen test vectors. Installs what it needs, idempotently.
# Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

step "toolchain components (rustfmt, clippy)"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

step "rustfmt --check"
cargo fmt --all -- --check

step "clippy, warnings denied"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --workspace --all-targets --locked --features test-vectors -- -D warnings

step "cargo test"
cargo test --workspace --locked 2>&1 | tee "$log_dir/cargo-test.log"

step "frozen vectors match the generator (tests/vectors/sealshare_v1.json)"
cargo run --quiet --locked --features test-vectors --bin gen-vectors -- --check

passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log_dir/cargo-test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log_dir/cargo-test.log" | awk '{s+=$1} END {print s+0}')
printf '\nAll steps passed.\n'
echo "total: ${passed} passed, ${failed} failed"
