//! Redemption: SMART discovery of the token endpoint and the RFC 8693 token exchange of a
//! Permission Ticket, authenticated with `private_key_jwt` (a JWK, or a UDAP certificate in
//! `x5c`) and optionally DPoP-bound.

use serde_json::{Map, Value};
use tessera_ticket::claims::SUBJECT_TOKEN_TYPE;
use url::Url;

use crate::error::{Step, echo};
use crate::http::{MAX_SMALL_BODY, json_object, send};
use crate::jwt::{CLIENT_ASSERTION_TYPE, ClientKey, client_assertion_with_header, dpop_proof};
use crate::udap::UdapCredentials;
use crate::{Client, ClientError};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// A JWT assertion signed with a registered JWK (RFC 7523, SMART Backend Services).
    Jwk(&'a ClientKey),
    /// A UDAP JWT assertion carrying the client's certificate chain in `x5c`.
    Udap(&'a UdapCredentials),
}

/// `grant_type` of RFC 8693 token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// What a redemption needs.
#[derive(Debug)]
pub struct Redemption<'a> {
    /// The compact ticket.
    pub ticket: &'a str,
    /// The registered client id (`iss` = `sub` of the assertion).
    pub client_id: &'a str,
    /// The client's credentials.
    pub auth: ClientAuth<'a>,
    /// Requested scopes (space-separated); `None` leaves the choice to the Data Holder.
    pub scope: Option<&'a str>,
    /// Whether to send a DPoP proof signed with the client's JWK (RFC 9449; not with UDAP
    /// credentials, whose key is a certificate's).
    pub dpop: bool,
}

/// A successful token response. `raw` is the whole JSON object as received.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Seconds until expiry, when given.
    pub expires_in: Option<i64>,
    /// Granted scopes, when given.
    pub scope: Option<String>,
    /// The response object.
    pub raw: Map<String, Value>,
}

/// The URL of `[base]/.well-known/smart-configuration` (the base's trailing slash ignored).
pub fn smart_configuration_url(fhir_base: &Url) -> Result<Url, ClientError> {
    let base = fhir_base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/smart-configuration"))
        .map_err(|e| ClientError::Input(format!("FHIR base URL: {e}")))
}

impl Client {
    /// Reads `[base]/.well-known/smart-configuration` and returns its `token_endpoint`.
    pub async fn discover_token_endpoint(&self, fhir_base: &Url) -> Result<Url, ClientError> {
        self.discover_endpoint(fhir_base, "token_endpoint").await
    }

    /// The http(s) URL `member` of the SMART configuration of `fhir_base`.
    pub(crate) async fn discover_endpoint(
        &self,
        fhir_base: &Url,
        member: &str,
    ) -> Result<Url, ClientError> {
        let url = smart_configuration_url(fhir_base)?;
        let request = self
            .http
            .get(url.clone())
            .header("accept", "application/json");
        let body = send(request, Step::Discovery, &url, MAX_SMALL_BODY).await?;
        let bad = |reason: String| ClientError::BadResponse {
            step: Step::Discovery,
            url: url.to_string(),
            reason,
        };
        if body.status != 200 {
            return Err(bad(format!("HTTP {}", body.status)));
        }
        let doc = json_object(&body.bytes, Step::Discovery, &url)?;
        let endpoint = doc
            .get(member)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("no {member}")))?;
        let endpoint =
            Url::parse(endpoint).map_err(|e| bad(format!("{member} is not a URL: {e}")))?;
        if !matches!(endpoint.scheme(), "https" | "http") {
            return Err(bad(format!("{member} is not an http(s) URL")));
        }
        Ok(endpoint)
    }

    /// Exchanges the ticket at `token_endpoint` (RFC 8693 with `private_key_jwt`).
    pub async fn redeem(
        &self,
        token_endpoint: &Url,
        req: &Redemption<'_>,
    ) -> Result<TokenResponse, ClientError> {
        self.redeem_with_assertion_header(token_endpoint, req, &Map::new())
            .await
    }

    /// As [`Client::redeem`], with extra client-assertion header members: an OpenID
    /// Federation client sends its `trust_chain` (leaf first) this way.
    pub async fn redeem_with_assertion_header(
        &self,
        token_endpoint: &Url,
        req: &Redemption<'_>,
        assertion_header: &Map<String, Value>,
    ) -> Result<TokenResponse, ClientError> {
        let ticket = req.ticket.trim();
        if ticket.is_empty() {
            return Err(ClientError::Input("the ticket is empty".into()));
        }
        let now = self.clock.now();
        let audience = token_endpoint.as_str();
        let assertion = match req.auth {
            ClientAuth::Jwk(key) => client_assertion_with_header(
                key,
                req.client_id,
                audience,
                now,
                &Client::new_jti(),
                assertion_header,
            )?,
            ClientAuth::Udap(creds) => {
                if !assertion_header.is_empty() {
                    return Err(ClientError::Input(
                        "a UDAP client assertion carries its own x5c header; extra header \
                         members (trust_chain) are for OpenID Federation clients"
                            .into(),
                    ));
                }
                creds.client_assertion(req.client_id, audience, now, &Client::new_jti())?
            }
        };
        // Built in its own scope: the serializer is not `Send`, and holding it across the
        // `.await` below would make this future unusable in a spawned task or axum handler.
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", TOKEN_EXCHANGE_GRANT)
                .append_pair("subject_token", ticket)
                .append_pair("subject_token_type", SUBJECT_TOKEN_TYPE);
            if let Some(scope) = req.scope {
                form.append_pair("scope", scope);
            }
            form.append_pair("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .append_pair("client_assertion", &assertion);
            form.finish()
        };
        let mut request = self
            .http
            .post(token_endpoint.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form);
        if req.dpop {
            let ClientAuth::Jwk(key) = req.auth else {
                return Err(ClientError::Input(
                    "DPoP proofs are signed with a JWK client key, not UDAP credentials".into(),
                ));
            };
            let proof = dpop_proof(key, "POST", token_endpoint, now, &Client::new_jti(), None)?;
            request = request.header("DPoP", proof);
        }
        let body = send(request, Step::TokenExchange, token_endpoint, MAX_SMALL_BODY).await?;
        token_response(body.status, &body.bytes, token_endpoint)
    }
}

/// Interprets a token-endpoint answer: 200 with `access_token`, or an RFC 6749 §5.2 error.
fn token_response(status: u16, body: &[u8], url: &Url) -> Result<TokenResponse, ClientError> {
    let bad = |reason: String| ClientError::BadResponse {
        step: Step::TokenExchange,
        url: url.to_string(),
        reason,
    };
    let doc = match json_object(body, Step::TokenExchange, url) {
        Ok(doc) => doc,
        Err(_) if status != 200 => {
            let text = String::from_utf8_lossy(body.get(..200).unwrap_or(body)).into_owned();
            return Err(bad(format!("HTTP {status}: {}", echo(&text))));
        }
        Err(e) => return Err(e),
    };
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    if status != 200 {
        let error = text("error").ok_or_else(|| bad(format!("HTTP {status} without an error")))?;
        let description = echo(&text("error_description").unwrap_or_default());
        let error = echo(&error);
        return Err(if error == "invalid_client" {
            ClientError::ClientRejected {
                status,
                error,
                description,
            }
        } else {
            ClientError::Refused {
                status,
                error,
                description,
            }
        });
    }
    let access_token = text("access_token").ok_or_else(|| bad("no access_token".into()))?;
    let token_type = text("token_type").ok_or_else(|| bad("no token_type".into()))?;
    Ok(TokenResponse {
        access_token,
        token_type,
        expires_in: doc.get("expires_in").and_then(Value::as_i64),
        scope: text("scope"),
        raw: doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://dh.example/token").unwrap()
    }

    #[test]
    fn error_responses_name_the_step_and_code() {
        let e = token_response(
            400,
            br#"{"error":"invalid_grant","error_description":"Ticket expired"}"#,
            &url(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "token endpoint refused the ticket: invalid_grant: Ticket expired"
        );
        let e = token_response(401, br#"{"error":"invalid_client"}"#, &url()).unwrap_err();
        assert!(matches!(e, ClientError::ClientRejected { status: 401, .. }));
        let e = token_response(502, b"<html>bad gateway</html>", &url()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "token exchange failed: https://dh.example/token returned an unusable response: \
             HTTP 502: <html>bad gateway</html>"
        );
    }

    #[test]
    fn success_needs_access_token_and_type() {
        let ok = token_response(
            200,
            br#"{"access_token":"abc","token_type":"Bearer","expires_in":300,"scope":"patient/Observation.rs"}"#,
            &url(),
        )
        .unwrap();
        assert_eq!(ok.access_token, "abc");
        assert_eq!(ok.expires_in, Some(300));
        let e = token_response(200, br#"{"token_type":"Bearer"}"#, &url()).unwrap_err();
        assert!(e.to_string().ends_with("no access_token"), "{e}");
    }

    #[test]
    fn discovery_url_ignores_trailing_slash() {
        for base in ["https://dh.example/fhir", "https://dh.example/fhir/"] {
            let u = smart_configuration_url(&Url::parse(base).unwrap()).unwrap();
            assert_eq!(
                u.as_str(),
                "https://dh.example/fhir/.well-known/smart-configuration"
            );
        }
    }
}
