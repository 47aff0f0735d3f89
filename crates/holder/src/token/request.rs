//! The token request as form parameters (RFC 6749 §3.2, RFC 8693 §2.1, OP-11): strict
//! `application/x-www-form-urlencoded`, bounded, strict UTF-8, no repeated parameters.

use std::collections::BTreeMap;

use crate::token::error::TokenError;

/// Largest accepted request body (a 64 KiB ticket plus a client assertion and the rest).
pub const MAX_BODY_BYTES: usize = 128 * 1024;
/// Largest accepted `subject_token` (PT-REQ-07).
pub const MAX_SUBJECT_TOKEN_BYTES: usize = 64 * 1024;
/// Largest number of parameters.
pub const MAX_PARAMS: usize = 32;

/// RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 access-token token type.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Decoded form parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormParams(BTreeMap<String, String>);

impl FormParams {
    /// Parses a body with its `Content-Type`.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<FormParams, TokenError> {
        let form = content_type
            .and_then(|c| c.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(TokenError::InvalidRequest(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(TokenError::InvalidRequest("Request too large"));
        }
        let mut map = BTreeMap::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if map.len() >= MAX_PARAMS {
                return Err(TokenError::InvalidRequest("Too many parameters"));
            }
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            if map.insert(decode(k)?, decode(v)?).is_some() {
                return Err(TokenError::InvalidRequest("Repeated parameter"));
            }
        }
        Ok(FormParams(map))
    }

    /// Builds params directly (tests, in-process callers).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> FormParams {
        FormParams(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// One form component: `+` is a space, percent escapes decoded, and the result must be UTF-8
/// (a lossy decoding would let two different byte strings name the same parameter value).
fn decode(raw: &[u8]) -> Result<String, TokenError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| TokenError::InvalidRequest("Request is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=UTF-8");

    #[test]
    fn parses_and_rejects_duplicates_and_other_media_types() {
        let p = FormParams::parse(FORM, b"a=1&b=x%20y&c=").unwrap();
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), None);
        // PT-REQ-06.
        assert_eq!(
            FormParams::parse(FORM, b"scope=a&scope=b"),
            Err(TokenError::InvalidRequest("Repeated parameter"))
        );
        assert!(FormParams::parse(Some("application/json"), b"{}").is_err());
        assert!(FormParams::parse(None, b"a=1").is_err());
        // Strict UTF-8, raw or percent-encoded.
        for body in [&b"a=%FF"[..], b"a=\xC3", b"%C3%28=1"] {
            assert_eq!(
                FormParams::parse(FORM, body),
                Err(TokenError::InvalidRequest("Request is not valid UTF-8"))
            );
        }
        let p = FormParams::parse(FORM, "n=Jos%C3%A9+%2B&&flag".as_bytes()).unwrap();
        assert_eq!(p.get("n"), Some("José +"));
        assert_eq!(p.get("flag"), None);
        // PT-REQ-07.
        let big = vec![b'a'; MAX_BODY_BYTES + 1];
        assert_eq!(
            FormParams::parse(FORM, &big),
            Err(TokenError::InvalidRequest("Request too large"))
        );
    }
}
