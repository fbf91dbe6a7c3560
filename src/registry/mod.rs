//! Registry: everything that talks to the update server — HTTP with the URL policy, the Capgo check protocol, resumable downloads, stats, channels, and the dev registry.

pub mod answer;
pub mod check;
pub mod download;
pub mod http;
#[cfg(feature = "serve")]
pub mod serve;
pub mod stats;
pub mod tls;
pub mod transport;
pub mod update;
