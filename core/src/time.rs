//! Time: wall-clock milliseconds and the ISO-8601 UTC form Capgo uses in `BundleInfo.downloaded`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The instant `d` from now, saturating (a configured or host-given duration can never overflow
/// the clock and panic; anything past ten years is ten years).
pub fn after(d: std::time::Duration) -> std::time::Instant {
    const CAP: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 86_400);
    let now = std::time::Instant::now();
    now.checked_add(d.min(CAP)).unwrap_or(now)
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Parses an ISO-8601 date-time as Capgo's delay conditions carry it, to ms since the epoch:
/// `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH[:MM]]`. Without a zone the time is taken as UTC (the
/// core has no time-zone database; hosts that mean local time should send an offset). `None` when
/// it does not parse. Pure.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut d = date.split('-');
    let (y, mo, da) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&da) || y < 1970 {
        return None;
    }
    // Split the zone off the time.
    let (time, offset_min) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, z) = (&rest[..i], &rest[i + 1..]);
        let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
        let z = z.replace(':', "");
        let (h, m) = match z.len() {
            2 => (num(&z)?, 0),
            4 => (num(&z[..2])?, num(&z[2..])?),
            _ => return None,
        };
        (t, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (mut hh, mut mm, mut ss, mut ms) = (0, 0, 0, 0);
    if !time.is_empty() {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut p = hms.split(':');
        hh = num(p.next()?)?;
        mm = num(p.next()?)?;
        if let Some(x) = p.next() {
            ss = num(x)?;
        }
        if p.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        if let Some(f) = frac {
            let digits: String = f.chars().take(3).collect();
            ms = num(&format!("{digits:0<3}"))?;
            num(f)?;
        }
    }
    let days = days_from_civil(y, mo as u32, da as u32);
    let total = ((days * 86_400 + hh * 3600 + mm * 60 + ss) - offset_min * 60) * 1000 + ms;
    u64::try_from(total).ok()
}

/// Day count since 1970-01-01 of a Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_747_731_990_505), "2025-05-20T09:06:30.505Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for ms in [0, 1_747_731_990_505, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_iso8601(&iso8601(ms)), Some(ms));
        }
        assert_eq!(
            parse_iso8601("2025-05-20T11:06:30.505+02:00"),
            Some(1_747_731_990_505)
        );
        assert_eq!(
            parse_iso8601("2025-05-20T09:06:30+0000"),
            Some(1_747_731_990_000)
        );
        assert_eq!(parse_iso8601("2025-05-20"), Some(1_747_699_200_000));
        for bad in [
            "",
            "soon",
            "2025-13-01",
            "2025-05-20T25:00",
            "2025-05-20T09:06:30+9",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
