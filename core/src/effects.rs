//! Effects: what a transition or an update step causes — JS events, stats, web-view actions — in the order it must reach the outside, and the host that receives them.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::net::stats;
use crate::store::state::BundleInfo;

/// A web-view action the shell must carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    /// Load the web view for the first time from `web_root` (plugin load, before the page loads).
    Load(Page),
    /// Point the web view at another (or the same) bundle and reload it.
    Reload(Page),
    /// Show the splash screen (autoSplashscreen, before a direct update).
    SplashShow,
    /// Hide the splash screen (autoSplashscreen, at `appReady`).
    SplashHide,
}

/// One page load: the folder to serve and the launch token that page must confirm with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Absolute folder to serve. For the builtin bundle this is the builtin folder given at
    /// start; shells whose builtin lives elsewhere (Android assets) map `bundle.id == "builtin"`.
    pub web_root: PathBuf,
    /// The token the page passes back with `notifyAppReady`.
    pub launch_id: String,
    /// The bundle served.
    pub bundle: BundleInfo,
}

impl HostAction {
    /// The JSON line form: `{"host": "load"|"reload", "webRoot", "launchId", "bundle"}` or
    /// `{"host": "splashShow"|"splashHide"}`.
    pub fn to_json(&self) -> Value {
        let page = |name: &str, p: &Page| {
            json!({"host": name, "webRoot": p.web_root.to_string_lossy(), "launchId": p.launch_id,
                   "bundle": bundle_json(&p.bundle)})
        };
        match self {
            HostAction::Load(p) => page("load", p),
            HostAction::Reload(p) => page("reload", p),
            HostAction::SplashShow => json!({"host": "splashShow"}),
            HostAction::SplashHide => json!({"host": "splashHide"}),
        }
    }
}

/// A `BundleInfo` as the JS API shows it (Capgo's shape).
pub fn bundle_json(b: &BundleInfo) -> Value {
    json!({"id": b.id, "version": b.version, "downloaded": b.downloaded,
           "checksum": b.checksum, "status": b.status.as_str()})
}

/// What a host receives from the engine. Called from engine threads (the caller's, a download
/// thread or the timer thread) with no engine lock held, so an implementation may call back into
/// the engine. Implementations must not block for long.
pub trait Host: Send + Sync {
    /// An event for the JS listeners (`download`, `set`, `updateFailed`, …) with its payload.
    fn event(&self, name: &str, data: &Value);
    /// A web-view action to carry out now.
    fn action(&self, action: &HostAction);
}

/// One consequence of a transition, in the order it must reach the outside.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A JS event.
    Event(&'static str, Value),
    /// A stats event for the server.
    Stat(stats::Event),
    /// A web-view action.
    Action(HostAction),
}

/// The consequences of one transition. Every transition of the engine returns these, and the
/// engine publishes them in one place, so no path can skip its events or stats.
#[derive(Debug, Clone, Default)]
pub struct Effects(pub Vec<Effect>);

impl Effects {
    /// No effects.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds a JS event.
    pub fn event(&mut self, name: &'static str, data: Value) -> &mut Self {
        self.0.push(Effect::Event(name, data));
        self
    }

    /// Adds a stats event.
    pub fn stat(&mut self, e: stats::Event) -> &mut Self {
        self.0.push(Effect::Stat(e));
        self
    }

    /// Adds a web-view action.
    pub fn action(&mut self, a: HostAction) -> &mut Self {
        self.0.push(Effect::Action(a));
        self
    }
}

/// A host that wants no events or actions: for one-shot hosts (the CLI's `device` commands) and
/// the typed APIs, which report through return values.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHost;

impl Host for NoHost {
    fn event(&self, _: &str, _: &Value) {}
    fn action(&self, _: &HostAction) {}
}
