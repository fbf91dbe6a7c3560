//! Delay: Capgo's delay conditions (`setMultiDelay`) — parsing the JS argument and deciding which conditions still hold. Pure.

use serde_json::Value;

use crate::store::state::{DelayCondition, DelayKind, version_cmp};
use crate::time::parse_iso8601;

/// What prompts a re-evaluation of the conditions (Capgo `checkCancelDelay(source)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The app came to the foreground.
    Foreground,
    /// The app went to the background.
    Background,
    /// The process started again after being killed (plugin load).
    Killed,
    /// A timer or an install decision: only `date` and `nativeVersion` can lapse.
    Check,
}

/// Most delay conditions one `setMultiDelay` may set (they are persisted and read at every start).
pub const MAX_CONDITIONS: usize = 16;
/// Longest condition value kept, in bytes.
pub const MAX_VALUE: usize = 256;

/// Parses `setMultiDelay`'s `delayConditions`: `None` when it is missing or not an array; an
/// error when it holds more than [`MAX_CONDITIONS`] entries or a value longer than
/// [`MAX_VALUE`] bytes; unknown kinds are dropped (as Capgo does); `background` without a value
/// becomes `"0"`.
pub fn parse_conditions(options: &Value) -> Option<Result<Vec<DelayCondition>, String>> {
    let list = options.get("delayConditions")?.as_array()?;
    if list.len() > MAX_CONDITIONS {
        return Some(Err(format!(
            "setMultiDelay accepts at most {MAX_CONDITIONS} delay conditions ({} given)",
            list.len()
        )));
    }
    let too_long = list.iter().any(|c| match c.get("value") {
        Some(Value::String(s)) => s.len() > MAX_VALUE,
        Some(Value::Number(n)) => n.to_string().len() > MAX_VALUE,
        _ => false,
    });
    if too_long {
        return Some(Err(format!(
            "a delay condition's value is longer than {MAX_VALUE} bytes"
        )));
    }
    Some(Ok(list
        .iter()
        .filter_map(|c| {
            let kind = match c.get("kind")?.as_str()? {
                "background" => DelayKind::Background,
                "kill" => DelayKind::Kill,
                "date" => DelayKind::Date,
                "nativeVersion" => DelayKind::NativeVersion,
                _ => return None,
            };
            let value = match c.get("value") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let value = match (kind, value) {
                (DelayKind::Background, None) => Some("0".to_string()),
                (DelayKind::Background, Some(v)) if v.trim().is_empty() => Some("0".into()),
                (_, v) => v,
            };
            Some(DelayCondition { kind, value })
        })
        .collect()))
}

/// The facts a decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Now, ms since the epoch.
    pub now_ms: u64,
    /// When the app last went to the background, if it did.
    pub background_ms: Option<u64>,
    /// The native app version (`version_build`).
    pub native_version: &'a str,
}

/// True when `c` still delays updates after `source` happened.
pub fn holds(c: &DelayCondition, source: Source, f: Facts<'_>) -> bool {
    let value = c.value.as_deref().map(str::trim).unwrap_or("");
    match c.kind {
        DelayKind::Background => {
            if source != Source::Foreground {
                return true;
            }
            let wait: u64 = value.parse().unwrap_or(0);
            match f.background_ms {
                Some(bg) => f.now_ms.saturating_sub(bg) <= wait,
                None => true,
            }
        }
        DelayKind::Kill => source != Source::Killed,
        DelayKind::Date => parse_iso8601(value).is_some_and(|t| f.now_ms <= t),
        DelayKind::NativeVersion => {
            version_cmp(f.native_version, value) == Some(std::cmp::Ordering::Less)
        }
    }
}

/// The conditions that still hold after `source`.
pub fn remaining(conds: &[DelayCondition], source: Source, f: Facts<'_>) -> Vec<DelayCondition> {
    conds
        .iter()
        .filter(|c| holds(c, source, f))
        .cloned()
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(now: u64, bg: Option<u64>) -> Facts<'static> {
        Facts {
            now_ms: now,
            background_ms: bg,
            native_version: "2.0.0",
        }
    }

    #[test]
    fn parse_drops_unknown_and_defaults_background() {
        let c = parse_conditions(&json!({"delayConditions": [
            {"kind": "background"}, {"kind": "weird", "value": "1"}, {"kind": "kill"},
            {"kind": "date", "value": "2030-01-01T00:00:00Z"}, {"kind": "nativeVersion", "value": "3.0.0"}
        ]}))
        .unwrap()
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].value.as_deref(), Some("0"));
        assert!(parse_conditions(&json!({})).is_none());
        assert!(parse_conditions(&json!({"delayConditions": "x"})).is_none());
        let many: Vec<Value> = (0..17).map(|_| json!({"kind": "kill"})).collect();
        assert!(
            parse_conditions(&json!({ "delayConditions": many }))
                .unwrap()
                .is_err()
        );
        let long = json!({"delayConditions": [{"kind": "date", "value": "x".repeat(300)}]});
        assert!(parse_conditions(&long).unwrap().is_err());
    }

    #[test]
    fn each_kind_lapses_on_its_own_event() {
        let bg = DelayCondition {
            kind: DelayKind::Background,
            value: Some("1000".into()),
        };
        assert!(holds(&bg, Source::Background, facts(10_000, Some(0))));
        assert!(holds(&bg, Source::Foreground, facts(500, Some(0))));
        assert!(!holds(&bg, Source::Foreground, facts(1001, Some(0))));
        let kill = DelayCondition {
            kind: DelayKind::Kill,
            value: None,
        };
        assert!(holds(&kill, Source::Foreground, facts(0, None)));
        assert!(!holds(&kill, Source::Killed, facts(0, None)));
        let date = DelayCondition {
            kind: DelayKind::Date,
            value: Some("1970-01-01T00:00:01Z".into()),
        };
        assert!(holds(&date, Source::Check, facts(1000, None)));
        assert!(!holds(&date, Source::Check, facts(1001, None)));
        let bad_date = DelayCondition {
            kind: DelayKind::Date,
            value: Some("whenever".into()),
        };
        assert!(!holds(&bad_date, Source::Check, facts(0, None)));
        let native = DelayCondition {
            kind: DelayKind::NativeVersion,
            value: Some("3.0.0".into()),
        };
        assert!(holds(&native, Source::Check, facts(0, None)));
        let native_ok = DelayCondition {
            kind: DelayKind::NativeVersion,
            value: Some("2.0.0".into()),
        };
        assert!(!holds(&native_ok, Source::Check, facts(0, None)));
    }
}
