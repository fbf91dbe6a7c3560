#![no_main]
//! Fuzz target `state_file`: the body is `liveupdate::fuzz::state_file` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::state_file(data));
