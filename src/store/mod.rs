//! Store: the data folder (lock, versioned state file, bundle folders), the pure state machine, and the locked, crash-safe lifecycle operations on it.

mod folder;
pub mod lifecycle;
pub mod state;

pub use folder::*;
