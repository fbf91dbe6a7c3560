//! Store: the data folder — its lock, versioned state file, bundle folders and every other path in it (delta pool and file indexes, verified hashes, trash) with their clean-up — the pure state machine, and the locked, crash-safe operations on bundles.

pub(crate) mod bundles;
mod folder;
pub(crate) mod index;
pub(crate) mod known;
pub(crate) mod leftovers;
pub(crate) mod pool;
pub(crate) mod state;

pub(crate) use bundles::{BundleStore, ReuseSources};
pub use bundles::{LaunchResult, ReadyResult, Status};
pub(crate) use folder::*;
pub(crate) use pool::{Candidate, POOL_MAX_AGE, Pool};

#[cfg(test)]
mod tests;
