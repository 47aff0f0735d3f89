//! The steps every scenario is made of, each a real protocol exchange: minting over an
//! issuer's HTTP API (authenticated with a client assertion), revoking, redeeming at the token
//! endpoint (`private_key_jwt`, optional DPoP), and reading FHIR with paging.

use serde_json::Value;
use tessera_access::Grant;
use tessera_client::jwt::client_assertion;
use tessera_client::{
    Authorization, ClientAuth, ClientError, ClientKey, FetchOptions, Redemption, TokenResponse,
};
use tessera_jose::{Limits, decode};
use url::Url;

use crate::env::DemoEnv;
use crate::keys::{BILLING_MINTER, NETWORK_MINTER};
use crate::report::TicketSummary;

/// Which issuer mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The network issuer.
    Network,
    /// The Data Holder's own issuer.
    Holder,
}

/// A minted ticket.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
}

impl DemoEnv {
    fn issuer_url(&self, which: Which) -> (&str, &'static str) {
        match which {
            Which::Network => (&self.network_iss, NETWORK_MINTER),
            Which::Holder => (&self.holder_iss, BILLING_MINTER),
        }
    }

    /// `Authorization: Bearer <assertion>` for an issuer's API.
    fn issuer_auth(&self, which: Which) -> Result<String, String> {
        let (iss, minter) = self.issuer_url(which);
        let key = self.keys.client(minter).map_err(|e| e.to_string())?;
        let jti = uuid::Uuid::new_v4().to_string();
        let assertion =
            client_assertion(key, minter, &format!("{iss}/tickets"), (self.now)(), &jti)
                .map_err(|e| e.to_string())?;
        Ok(format!("Bearer {assertion}"))
    }

    /// `POST [iss]/tickets` as the issuer's minting client.
    pub async fn mint(&self, which: Which, claims: &Value) -> Result<Minted, String> {
        let (iss, _) = self.issuer_url(which);
        let url = format!("{iss}/tickets");
        let response = self
            .http
            .post(&url)
            .header("authorization", self.issuer_auth(which)?)
            .json(claims)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("POST {url}: HTTP {status}, body is not JSON: {e}"))?;
        if status != 201 {
            return Err(format!("POST {url}: HTTP {status}: {}", oauth_text(&body)));
        }
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        match (text("ticket"), text("jti")) {
            (Some(token), Some(jti)) => Ok(Minted { token, jti }),
            _ => Err(format!("POST {url}: no ticket/jti in the response")),
        }
    }

    /// `POST [iss]/tickets/{jti}/revoke`.
    pub async fn revoke(&self, which: Which, jti: &str) -> Result<(), String> {
        let (iss, _) = self.issuer_url(which);
        let url = format!("{iss}/tickets/{jti}/revoke");
        let response = self
            .http
            .post(&url)
            .header("authorization", self.issuer_auth(which)?)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Err(format!("POST {url}: HTTP {status}: {}", oauth_text(&body)));
        }
        Ok(())
    }

    /// Token exchange at the Data Holder.
    pub async fn redeem(
        &self,
        ticket: &str,
        client_id: &str,
        dpop: bool,
    ) -> Result<TokenResponse, ClientError> {
        self.redeem_at(&self.base_url, ticket, client_id, dpop)
            .await
    }

    /// Token exchange at the Data Holder whose FHIR base is `base` (`[base]/token`).
    pub async fn redeem_at(
        &self,
        base: &str,
        ticket: &str,
        client_id: &str,
        dpop: bool,
    ) -> Result<TokenResponse, ClientError> {
        let endpoint = Url::parse(&format!("{base}/token"))
            .map_err(|e| ClientError::Input(format!("token endpoint: {e}")))?;
        // Trust-framework clients present another id (and maybe a trust_chain header); the
        // UDAP payer authenticates with its certificate.
        let no_header = serde_json::Map::new();
        let (client_id, auth, header) = if client_id == crate::udap::UDAP_PAYER {
            let u = &self.udap;
            (
                u.payer_client_id.as_str(),
                ClientAuth::Udap(&u.payer),
                &no_header,
            )
        } else {
            let key = self.client_key(client_id)?;
            let (id, header) = self
                .federation
                .presented(client_id)
                .map_or((client_id, &no_header), |(id, _, h)| (id, h));
            (id, ClientAuth::Jwk(key), header)
        };
        let req = Redemption {
            ticket,
            client_id,
            auth,
            scope: None,
            dpop,
        };
        self.client
            .redeem_with_assertion_header(&endpoint, &req, header)
            .await
    }

    fn client_key(&self, client_id: &str) -> Result<&ClientKey, ClientError> {
        if let Some((_, key, _)) = self.federation.presented(client_id) {
            return Ok(key);
        }
        self.keys
            .client(client_id)
            .map_err(|e| ClientError::Input(e.to_string()))
    }

    /// Searches every granted type (`[base]/{type}`), following `next` links; returns the pages
    /// and a note for each granted type the server does not search (HTTP 404).
    pub async fn fetch_granted(
        &self,
        token: &TokenResponse,
        client_id: &str,
    ) -> Result<(Vec<Value>, Vec<String>), ClientError> {
        self.fetch_granted_at(&self.base_url, token, client_id)
            .await
    }

    /// [`DemoEnv::fetch_granted`] at the Data Holder whose FHIR base is `base`.
    pub async fn fetch_granted_at(
        &self,
        base: &str,
        token: &TokenResponse,
        client_id: &str,
    ) -> Result<(Vec<Value>, Vec<String>), ClientError> {
        let auth = if token.token_type.eq_ignore_ascii_case("dpop") {
            Authorization::Dpop {
                token: &token.access_token,
                key: self.client_key(client_id)?,
            }
        } else {
            Authorization::Bearer(&token.access_token)
        };
        let options = FetchOptions {
            all: true,
            ..FetchOptions::default()
        };
        let mut pages = Vec::new();
        let mut notes = Vec::new();
        for t in scope_types(token.scope.as_deref().unwrap_or_default()) {
            let url = Url::parse(&format!("{base}/{t}?_count=50"))
                .map_err(|e| ClientError::Input(format!("search URL: {e}")))?;
            let fetched = match self.client.fetch(&url, auth, options).await {
                Ok(f) => f,
                // A granted type the FHIR API does not serve releases nothing; say so.
                Err(ClientError::FhirStatus {
                    status: 404,
                    summary,
                    ..
                }) => {
                    notes.push(format!(
                        "{t} is granted but not searchable here (HTTP 404: {summary})"
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if fetched.truncated {
                return Err(ClientError::Input(format!(
                    "{url}: more pages than the bound"
                )));
            }
            pages.extend(fetched.pages);
        }
        Ok((pages, notes))
    }

    /// The Grant the Data Holder stored with an access token (the operator's view).
    pub fn grant_of(&self, access_token: &str) -> Result<Grant, String> {
        grant_in(&self.holder, access_token, (self.now)())
    }
}

/// The Grant a Data Holder stored with `access_token`.
pub fn grant_in(
    holder: &tessera_holder::HolderState,
    access_token: &str,
    now: i64,
) -> Result<Grant, String> {
    let hash = tessera_holder::token::access_token::token_hash(access_token);
    let record = holder
        .token_db()
        .find_token(&hash, now)
        .map_err(|e| format!("token lookup: {e}"))?
        .ok_or("the access token is not in the Data Holder's token table")?;
    serde_json::from_str(&record.grant_json).map_err(|e| format!("stored grant: {e}"))
}

/// Distinct resource types of a scope string, in order.
pub fn scope_types(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_whitespace() {
        let Some(rest) = s.split_once('/').map(|(_, r)| r) else {
            continue;
        };
        let t = rest.split(['.', '?']).next().unwrap_or_default();
        if !t.is_empty() && t != "*" && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// `error: error_description` of an OAuth-style body.
fn oauth_text(body: &Value) -> String {
    let get = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    format!("{}: {}", get("error"), get("error_description"))
}

/// The key claims of a minted ticket, read back from its payload.
pub fn summarize(token: &str) -> Result<TicketSummary, String> {
    let jws = decode(token, &Limits::ticket()).map_err(|e| format!("minted ticket: {e}"))?;
    let c = jws.claims();
    let text = |k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let int = |k: &str| c.get(k).and_then(Value::as_i64).unwrap_or_default();
    let short = text("ticket_type")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut access = Vec::new();
    if let Some(a) = c.get("access") {
        access_lines(a, &mut access);
    }
    if let Some(m) = c.get("measure") {
        access.push(format!("measure {}", codeable(m)));
    }
    if let Some(rc) = c.get("reportable_condition") {
        access.push(format!("reportable_condition {}", codeable(rc)));
    }
    if let Some(ev) = c.get("subject_identity_evidence") {
        let iss = ev
            .get("jwt")
            .and_then(Value::as_str)
            .and_then(|j| decode(j, &Limits::id_token()).ok())
            .and_then(|j| {
                j.claims()
                    .get("iss")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        access.push(format!("subject identity evidence: ID token from {iss}"));
    }
    Ok(TicketSummary {
        ticket_type: short,
        issuer: text("iss"),
        jti: text("jti"),
        subject: c.get("subject").map(subject).unwrap_or_default(),
        requester: c.get("requester").map(requester),
        binding: c
            .get("presenter_binding")
            .map(binding)
            .unwrap_or_else(|| "(none: the client must act for the requester)".into()),
        access,
        lifetime: int("exp") - int("iat"),
    })
}

fn subject(s: &Value) -> String {
    let p = s.get("patient").unwrap_or(&Value::Null);
    let name = p
        .pointer("/name/0")
        .map(|n| {
            let given = n
                .pointer("/given/0")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let family = n.get("family").and_then(Value::as_str).unwrap_or_default();
            format!("{given} {family}")
        })
        .unwrap_or_default();
    let born = p.get("birthDate").and_then(Value::as_str).unwrap_or("?");
    let ids: Vec<String> = p
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.get("value")
                .and_then(Value::as_str)
                .map(|v| format!("MRN {v}"))
        })
        .collect();
    let mut out = format!("{name} (born {born}, {})", ids.join(", "));
    if let Some(r) = s.get("patient_reference").and_then(Value::as_str) {
        out.push_str(&format!(", hint {r}"));
    }
    out
}

fn requester(r: &Value) -> String {
    let kind = r
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "RelatedPerson" {
        let code = r
            .pointer("/relationship/0/coding/0/code")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let given = r
            .pointer("/name/0/given/0")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let family = r
            .pointer("/name/0/family")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return format!("RelatedPerson {given} {family}, authority {code}");
    }
    let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
    let id = r
        .pointer("/identifier/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{kind} {name} ({id})")
}

fn binding(b: &Value) -> String {
    match b.get("method").and_then(Value::as_str) {
        Some("jkt") => format!(
            "jkt {}",
            b.get("jkt").and_then(Value::as_str).unwrap_or_default()
        ),
        Some(m) => {
            let text = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default();
            format!(
                "{m} {} ({} {})",
                text("entity_uri"),
                text("framework_type"),
                text("trust_framework")
            )
        }
        None => "?".into(),
    }
}

fn access_lines(a: &Value, out: &mut Vec<String>) {
    if let Some(s) = a.get("smart_scopes").and_then(Value::as_array) {
        let list: Vec<&str> = s.iter().filter_map(Value::as_str).collect();
        out.push(format!("smart_scopes {}", list.join(" ")));
    }
    if let Some(p) = a.get("data_period") {
        let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("..");
        out.push(format!("data_period {} to {}", get("start"), get("end")));
    }
    if let Some(f) = a.get("data_holder_filter").and_then(Value::as_array) {
        let list: Vec<String> = f
            .iter()
            .map(|e| {
                let get = |k: &str| e.pointer(k).and_then(Value::as_str).unwrap_or_default();
                format!(
                    "{} {}/{}",
                    get("/kind"),
                    get("/address/country"),
                    get("/address/state")
                )
            })
            .collect();
        out.push(format!("data_holder_filter {}", list.join(", ")));
    }
    if let Some(l) = a.get("claim_linkage") {
        let enc: Vec<&str> = l
            .get("encounter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("reference").and_then(Value::as_str))
            .collect();
        let claim = l
            .pointer("/claim/identifier/value")
            .and_then(Value::as_str)
            .unwrap_or("-");
        out.push(format!(
            "claim_linkage claim {claim}, encounter {}",
            enc.join(", ")
        ));
    }
    if let Some(w) = a.get("sensitivity_withhold") {
        let codes: Vec<&str> = w
            .get("codes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("code").and_then(Value::as_str))
            .collect();
        out.push(format!("sensitivity_withhold {}", codes.join(", ")));
    }
}

fn codeable(c: &Value) -> String {
    let code = c
        .pointer("/coding/0/code")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let display = c
        .pointer("/coding/0/display")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{code} {display}").trim().to_owned()
}

/// At most `n` leading characters of a secret (tokens are never printed whole).
pub fn prefix(secret: &str, n: usize) -> String {
    secret.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_types_are_distinct_and_ordered() {
        let scope = "patient/Observation.rs?code=http://loinc.org|4548-4 patient/Condition.rs \
                     patient/Observation.rs patient/*.rs openid";
        assert_eq!(scope_types(scope), ["Observation", "Condition"]);
        assert!(scope_types("").is_empty());
    }

    #[test]
    fn prefix_never_returns_more_than_asked() {
        assert_eq!(prefix("abcdefghijkl", 4), "abcd");
        assert_eq!(prefix("ab", 4), "ab");
    }
}
