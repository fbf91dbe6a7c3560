//! API: translations of the engine for foreign hosts — UniFFI (Kotlin, Swift) and the C ABI. They decide nothing.

pub mod c_api;
pub mod ffi;
