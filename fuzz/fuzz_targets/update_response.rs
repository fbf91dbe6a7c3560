#![no_main]
//! Fuzz target `update_response`: the body is `liveupdate::fuzz::update_response` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::update_response(data));
