//! The limits on what callers may send, and the checks that turn raw input
//! (a gRPC message, a row of an imported file) into domain values.
//!
//! One place for every limit, so the server and `hyperrec import` accept
//! exactly the same interactions and the README can list them from here.
//! Each limit bounds memory or work per call; none is a business rule.

use chrono::{DateTime, Utc};

use crate::context::{self, ContextError, NormalizedContext, TimeBucket};
use crate::hypergraph::NewEdge;

/// Longest customer, product or event id, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Longest intent, in bytes.
pub const MAX_INTENT_LEN: usize = 32;
/// Recommend `limit` when the caller sets none.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest Recommend `limit`.
pub const MAX_LIMIT: usize = 500;
/// Most `exclude_product_ids` in one Recommend call.
pub const MAX_EXCLUDED: usize = 1_000;
/// Largest interaction weight.
pub const MAX_WEIGHT: f32 = 1.0e6;
/// How far in the future an event or query time may be, for clock skew.
pub const MAX_FUTURE_MS: i64 = 24 * 3_600_000;
/// Earliest accepted time: 2000-01-01T00:00:00Z.
pub const MIN_TIME_MS: i64 = 946_684_800_000;
/// Most metadata entries on one interaction.
pub const MAX_METADATA: usize = 16;
/// Longest metadata key or value, in bytes.
pub const MAX_METADATA_LEN: usize = 256;

/// Input that cannot be accepted; the message says which field and what to
/// change. Callers answer it with `INVALID_ARGUMENT`.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{field}: {problem}")]
pub struct InputError {
    pub field: &'static str,
    pub problem: String,
}

impl InputError {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

impl From<ContextError> for InputError {
    fn from(err: ContextError) -> Self {
        Self::new("context", err.to_string())
    }
}

/// Default interaction weight per intent: the more committed the action,
/// the stronger the evidence.
pub fn default_weight(intent: &str) -> f32 {
    match intent {
        "buy" | "purchase" | "order" => 5.0,
        "cart" | "add_to_cart" => 3.0,
        "compare" | "save" | "like" => 2.0,
        _ => 1.0,
    }
}

/// Checks a required id: 1 to 256 bytes, no control characters.
pub fn id(field: &'static str, value: &str) -> Result<String, InputError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InputError::new(field, "is required and must not be blank"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(InputError::new(
            field,
            format!("is {} bytes; at most {MAX_ID_LEN} are allowed", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InputError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_string())
}

/// Normalizes an intent: lowercase, 1 to 32 characters of a-z, 0-9, '_'
/// and '-'. `None` when blank.
pub fn intent(value: &str) -> Result<Option<String>, InputError> {
    let value = value.trim().to_ascii_lowercase();
    if value.is_empty() {
        return Ok(None);
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if value.len() > MAX_INTENT_LEN || !value.chars().all(valid) {
        return Err(InputError::new(
            "intent",
            format!("use 1 to {MAX_INTENT_LEN} characters from a-z, 0-9, '_' and '-'"),
        ));
    }
    Ok(Some(value))
}

/// Checks an event or query time against `now_ms`.
pub fn time(field: &'static str, at_ms: i64, now_ms: i64) -> Result<i64, InputError> {
    if at_ms > now_ms + MAX_FUTURE_MS {
        return Err(InputError::new(
            field,
            "is more than one day in the future; send the real event time in UTC",
        ));
    }
    if at_ms < MIN_TIME_MS {
        return Err(InputError::new(field, "is before the year 2000"));
    }
    Ok(at_ms)
}

/// Checks an explicit weight: finite, above 0, at most `MAX_WEIGHT`.
pub fn weight(value: f32) -> Result<f32, InputError> {
    if !value.is_finite() || value <= 0.0 || value > MAX_WEIGHT {
        return Err(InputError::new(
            "weight",
            format!("must be a finite number above 0 and at most {MAX_WEIGHT}, got {value}"),
        ));
    }
    Ok(value)
}

/// An interaction as received, before any check.
#[derive(Debug, Clone, Default)]
pub struct RawInteraction<'a> {
    pub customer_id: &'a str,
    pub product_id: &'a str,
    pub context: Vec<(&'a str, &'a str)>,
    pub intent: &'a str,
    pub occurred_at_ms: Option<i64>,
    pub weight: Option<f32>,
    pub metadata: Vec<(&'a str, &'a str)>,
}

/// Validates an interaction and turns it into a hyperedge.
///
/// Metadata is checked against its limits but not stored in the hypergraph:
/// it describes the event, not a vertex.
pub fn interaction(raw: &RawInteraction<'_>, now_ms: i64) -> Result<NewEdge, InputError> {
    let customer = id("customer_id", raw.customer_id)?;
    let product = id("product_id", raw.product_id)?;
    let context = context::normalize(raw.context.iter().copied())?;
    let intent = intent(raw.intent)?.unwrap_or_else(|| "browse".to_string());
    let at_ms = time("occurred_at", raw.occurred_at_ms.unwrap_or(now_ms), now_ms)?;
    let weight = match raw.weight {
        Some(w) => weight(w)?,
        None => default_weight(&intent),
    };
    metadata(&raw.metadata)?;

    Ok(NewEdge {
        bucket: TimeBucket::at(at_ms, context.tz_or_utc()),
        customer,
        product,
        contexts: context.values,
        intent,
        weight,
        at_ms,
    })
}

fn metadata(entries: &[(&str, &str)]) -> Result<(), InputError> {
    if entries.len() > MAX_METADATA {
        return Err(InputError::new(
            "metadata",
            format!(
                "has {} entries; at most {MAX_METADATA} are allowed",
                entries.len()
            ),
        ));
    }
    let too_long = |s: &str| s.is_empty() || s.len() > MAX_METADATA_LEN;
    if entries
        .iter()
        .any(|(k, v)| too_long(k) || v.len() > MAX_METADATA_LEN)
    {
        return Err(InputError::new(
            "metadata",
            format!(
                "keys must be 1 to {MAX_METADATA_LEN} bytes and values at most {MAX_METADATA_LEN}"
            ),
        ));
    }
    Ok(())
}

/// A Recommend request as received, before any check.
#[derive(Debug, Clone, Default)]
pub struct RawQuery<'a> {
    pub customer_id: &'a str,
    pub context: Vec<(&'a str, &'a str)>,
    pub intent: &'a str,
    pub limit: Option<u32>,
    pub at_ms: Option<i64>,
    pub exclude_product_ids: Vec<&'a str>,
    pub explain: bool,
}

/// A checked Recommend request.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub customer: String,
    pub context: NormalizedContext,
    pub intent: Option<String>,
    pub limit: usize,
    pub at_ms: i64,
    pub bucket: TimeBucket,
    pub exclude: Vec<String>,
    pub explain: bool,
}

pub fn query(raw: &RawQuery<'_>, now_ms: i64) -> Result<Query, InputError> {
    let customer = id("customer_id", raw.customer_id)?;
    let context = context::normalize(raw.context.iter().copied())?;
    let intent = intent(raw.intent)?;
    let limit = match raw.limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT as u32).contains(&l) => l as usize,
        Some(l) => {
            return Err(InputError::new(
                "limit",
                format!("must be from 1 to {MAX_LIMIT} (or unset for {DEFAULT_LIMIT}), got {l}"),
            ))
        }
    };
    let at_ms = time("at", raw.at_ms.unwrap_or(now_ms), now_ms)?;
    if raw.exclude_product_ids.len() > MAX_EXCLUDED {
        return Err(InputError::new(
            "exclude_product_ids",
            format!(
                "has {} ids; at most {MAX_EXCLUDED} are allowed",
                raw.exclude_product_ids.len()
            ),
        ));
    }
    let exclude = raw
        .exclude_product_ids
        .iter()
        .map(|p| id("exclude_product_ids", p))
        .collect::<Result<_, _>>()?;

    Ok(Query {
        bucket: TimeBucket::at(at_ms, context.tz_or_utc()),
        customer,
        context,
        intent,
        limit,
        at_ms,
        exclude,
        explain: raw.explain,
    })
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Milliseconds of an RFC 3339 timestamp (for files and tests).
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn raw<'a>() -> RawInteraction<'a> {
        RawInteraction {
            customer_id: "c1",
            product_id: "p1",
            context: vec![("device", "mobile")],
            intent: "Buy",
            ..RawInteraction::default()
        }
    }

    #[test]
    fn an_interaction_gets_defaults_from_its_intent_and_now() {
        let edge = interaction(&raw(), NOW).unwrap();
        assert_eq!(edge.intent, "buy");
        assert_eq!(edge.weight, 5.0);
        assert_eq!(edge.at_ms, NOW);
        assert_eq!(edge.contexts, ["device=mobile"]);
    }

    #[test]
    fn bad_interactions_name_the_field_to_fix() {
        let field = |r: RawInteraction<'_>| interaction(&r, NOW).unwrap_err().field;
        assert_eq!(
            field(RawInteraction {
                customer_id: " ",
                ..raw()
            }),
            "customer_id"
        );
        assert_eq!(
            field(RawInteraction {
                product_id: "",
                ..raw()
            }),
            "product_id"
        );
        assert_eq!(
            field(RawInteraction {
                weight: Some(f32::NAN),
                ..raw()
            }),
            "weight"
        );
        assert_eq!(
            field(RawInteraction {
                weight: Some(-1.0),
                ..raw()
            }),
            "weight"
        );
        let future = Some(NOW + 3 * 365 * 86_400_000);
        assert_eq!(
            field(RawInteraction {
                occurred_at_ms: future,
                ..raw()
            }),
            "occurred_at"
        );
        assert_eq!(
            field(RawInteraction {
                intent: "buy now!",
                ..raw()
            }),
            "intent"
        );
        let tz = vec![("tz", "Nowhere/Special")];
        assert_eq!(
            field(RawInteraction {
                context: tz,
                ..raw()
            }),
            "context"
        );
        let huge = "x".repeat(1 << 20);
        assert_eq!(
            field(RawInteraction {
                customer_id: &huge,
                ..raw()
            }),
            "customer_id"
        );
    }

    #[test]
    fn query_limit_must_be_in_range_when_set() {
        let q = |limit| {
            query(
                &RawQuery {
                    customer_id: "c1",
                    limit,
                    ..RawQuery::default()
                },
                NOW,
            )
        };
        assert_eq!(q(None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(q(Some(500)).unwrap().limit, 500);
        assert_eq!(q(Some(0)).unwrap_err().field, "limit");
        assert_eq!(q(Some(100_000)).unwrap_err().field, "limit");
    }
}
