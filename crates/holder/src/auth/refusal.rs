//! Every refusal the FHIR API and the admin endpoints send is audited before it is sent
//! (event `fhir_access` or `admin_access`, outcome `rejected`), like the token endpoint's:
//! a missing, unknown or wrongly bound token, a scope the grant lacks, a resource outside it,
//! a malformed search. Whoever refuses attaches a [`Refusal`] to its response; the FHIR
//! middleware writes the row from it together with what it knows of the caller, and answers
//! 500 instead when the row cannot be made durable (a refusal nobody can later find is the
//! one thing an audit trail must not have). Internal errors carry no `Refusal`: they are not
//! decisions, and are logged.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_store::audit::AuditRecord;
use tessera_store::durable::WriteSet;
use tessera_store::tokens::TokenRecord;

use crate::state::HolderState;

/// At most this many characters of a request path are recorded (paths are caller input).
const MAX_AUDITED_PATH: usize = 256;

/// At most this many characters of a description (which may quote the refused value).
const MAX_AUDITED_DESCRIPTION: usize = 512;

/// Why a request was refused, as the audit row records it; carried on the refusing response
/// as an extension.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The check that refused: `access_token`, `dpop`, `data_holder`, `grant`, `resource`,
    /// `request`, `admin_token`.
    pub step: &'static str,
    /// The code sent: the `WWW-Authenticate` error when there is one (`invalid_token`,
    /// `invalid_dpop_proof`, `invalid_request`), else the OperationOutcome issue code.
    pub error: &'static str,
    /// What the response said, or (for credential refusals, which all say the same to the
    /// caller) what was wrong.
    pub description: String,
    /// Further facts for the row's `details`, merged with the request's method and path.
    pub details: Option<Value>,
}

impl Refusal {
    /// A refusal without further details.
    pub fn new(step: &'static str, error: &'static str, description: impl Into<String>) -> Self {
        Refusal {
            step,
            error,
            description: description.into(),
            details: None,
        }
    }

    /// The same refusal with `details` merged into the row.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Attaches the refusal to a response (replacing any other one).
    pub fn attach(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// The request facts a row names.
pub struct Asked<'a> {
    /// The audit event: `fhir_access` or `admin_access`.
    pub event: &'static str,
    /// The HTTP method.
    pub method: &'a Method,
    /// The request path (without the query, which may hold search values).
    pub path: &'a str,
}

/// The audit row for `refusal` of a request answered `status`, naming the token's facts when
/// the caller presented a known one.
pub fn refusal_record(
    now: i64,
    asked: &Asked<'_>,
    status: StatusCode,
    refusal: &Refusal,
    token: Option<&TokenRecord>,
) -> AuditRecord {
    let path: String = asked.path.chars().take(MAX_AUDITED_PATH).collect();
    let mut details = json!({
        "method": asked.method.as_str(),
        "path": path,
        "status": status.as_u16(),
    });
    if let (Some(Value::Object(extra)), Value::Object(row)) = (&refusal.details, &mut details) {
        for (k, v) in extra {
            row.insert(k.clone(), v.clone());
        }
    }
    AuditRecord {
        at: now,
        event: asked.event.into(),
        outcome: "rejected".into(),
        step: Some(refusal.step.into()),
        error: Some(refusal.error.into()),
        error_description: Some(
            refusal
                .description
                .chars()
                .take(MAX_AUDITED_DESCRIPTION)
                .collect(),
        ),
        jti: token.map(|t| t.ticket_jti.clone()),
        iss: token.map(|t| t.ticket_iss.clone()),
        ticket_type: token.map(|t| t.ticket_type.clone()),
        client_id: token.map(|t| t.client_id.clone()),
        patient: token.map(|t| t.patient.clone()),
        scopes: token.map(|t| t.scope.clone()),
        details: details.to_string(),
        ..Default::default()
    }
}

/// Writes the audit row of a refused response (one carrying a [`Refusal`]) and returns the
/// response once the row is durable; a response without one passes unchanged. When the row
/// cannot be written the caller gets `failed()` instead.
pub async fn audited(
    state: &HolderState,
    asked: &Asked<'_>,
    token: Option<&TokenRecord>,
    response: Response,
    failed: impl FnOnce() -> Response,
) -> Response {
    let Some(refusal) = response.extensions().get::<Refusal>() else {
        return response;
    };
    let now = state.now();
    let record = refusal_record(now, asked, response.status(), refusal, token);
    match state
        .inner
        .writer
        .commit(WriteSet::audit_only(now, record))
        .await
    {
        Ok(_) => response,
        Err(e) => {
            tracing::error!(error = %e, "audit write of a refusal failed");
            failed()
        }
    }
}

/// `audited` for the admin endpoints, whose failure is a bare 500.
pub async fn audited_admin(
    state: &HolderState,
    method: &Method,
    path: &str,
    response: Response,
) -> Response {
    let asked = Asked {
        event: "admin_access",
        method,
        path,
    };
    audited(state, &asked, None, response, || {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenRecord {
        TokenRecord {
            token_hash: vec![1; 32],
            client_id: "app".into(),
            grant_json: "{}".into(),
            ticket_jti: "t-1".into(),
            ticket_iss: "https://issuer.example".into(),
            ticket_type: "patient-self-access".into(),
            patient: "p-1".into(),
            scope: "patient/Observation.rs".into(),
            issued_at: 0,
            expires_at: 10,
            cnf_jkt: None,
        }
    }

    #[test]
    fn a_refusal_row_names_the_request_the_check_and_the_tokens_facts() {
        let asked = Asked {
            event: "fhir_access",
            method: &Method::GET,
            path: "/fhir/Condition",
        };
        let refusal = Refusal::new("grant", "forbidden", "type not granted")
            .with_details(json!({"scheme": "Bearer"}));
        let t = token();
        let row = refusal_record(7, &asked, StatusCode::FORBIDDEN, &refusal, Some(&t));
        assert_eq!(
            (row.at, row.event.as_str(), row.outcome.as_str()),
            (7, "fhir_access", "rejected")
        );
        assert_eq!(
            (row.step.as_deref(), row.error.as_deref()),
            (Some("grant"), Some("forbidden"))
        );
        assert_eq!(row.error_description.as_deref(), Some("type not granted"));
        assert_eq!(
            (row.jti.as_deref(), row.client_id.as_deref()),
            (Some("t-1"), Some("app"))
        );
        assert_eq!(row.patient.as_deref(), Some("p-1"));
        let details: Value = serde_json::from_str(&row.details).unwrap();
        assert_eq!(
            details,
            json!({"method": "GET", "path": "/fhir/Condition", "status": 403, "scheme": "Bearer"})
        );
    }

    #[test]
    fn an_anonymous_refusal_names_no_token_and_bounds_the_path_and_description() {
        let long = format!("/fhir/{}", "x".repeat(1000));
        let asked = Asked {
            event: "fhir_access",
            method: &Method::POST,
            path: &long,
        };
        let refusal = Refusal::new("request", "invalid", "é".repeat(2000));
        let row = refusal_record(1, &asked, StatusCode::BAD_REQUEST, &refusal, None);
        assert_eq!(
            row.error_description.map(|d| d.chars().count()),
            Some(MAX_AUDITED_DESCRIPTION)
        );
        assert_eq!((row.jti, row.client_id, row.patient), (None, None, None));
        let details: Value = serde_json::from_str(&row.details).unwrap();
        assert_eq!(
            details["path"].as_str().map(|p| p.chars().count()),
            Some(MAX_AUDITED_PATH)
        );
        assert_eq!(details["method"], "POST");
    }
}
