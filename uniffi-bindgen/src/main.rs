//! Generates the Kotlin and Swift bindings from the built liveupdate library (see bindings/generate.sh).
fn main() {
    uniffi::uniffi_bindgen_main()
}
