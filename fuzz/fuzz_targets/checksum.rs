#![no_main]
//! Fuzz target `checksum`: the body is `liveupdate::fuzz::checksum` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::checksum(data));
