//! Registry: the client of one app's update server — the request identity (info object), the update check, stats delivery, rate limits — with every request under the URL policy and the deadlines.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::config::{AppIdentity, Config};
use crate::error::{Error, Result};
use crate::net::check::{self, CheckResult};
use crate::net::http::{BodyCap, Http, HttpConfig, Method};
use crate::net::stats::{self, Action, Event, SendOutcome};
use crate::store::BundleStore;
use crate::store::state::{BUILTIN, State};

/// What [`Registry::latest`] received: the typed result, the answer as Capgo's JS shows it, and
/// the stats the check caused (for the caller to publish).
#[derive(Debug, Clone)]
pub(crate) struct Latest {
    /// The typed reading (an offered release carries its manifest).
    pub result: CheckResult,
    /// The server's answer as Capgo's JS shows it (its fields plus `statusCode`, without the
    /// manifest, which `result` carries), or Capgo's `{error, message, kind}` for a transport
    /// failure; empty when checks are disabled.
    pub raw: Map<String, Value>,
    /// Stats the exchange itself caused (`rate_limit_reached`).
    pub stats: Vec<Event>,
}

impl Latest {
    /// A check that failed: Capgo's `{error, message, kind: "failed"}` (+ `statusCode`) as JS
    /// shows it, and the typed result.
    pub(crate) fn failed(error: &str, message: String, status: Option<u16>) -> Self {
        let mut raw = Map::new();
        raw.insert("error".into(), json!(error));
        raw.insert("message".into(), json!(message));
        raw.insert("kind".into(), json!("failed"));
        if let Some(s) = status {
            raw.insert("statusCode".into(), json!(s));
        }
        Latest {
            result: CheckResult::Failed {
                error: error.into(),
                message,
                status,
            },
            raw,
            stats: Vec::new(),
        }
    }
}

/// The client of one app's update server: the bundle store (whose state holds the device id,
/// channel and rate limit), the app's identity and an HTTP client. Cheap to share; rebuilt when
/// the app changes a URL, its id or its custom id at run time.
pub(crate) struct Registry {
    store: BundleStore,
    app: AppIdentity,
    http: Http,
    cancel: Arc<AtomicBool>,
    /// The deadline of the running update, which its requests must also meet.
    deadline: std::sync::Mutex<Option<Instant>>,
    hooks: crate::hooks::Hooks,
}

impl Registry {
    /// The client for `store`'s app, identified by `app`; requests are cancelled through
    /// `cancel`. `allow_insecure` permits plain http to non-loopback hosts (development only);
    /// `transport` is the app's HTTP stack, if it gave one. No I/O.
    pub fn new(
        store: BundleStore,
        app: AppIdentity,
        allow_insecure: bool,
        cancel: Arc<AtomicBool>,
        hooks: &crate::hooks::Hooks,
    ) -> Self {
        let cfg = store.config();
        let http = Http::new(
            HttpConfig {
                timeout: Duration::from_secs(cfg.response_timeout_s),
                user_agent: check::user_agent(cfg, &app),
                allow_insecure,
            },
            hooks,
        );
        Self {
            store,
            app,
            http,
            cancel,
            deadline: std::sync::Mutex::new(None),
            hooks: hooks.clone(),
        }
    }

    /// The platform's hooks this client was built with.
    pub fn hooks(&self) -> &crate::hooks::Hooks {
        &self.hooks
    }

    /// The HTTP client (downloads use it directly).
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The flag that cancels this client's requests.
    pub fn cancel(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    /// The bundle store.
    pub fn store(&self) -> &BundleStore {
        &self.store
    }

    /// What the app says about itself.
    pub fn app(&self) -> &AppIdentity {
        &self.app
    }

    pub(crate) fn config(&self) -> &Config {
        self.store.config()
    }

    /// Runs `f` as one update whose requests all end by `deadline`.
    pub fn within<T>(&self, deadline: Instant, f: impl FnOnce() -> T) -> T {
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(deadline);
        let out = f();
        *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        out
    }

    /// When a request started now must be over: the running update's deadline if one is set,
    /// else the response timeout (applied by [`Http::json_until`] in any case).
    pub fn request_deadline(&self) -> Instant {
        let own = crate::time::after(Duration::from_secs(self.config().response_timeout_s));
        match *self
            .deadline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(d) => d.min(own),
            None => own,
        }
    }

    /// The info object and the current version name, read from (and, for a first device id,
    /// written to) the state the caller holds under the store lock.
    pub fn info_from(&self, state: &mut State) -> Result<(Value, String)> {
        let device_id = match &self.app.device_id {
            Some(id) => id.clone(),
            None => match &state.device_id {
                Some(id) => id.clone(),
                None => {
                    let id = uuid_v4()?;
                    state.device_id = Some(id.clone());
                    id
                }
            },
        };
        let builtin_version = self.store.builtin_info().version;
        let current = match state.get(&state.current) {
            Some(b) if state.current != BUILTIN => b.version.clone(),
            _ => builtin_version,
        };
        let channel = state
            .channel
            .clone()
            .unwrap_or_else(|| self.config().default_channel.clone());
        let info = check::info_object(self.config(), &self.app, &device_id, &current, &channel);
        Ok((info, current))
    }

    /// The info object every request carries, and the current version name. One locked step
    /// (a first device id is generated and kept).
    pub fn info(&self) -> Result<(Value, String)> {
        self.store.with_state(|_, state| self.info_from(state))
    }

    /// The device id sent to the server (generated and persisted on first use).
    pub fn device_id(&self) -> Result<String> {
        let (info, _) = self.info()?;
        Ok(info
            .get("device_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Queues stats events durably in one locked step (nothing when `statsUrl` is empty): the
    /// one writer of the stats queue, called only by the engine's `publish`. Never fails the
    /// caller's operation.
    pub fn enqueue_stats(&self, events: &[Event]) {
        let now = self.store.now_ms();
        let timed: Vec<(Event, u64)> = events.iter().map(|e| (e.clone(), now)).collect();
        self.enqueue_stats_at(&timed);
    }

    /// [`Registry::enqueue_stats`] for events that happened earlier, each with its time (ms):
    /// stats a launch deferred (see the engine's `publish`).
    pub fn enqueue_stats_at(&self, events: &[(Event, u64)]) {
        if self.config().stats_url.is_empty() || events.is_empty() {
            return;
        }
        let result = self.store.with_state(|folder, state| {
            let (info, _) = self.info_from(state)?;
            stats::enqueue(
                folder,
                events.iter().map(|(e, at)| e.to_json(&info, *at)).collect(),
            )
        });
        if let Err(e) = result {
            log::warn!("cannot queue stats: {e}");
        }
    }

    /// True when queued stats wait to be sent.
    pub fn stats_pending(&self) -> bool {
        self.store
            .with_state(|folder, _| Ok(!stats::snapshot(folder).is_empty()))
            .unwrap_or(false)
    }

    /// Sends queued stats until the queue is empty, a send must be retried later, or `budget` is
    /// spent. Returns how many events were delivered. Blocks; network I/O.
    pub fn flush_stats(&self, budget: Duration) -> Result<usize> {
        let url = self.config().stats_url.clone();
        if url.is_empty() {
            self.store.with_state(|folder, _| stats::clear(folder))?;
            return Ok(0);
        }
        let deadline = crate::time::after(budget);
        let mut delivered = 0;
        while Instant::now() < deadline {
            let (batch, blocked) = self.store.with_state(|folder, state| {
                Ok((
                    stats::snapshot(folder),
                    state.rate_limit_in_force(self.store.now_ms()),
                ))
            })?;
            if batch.is_empty() || blocked.is_some() {
                break;
            }
            let (outcome, limit) = stats::send(&self.http, &url, &batch, deadline);
            match outcome {
                SendOutcome::Delivered | SendOutcome::Refused => {
                    if outcome == SendOutcome::Delivered {
                        delivered += batch.len();
                    }
                    self.store
                        .with_state(|folder, _| stats::remove(folder, &batch))?;
                }
                SendOutcome::RateLimited => {
                    if let Some((retry_after, body)) = limit {
                        self.note_rate_limit(retry_after.as_deref(), &body, None)?;
                    }
                    break;
                }
                SendOutcome::Retry => break,
            }
        }
        Ok(delivered)
    }

    /// Records a 429: blocks requests until the hinted time (capped at 24 h), persisted. Returns
    /// whether this starts a block (none was in force).
    pub fn note_rate_limit(
        &self,
        retry_after: Option<&str>,
        body: &[u8],
        error: Option<(String, String)>,
    ) -> Result<bool> {
        let Some(until) = check::rate_limit_until(retry_after, body, self.store.now_ms()) else {
            return Ok(false);
        };
        self.store.with_state(|_, state| {
            let first = state
                .rate_limited_until_ms
                .is_none_or(|t| t < self.store.now_ms());
            state.rate_limited_until_ms = Some(until);
            if let Some(e) = error {
                state.rate_limit_error = Some(e);
            }
            Ok(first)
        })
    }

    /// The error a request gets while a 429 block is in force, if one is.
    pub fn blocked_now(&self) -> Result<Option<(String, String)>> {
        self.store.with_state(|_, state| {
            Ok(match state.rate_limit_in_force(self.store.now_ms()) {
                Some(_) => Some(
                    state
                        .rate_limit_error
                        .clone()
                        .unwrap_or(("too_many_requests".into(), "Too many requests".into())),
                ),
                None => None,
            })
        })
    }

    /// The update check with the server's answer kept as Capgo's JS `getLatest` shows it:
    /// `channel` overrides the device's channel and `app_id` the app id for this request only.
    /// Transport failures become `{error, message, kind: "failed"}` maps, as in Capgo. Blocks;
    /// network I/O.
    pub fn latest(&self, channel: Option<&str>, app_id: Option<&str>) -> Result<Latest> {
        let fail = Latest::failed;
        if self.config().update_url.is_empty() {
            return Ok(Latest {
                result: CheckResult::UpToDate {
                    error: Some("disabled".into()),
                    message: "updateUrl is empty: update checks are disabled".into(),
                },
                raw: Map::new(),
                stats: Vec::new(),
            });
        }
        if self.config().static_channels {
            // A signed static site: the same Latest, so the rest is the one update flow.
            return self.static_latest(channel);
        }
        if let Some((error, message)) = self.blocked_now()? {
            return Ok(fail(&error, message, None));
        }
        let (mut info, current) = self.info()?;
        if let Some(o) = info.as_object_mut() {
            if let Some(c) = channel.filter(|c| !c.is_empty()) {
                o.insert("defaultChannel".into(), json!(c));
            }
            if let Some(a) = app_id.filter(|a| !a.is_empty()) {
                o.insert("app_id".into(), json!(a));
            }
        }
        let deadline = self.request_deadline();
        let resp = match self.http.json_until(
            Method::Post,
            &self.config().update_url,
            Some(&info),
            deadline,
            Some(&self.cancel),
            BodyCap::UPDATE,
        ) {
            Ok(r) => r,
            Err(Error::Cancelled) => {
                return Ok(fail(
                    "cancelled",
                    "the update check was cancelled".into(),
                    None,
                ));
            }
            Err(e) => return Ok(fail("network_error", format!("Request failed: {e}"), None)),
        };
        let answer = check::read_answer(&resp.body, resp.truncated);
        // Only a 429's (small) body is needed after this: its hints.
        let hints = if resp.status == 429 {
            resp.body
        } else {
            drop(resp.body);
            Vec::new()
        };
        // The JS view of the answer, without the manifest (`getLatest` adds it when it needs it:
        // a 50,000-entry manifest is not copied into a JSON tree for every check).
        let answered = answer.as_ref().ok().map(|a| a.to_js(resp.status));
        let result = check::classify(resp.status, answer, &current);
        let mut stats = Vec::new();
        if resp.status == 429 {
            let code = match &result {
                CheckResult::Failed { error, message, .. } => {
                    Some((error.clone(), message.clone()))
                }
                _ => None,
            };
            let first = self.note_rate_limit(resp.retry_after.as_deref(), &hints, code.clone())?;
            if first && code.is_some_and(|(e, _)| e == "too_many_requests") {
                stats.push(Event::new(Action::RateLimitReached, &current));
            }
        }
        let raw = match (answered, &result) {
            (Some(m), _) => m,
            (None, CheckResult::Failed { error, message, .. }) => {
                fail(error, message.clone(), Some(resp.status)).raw
            }
            (None, _) => Map::new(),
        };
        Ok(Latest { result, raw, stats })
    }
}

/// A random lowercase UUID v4.
pub(crate) fn uuid_v4() -> Result<String> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 16];
    SystemRandom::new().fill(&mut b).map_err(|_| Error::Io {
        op: "reading the system random generator",
        path: Default::default(),
        source: std::io::Error::other("no randomness available"),
    })?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::bundle::checksum::to_hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
