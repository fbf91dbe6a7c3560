//! liveupdate: the Rust core of a self-hostable, Capgo-compatible over-the-air updater for Capacitor apps.
//!
//! # The data flow, top to bottom
//!
//! ```text
//! received bytes (file or HTTP stream)
//!   │  crypto::PublicKey::from_pem        the app's built-in key (PKCS#1 or SPKI, 2048–4096 bits)
//!   │  crypto::WrappedSessionKey::parse   "base64(iv):base64(rsaBlock)"  → unwrap → SessionKey
//!   │  checksum::ExpectedChecksum::parse  V3 / V2 / plain → the digest the zip must have
//!   ▼
//! unpack::unpack ── crypto::decrypt_stream (AES-128-CBC, PKCS#7, bounded memory)
//!   │               └─ checksum::HashingWriter (SHA-256 in the same pass) → staging/bundle.zip
//!   │  checksum::verify                   the only way to get a VerifiedZip
//!   │  unzip::extract                     safe names, limits while inflating, Capgo flattening, threads
//!   ▼  fs_atomic::Staging::publish        fsync, rename into place, fsync the parent
//! complete bundle folder (or an error, and nothing on disk)
//! ```
//!
//! Around it, the bundle store and lifecycle (`store`, `state`, `lifecycle`):
//!
//! ```text
//! lifecycle::Device::install   unpack into DATA/bundles/<id>, record `pending`       (state.json, atomic)
//! lifecycle::Device::next/set  queue or activate a bundle
//! lifecycle::Device::launch    roll back an unconfirmed previous launch, apply next, sweep,
//!                              record the launch durably, return the web root + launch id
//! lifecycle::Device::notify_app_ready(launch_id)   that bundle → `success` and fallback
//! ```
//!
//! And the network (`registry`): `http::Http` applies the URL policy, follows redirects itself and
//! bounds every exchange; the bytes travel through `transport::HttpTransport` — the app's own HTTP
//! stack (phone builds have no other) — or the built-in client (feature `builtin-http`).
//!
//! Every public item documents whether it does I/O or blocks.
#![deny(unsafe_code)]

uniffi::setup_scaffolding!();

pub mod api;
pub mod bundle;
pub mod config;
pub mod delta;
pub mod engine;
pub mod error;
pub mod logging;
pub mod registry;
pub mod store;
pub mod time;

// Each step keeps its own short path (`liveupdate::unzip`, `liveupdate::download`, …) for hosts,
// tests and the fuzz targets.
pub use api::{c_api, ffi};
pub use bundle::{checksum, crypto, fs_atomic, unpack, unzip};
#[cfg(feature = "serve")]
pub use registry::serve;
pub use registry::{check, download, http, stats, tls, transport, update};
pub use store::{lifecycle, state};

pub use checksum::{ChecksumFormat, ExpectedChecksum, VerifiedZip};
pub use config::{HostInfo, UpdaterConfig};
pub use crypto::{PublicKey, SessionKey, WrappedSessionKey};
pub use download::{DeltaFigures, DownloadStats};
pub use engine::{Engine, EngineOptions, Host, HostAction, Reject};
pub use error::{Error, Result};
pub use lifecycle::{Device, LaunchResult, ReadyResult, Status};
pub use state::{BundleInfo, BundleStatus};
pub use unpack::{BundleTrust, ParsedTrust, UnpackReport, unpack, unpack_file, unpack_parsed};
pub use unzip::{EntryPath, ExtractOptions, Limits};
pub use update::{UpdateOutcome, Updater};
