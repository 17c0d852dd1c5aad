#!/usr/bin/env bash
# Builds SealshareFFI.xcframework (iOS devices, iOS simulators, macOS) and the
# generated Swift for bindings/swift. Needs macOS with Xcode and rustup.
# Then: cd bindings/swift && swift test
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
    cargo build --locked --release -p sealshare-ffi --target "$t"
done

# Generate the Swift, header and module map from the host library.
cargo build --locked -p uniffi-bindgen --profile bindgen
gen=target/bindings/swift
rm -rf "$gen"
target/bindgen/uniffi-bindgen generate --library target/aarch64-apple-darwin/release/libsealshare_ffi.dylib \
    --language swift --out-dir "$gen"
headers=target/xcframework/headers
rm -rf "$headers" && mkdir -p "$headers"
cp "$gen"/sealshare_ffiFFI.h "$headers"/
cp "$gen"/sealshare_ffiFFI.modulemap "$headers"/module.modulemap
cp "$gen"/sealshare_ffi.swift bindings/swift/Sources/Sealshare/

fat=target/xcframework
mkdir -p "$fat/ios-sim" "$fat/macos"
lipo -create target/aarch64-apple-ios-sim/release/libsealshare_ffi.a target/x86_64-apple-ios/release/libsealshare_ffi.a \
    -output "$fat/ios-sim/libsealshare_ffi.a"
lipo -create target/aarch64-apple-darwin/release/libsealshare_ffi.a target/x86_64-apple-darwin/release/libsealshare_ffi.a \
    -output "$fat/macos/libsealshare_ffi.a"

rm -rf bindings/swift/SealshareFFI.xcframework
xcodebuild -create-xcframework \
    -library target/aarch64-apple-ios/release/libsealshare_ffi.a -headers "$headers" \
    -library "$fat/ios-sim/libsealshare_ffi.a" -headers "$headers" \
    -library "$fat/macos/libsealshare_ffi.a" -headers "$headers" \
    -output bindings/swift/SealshareFFI.xcframework
echo "built bindings/swift/SealshareFFI.xcframework; run: (cd bindings/swift && swift test)"
