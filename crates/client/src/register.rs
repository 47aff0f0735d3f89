//! Dynamic client registration as a client: RFC 7591 with a JWK (`private_key_jwt`), and UDAP
//! DCR with a software statement. The registration endpoint comes from SMART discovery
//! (`registration_endpoint`) or the caller.

use serde_json::{Map, Value, json};
use url::Url;

use crate::error::{Step, echo};
use crate::http::{MAX_SMALL_BODY, json_object, send};
use crate::jwt::ClientKey;
use crate::redeem::TOKEN_EXCHANGE_GRANT;
use crate::{Client, ClientError};

/// A registration the server accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The issued `client_id`.
    pub client_id: String,
    /// RFC 7592 registration access token, when one was issued.
    pub registration_access_token: Option<String>,
    /// The response object (the registered metadata).
    pub raw: Map<String, Value>,
}

/// The RFC 7591 request of a `private_key_jwt` client registering its public key (the
/// token-exchange grant; `scope` a ceiling, if given).
pub fn jwks_registration(key: &ClientKey, client_name: &str, scope: Option<&str>) -> Value {
    let mut body = json!({
        "client_name": client_name,
        "grant_types": [TOKEN_EXCHANGE_GRANT],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.jwk().public().to_value()]},
    });
    if let (Some(s), Some(m)) = (scope, body.as_object_mut()) {
        m.insert("scope".into(), s.into());
    }
    body
}

/// The UDAP DCR request carrying `software_statement`.
pub fn udap_registration(software_statement: &str) -> Value {
    json!({"software_statement": software_statement, "udap": tessera_udap::UDAP_VERSION})
}

impl Client {
    /// Reads `registration_endpoint` from `[base]/.well-known/smart-configuration` (absent:
    /// the Data Holder does not offer registration).
    pub async fn discover_registration_endpoint(
        &self,
        fhir_base: &Url,
    ) -> Result<Url, ClientError> {
        self.discover_endpoint(fhir_base, "registration_endpoint")
            .await
    }

    /// Posts a registration request (RFC 7591 §3.1), with an initial access token if given.
    pub async fn register(
        &self,
        endpoint: &Url,
        request: &Value,
        initial_access_token: Option<&str>,
    ) -> Result<Registration, ClientError> {
        let mut r = self
            .http
            .post(endpoint.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(request.to_string());
        if let Some(t) = initial_access_token {
            r = r.bearer_auth(t);
        }
        let body = send(r, Step::Registration, endpoint, MAX_SMALL_BODY).await?;
        registration_response(body.status, &body.bytes, endpoint)
    }
}

/// `201` (or `200` for a UDAP cancellation) with `client_id`, or an RFC 7591 §3.2.2 error.
fn registration_response(status: u16, body: &[u8], url: &Url) -> Result<Registration, ClientError> {
    let bad = |reason: String| ClientError::BadResponse {
        step: Step::Registration,
        url: url.to_string(),
        reason,
    };
    let doc = match json_object(body, Step::Registration, url) {
        Ok(d) => d,
        Err(_) if !(200..300).contains(&status) => return Err(bad(format!("HTTP {status}"))),
        Err(e) => return Err(e),
    };
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    if !(200..300).contains(&status) {
        let error = text("error").ok_or_else(|| bad(format!("HTTP {status} without an error")))?;
        return Err(ClientError::RegistrationRefused {
            status,
            error: echo(&error),
            description: echo(&text("error_description").unwrap_or_default()),
        });
    }
    let client_id = text("client_id").ok_or_else(|| bad("no client_id".into()))?;
    Ok(Registration {
        client_id,
        registration_access_token: text("registration_access_token"),
        raw: doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://dh.example/register").unwrap()
    }

    #[test]
    fn registration_errors_keep_the_rfc7591_code() {
        let e = registration_response(
            400,
            br#"{"error":"invalid_client_metadata","error_description":"jwks or jwks_uri is required"}"#,
            &url(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "registration refused: invalid_client_metadata: jwks or jwks_uri is required"
        );
        let ok = registration_response(
            201,
            br#"{"client_id":"abc","registration_access_token":"t"}"#,
            &url(),
        )
        .unwrap();
        assert_eq!(ok.client_id, "abc");
        assert_eq!(ok.registration_access_token.as_deref(), Some("t"));
        assert!(registration_response(201, b"{}", &url()).is_err());
    }
}
