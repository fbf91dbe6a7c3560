#![no_main]
//! Fuzz target `delta_manifest`: the body is `liveupdate::fuzz::delta_manifest` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::delta_manifest(data));
