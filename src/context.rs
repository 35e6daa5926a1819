//! Context enrichment: normalizing context keys and values, and deriving the
//! time bucket of an event or a query from its timestamp and time zone.
//!
//! Everything here is a pure function of its input, so the ingest path and
//! the request path derive exactly the same vertices from the same values.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

/// The context key that names a time zone instead of a context value.
pub const TZ_KEY: &str = "tz";
/// Most context values one event or query may carry.
pub const MAX_CONTEXT_KEYS: usize = 32;
/// Longest context key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest context value, in bytes.
pub const MAX_VALUE_LEN: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContextError {
    #[error("context has {count} keys; at most {MAX_CONTEXT_KEYS} are allowed")]
    TooManyKeys { count: usize },
    #[error(
        "context key {key:?} is invalid: use 1 to {MAX_KEY_LEN} characters \
         from a-z, 0-9, '_', '-' and '.'"
    )]
    BadKey { key: String },
    #[error(
        "context value for {key:?} must be 1 to {MAX_VALUE_LEN} bytes without control characters"
    )]
    BadValue { key: String },
    #[error("unknown time zone {name:?}: use an IANA name such as Europe/Berlin")]
    UnknownTimeZone { name: String },
}

/// Part of the day, in the local time of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayPart {
    /// 00:00 to 05:59
    Night,
    /// 06:00 to 11:59
    Morning,
    /// 12:00 to 17:59
    Afternoon,
    /// 18:00 to 23:59
    Evening,
}

/// The coarse time of an interaction: day part and weekday or weekend.
///
/// Packed into one byte in every hyperedge, so matching two buckets is a
/// comparison of small integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeBucket {
    pub part: DayPart,
    pub weekend: bool,
}

impl TimeBucket {
    /// Number of distinct buckets.
    pub const COUNT: usize = 8;

    pub fn at(at_ms: i64, tz: Tz) -> Self {
        let utc = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
        let local = utc.with_timezone(&tz);
        let part = match local.hour() {
            0..=5 => DayPart::Night,
            6..=11 => DayPart::Morning,
            12..=17 => DayPart::Afternoon,
            _ => DayPart::Evening,
        };
        let weekend = local.weekday().number_from_monday() >= 6;
        Self { part, weekend }
    }

    pub fn code(self) -> u8 {
        (self.part as u8) | ((self.weekend as u8) << 2)
    }

    pub fn from_code(code: u8) -> Self {
        let part = match code & 3 {
            0 => DayPart::Night,
            1 => DayPart::Morning,
            2 => DayPart::Afternoon,
            _ => DayPart::Evening,
        };
        Self {
            part,
            weekend: code & 4 != 0,
        }
    }

    /// 1.0 for the same bucket, 0.5 when only the day part or only the day
    /// type agrees, 0.0 otherwise.
    pub fn similarity(a: u8, b: u8) -> f32 {
        let part = ((a & 3) == (b & 3)) as u8;
        let day = ((a & 4) == (b & 4)) as u8;
        (part + day) as f32 * 0.5
    }

    pub fn part_name(self) -> &'static str {
        match self.part {
            DayPart::Night => "night",
            DayPart::Morning => "morning",
            DayPart::Afternoon => "afternoon",
            DayPart::Evening => "evening",
        }
    }

    pub fn day_name(self) -> &'static str {
        if self.weekend {
            "weekend"
        } else {
            "weekday"
        }
    }
}

impl fmt::Display for TimeBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.day_name(), self.part_name())
    }
}

/// Context values ready for the hypergraph: `key=value` strings, lowercase,
/// sorted and without duplicate keys, plus the time zone if one was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NormalizedContext {
    pub values: Vec<String>,
    pub tz: Option<Tz>,
}

impl NormalizedContext {
    pub fn tz_or_utc(&self) -> Tz {
        self.tz.unwrap_or(Tz::UTC)
    }
}

/// Validates and normalizes raw context pairs.
///
/// Keys and values are trimmed and lowercased so that `Device=Mobile` and
/// `device=mobile` are the same vertex. The `tz` key is parsed as a time zone
/// and not kept as a value.
pub fn normalize<'a, I>(pairs: I) -> Result<NormalizedContext, ContextError>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: ExactSizeIterator,
{
    let pairs = pairs.into_iter();
    if pairs.len() > MAX_CONTEXT_KEYS {
        return Err(ContextError::TooManyKeys { count: pairs.len() });
    }

    let mut out = NormalizedContext::default();
    for (raw_key, raw_value) in pairs {
        let key = normalize_key(raw_key)?;
        let value = raw_value.trim();
        if key == TZ_KEY {
            out.tz = Some(parse_tz(value)?);
            continue;
        }
        if value.is_empty() || value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
            return Err(ContextError::BadValue { key });
        }
        out.values.push(format!("{key}={}", value.to_lowercase()));
    }
    out.values.sort_unstable();
    out.values.dedup();
    Ok(out)
}

fn normalize_key(raw: &str) -> Result<String, ContextError> {
    let key = raw.trim().to_ascii_lowercase();
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(valid_char) {
        return Err(ContextError::BadKey {
            key: raw.chars().take(MAX_KEY_LEN).collect(),
        });
    }
    Ok(key)
}

/// Parses an IANA time zone name, ignoring surrounding blanks.
pub fn parse_tz(name: &str) -> Result<Tz, ContextError> {
    Tz::from_str(name.trim()).map_err(|_| ContextError::UnknownTimeZone {
        name: name.chars().take(64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("valid timestamp")
            .timestamp_millis()
    }

    #[test]
    fn buckets_follow_local_time_of_the_given_zone() {
        // Friday 2026-12-04 23:30 UTC is already Saturday morning in Tokyo.
        let at = ms("2026-12-04T23:30:00Z");
        assert_eq!(TimeBucket::at(at, Tz::UTC).to_string(), "weekday/evening");
        assert_eq!(
            TimeBucket::at(at, parse_tz("Asia/Tokyo").unwrap()).to_string(),
            "weekend/morning"
        );
    }

    #[test]
    fn day_part_boundaries_are_inclusive_at_the_start() {
        let bucket = |t| TimeBucket::at(ms(t), Tz::UTC).part;
        assert_eq!(bucket("2026-12-01T05:59:59Z"), DayPart::Night);
        assert_eq!(bucket("2026-12-01T06:00:00Z"), DayPart::Morning);
        assert_eq!(bucket("2026-12-01T12:00:00Z"), DayPart::Afternoon);
        assert_eq!(bucket("2026-12-01T18:00:00Z"), DayPart::Evening);
    }

    #[test]
    fn bucket_codes_round_trip_and_similarity_is_graded() {
        for code in 0..TimeBucket::COUNT as u8 {
            assert_eq!(TimeBucket::from_code(code).code(), code);
        }
        assert_eq!(TimeBucket::similarity(1, 1), 1.0);
        assert_eq!(TimeBucket::similarity(1, 5), 0.5);
        assert_eq!(TimeBucket::similarity(1, 6), 0.0);
    }

    #[test]
    fn normalize_lowercases_sorts_and_extracts_tz() {
        let ctx = normalize([
            ("Location", " Gym "),
            ("device", "Mobile"),
            ("tz", "Europe/Berlin"),
        ])
        .unwrap();
        assert_eq!(ctx.values, ["device=mobile", "location=gym"]);
        assert_eq!(ctx.tz, Some(chrono_tz::Europe::Berlin));
    }

    #[test]
    fn normalize_rejects_what_it_cannot_store() {
        assert!(matches!(
            normalize([("tz", "Mars/Olympus")]),
            Err(ContextError::UnknownTimeZone { .. })
        ));
        assert!(matches!(
            normalize([("de vice", "x")]),
            Err(ContextError::BadKey { .. })
        ));
        assert!(matches!(
            normalize([("device", "")]),
            Err(ContextError::BadValue { .. })
        ));
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(matches!(
            normalize([("device", long.as_str())]),
            Err(ContextError::BadValue { .. })
        ));
    }
}
