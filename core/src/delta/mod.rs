//! Delta: releases published as a manifest of individually signed files (Capgo `bundle upload --delta`), planned before any transfer, reused from local files and assembled — no network here.
//!
//! The flow is plan → reuse → fetch → assemble: the plan (the manifest parsed strictly and every
//! entry checked — signature, target name, URL, limits — so a hostile or broken manifest is
//! refused before one byte is downloaded); the reuse of local files (installed bundles, the
//! builtin folder, the pool), each re-hashed where it is used; the fetch of the rest (the update
//! flow's step, `update/delta_fetch.rs`), into the store's verified pool; and the assembly of a
//! staging folder published with one rename.

pub(crate) mod assemble;
pub(crate) mod plan;
pub(crate) mod reuse;
#[cfg(test)]
mod tests;

pub(crate) use assemble::assemble;
pub(crate) use plan::{DeltaTrust, ManifestEntry, Plan, PlannedFile, parse_manifest, plan};
pub(crate) use reuse::{Source, locate};
