//! Delta: releases published as a manifest of individually signed files (Capgo `bundle upload --delta`), planned before any transfer.
//!
//! The flow is plan → fetch → assemble (`docs/engine.md`, shared notes `delta-updates.md`). This
//! module has the plan: the manifest parsed strictly and every entry checked — signature, target
//! name, URL, limits — so a hostile or broken manifest is refused before one byte is downloaded.

pub mod plan;

pub use plan::{DeltaTrust, ManifestEntry, Plan, PlannedFile, parse_manifest, plan};
