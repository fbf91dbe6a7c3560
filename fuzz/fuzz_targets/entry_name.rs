#![no_main]
//! Fuzz target `entry_name`: see fuzz/targets.rs.
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::entry_name(data));
