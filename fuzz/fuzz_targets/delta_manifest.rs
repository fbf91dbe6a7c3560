#![no_main]
//! Fuzz target `delta_manifest`: see fuzz/targets.rs.
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::delta_manifest(data));
