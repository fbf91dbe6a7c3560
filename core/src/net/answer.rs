//! Answer: server answers read into typed structures — unknown fields skipped without being built, every text and list capped, nesting bounded — so no answer of any shape costs more memory than its own bytes.
//!
//! Nothing here builds a `serde_json::Value` from bytes a server sent. Each answer type lists the
//! fields the device uses; a field of the wrong type or over its length is read as absent (and
//! skipped by [`IgnoredAny`], which allocates nothing), lists stop at their cap, and serde_json's
//! recursion limit ([`MAX_DEPTH`]) refuses deeper nesting. The body caps are in `http.rs`'s
//! [`BodyCap`](crate::net::http::BodyCap).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

/// Deepest nesting of arrays and objects read (serde_json's recursion limit): deeper answers are
/// refused as unreadable, without a deep stack or a tree in memory.
pub const MAX_DEPTH: usize = 128;
/// Most delta manifest entries read from one answer (`maxBundleFiles` applies after that).
pub const MAX_MANIFEST_ENTRIES: usize = 100_000;
/// Most channels read from a `listChannels` answer.
pub const MAX_CHANNELS: usize = 1_000;

/// A text field: `Some` when the answer holds a string of at most `N` bytes there; anything else
/// (absent, `null`, a number, an object, a longer string) is `None`, skipped without being built.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Text<const N: usize>(pub Option<String>);

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const N: usize> Text<N> {
    /// The text, if present.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The text if present and not empty.
    pub fn non_empty(&self) -> Option<&str> {
        self.get().filter(|s| !s.is_empty())
    }
}

/// Reads any JSON value, keeping only what `keep` makes of scalars; arrays and objects are
/// drained without being built.
struct Lenient<T>(fn(Scalar<'_>) -> Option<T>);

impl<'de, T> Visitor<'de> for Lenient<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Str(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::Bool(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::U64(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<T>, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => (self.0)(Scalar::U64(u)),
            Err(_) => (self.0)(Scalar::Other),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<T>, E> {
        Ok((self.0)(Scalar::F64(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A scalar JSON value as [`Lenient`] hands it over.
enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    U64(u64),
    F64(f64),
    Other,
}

fn text<const N: usize>(s: Scalar<'_>) -> Option<String> {
    match s {
        Scalar::Str(v) if v.len() <= N => Some(v.to_owned()),
        _ => None,
    }
}

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(text::<N>)).map(Text)
    }
}

/// A boolean field (anything else reads as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn flag(s: Scalar<'_>) -> Option<bool> {
            match s {
                Scalar::Bool(b) => Some(b),
                _ => None,
            }
        }
        d.deserialize_any(Lenient(flag)).map(Flag)
    }
}

/// A non-negative whole number field (anything else reads as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count(pub Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn count(s: Scalar<'_>) -> Option<u64> {
            match s {
                Scalar::U64(n) => Some(n),
                _ => None,
            }
        }
        d.deserialize_any(Lenient(count)).map(Count)
    }
}

/// A number field kept as JSON (channel ids): finite numbers only.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Number(pub Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fn number(s: Scalar<'_>) -> Option<f64> {
            match s {
                Scalar::U64(n) => Some(n as f64),
                Scalar::F64(f) if f.is_finite() => Some(f),
                _ => None,
            }
        }
        d.deserialize_any(Lenient(number)).map(Number)
    }
}

/// One entry of a delta manifest as the server (or the JS caller) wrote it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct RawEntry {
    file_name: Text<4096>,
    file_hash: Text<1024>,
    download_url: Text<8192>,
}

/// One manifest element: an object, or something else (refused with its index).
enum Element {
    Entry(RawEntry),
    NotObject,
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a manifest entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element, A::Error> {
                RawEntry::deserialize(MapAccessDeserializer::new(map)).map(Element::Entry)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element::NotObject)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
                Ok(Element::NotObject)
            }
        }
        d.deserialize_any(V)
    }
}

/// A delta manifest entry: three non-empty strings (checked before any transfer by the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path in the bundle, `/`-separated, with `.br` when the body is brotli-compressed.
    pub file_name: String,
    /// The signed (V3) or, without a public key, plain SHA-256 of the final file.
    pub file_hash: String,
    /// Where the (encrypted, possibly compressed) body is; used verbatim.
    pub download_url: String,
}

impl ManifestEntry {
    /// The entry as JSON (Capgo's `ManifestEntry` shape).
    pub fn to_json(&self) -> Value {
        json!({"file_name": self.file_name, "file_hash": self.file_hash,
               "download_url": self.download_url})
    }
}

/// The `manifest` field of an answer: absent (a zip release), entries, or why it is unusable.
/// An unusable manifest is never a silent fallback to the zip: the release fails.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Manifest {
    /// Absent, `null` or an empty array.
    #[default]
    Absent,
    /// The entries, in order.
    Entries(Vec<ManifestEntry>),
    /// Not an array of objects with three non-empty strings, or too long.
    Invalid(String),
}

impl Manifest {
    /// Reads a manifest from a JSON value (the JS `download({manifest})` option). Pure.
    pub fn from_value(v: Option<&Value>) -> Self {
        match v {
            None => Manifest::Absent,
            Some(v) => {
                Manifest::deserialize(v).unwrap_or_else(|e| Manifest::Invalid(e.to_string()))
            }
        }
    }

    /// The entries, `None` for a zip release, or the reason the manifest is unusable.
    pub fn entries(&self) -> Result<Option<&[ManifestEntry]>, String> {
        match self {
            Manifest::Absent => Ok(None),
            Manifest::Entries(e) => Ok(Some(e)),
            Manifest::Invalid(why) => Err(why.clone()),
        }
    }
}

fn entry_of(i: usize, e: Element) -> Result<ManifestEntry, String> {
    let Element::Entry(e) = e else {
        return Err(format!("entry {i} is not an object"));
    };
    let field = |t: Option<String>, k: &str, max: usize| {
        t.filter(|s| !s.is_empty()).ok_or_else(|| {
            format!("entry {i} has no {k} (a non-empty string of at most {max} bytes is required)")
        })
    };
    Ok(ManifestEntry {
        file_name: field(e.file_name.0, "file_name", 4096)?,
        file_hash: field(e.file_hash.0, "file_hash", 1024)?,
        download_url: field(e.download_url.0, "download_url", 8192)?,
    })
}

impl<'de> Deserialize<'de> for Manifest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Manifest;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a manifest")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Manifest, E> {
                Ok(Manifest::Absent)
            }
            fn visit_none<E: de::Error>(self) -> Result<Manifest, E> {
                Ok(Manifest::Absent)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Manifest, A::Error> {
                let mut out = Vec::new();
                let mut invalid: Option<String> = None;
                loop {
                    if invalid.is_some() {
                        // Drain the rest without building it.
                        if seq.next_element::<IgnoredAny>()?.is_none() {
                            break;
                        }
                        continue;
                    }
                    let Some(e) = seq.next_element::<Element>()? else {
                        break;
                    };
                    if out.len() == MAX_MANIFEST_ENTRIES {
                        invalid = Some(format!(
                            "the manifest lists more than {MAX_MANIFEST_ENTRIES} entries"
                        ));
                        out = Vec::new();
                        continue;
                    }
                    match entry_of(out.len(), e) {
                        Ok(e) => out.push(e),
                        Err(why) => {
                            invalid = Some(why);
                            out = Vec::new();
                        }
                    }
                }
                Ok(match invalid {
                    Some(why) => Manifest::Invalid(why),
                    None if out.is_empty() => Manifest::Absent,
                    None => Manifest::Entries(out),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Manifest, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Manifest, E> {
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Manifest, E> {
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Manifest, E> {
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Manifest, E> {
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Manifest, E> {
                Ok(Manifest::Invalid("the manifest is not an array".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The 429 hints of an answer (`retryAfterSeconds`, `rateLimitResetAt`, at the top or under
/// `moreInfo`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RateHints {
    /// Seconds to wait.
    #[serde(rename = "retryAfterSeconds")]
    pub retry_after_seconds: Count,
    /// Until when (ms since the epoch).
    #[serde(rename = "rateLimitResetAt")]
    pub reset_at_ms: Count,
}

/// The update server's answer to a check (Capgo protocol §2.3), typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UpdateAnswer {
    /// Target version name.
    pub version: Text<1024>,
    /// The zip's URL.
    pub url: Text<8192>,
    /// The checksum (V3 hex, V2 base64, or plain SHA-256 hex).
    pub checksum: Text<1024>,
    /// `base64(iv):base64(rsaBlock)`.
    pub session_key: Text<2048>,
    /// The delta manifest.
    pub manifest: Manifest,
    /// Human text.
    pub message: Text<4096>,
    /// Machine code.
    pub error: Text<256>,
    /// `up_to_date`, `blocked` or `failed`.
    pub kind: Text<64>,
    /// Deprecated breaking flag.
    pub major: Flag,
    /// Breaking flag.
    pub breaking: Flag,
    /// The server's echo of the device version.
    pub old: Text<1024>,
    /// Release link.
    pub link: Text<8192>,
    /// Release comment.
    pub comment: Text<4096>,
}

/// The 429 hints of an answer body: at the top level or under `moreInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RateLimitBody {
    /// Hints under `moreInfo`.
    #[serde(rename = "moreInfo")]
    pub more_info: RateHints,
    /// Seconds to wait (top level).
    #[serde(rename = "retryAfterSeconds")]
    pub retry_after_seconds: Count,
    /// Until when, ms since the epoch (top level).
    #[serde(rename = "rateLimitResetAt")]
    pub reset_at_ms: Count,
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// Reads an answer of type `T` from `body`: a JSON object, at most [`MAX_DEPTH`] deep. Pure.
pub fn read<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, Unreadable> {
    let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(Unreadable("not a JSON object".into()));
    }
    within_depth(text)?;
    serde_json::from_slice::<T>(text).map_err(|e| Unreadable(e.to_string()))
}

/// Refuses text whose arrays and objects nest deeper than [`MAX_DEPTH`] (brackets inside
/// strings do not count). serde_json skips unknown values without recursion, so this is the
/// depth limit for what it skips as well as for what it reads. One pass, no allocation.
fn within_depth(text: &[u8]) -> Result<(), Unreadable> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Unreadable(format!("nested deeper than {MAX_DEPTH} levels")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

impl UpdateAnswer {
    /// The answer as Capgo's JS `getLatest` shows it: the fields present, `session_key` renamed
    /// `sessionKey`, plus `statusCode` — without the manifest (see [`Manifest::to_js`]).
    pub fn to_js(&self, status: u16) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        put("version", self.version.get());
        put("url", self.url.get());
        put("checksum", self.checksum.get());
        put("sessionKey", self.session_key.get());
        put("message", self.message.get());
        put("error", self.error.get());
        put("kind", self.kind.get());
        put("old", self.old.get());
        put("link", self.link.get());
        put("comment", self.comment.get());
        if let Some(b) = self.major.0 {
            m.insert("major".into(), json!(b));
        }
        if let Some(b) = self.breaking.0 {
            m.insert("breaking".into(), json!(b));
        }
        m.insert("statusCode".into(), json!(status));
        m
    }
}

/// One channel of a `listChannels` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelInfo {
    /// Numeric id.
    pub id: Number,
    /// Name.
    pub name: Text<1024>,
    /// Public channel.
    pub public: Flag,
    /// Devices may pick it themselves.
    pub allow_self_set: Flag,
}

/// A list of channels, read up to [`MAX_CHANNELS`] (the rest is skipped).
#[derive(Debug, Clone, Default)]
pub struct ChannelList(pub Option<Vec<ChannelInfo>>);

impl<'de> Deserialize<'de> for ChannelList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ChannelList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of channels")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ChannelList, A::Error> {
                let mut out = Vec::new();
                while out.len() < MAX_CHANNELS {
                    match seq.next_element::<ChannelInfo>()? {
                        Some(c) => out.push(c),
                        None => return Ok(ChannelList(Some(out))),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ChannelList(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChannelList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ChannelList(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ChannelList, E> {
                Ok(ChannelList(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A channel endpoint's answer (`setChannel`, `getChannel`, `listChannels`), typed: Capgo's
/// `ChannelRes` / `GetChannelRes` fields, and the channel list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelAnswer {
    /// `ok`, `default`, …
    pub status: Text<256>,
    /// Machine code.
    pub error: Text<256>,
    /// Human text.
    pub message: Text<4096>,
    /// The device's channel.
    pub channel: Text<1024>,
    /// The server forgot the device's channel (`setChannel` to the default one).
    pub unset: Flag,
    /// Whether devices may set this channel themselves.
    #[serde(rename = "allowSet")]
    pub allow_set: Flag,
    /// `listChannels` as an object: `{"channels": […]}`.
    pub channels: ChannelList,
}

impl ChannelAnswer {
    /// The fields present, as JSON (what `setChannel` / `getChannel` resolve with).
    pub fn to_js(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("status", self.status.get()),
            ("error", self.error.get()),
            ("message", self.message.get()),
            ("channel", self.channel.get()),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        if let Some(b) = self.allow_set.0 {
            m.insert("allowSet".into(), json!(b));
        }
        if let Some(b) = self.unset.0 {
            m.insert("unset".into(), json!(b));
        }
        Value::Object(m)
    }
}

/// Reads a `listChannels` answer: a bare array, or an object with `channels`. Pure.
pub fn read_channel_list(
    body: &[u8],
) -> Result<(Option<Vec<ChannelInfo>>, ChannelAnswer), Unreadable> {
    let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let list: ChannelList =
                serde_json::from_slice(text).map_err(|e| Unreadable(e.to_string()))?;
            Ok((list.0, ChannelAnswer::default()))
        }
        _ => {
            let a: ChannelAnswer = read(text)?;
            Ok((a.channels.0.clone(), a))
        }
    }
}

/// One file of a `manifest_size` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileSize {
    /// The entry's file name.
    pub file_name: Text<4096>,
    /// The entry's hash.
    pub file_hash: Text<1024>,
    /// The entry's URL.
    pub download_url: Text<8192>,
    /// Bytes to download, when known.
    pub size: Count,
    /// Why the size is unknown.
    pub error: Text<256>,
}

/// A list read up to a fixed number of elements (the rest is skipped).
#[derive(Debug, Clone, Default)]
pub struct Capped<T, const N: usize>(pub Vec<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Capped<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Capped<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T, N>, A::Error> {
                let mut out = Vec::new();
                while out.len() < N {
                    match seq.next_element::<T>()? {
                        Some(t) => out.push(t),
                        None => return Ok(Capped(out)),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Capped(out))
            }
        }
        d.deserialize_seq(V::<T, N>(PhantomData))
    }
}

/// The answer of `POST …/manifest_size` (Capgo's `GetBundleDownloadSizeResult`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SizeAnswer {
    /// Bytes to download in all.
    #[serde(rename = "totalSize")]
    pub total_size: Count,
    /// Files whose size the server knows.
    #[serde(rename = "knownFiles")]
    pub known_files: Count,
    /// Files whose size it does not.
    #[serde(rename = "unknownFiles")]
    pub unknown_files: Count,
    /// Per file.
    pub files: Capped<FileSize, MAX_MANIFEST_ENTRIES>,
}

impl SizeAnswer {
    /// As JSON.
    pub fn to_js(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .0
            .iter()
            .map(|f| {
                let mut o = json!({"file_name": f.file_name.get(), "file_hash": f.file_hash.get(),
                                   "download_url": f.download_url.get()});
                if let Some(s) = f.size.0 {
                    o["size"] = json!(s);
                }
                if let Some(e) = f.error.get() {
                    o["error"] = json!(e);
                }
                o
            })
            .collect();
        json!({"totalSize": self.total_size.0.unwrap_or(0), "knownFiles": self.known_files.0.unwrap_or(0),
               "unknownFiles": self.unknown_files.0.unwrap_or(0), "files": files})
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_and_long_texts_read_as_absent() {
        let a: UpdateAnswer = read(
            br#"{"version": 5, "url": {"x": [1, 2, {"y": null}]}, "message": "m", "breaking": "yes",
                 "unknown": [[[[]]]], "checksum": "c"}"#,
        )
        .unwrap();
        assert_eq!(a.version.get(), None);
        assert_eq!(a.url.get(), None);
        assert_eq!(a.message.get(), Some("m"));
        assert_eq!(a.breaking.0, None);
        assert_eq!(a.checksum.get(), Some("c"));
        let long = format!(r#"{{"version": "{}"}}"#, "v".repeat(2000));
        let a: UpdateAnswer = read(long.as_bytes()).unwrap();
        assert_eq!(a.version.get(), None);
    }

    #[test]
    fn nesting_beyond_the_limit_is_unreadable() {
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(read::<UpdateAnswer>(deep.as_bytes()).is_err());
        let ok = format!("{{\"x\": {}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(read::<UpdateAnswer>(ok.as_bytes()).is_ok());
        // Brackets inside strings (escaped quotes included) are text.
        let text = format!(r#"{{"x": "\"{}", "version": "1"}}"#, "[".repeat(500));
        assert_eq!(
            read::<UpdateAnswer>(text.as_bytes()).unwrap().version.get(),
            Some("1")
        );
        assert!(read::<UpdateAnswer>(b"[1]").is_err());
        assert!(read::<UpdateAnswer>(b"null").is_err());
    }

    #[test]
    fn manifests() {
        let m = |s: &str| Manifest::from_value(Some(&serde_json::from_str::<Value>(s).unwrap()));
        assert_eq!(m("null"), Manifest::Absent);
        assert_eq!(m("[]"), Manifest::Absent);
        assert!(matches!(m(r#"{"a":1}"#), Manifest::Invalid(w) if w.contains("not an array")));
        assert!(matches!(m("[1]"), Manifest::Invalid(w) if w.contains("entry 0 is not an object")));
        assert!(
            matches!(m(r#"[{"file_name":"a","file_hash":"h"}]"#), Manifest::Invalid(w) if w.contains("download_url"))
        );
        match m(r#"[{"file_name":"a","file_hash":"h","download_url":"u","extra":[1]}]"#) {
            Manifest::Entries(e) => assert_eq!(e[0].file_name, "a"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn channel_lists() {
        let (l, _) = read_channel_list(br#"[{"id":1,"name":"a","public":true}]"#).unwrap();
        assert_eq!(l.unwrap()[0].name.get(), Some("a"));
        let (l, _) = read_channel_list(br#"{"channels":[{"id":2}]}"#).unwrap();
        assert_eq!(l.unwrap()[0].id.0, Some(2.0));
        let (l, _) = read_channel_list(br#"{"error":"x"}"#).unwrap();
        assert!(l.is_none());
    }
}
