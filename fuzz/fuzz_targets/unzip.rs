#![no_main]
//! Fuzz target `unzip`: the body is `liveupdate::fuzz::unzip` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::unzip(data));
