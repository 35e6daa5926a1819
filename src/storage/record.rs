//! One write-ahead log record: an accepted interaction with its sequence
//! and event id, framed with its length and a CRC-32 so a torn or flipped
//! record is recognized on recovery.
//!
//! Frame: `len: u32 LE | crc32(payload): u32 LE | payload`.
//! Payload: sequence, event id, time, customer, product, intent, weight,
//! time bucket code, context values (see `encode`).

use super::codec::{put_f32, put_i64, put_str, put_u64, Malformed, Reader};
use crate::context::TimeBucket;
use crate::hypergraph::NewEdge;

/// Bytes before the payload.
pub const FRAME_HEADER: usize = 8;
/// Largest payload accepted when reading; anything larger is corruption
/// (validated interactions encode to a few kilobytes at most).
pub const MAX_PAYLOAD: usize = 1 << 20;

/// An interaction as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub sequence: u64,
    pub event_id: Option<String>,
    pub edge: NewEdge,
}

/// Appends the framed record for one event to `out`.
pub fn encode(sequence: u64, event_id: Option<&str>, edge: &NewEdge, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    put_u64(out, sequence);
    put_str(out, event_id.unwrap_or(""));
    put_i64(out, edge.at_ms);
    put_str(out, &edge.customer);
    put_str(out, &edge.product);
    put_str(out, &edge.intent);
    put_f32(out, edge.weight);
    out.push(edge.bucket.code());
    put_u64(out, edge.contexts.len() as u64);
    for context in &edge.contexts {
        put_str(out, context);
    }
    let payload = &out[start + FRAME_HEADER..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    /// The input ends inside the frame: a write that never finished.
    #[error("record cut short")]
    Torn,
    #[error("record checksum mismatch")]
    Checksum,
    #[error("record length {0} is impossible")]
    Length(usize),
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

/// Reads the frame at the start of `bytes`; returns the event and the
/// frame's total length.
pub fn decode(bytes: &[u8]) -> Result<(LoggedEvent, usize), FrameError> {
    if bytes.len() < FRAME_HEADER {
        return Err(FrameError::Torn);
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_PAYLOAD {
        return Err(FrameError::Length(len));
    }
    let Some(payload) = bytes.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Err(FrameError::Torn);
    };
    if crc32fast::hash(payload) != crc {
        return Err(FrameError::Checksum);
    }
    Ok((parse(payload)?, FRAME_HEADER + len))
}

fn parse(payload: &[u8]) -> Result<LoggedEvent, Malformed> {
    let mut r = Reader::new(payload);
    let sequence = r.u64("sequence")?;
    let event_id = Some(r.str("event id")?.to_string()).filter(|id| !id.is_empty());
    let at_ms = r.i64("time")?;
    let customer = r.str("customer")?.to_string();
    let product = r.str("product")?.to_string();
    let intent = r.str("intent")?.to_string();
    let weight = r.f32("weight")?;
    let bucket = TimeBucket::from_code(r.u8("time bucket")?);
    let count = r.u64("context count")? as usize;
    let mut contexts = Vec::with_capacity(count.min(256));
    for _ in 0..count {
        contexts.push(r.str("context")?.to_string());
    }
    Ok(LoggedEvent {
        sequence,
        event_id,
        edge: NewEdge {
            customer,
            product,
            contexts,
            intent,
            bucket,
            weight,
            at_ms,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::context::DayPart;

    pub(crate) fn sample_edge(customer: &str) -> NewEdge {
        NewEdge {
            customer: customer.into(),
            product: "p1".into(),
            contexts: vec!["device=mobile".into(), "location=gym".into()],
            intent: "buy".into(),
            bucket: TimeBucket {
                part: DayPart::Evening,
                weekend: true,
            },
            weight: 5.0,
            at_ms: 1_780_000_000_000,
        }
    }

    #[test]
    fn a_record_round_trips_with_its_length() {
        let mut out = Vec::new();
        encode(7, Some("ev-1"), &sample_edge("c1"), &mut out);
        encode(8, None, &sample_edge("c2"), &mut out);
        let (first, len) = decode(&out).unwrap();
        assert_eq!(first.sequence, 7);
        assert_eq!(first.event_id.as_deref(), Some("ev-1"));
        assert_eq!(first.edge, sample_edge("c1"));
        let (second, _) = decode(&out[len..]).unwrap();
        assert_eq!((second.sequence, second.event_id), (8, None));
    }

    #[test]
    fn torn_and_flipped_records_are_recognized() {
        let mut out = Vec::new();
        encode(1, None, &sample_edge("c1"), &mut out);
        assert_eq!(decode(&out[..out.len() - 1]), Err(FrameError::Torn));
        assert_eq!(decode(&out[..3]), Err(FrameError::Torn));
        let mut flipped = out.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x10;
        assert_eq!(decode(&flipped), Err(FrameError::Checksum));
        assert!(matches!(decode(&[0; 16]), Err(FrameError::Length(0))));
    }
}
