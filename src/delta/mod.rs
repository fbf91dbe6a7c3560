//! Delta: releases published as a manifest of individually signed files (Capgo `bundle upload --delta`), planned before any transfer.
//!
//! The flow is plan → reuse → fetch → assemble (shared notes `delta-updates.md`). Here so far:
//! the plan (the manifest parsed strictly and every entry checked — signature, target name, URL,
//! limits — so a hostile or broken manifest is refused before one byte is downloaded) and the
//! reuse of local files, each verified in place.

pub mod plan;
pub mod reuse;

pub use plan::{DeltaTrust, ManifestEntry, Plan, PlannedFile, parse_manifest, plan};
pub use reuse::{Reuse, reuse_local};
