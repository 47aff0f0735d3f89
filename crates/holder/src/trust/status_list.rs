//! Revocation status lists (spec-digest §15, OP-08): `{"kid"?, "bits": base64url(gzip(bitstring))}`.
//!
//! Pure decoding and bit lookup. Bits are numbered LSB-first within each byte (bit *i* is
//! `byte[i/8] >> (i % 8) & 1`, as the reference implementation and the IETF Token Status List
//! do). Every malformation, and an index beyond the list, makes the status undeterminable: the
//! caller fails closed.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;

/// Largest decompressed list accepted (2^27 bits = 128 Mi tickets per list).
pub const MAX_LIST_BYTES: u64 = 16 << 20;

/// A decoded status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    /// Informational key-family id (logged if it differs from the ticket's `kid`).
    pub kid: Option<String>,
    bits: Vec<u8>,
}

/// Why a list could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// Not the JSON object shape.
    #[error("status list is not a JSON object with a string `bits`")]
    Shape,
    /// `bits` is not base64url.
    #[error("status list `bits` is not base64url")]
    Base64,
    /// `bits` is not a valid gzip stream (incl. CRC mismatch) or is too large.
    #[error("status list `bits` is not a valid gzip stream")]
    Gzip,
    /// The ticket's index lies beyond the list.
    #[error("revocation index {index} is outside the status list ({len} bits)")]
    OutOfRange {
        /// The ticket's index.
        index: u64,
        /// Bits in the list.
        len: u64,
    },
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    kid: Option<String>,
    bits: String,
}

impl StatusList {
    /// Decodes the JSON body of a status-list response.
    pub fn decode(body: &[u8]) -> Result<StatusList, StatusListError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|_| StatusListError::Shape)?;
        // The spec says base64url; its own example uses the standard alphabet. The alphabet
        // carries no security meaning, so both are read (padding optional).
        let gz = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
            .iter()
            .find_map(|engine| engine.decode(wire.bits.as_bytes()).ok())
            .ok_or(StatusListError::Base64)?;
        let mut bits = Vec::new();
        let mut decoder = flate2::read::GzDecoder::new(gz.as_slice()).take(MAX_LIST_BYTES + 1);
        decoder
            .read_to_end(&mut bits)
            .map_err(|_| StatusListError::Gzip)?;
        if bits.len() as u64 > MAX_LIST_BYTES {
            return Err(StatusListError::Gzip);
        }
        Ok(StatusList {
            kid: wire.kid,
            bits,
        })
    }

    /// Builds a list from raw bytes (tests and the issuer side).
    pub fn from_bytes(bits: Vec<u8>) -> StatusList {
        StatusList { kid: None, bits }
    }

    /// Number of bits in the list.
    pub fn len_bits(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// Whether the ticket at `index` is revoked; an index outside the list is an error.
    pub fn is_revoked(&self, index: u64) -> Result<bool, StatusListError> {
        let out_of_range = StatusListError::OutOfRange {
            index,
            len: self.len_bits(),
        };
        let byte_index = usize::try_from(index / 8).map_err(|_| out_of_range.clone())?;
        let byte = self.bits.get(byte_index).ok_or(out_of_range)?;
        Ok((byte >> (index % 8)) & 1 == 1)
    }
}

/// Encodes a list body (`{"bits": ...}`) from raw bytes; used by tests and the issuer.
pub fn encode_body(kid: Option<&str>, bits: &[u8]) -> String {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bits);
    let gz = enc.finish().unwrap_or_default();
    let mut body = serde_json::json!({ "bits": URL_SAFE_NO_PAD.encode(gz) });
    if let Some(k) = kid {
        body["kid"] = serde_json::Value::String(k.to_string());
    }
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // PT-REV-06: LSB-first numbering, indexes 0, 7, 8, 4722.
    #[test]
    fn bits_are_lsb_first() {
        let mut bytes = vec![0u8; 600];
        bytes[0] = 0b1000_0001; // bits 0 and 7
        bytes[1] = 0b0000_0001; // bit 8
        bytes[4722 / 8] |= 1 << (4722 % 8);
        let list = StatusList::decode(encode_body(Some("k"), &bytes).as_bytes()).unwrap();
        assert_eq!(list.kid.as_deref(), Some("k"));
        for i in [0, 7, 8, 4722] {
            assert_eq!(list.is_revoked(i), Ok(true), "bit {i}");
        }
        for i in [1, 6, 9, 4721, 4723] {
            assert_eq!(list.is_revoked(i), Ok(false), "bit {i}");
        }
        assert_eq!(
            list.is_revoked(4800),
            Err(StatusListError::OutOfRange {
                index: 4800,
                len: 4800
            })
        );
        assert!(list.is_revoked(u64::MAX).is_err());
    }

    // PT-REV-04: every malformation is an error.
    #[test]
    fn malformed_lists_are_rejected() {
        assert_eq!(StatusList::decode(b"not json"), Err(StatusListError::Shape));
        assert_eq!(StatusList::decode(b"{}"), Err(StatusListError::Shape));
        assert_eq!(
            StatusList::decode(br#"{"bits":5}"#),
            Err(StatusListError::Shape)
        );
        assert_eq!(
            StatusList::decode(br#"{"bits":"***"}"#),
            Err(StatusListError::Base64)
        );
        assert_eq!(
            StatusList::decode(br#"{"bits":"AAAA"}"#),
            Err(StatusListError::Gzip)
        );
        // The spec's illustrative example: its gzip CRC does not check out.
        assert_eq!(
            StatusList::decode(br#"{"kid":"issuer-signing-key-id","bits":"H4sIAAAAAAAA/2NgYGBgBGIOAwA+T46LBQAAAA"}"#),
            Err(StatusListError::Gzip)
        );
    }

    #[test]
    fn standard_alphabet_is_accepted() {
        let body = encode_body(None, &[0xff, 0x00]);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(v["bits"].as_str().unwrap()).unwrap();
        let std_body = serde_json::json!({ "bits": STANDARD.encode(raw) }).to_string();
        let list = StatusList::decode(std_body.as_bytes()).unwrap();
        assert_eq!(list.is_revoked(3), Ok(true));
        assert_eq!(list.is_revoked(8), Ok(false));
    }
}
