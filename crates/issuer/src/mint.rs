//! Preparing a mint request: the issuer fills `iss`, `iat`, `jti`, `exp` and `revocation`,
//! bounds the lifetime by type (and, for delegated access, by the requester's authority), and
//! runs the ticket crate's own verifier stages over the result before anything is signed.

use serde_json::{Map, Value, json};
use tessera_ticket::claims::{Patient, Requester, TicketClaims};
use tessera_ticket::{TicketError, TicketType, TypeError, VerifyOptions, check_payload};

use crate::error::IssueError;
use crate::lifetimes::Lifetime;

/// Claims the issuer alone assigns; a caller sending them is told so rather than ignored.
const ISSUER_ASSIGNED: [&str; 3] = ["iat", "jti", "revocation"];

/// A request turned into a checked payload, waiting for its revocation index.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub payload: Map<String, Value>,
    pub claims: TicketClaims,
}

/// The type a request names (needed before lifetimes can be applied).
pub(crate) fn requested_type(payload: &Map<String, Value>) -> Result<TicketType, IssueError> {
    match payload.get("ticket_type") {
        None => Err(IssueError::Refused(TypeError::Missing.into())),
        Some(Value::String(uri)) => TicketType::from_uri(uri)
            .ok_or_else(|| IssueError::Refused(TypeError::Unsupported(uri.clone()).into())),
        Some(_) => Err(IssueError::Refused(
            TypeError::Unsupported("(not a string)".into()).into(),
        )),
    }
}

/// Fills the issuer-owned claims and checks the result with the verifier's pure stages.
/// `revocation` gets a placeholder index here; [`set_revocation`] puts the real one in.
pub(crate) fn prepare(
    mut payload: Map<String, Value>,
    issuer: &str,
    lifetime: Lifetime,
    status_url: &str,
    now: i64,
    jti: &str,
) -> Result<Prepared, IssueError> {
    for name in ISSUER_ASSIGNED {
        if payload.contains_key(name) {
            return Err(IssueError::Request(format!(
                "`{name}` is assigned by the issuer; leave it out"
            )));
        }
    }
    match payload.get("iss") {
        None => {}
        Some(Value::String(s)) if s == issuer => {}
        Some(_) => {
            return Err(IssueError::Request(format!(
                "`iss` must be absent or {issuer:?}"
            )));
        }
    }
    let ticket_type = requested_type(&payload)?;
    let exp = expiry(&payload, ticket_type, lifetime, now)?;
    payload.insert("iss".into(), issuer.into());
    payload.insert("iat".into(), now.into());
    payload.insert("jti".into(), jti.into());
    payload.insert("exp".into(), exp.into());
    payload.insert(
        "revocation".into(),
        json!({ "url": status_url, "index": 0 }),
    );
    let verified = check_payload(&payload, &mint_options()).map_err(IssueError::Refused)?;
    Ok(Prepared {
        payload,
        claims: verified.into_claims(),
    })
}

/// Puts the assigned index into the payload.
pub(crate) fn set_revocation(payload: &mut Map<String, Value>, status_url: &str, index: u64) {
    payload.insert(
        "revocation".into(),
        json!({ "url": status_url, "index": index }),
    );
}

/// `exp`: the caller's (bounded by the type's max lifetime) or `now` + the type's default;
/// for delegated access never past the end of the requester's authority (PT-LIFE-08).
fn expiry(
    payload: &Map<String, Value>,
    ticket_type: TicketType,
    lifetime: Lifetime,
    now: i64,
) -> Result<i64, IssueError> {
    let authority_end = match ticket_type {
        TicketType::DelegatedAccess => authority_end(payload)?,
        _ => None,
    };
    let requested =
        match payload.get("exp") {
            None => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| {
                IssueError::Request("`exp` must be an integer NumericDate".into())
            })?),
        };
    match requested {
        Some(exp) => {
            if exp <= now {
                return Err(IssueError::Request("`exp` is not in the future".into()));
            }
            if exp - now > lifetime.max {
                return Err(IssueError::Request(format!(
                    "`exp` is more than {} s ahead, the longest lifetime for this ticket type",
                    lifetime.max
                )));
            }
            if authority_end.is_some_and(|end| exp > end) {
                return Err(IssueError::Request(
                    "`exp` is after requester.period.end, the end of the delegate's authority"
                        .into(),
                ));
            }
            Ok(exp)
        }
        None => {
            let exp = now.saturating_add(lifetime.default);
            match authority_end {
                Some(end) if end <= now => Err(IssueError::Request(
                    "requester.period.end has passed: the delegate's authority has ended".into(),
                )),
                Some(end) => Ok(exp.min(end)),
                None => Ok(exp),
            }
        }
    }
}

/// The end of a delegate's authority, from `requester.period.end`.
fn authority_end(payload: &Map<String, Value>) -> Result<Option<i64>, IssueError> {
    let end = payload
        .get("requester")
        .and_then(|r| r.get("period"))
        .and_then(|p| p.get("end"));
    match end {
        None => Ok(None),
        Some(Value::String(s)) => fhir_instant(s).map(Some).ok_or_else(|| {
            IssueError::Request("requester.period.end is not a FHIR date or dateTime".into())
        }),
        Some(_) => Err(IssueError::Request(
            "requester.period.end is not a string".into(),
        )),
    }
}

/// A FHIR date or dateTime as unix seconds. A partial date (`2027`, `2027-03`,
/// `2027-03-01`) is read as its first instant in UTC: an authority "until 2027-03-01" then
/// ends no later than the date says in any time zone, which errs on the side of less access.
fn fhir_instant(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if s.len() > 10 {
        return time::OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(time::OffsetDateTime::unix_timestamp);
    }
    let mut parts = s.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u8 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// One line about the subject: name, birth date, identifiers.
pub(crate) fn subject_summary(patient: &Patient) -> String {
    let mut parts = Vec::new();
    if let Some(name) = patient.name.first() {
        let given = name.given.join(" ");
        match (&name.family, &name.text) {
            (Some(f), _) if given.is_empty() => parts.push(f.clone()),
            (Some(f), _) => parts.push(format!("{f}, {given}")),
            (None, Some(t)) => parts.push(t.clone()),
            (None, None) => parts.push(given),
        }
    }
    if let Some(b) = &patient.birth_date {
        parts.push(format!("born {b}"));
    }
    for id in &patient.identifier {
        parts.push(format!(
            "{}|{}",
            id.system.as_deref().unwrap_or(""),
            id.value.as_deref().unwrap_or("")
        ));
    }
    parts.join("; ")
}

/// One line about the requester: resource type, name, identifiers or authority.
pub(crate) fn requester_summary(requester: &Requester) -> String {
    match requester {
        Requester::RelatedPerson(p) => {
            let name = p
                .name
                .first()
                .map(|n| {
                    let given = n.given.join(" ");
                    format!("{} {given}", n.family.as_deref().unwrap_or(""))
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            let roles: Vec<&str> = p
                .relationship
                .iter()
                .flat_map(|r| r.coding.iter())
                .filter_map(|c| c.code.as_deref())
                .collect();
            format!("RelatedPerson: {name} ({})", roles.join(", "))
        }
        Requester::Organization(o) => {
            let ids: Vec<String> = o
                .identifier
                .iter()
                .map(|i| {
                    format!(
                        "{}|{}",
                        i.system.as_deref().unwrap_or(""),
                        i.value.as_deref().unwrap_or("")
                    )
                })
                .collect();
            format!(
                "Organization: {} [{}]",
                o.name.as_deref().unwrap_or(""),
                ids.join(", ")
            )
        }
        Requester::Practitioner(_) => "Practitioner".into(),
        Requester::PractitionerRole(_) => "PractitionerRole".into(),
    }
}

/// The error a refused payload maps to, for callers that want the spec's wording.
pub(crate) fn refusal_description(e: &TicketError) -> String {
    format!("{} ({e})", e.oauth_error().1)
}

/// The checks a ticket must pass before this issuer signs it: the verifier's own rules, with
/// the Proposal 005 `sensitivity_withhold` constraint allowed. Minting it is always sound:
/// a Data Holder that does not enforce it rejects the ticket, which is the spec's intended
/// consequence, and ours does enforce it.
pub(crate) fn mint_options() -> VerifyOptions {
    let mut opts = VerifyOptions::default();
    opts.access.sensitivity_withhold = true;
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_instants() {
        assert_eq!(fhir_instant("1970-01-02"), Some(86_400));
        assert_eq!(fhir_instant("1970-02"), Some(31 * 86_400));
        assert_eq!(fhir_instant("1971"), Some(365 * 86_400));
        assert_eq!(fhir_instant("1970-01-01T01:00:00Z"), Some(3600));
        assert_eq!(fhir_instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(fhir_instant("1970-13-01"), None);
        assert_eq!(fhir_instant("soon"), None);
    }
}
