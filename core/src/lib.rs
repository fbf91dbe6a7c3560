//! liveupdate: the Rust core of a self-hostable, Capgo-compatible over-the-air updater for Capacitor apps.
//!
//! # The flow, top to bottom
//!
//! ```text
//! Engine (the one façade: JS methods, typed operations, lifecycle, timers)   engine/
//!   ├─ transitions: launch · ready · timeout · set · next · reset · delete · error · background
//!   └─ update cycle: check → refuse → fetch (zip | delta) → decide → activate → report
//!        net      the registry client: HTTP under the URL policy, typed answers, check,      net/
//!                 downloads, stats, channels
//!        update   the steps: refuse (downgrade, known-bad), fetch a zip, plan + fetch a delta update/
//!        delta    plan a manifest, reuse local files, assemble a tree (no network)           delta/
//!        bundle   decrypt (AES-128-CBC) · verify (signed SHA-256) · safe unzip · publish     bundle/
//!        store    the data folder: lock, state, bundles, launches, rollback, clean-up        store/
//! every transition and step reports Effects (events, stats, web-view actions) → one publish
//! ```
//!
//! The surfaces only translate: the UniFFI bindings ([`ffi`]), the C ABI ([`c_api`]), the CLI
//! and the Capacitor shells all fill [`EngineOptions`] (through [`HostOptions`]) and drive an
//! [`Engine`]. Tools that only need to open a Capgo bundle use [`unpack`].
#![deny(unsafe_code)]
#![deny(missing_docs)]

uniffi::setup_scaffolding!();

mod api;
mod bundle;
mod config;
mod delta;
mod effects;
mod engine;
mod error;
/// The fuzz targets' bodies (feature `fuzzing`), for `cargo fuzz`; not an API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;
mod hooks;
mod logging;
mod net;
mod store;
mod time;
mod update;

pub use api::{c_api, ffi};
pub use bundle::checksum::ChecksumFormat;
pub use bundle::crypto::PublicKey;
pub use bundle::unpack::{
    BundleTrust, ParsedTrust, UnpackReport, unpack, unpack_file, unpack_parsed,
};
pub use bundle::unzip::{ExtractOptions, Limits};
pub use config::{AppIdentity, AutoUpdateMode, CapacitorConfig, Config};
pub use effects::{Host, HostAction, NoHost, Page};
pub use engine::{Engine, EngineOptions, HostOptions, Reject};
pub use error::LiveUpdateError;
pub use hooks::{
    BuiltinReader, CertificateVerifier, Clock, Hooks, HttpTransport, SystemClock, TransportHead,
    TransportRequest, set_builtin_reader, set_certificate_verifier, set_http_transport,
};
pub use net::ServerError;
pub use net::download::{DeltaFigures, DownloadListener, DownloadStats};
pub use store::state::{BundleInfo, BundleStatus, Rollback};
pub use store::{LaunchResult, ReadyResult, Status};
pub use update::UpdateOutcome;

/// What the publisher of a signed static site (`liveupdate publish`) shares with the device:
/// the format name, the channel-name rule, the rollout bucket, the time format, crash-safe writes.
pub mod static_site {
    pub use crate::net::static_channel::{DEFAULT_CHANNEL, FORMAT, in_rollout, valid_channel};
    pub use crate::time::{iso8601 as format_time, parse_iso8601 as parse_time};

    /// Writes `bytes` to `path` atomically and durably: a temp file in the same folder, flushed,
    /// renamed into place, the folder flushed. Readers see the old or the new file, never a mix.
    /// Blocking file I/O.
    pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        crate::bundle::fs_atomic::write_atomic(path, bytes)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
