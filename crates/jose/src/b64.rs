//! Strict base64url (RFC 4648 §5, no padding), the only encoding JOSE uses on the wire.
//!
//! Strict means: no padding, no whitespace, no non-canonical trailing bits. Accepting sloppy
//! encodings would let two different strings name the same signature, which breaks
//! byte-for-byte comparisons callers rely on (thumbprints, `jkt`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::JoseError;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url without padding.
pub fn decode(s: &str) -> Result<Vec<u8>, JoseError> {
    // The engine's default config already rejects padding and non-canonical trailing bits.
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| JoseError::Malformed("invalid base64url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"hello"), "aGVsbG8");
        assert_eq!(decode("aGVsbG8").unwrap(), b"hello");
        assert!(decode("aGVsbG8=").is_err(), "padding rejected");
        assert!(
            decode("aGVsbG9").is_err(),
            "non-canonical trailing bits rejected"
        );
        assert!(decode("aGVs bG8").is_err(), "whitespace rejected");
        assert!(decode("aGVs+G8").is_err(), "standard alphabet rejected");
    }
}
