#![no_main]
//! Fuzz target `entry_name`: the body is `liveupdate::fuzz::entry_name` (core/src/fuzz.rs), also replayed over the corpus by the regular tests.

libfuzzer_sys::fuzz_target!(|data: &[u8]| liveupdate::fuzz::entry_name(data));
