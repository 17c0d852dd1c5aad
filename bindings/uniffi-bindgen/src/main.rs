//! Generates the Kotlin, Swift and Python bindings from the built library
//! (library mode): `uniffi-bindgen generate --library <lib> --language <l> --out-dir <d>`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
