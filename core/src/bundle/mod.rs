//! Bundle: bytes to a verified, safely extracted folder — keys, session-key unwrap, AES-CBC, signed checksum, safe unzip, atomic publish.
//!
//! Only [`checksum`] can produce the [`checksum::VerifiedZip`] that [`unzip`] accepts, so nothing
//! is parsed as a zip before its SHA-256 matched.

pub mod checksum;
pub mod crypto;
pub mod fs_atomic;
#[cfg(test)]
mod prop_tests;
pub mod unpack;
pub mod unzip;
