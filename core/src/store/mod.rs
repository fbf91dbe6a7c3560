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

/// Entries every clean-up loop handles even past its deadline (one `stat`, one unlink or rename
/// each): what one crash leaves is gone after one launch however slow the CPU (found on armv7 and
/// aarch64 under QEMU); thousands of entries still wait for the background steps.
const SWEEP_FLOOR: usize = 64;

/// Whether a clean-up loop that has handled `seen` entries stops now: past `deadline`, and past
/// [`SWEEP_FLOOR`]. The one rule of every sweep of the data folder.
pub(crate) fn sweep_stops(seen: usize, deadline: std::time::Instant) -> bool {
    seen >= SWEEP_FLOOR && std::time::Instant::now() >= deadline
}

#[cfg(test)]
mod tests;
