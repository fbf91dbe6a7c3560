//! Delta: releases published as a manifest of individually signed files (Capgo `bundle upload --delta`), planned before any transfer.
//!
//! The flow is plan → reuse → fetch → assemble (shared notes `delta-updates.md`): the plan (the
//! manifest parsed strictly and every entry checked — signature, target name, URL, limits — so a
//! hostile or broken manifest is refused before one byte is downloaded); the reuse of local files
//! (installed bundles, the builtin folder, the pool), each re-hashed where it is used; the fetch
//! of the rest, in parallel, into a verified pool that survives failures; and the assembly of a
//! staging folder published with one rename. The registry client drives it
//! (`registry/update/delta.rs`).

pub mod assemble;
pub mod fetch;
pub mod index;
pub mod known;
pub mod plan;
pub mod reuse;

pub use assemble::{Assembly, assemble};
pub use fetch::{FetchJob, FetchReport, FileFailure, Pool, fetch_into_pool};
pub use known::KnownHashes;
pub use plan::{DeltaTrust, ManifestEntry, Plan, PlannedFile, parse_manifest, plan};
pub use reuse::{BuiltinReader, Candidate, Reuse, Source, locate, reuse_local, set_builtin_reader};
