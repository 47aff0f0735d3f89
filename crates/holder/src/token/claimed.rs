//! What a refused ticket *claims* to be, for the audit trail only (PT-AUDIT, issue 9): when a
//! ticket fails the parse step (refused `alg`, missing `kid`, `crit`, mistyped envelope claims)
//! its payload may still decode as JSON, and its `jti`, `iss` and `ticket_type` are what an
//! operator searches the audit by. They are unverified — the row says so — and never inform a
//! decision. Only these three string claims are read, each truncated; the token itself is
//! never written anywhere.

use serde_json::Value;
use tessera_ticket::danger::decode_unverified;

/// Longest claimed value kept in an audit row.
pub const MAX_CLAIMED_CHARS: usize = 256;

/// The unverified identity claims of a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimedTicket {
    /// Claimed `jti`.
    pub jti: Option<String>,
    /// Claimed `iss`.
    pub iss: Option<String>,
    /// Claimed `ticket_type`.
    pub ticket_type: Option<String>,
}

/// The claims of `token` if its payload decodes as a JSON object at all (bounded by the
/// decoder's size and depth limits); `None` otherwise.
pub fn claimed_ticket(token: &str) -> Option<ClaimedTicket> {
    let parts = decode_unverified(token).ok()?;
    let text = |name: &str| {
        parts
            .payload
            .get(name)
            .and_then(Value::as_str)
            .map(clip)
            .filter(|s| !s.is_empty())
    };
    Some(ClaimedTicket {
        jti: text("jti"),
        iss: text("iss"),
        ticket_type: text("ticket_type"),
    })
}

/// At most [`MAX_CLAIMED_CHARS`] characters, control characters dropped (log-safe).
pub fn clip(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLAIMED_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_jose::b64;

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.sig",
            b64::encode(header.as_bytes()),
            b64::encode(payload.as_bytes())
        )
    }

    #[test]
    fn reads_only_string_identity_claims() {
        let t = token(
            r#"{"alg":"none"}"#,
            r#"{"jti":"j-1","iss":"https://i.example","ticket_type":7,"exp":"x"}"#,
        );
        let c = claimed_ticket(&t).unwrap();
        assert_eq!(c.jti.as_deref(), Some("j-1"));
        assert_eq!(c.iss.as_deref(), Some("https://i.example"));
        assert_eq!(c.ticket_type, None);
        assert_eq!(claimed_ticket("not-a-jws"), None);
        assert_eq!(claimed_ticket(&token("{}", "[1]")), None);
        let long = "x".repeat(1000) + "\n";
        assert_eq!(clip(&long).len(), MAX_CLAIMED_CHARS);
    }
}
