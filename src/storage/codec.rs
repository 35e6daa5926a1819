//! Binary encoding shared by the write-ahead log and snapshots: LEB128
//! varints, length-prefixed strings, little-endian fixed-width numbers.
//!
//! Hand-written rather than a serialization crate because the formats are
//! tiny, must stay stable on disk, and sit on the ingest hot path.

/// Decoding ran past the end of the input or met an impossible value.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("malformed record: {what}")]
pub struct Malformed {
    pub what: &'static str,
}

pub fn put_u64(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn put_str(out: &mut Vec<u8>, value: &str) {
    put_u64(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

pub fn put_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn put_f32(out: &mut Vec<u8>, value: f32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads values back from a byte slice, front to back.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        if self.bytes.len() < len {
            return Err(Malformed { what });
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Malformed { what })
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, Malformed> {
        u32::try_from(self.u64(what)?).map_err(|_| Malformed { what })
    }

    pub fn str(&mut self, what: &'static str) -> Result<&'a str, Malformed> {
        let len = usize::try_from(self.u64(what)?).map_err(|_| Malformed { what })?;
        std::str::from_utf8(self.take(len, what)?).map_err(|_| Malformed { what })
    }

    pub fn i64(&mut self, what: &'static str) -> Result<i64, Malformed> {
        let bytes = self.take(8, what)?;
        Ok(i64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    pub fn f32(&mut self, what: &'static str) -> Result<f32, Malformed> {
        let bytes = self.take(4, what)?;
        Ok(f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let mut out = Vec::new();
        for v in [0, 1, 127, 128, 300, u64::MAX] {
            put_u64(&mut out, v);
        }
        put_str(&mut out, "héllo");
        put_i64(&mut out, -42);
        put_f32(&mut out, 2.5);

        let mut r = Reader::new(&out);
        for v in [0, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.u64("v").unwrap(), v);
        }
        assert_eq!(r.str("s").unwrap(), "héllo");
        assert_eq!(r.i64("i").unwrap(), -42);
        assert_eq!(r.f32("f").unwrap(), 2.5);
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_input_is_malformed_not_a_panic() {
        let mut out = Vec::new();
        put_str(&mut out, "abcdef");
        let mut r = Reader::new(&out[..4]);
        assert_eq!(r.str("name"), Err(Malformed { what: "name" }));
        assert!(Reader::new(&[0xff; 11]).u64("varint").is_err());
    }
}
