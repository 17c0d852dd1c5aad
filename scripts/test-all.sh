#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit and integration tests,
# the external and frozen test vectors. Installs what it needs, idempotently.
# Usage: bash scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
# Each step says how long the run has taken so far, to see where time goes.
step() { printf '\n==> [%ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }
# CI builds from a clean tree once: incremental compilation only costs there.
if [[ -n "${CI:-}" ]]; then
  export CARGO_INCREMENTAL=0
fi
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

step "toolchain components (rustfmt, clippy)"
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

step "rustfmt --check"
cargo fmt --all -- --check

step "clippy, warnings denied"
cargo clippy --workspace --exclude uniffi-bindgen --all-targets --locked -- -D warnings
# The core alone again with its test-vectors feature. (One pass over the
# workspace with the feature on took longer: the documentation step below
# could then reuse less of it.)
cargo clippy -p sealshare --all-targets --locked --features test-vectors -- -D warnings

step "documentation: no broken or private links, only the domain API at the crate root"
bash scripts/check-doc-surface.sh

step "moto's S3 server (PyPI), for the server's S3 test (server/tests/s3.rs, which also installs it if missing)"
if ! python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi

step "cargo test"
# The transport's, the command line's and the Kotlin tests run the server
# binary this build makes, rather than each building it again with the
# features of sealshare-server alone (tests/support/server_process.rs).
export SEALSHARE_SERVER_BIN="$PWD/target/debug/sealshare-server"
cargo test --workspace --exclude uniffi-bindgen --locked 2>&1 | tee "$log_dir/cargo-test.log"

step "cargo test: the server's tests on PostgreSQL (a throwaway cluster, scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop || true; rm -rf "$log_dir"' EXIT
pg_env=$(bash scripts/postgres.sh start)
eval "$pg_env"
# The server's test binaries as the workspace build made them (`cargo test
# -p sealshare-server` would build them again, with that package's features
# alone), run from the package's folder as cargo runs them.
server_tests=$(cargo test --workspace --exclude uniffi-bindgen --locked --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"] \
            and m["manifest_path"].endswith("/server/Cargo.toml"):
        print(m["executable"])
')
if [[ $(wc -w <<< "$server_tests") -lt 5 ]]; then
  echo "found too few of the server's test binaries: $server_tests" >&2
  exit 1
fi
(cd server && for test_binary in $server_tests; do
  SEALSHARE_TEST_STORE=postgres "$test_binary" || exit 1
done) 2>&1 | tee "$log_dir/cargo-test-postgres.log"
bash scripts/postgres.sh stop

step "frozen vectors match the generator (tests/vectors/sealshare_v1.json)"
cargo run --quiet --locked --features test-vectors --bin gen-vectors -- --check

step "supply chain: cargo deny --workspace check licenses bans sources (deny.toml)"
if ! command -v cargo-deny >/dev/null 2>&1; then
  # cargo-deny's own release profile (fat LTO, one codegen unit) took over
  # five minutes to build on CI's two cores; this build takes about three and
  # still checks this workspace in about two seconds.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install --locked cargo-deny
fi
cargo deny --workspace --locked check licenses bans sources

step "bindings: build the library, generate Kotlin, Swift and Python (scripts/bindings.sh)"
bash scripts/bindings.sh --from-test-build

step "bindings: Python (pytest)"
# `cryptography` makes the certificate of the https test (test_server.py).
if ! python3 -c 'import pytest, cryptography' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check pytest cryptography
fi
PYTHONPATH=target/bindings/python python3 -m pytest -q bindings/python 2>&1 | tee "$log_dir/pytest.log"

step "bindings: Kotlin (kotlinc from npm, JDK, JNA) (scripts/test-kotlin.sh)"
bash scripts/test-kotlin.sh 2>&1 | tee "$log_dir/kotlin.log"

cargo_logs=("$log_dir/cargo-test.log" "$log_dir/cargo-test-postgres.log")
passed=$(cat "${cargo_logs[@]}" | grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' | awk '{s+=$4} END {print s+0}')
failed=$(cat "${cargo_logs[@]}" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
pg_passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log_dir/cargo-test-postgres.log" | awk '{s+=$4} END {print s+0}')
py_passed=$(grep -Eo '[0-9]+ passed' "$log_dir/pytest.log" | awk '{s+=$1} END {print s+0}')
kt_passed=$(grep -c -E 'kotlin: (all binding tests|all lifecycle steps|server story) passed' "$log_dir/kotlin.log" || true)
printf '\nAll steps passed.\n'
echo "rust: ${passed} passed (${pg_passed} of them the server's on PostgreSQL), ${failed} failed; python: ${py_passed} passed; kotlin: ${kt_passed} program(s) passed"
echo "total: $((passed + py_passed + kt_passed)) passed, ${failed} failed"
echo "took $(( $(date +%s) - started )) s"
