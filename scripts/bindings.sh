#!/usr/bin/env bash
# Builds the uniffi library and generates the Kotlin, Swift and Python bindings
# from it (library mode). Output: target/bindings/{kotlin,swift,python}.
# Usage: scripts/bindings.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
flag=()
if [[ "${1:-}" == "--release" ]]; then
    profile=release
    flag=(--release)
fi

cargo build --locked -p sealshare-ffi "${flag[@]}"
cargo build --locked -p uniffi-bindgen --profile bindgen

case "$(uname -s)" in
    Darwin) lib="target/$profile/libsealshare_ffi.dylib" ;;
    *) lib="target/$profile/libsealshare_ffi.so" ;;
esac

out=target/bindings
rm -rf "$out"
for language in kotlin swift python; do
    target/bindgen/uniffi-bindgen generate --library "$lib" \
        --language "$language" --out-dir "$out/$language" --no-format
done
# The Python module loads the library from its own folder.
cp "$lib" "$out/python/"
echo "bindings generated in $out from $lib"
