//! Logging: the `log` facade routed to logcat (Android), os_log (Apple) and, when the host installs one, a foreign sink.

use std::sync::{Mutex, OnceLock};

/// Receives the library's log lines in the host (Kotlin, Swift).
#[uniffi::export(callback_interface)]
pub trait LogSink: Send + Sync {
    /// One line: `level` is `error`, `warn`, `info`, `debug` or `trace`.
    fn log(&self, level: String, message: String);
}

static SINK: Mutex<Option<Box<dyn LogSink>>> = Mutex::new(None);
static INSTALLED: OnceLock<()> = OnceLock::new();

struct Forwarder {
    #[cfg(target_os = "android")]
    platform: android_logger::AndroidLogger,
    #[cfg(target_vendor = "apple")]
    platform: oslog::OsLogger,
}

impl log::Log for Forwarder {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        #[cfg(any(target_os = "android", target_vendor = "apple"))]
        self.platform.log(record);
        if let Ok(sink) = SINK.lock()
            && let Some(s) = sink.as_ref()
        {
            s.log(
                record.level().as_str().to_lowercase(),
                record.args().to_string(),
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the platform logger once (logcat on Android, os_log on Apple; nothing elsewhere, so
/// a host program's own logger is left alone). Called by the bindings' constructor.
pub fn init_platform() {
    #[cfg(any(target_os = "android", target_vendor = "apple"))]
    install(log::LevelFilter::Info);
}

fn install(level: log::LevelFilter) {
    INSTALLED.get_or_init(|| {
        let forwarder = Forwarder {
            #[cfg(target_os = "android")]
            platform: android_logger::AndroidLogger::new(
                android_logger::Config::default().with_tag("liveupdate"),
            ),
            #[cfg(target_vendor = "apple")]
            platform: oslog::OsLogger::new("app.liveupdate"),
        };
        // Installed once for the life of the process.
        if log::set_logger(Box::leak(Box::new(forwarder))).is_ok() {
            log::set_max_level(level);
        }
    });
}

/// Forwards the library's log lines at `level` (`error` … `trace`, or `off`) to `sink`.
#[uniffi::export]
pub fn set_log_sink(sink: Box<dyn LogSink>, level: String) {
    let filter = level.parse().unwrap_or(log::LevelFilter::Info);
    if let Ok(mut slot) = SINK.lock() {
        *slot = Some(sink);
    }
    install(filter);
    log::set_max_level(filter);
}
