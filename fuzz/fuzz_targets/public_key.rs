#![no_main]
//! Fuzz target `public_key`: the body is `liveupdate::fuzz::public_key` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::public_key(data));
