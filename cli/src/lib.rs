//! The command line's library part: the development registry (`serve`), shared by the `liveupdate` binary and the benchmark.

pub mod serve;
