//! Errors: one rich internal enum for the whole crate, and the small public enum callers branch on.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong inside the core, with enough context to say what happened.
///
/// Messages never carry key material, session keys or checksums' secret parts: only what a
/// developer needs to find the cause (which input, which entry, which limit).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The public key could not be used (bad PEM, wrong type, unsupported size).
    #[error("bad public key: {0}")]
    PublicKey(String),
    /// The `ivSessionKey` string is malformed or does not unwrap under the public key.
    #[error("bad session key: {0}")]
    SessionKey(String),
    /// The checksum string has a form this updater does not accept.
    #[error("bad checksum: {0}")]
    ChecksumFormat(String),
    /// The bundle's bytes do not hash to the expected checksum.
    #[error(
        "checksum mismatch: the bundle is corrupt, truncated, or not the one the checksum was made for"
    )]
    ChecksumMismatch,
    /// The inputs do not go together (for example a session key without a public key).
    #[error("{0}")]
    Usage(String),
    /// The ciphertext is empty, truncated or its padding is wrong.
    #[error("bad ciphertext: {0}")]
    Decrypt(String),
    /// A zip entry has a name or type that could write outside the bundle folder or is not allowed.
    #[error("unsafe entry name {name:?}: {reason}")]
    UnsafeEntry {
        /// The entry name as written in the zip (lossy UTF-8).
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An extraction limit was exceeded.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The zip is structurally broken (only ever seen on verified bytes, so this is a bad bundle).
    #[error("bad zip: {0}")]
    Zip(String),
    /// A delta (manifest) release is malformed or unsafe (refused before any transfer).
    #[error("bad manifest: {0}")]
    Manifest(String),
    /// A delta file's brotli body does not decode (corrupt or tampered, or over the size cap).
    #[error("bad brotli body: {0}")]
    Brotli(String),
    /// The extracted bundle has no `index.html` at its root.
    #[error("bad bundle: no index.html at the bundle root")]
    MissingIndexHtml,
    /// The destination folder already exists.
    #[error("destination already exists: {0}")]
    DestinationExists(PathBuf),
    /// The configuration is unusable.
    #[error("bad config: {0}")]
    Config(String),
    /// The state file cannot be used (written by a newer version).
    #[error("state file: {0}")]
    StateFormat(String),
    /// Not enough free space for the operation.
    #[error("not enough free space: {needed} bytes needed, {available} available")]
    NoSpace {
        /// Bytes the operation needs (estimate).
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// An operation was refused: `kind` says why (for code that branches), `detail` for people.
    #[error("{detail}")]
    Refused {
        /// Why, typed.
        kind: Refusal,
        /// The human text (ids and versions, no paths).
        detail: String,
    },
    /// The network or the server failed (after retries where they apply).
    #[error("network error: {0}")]
    Network(String),
    /// A URL was refused by policy (plain http to a remote host, bad scheme, redirect loop).
    #[error("refused URL: {0}")]
    UrlPolicy(String),
    /// The operation was cancelled by the host.
    #[error("cancelled")]
    Cancelled,
    /// A filesystem or input/output operation failed.
    #[error("i/o error while {op} {path}: {source}", path = .path.display())]
    Io {
        /// What was being done ("writing", "renaming", ...).
        op: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// No bundle has this id.
    UnknownBundle,
    /// The builtin bundle cannot undergo this operation.
    Builtin,
    /// The bundle's status does not allow it (failed, deleted, unfinished).
    NotServable,
    /// The bundle's files are gone.
    NoFiles,
    /// The bundle is current, next or fallback.
    InUse,
    /// The version label is unusable (empty, `builtin`, too long).
    InvalidVersion,
    /// `downgradePolicy: "refuse"` forbids this version.
    Downgrade,
    /// A reset of the store cancelled this install.
    InstallCancelled,
    /// Another operation of the same kind is running.
    Busy,
    /// The operation ran and its result is a failure (an update that failed).
    Failed,
}

impl Error {
    /// True when the data folder (or its file system) cannot be written: the app must still
    /// start, on its builtin bundle.
    pub fn is_unwritable(&self) -> bool {
        matches!(self, Error::Io { source, .. } if crate::store::is_unwritable(source))
    }

    /// A refusal of `kind`, with a human `detail`.
    pub fn refused(kind: Refusal, detail: impl Into<String>) -> Self {
        Error::Refused {
            kind,
            detail: detail.into(),
        }
    }
}

/// Shorthand for results inside the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the public API returns: the small public error.
pub type PublicResult<T> = std::result::Result<T, LiveUpdateError>;

impl Error {
    /// Wraps an I/O error with the operation and the path it concerned.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl Fn(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            op,
            path: path.clone(),
            source,
        }
    }
}

impl From<zip::result::ZipError> for Error {
    fn from(e: zip::result::ZipError) -> Self {
        Error::Zip(e.to_string())
    }
}

/// The errors callers of the bindings see: few variants, each one a caller can act on.
///
/// `Config`: fix the configuration. `Network`: retry later. `Verification`: the bundle was not made
/// with the app's key or was altered — report it, do not retry the same bundle. `BundleRejected`:
/// the archive is unsafe or over a limit. `Storage`: disk full or unwritable. `Refused`: the
/// operation does not apply (unknown bundle, bundle in use). `Cancelled`: the host cancelled.
/// `Internal`: a bug; please report it. Messages never contain key material.
///
/// Flat across the FFI: in Kotlin and Swift each variant is an exception type whose message is
/// the text below (`LiveUpdateException.Refused`, …).
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum LiveUpdateError {
    /// The configuration or an argument is unusable.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// The network or the server failed.
    #[error("{message}")]
    Network {
        /// What happened.
        message: String,
    },
    /// A key, session key or checksum did not verify.
    #[error("{message}")]
    Verification {
        /// What did not verify.
        message: String,
    },
    /// The bundle's archive is unsafe, broken or over a limit.
    #[error("{message}")]
    BundleRejected {
        /// Why.
        message: String,
    },
    /// The disk is full or a file operation failed.
    #[error("{message}")]
    Storage {
        /// What failed.
        message: String,
    },
    /// The operation does not apply to this bundle or state.
    #[error("{message}")]
    Refused {
        /// Why.
        message: String,
    },
    /// The host cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// An unexpected failure inside the library.
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl From<Error> for LiveUpdateError {
    fn from(e: Error) -> Self {
        Self::from_ref(&e)
    }
}

impl LiveUpdateError {
    /// The public error for an internal one: the one place errors are classified. Public
    /// messages name files by their last component only: no absolute path (which would reveal
    /// the app's container layout) reaches a host, a log shipped by the host, or JS.
    pub fn from_ref(e: &Error) -> Self {
        let message = public_message(e);
        match e {
            Error::Config(_) | Error::Usage(_) | Error::PublicKey(_) | Error::UrlPolicy(_) => {
                LiveUpdateError::Config { message }
            }
            Error::Network(_) => LiveUpdateError::Network { message },
            Error::SessionKey(_)
            | Error::ChecksumFormat(_)
            | Error::ChecksumMismatch
            | Error::Decrypt(_)
            | Error::Brotli(_) => LiveUpdateError::Verification { message },
            Error::UnsafeEntry { .. }
            | Error::Limit(_)
            | Error::Zip(_)
            | Error::MissingIndexHtml
            | Error::Manifest(_) => LiveUpdateError::BundleRejected { message },
            Error::Io { .. } | Error::NoSpace { .. } | Error::StateFormat(_) => {
                LiveUpdateError::Storage { message }
            }
            Error::DestinationExists(_) | Error::Refused { .. } => {
                LiveUpdateError::Refused { message }
            }
            Error::Cancelled => LiveUpdateError::Cancelled,
        }
    }

    /// A stable lowercase code for the kind (`config`, `network`, `verification`,
    /// `bundle_rejected`, `storage`, `refused`, `cancelled`, `internal`), for JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            LiveUpdateError::Config { .. } => "config",
            LiveUpdateError::Network { .. } => "network",
            LiveUpdateError::Verification { .. } => "verification",
            LiveUpdateError::BundleRejected { .. } => "bundle_rejected",
            LiveUpdateError::Storage { .. } => "storage",
            LiveUpdateError::Refused { .. } => "refused",
            LiveUpdateError::Cancelled => "cancelled",
            LiveUpdateError::Internal { .. } => "internal",
        }
    }
}

/// The last component of a path, for public messages.
fn short(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `e`'s message without absolute paths.
fn public_message(e: &Error) -> String {
    match e {
        Error::Io { op, path, source } => {
            format!("i/o error while {op} {}: {source}", short(path))
        }
        Error::DestinationExists(p) => format!("destination already exists: {}", short(p)),
        other => {
            let text = other.to_string();
            // Messages built from paths elsewhere (config, state format): keep only last components.
            text.split(' ')
                .map(|w| {
                    if w.starts_with('/') && w.len() > 1 {
                        short(std::path::Path::new(w.trim_end_matches([',', ':', ';'])))
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for LiveUpdateError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        LiveUpdateError::Internal {
            message: format!("callback failed: {}", e.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_messages_carry_no_absolute_paths() {
        let io = Error::io(
            "opening",
            "/data/user/0/com.app/files/liveupdate/state.json",
        )(io::Error::other("denied"));
        let m = LiveUpdateError::from(io).to_string();
        assert_eq!(m, "i/o error while opening state.json: denied");
        let cfg =
            Error::Config("the builtin web folder /var/mobile/App/public is not a folder".into());
        let m = LiveUpdateError::from(cfg).to_string();
        assert!(!m.contains("/var/"), "{m}");
        assert!(m.contains("public"), "{m}");
    }
}
