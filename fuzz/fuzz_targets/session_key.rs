#![no_main]
//! Fuzz target `session_key`: the body is `liveupdate::fuzz::session_key` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::session_key(data));
