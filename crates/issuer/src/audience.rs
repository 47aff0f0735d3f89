//! `aud_type` for framework audiences (PT-AUD-08 / PT-ISS-04): the issuer knows which trust
//! frameworks it mints for (`trust_frameworks` in its configuration), and a ticket whose `aud`
//! names one always carries `aud_type: "trust_framework"`.
//!
//! An absent `aud_type` is filled in (the caller's intent is unambiguous: the value is a
//! framework we know); an explicit contradiction is refused rather than guessed at: a
//! framework `aud` with `aud_type: "data_holder_url"`, a mixed array, or
//! `aud_type: "trust_framework"` naming no framework this issuer is configured for.

use serde_json::{Map, Value};

use crate::error::IssueError;

/// What was done to `aud_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudTypeOutcome {
    /// Nothing to do.
    Unchanged,
    /// `aud_type: "trust_framework"` was added to a framework `aud`.
    Added,
}

/// Checks (and, where absent, completes) `aud_type` against the configured frameworks.
pub fn settle_aud_type(
    payload: &mut Map<String, Value>,
    frameworks: &[String],
) -> Result<AudTypeOutcome, IssueError> {
    let entries: Vec<&str> = match payload.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        // Missing or mistyped `aud`: the verifier's own checks name the problem.
        _ => return Ok(AudTypeOutcome::Unchanged),
    };
    let framework_count = entries
        .iter()
        .filter(|e| frameworks.iter().any(|f| f == **e))
        .count();
    let declared = payload.get("aud_type").and_then(Value::as_str);
    if framework_count > 0 && framework_count < entries.len() {
        return Err(IssueError::Request(
            "`aud` mixes trust frameworks and Data Holder URLs; one `aud_type` applies to all \
             entries, so mint separate tickets"
                .into(),
        ));
    }
    if framework_count > 0 {
        return match payload.get("aud_type") {
            None => {
                payload.insert("aud_type".into(), "trust_framework".into());
                Ok(AudTypeOutcome::Added)
            }
            Some(_) if declared == Some("trust_framework") => Ok(AudTypeOutcome::Unchanged),
            Some(_) => Err(IssueError::Request(
                "`aud` names a trust framework, so `aud_type` must be \"trust_framework\"".into(),
            )),
        };
    }
    if declared == Some("trust_framework") {
        return Err(IssueError::Request(
            "`aud_type` is \"trust_framework\" but `aud` names no trust framework this issuer \
             is configured for (trust_frameworks)"
                .into(),
        ));
    }
    Ok(AudTypeOutcome::Unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> (Result<AudTypeOutcome, String>, Value) {
        let Value::Object(mut m) = v else {
            unreachable!()
        };
        let r = settle_aud_type(&mut m, &["https://network.example".to_owned()])
            .map_err(|e| e.to_string());
        (r, Value::Object(m))
    }

    #[test]
    fn pt_aud_08_framework_audiences_carry_aud_type() {
        let (r, v) = run(json!({"aud": "https://network.example"}));
        assert_eq!(r, Ok(AudTypeOutcome::Added));
        assert_eq!(v["aud_type"], "trust_framework");
        let (r, _) =
            run(json!({"aud": ["https://network.example"], "aud_type": "trust_framework"}));
        assert_eq!(r, Ok(AudTypeOutcome::Unchanged));
        let (r, _) = run(json!({"aud": "https://network.example", "aud_type": "data_holder_url"}));
        assert!(r.unwrap_err().contains("must be \"trust_framework\""));
        let (r, _) = run(json!({"aud": ["https://network.example", "https://dh.example/fhir"]}));
        assert!(r.unwrap_err().contains("mixes"));
        let (r, _) = run(json!({"aud": "https://other.example", "aud_type": "trust_framework"}));
        assert!(r.unwrap_err().contains("no trust framework"));
        let (r, v) = run(json!({"aud": "https://dh.example/fhir"}));
        assert_eq!(r, Ok(AudTypeOutcome::Unchanged));
        assert!(v.get("aud_type").is_none());
    }
}
