//! Channels: the Capgo channel requests (`setChannel` POST, `getChannel` PUT, `listChannels` GET, local `unsetChannel`) and their failure shape.

use serde_json::{Value, json};

use super::Registry;
use crate::error::Result;
use crate::net::answer::{self, ChannelAnswer, ChannelInfo};
use crate::net::http::{BodyCap, Method};
use crate::store::state::BUILTIN;

/// A channel answer: its fields, and its channel list when it had one.
type ChannelReply = (ChannelAnswer, Option<Vec<ChannelInfo>>);

impl Registry {
    /// `setChannel` (POST channelUrl with the info object + `channel`). On success the channel
    /// is remembered (or forgotten when the server answers `unset: true`) and the server's JSON is
    /// returned; a refusal or failure comes back as a [`ServerError`]. Blocks; network I/O.
    pub fn set_channel(&self, channel: &str) -> Result<std::result::Result<Value, ServerError>> {
        if self.config().static_channels {
            return self.static_set_channel(channel);
        }
        let (mut info, _) = self.info()?;
        if let Some(o) = info.as_object_mut() {
            o.insert("channel".into(), json!(channel));
        }
        let (a, _) = match self.channel_call(Method::Post, Some(&info))? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let unset = a.unset.0.unwrap_or(false);
        let channel = channel.to_string();
        self.store().with_state(|_, state| {
            state.channel = if unset { None } else { Some(channel) };
            Ok(())
        })?;
        Ok(Ok(a.to_js()))
    }

    /// `getChannel` (PUT channelUrl): the server's view of this device's channel; a channel it
    /// names is remembered. Blocks; network I/O.
    pub fn get_channel(&self) -> Result<std::result::Result<Value, ServerError>> {
        if self.config().static_channels {
            return Ok(Ok(self.static_get_channel()?));
        }
        let (info, _) = self.info()?;
        let (a, _) = match self.channel_call(Method::Put, Some(&info))? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(c) = a.channel.get().map(str::trim)
            && !c.is_empty()
            && c != BUILTIN
        {
            let c = c.to_string();
            self.store().with_state(|_, state| {
                state.channel = Some(c);
                Ok(())
            })?;
        }
        Ok(Ok(a.to_js()))
    }

    /// `listChannels` (`GET channelUrl?<info object>`): the channels this device may pick, as
    /// `[{id, name, public, allow_self_set}]` (at most [`answer::MAX_CHANNELS`]), whether the
    /// server answered with a bare array or `{"channels": […]}`. Blocks; network I/O.
    pub fn list_channels(&self) -> Result<std::result::Result<Value, ServerError>> {
        if self.config().static_channels {
            return self.static_list_channels();
        }
        let (info, _) = self.info()?;
        let query: Vec<String> = info
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        format!("{}={}", encode(k), encode(&v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let base = self.store().config().channel_url.clone();
        if base.is_empty() {
            return Ok(Err(ServerError::missing_config()));
        }
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}{}", query.join("&"));
        let (_, list) = match self.json_call(Method::Get, &url, None)? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let parse_error = |m: &str| ServerError::new("parse_error", m, None);
        let Some(list) = list else {
            return Ok(Err(parse_error("no channel list in the answer")));
        };
        let mut out = Vec::with_capacity(list.len());
        for c in list {
            let Some(id) = c.id.0 else {
                return Ok(Err(parse_error("a channel has no numeric id")));
            };
            out.push(json!({
                "id": id, "name": c.name.get().unwrap_or(""),
                "public": c.public.0.unwrap_or(false),
                "allow_self_set": c.allow_self_set.0.unwrap_or(false),
            }));
        }
        Ok(Ok(Value::Array(out)))
    }

    /// `unsetChannel`: forgets the device's channel locally (no request, as Capgo 8.51).
    pub fn unset_channel(&self) -> Result<()> {
        self.store().with_state(|_, state| {
            state.channel = None;
            Ok(())
        })
    }

    fn channel_call(
        &self,
        method: Method,
        body: Option<&Value>,
    ) -> Result<std::result::Result<ChannelReply, ServerError>> {
        let url = self.store().config().channel_url.clone();
        if url.is_empty() {
            return Ok(Err(ServerError::missing_config()));
        }
        self.json_call(method, &url, body)
    }

    /// One channel request: the answer's body (within [`BodyCap::CHANNEL`]) read as a
    /// [`ChannelAnswer`], or Capgo's failure shape.
    fn json_call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<std::result::Result<ChannelReply, ServerError>> {
        if let Some((error, message)) = self.blocked_now()? {
            return Ok(Err(ServerError::new(&error, message, None)));
        }
        let r = match self.http().json_until(
            method,
            url,
            body,
            self.request_deadline(),
            Some(self.cancel()),
            BodyCap::CHANNEL,
        ) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(ServerError::new(
                    "network_error",
                    format!("Request failed: {e}"),
                    None,
                )));
            }
        };
        if r.status == 429 {
            self.note_rate_limit(r.retry_after.as_deref(), &r.body, None)?;
        }
        let ok = (200..300).contains(&r.status);
        let server_error = || {
            ServerError::new(
                "response_error",
                format!("Server error: {}", r.status),
                Some(r.status),
            )
        };
        if r.body.iter().all(u8::is_ascii_whitespace) && !r.truncated {
            return Ok(Err(if ok {
                ServerError::new("no_response_body", "Empty response body", Some(r.status))
            } else {
                server_error()
            }));
        }
        let parsed = if r.truncated {
            None
        } else {
            answer::read_channel_list(&r.body).ok()
        };
        let Some((list, a)) = parsed else {
            return Ok(Err(if ok {
                ServerError::new(
                    "parse_error",
                    "the server did not answer with JSON",
                    Some(r.status),
                )
            } else {
                server_error()
            }));
        };
        if let Some(e) = a.error.non_empty() {
            let msg = a
                .message
                .get()
                .unwrap_or("server did not provide a message");
            return Ok(Err(ServerError::new(e, msg, Some(r.status))));
        }
        if !ok {
            // The server's own message, when it gave one, beats "Server error: 400".
            return Ok(Err(match a.message.non_empty() {
                Some(m) => ServerError::new("response_error", m, Some(r.status)),
                None => server_error(),
            }));
        }
        Ok(Ok((a, list)))
    }
}

/// A channel request the server refused or that failed (Capgo's `{error, message}` shape).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    /// Machine code (`missing_config`, `network_error`, `response_error`, or the server's).
    pub error: String,
    /// Human text.
    pub message: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
}

impl ServerError {
    /// A failure with no body.
    pub fn new(error: &str, message: impl Into<String>, status: Option<u16>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
            status,
        }
    }

    fn missing_config() -> Self {
        Self::new("missing_config", "Channel URL is not set", None)
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
