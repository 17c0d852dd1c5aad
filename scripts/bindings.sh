#!/usr/bin/env bash
# Builds the uniffi library and generates the Kotlin, Swift and Python bindings
# from it (library mode). Output: target/bindings/{kotlin,swift,python}.
# The library is also copied to target/bindings/lib/ (where the Kotlin tests
# load it from).
# Usage: scripts/bindings.sh [--release | --from-test-build]
#   --from-test-build: use the library that `cargo test --workspace --exclude
#   uniffi-bindgen` built (scripts/test-all.sh), rather than building it again
#   with the features of sealshare-ffi alone.
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -s)" in
    Darwin) name=libsealshare_ffi.dylib ;;
    *) name=libsealshare_ffi.so ;;
esac
case "${1:-}" in
    --release)
        cargo build --locked -p sealshare-ffi --release
        lib="target/release/$name" ;;
    --from-test-build)
        # A no-op right after the test build; it builds what is missing.
        cargo test --locked --workspace --exclude uniffi-bindgen --no-run -q
        lib="target/debug/deps/$name" ;;
    "")
        cargo build --locked -p sealshare-ffi
        lib="target/debug/$name" ;;
    *)
        echo "usage: scripts/bindings.sh [--release | --from-test-build]" >&2
        exit 2 ;;
esac
cargo build --locked -p uniffi-bindgen --profile bindgen

out=target/bindings
rm -rf "$out"
for language in kotlin swift python; do
    target/bindgen/uniffi-bindgen generate --library "$lib" \
        --language "$language" --out-dir "$out/$language" --no-format
done
# The Python module loads the library from its own folder.
cp "$lib" "$out/python/"
mkdir -p "$out/lib"
cp "$lib" "$out/lib/"
echo "bindings generated in $out from $lib"
