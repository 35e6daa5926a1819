//! Conversions between the generated protobuf types and the domain types.

use prost_types::Timestamp;

use super::pb;
use crate::engine::Decision;
use crate::hypergraph::NewEdge;
use crate::validate::{self, InputError, Query, RawInteraction, RawQuery};

/// Milliseconds of a protobuf timestamp; `None` when unset.
fn millis(field: &'static str, ts: Option<&Timestamp>) -> Result<Option<i64>, InputError> {
    let Some(ts) = ts else { return Ok(None) };
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(InputError {
            field,
            problem: format!("nanos must be from 0 to 999999999, got {}", ts.nanos),
        });
    }
    let ms = ts
        .seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(ts.nanos / 1_000_000)));
    ms.map(Some).ok_or_else(|| InputError {
        field,
        problem: "is out of range".to_string(),
    })
}

/// The interaction's hyperedge and its event id, if it has one.
pub fn interaction(
    msg: &pb::Interaction,
    now_ms: i64,
) -> Result<(NewEdge, Option<String>), InputError> {
    let event_id = match msg.event_id.trim() {
        "" => None,
        id => Some(validate::id("event_id", id)?),
    };
    Ok((edge(msg, now_ms)?, event_id))
}

fn edge(msg: &pb::Interaction, now_ms: i64) -> Result<NewEdge, InputError> {
    let raw = RawInteraction {
        customer_id: &msg.customer_id,
        product_id: &msg.product_id,
        context: pairs(&msg.context),
        intent: &msg.intent,
        occurred_at_ms: millis("occurred_at", msg.occurred_at.as_ref())?,
        weight: msg.weight,
        metadata: pairs(&msg.metadata),
    };
    validate::interaction(&raw, now_ms)
}

fn pairs(map: &std::collections::HashMap<String, String>) -> Vec<(&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub fn query(msg: &pb::RecommendRequest, now_ms: i64) -> Result<Query, InputError> {
    let raw = RawQuery {
        customer_id: &msg.customer_id,
        context: pairs(&msg.context),
        intent: &msg.intent,
        limit: msg.limit,
        at_ms: millis("at", msg.at.as_ref())?,
        exclude_product_ids: msg.exclude_product_ids.iter().map(String::as_str).collect(),
        explain: msg.explain,
    };
    validate::query(&raw, now_ms)
}

pub fn decision(decision: &Decision, server_time_us: i64) -> pb::RecommendResponse {
    pb::RecommendResponse {
        recommendations: decision
            .items
            .iter()
            .map(|item| pb::Recommendation {
                product_id: item.product_id.clone(),
                score: item.score,
                reasons: item.reasons.clone(),
            })
            .collect(),
        source: decision.source.as_str().to_string(),
        degraded: decision.degraded,
        model_version: decision.model_version.clone().unwrap_or_default(),
        server_time_us,
        time_bucket: decision.bucket.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_with_invalid_nanos_are_refused() {
        let ts = Timestamp {
            seconds: 1,
            nanos: -1,
        };
        assert_eq!(millis("at", Some(&ts)).unwrap_err().field, "at");
        let ts = Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(millis("at", Some(&ts)).is_err());
        let ts = Timestamp {
            seconds: 2,
            nanos: 5_000_000,
        };
        assert_eq!(millis("at", Some(&ts)).unwrap(), Some(2005));
    }
}
