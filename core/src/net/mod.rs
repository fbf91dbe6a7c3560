//! Net: everything that talks to the update server — HTTP under the URL policy (through the app's transport or the built-in client), server answers read into typed structures, the Capgo check protocol and signed static channels, resumable downloads, stats, channels, and the registry client that ties them to one app.

pub(crate) mod answer;
pub(crate) mod channels;
pub(crate) mod check;
pub(crate) mod download;
pub(crate) mod http;
mod registry;
pub(crate) mod static_channel;
pub(crate) mod stats;
pub mod tls;
pub mod transport;

pub use channels::ServerError;
pub(crate) use registry::Registry;
