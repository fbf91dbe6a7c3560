//! The command line's library part: the development registry and static site server (`serve`) and the static site publisher (`publish`), shared by the `liveupdate` binary, its tests and the benchmark.

pub mod publish;
pub mod serve;
