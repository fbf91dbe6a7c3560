//! Nothing: see Cargo.toml (dependency features shared by the test and library builds).
