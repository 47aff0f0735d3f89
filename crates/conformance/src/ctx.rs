//! What every check works with: the configuration, the kit's keys and host, the HTTP probe,
//! the clock, discovery, and the baseline grant (computed once, on first use).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tessera_client::Clock;
use tokio::sync::OnceCell;

use crate::config::{DELEGATED_ACCESS, KitConfig, SELF_ACCESS};
use crate::federation::Federation;
use crate::host::Host;
use crate::keys::KitKeys;
use crate::probe::{Exchange, Probe, Request};

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The target did something the requirement forbids, or answered in an unexpected shape.
    Fail(String),
    /// The check cannot run here (configuration, or the target lacks an optional feature).
    Skip(String),
}

impl Stop {
    /// A failure whose message says where it happened first (a skip stays as it is).
    pub fn within(self, prefix: impl std::fmt::Display) -> Stop {
        match self {
            Stop::Fail(m) => Stop::Fail(format!("{prefix}: {m}")),
            s => s,
        }
    }
}

/// A check's result: `Ok` is a pass.
pub type R = Result<(), Stop>;

/// Shorthand for a failure.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(msg.into()))
}

/// Shorthand for a skip.
pub fn skip<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Skip(msg.into()))
}

/// An access token and how to present it.
#[derive(Debug, Clone)]
pub struct Token {
    /// The access token.
    pub access_token: String,
    /// `token_type` as returned.
    pub token_type: String,
    /// `expires_in`, when given.
    pub expires_in: Option<i64>,
    /// Granted `scope`, when given.
    pub scope: Option<String>,
    /// The resolved `patient`, when given.
    pub patient: Option<String>,
    /// The token is DPoP-bound to the client key.
    pub dpop: bool,
    /// A `refresh_token`, when given (continuation tickets, PT-LIFE-04).
    pub refresh_token: Option<String>,
}

/// The shared state of a run.
pub struct Ctx {
    /// The configuration.
    pub config: KitConfig,
    /// The kit's keys.
    pub keys: KitKeys,
    /// The kit's issuer host.
    pub host: Host,
    /// HTTP toward the target.
    pub probe: Probe,
    /// The kit's federation this run (absent without an anchor key).
    pub federation: Option<Federation>,
    clock: Arc<dyn Clock>,
    discovery: OnceCell<Result<Value, String>>,
    baseline: OnceCell<Result<Token, String>>,
    /// The UDAP client id the kit registered this run (checks/udap.rs).
    pub(crate) udap_client: OnceCell<Result<String, String>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("fhir_base", &self.config.fhir_base)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Assembles a run's context.
    pub fn new(
        config: KitConfig,
        keys: KitKeys,
        host: Host,
        clock: Arc<dyn Clock>,
    ) -> Result<Ctx, String> {
        let probe = Probe::new(
            Duration::from_secs(config.timeout_seconds),
            config.max_body_bytes,
        )?;
        Ok(Ctx {
            config,
            keys,
            host,
            probe,
            federation: None,
            clock,
            discovery: OnceCell::new(),
            baseline: OnceCell::new(),
            udap_client: OnceCell::new(),
        })
    }

    /// Now, in unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The FHIR base.
    pub fn base(&self) -> &str {
        &self.config.fhir_base
    }

    /// `GET [base]/.well-known/smart-configuration`, parsed once.
    pub async fn discovery(&self) -> Result<&Value, Stop> {
        let r = self
            .discovery
            .get_or_init(|| async {
                let ex = self
                    .get(
                        &format!("{}/.well-known/smart-configuration", self.base()),
                        &[],
                    )
                    .await;
                match (ex.code(), ex.json()) {
                    (200, Some(v @ Value::Object(_))) => Ok(v),
                    (200, _) => Err(format!("{}: body is not a JSON object", ex.summary())),
                    _ => Err(format!("{}: expected 200", ex.summary())),
                }
            })
            .await;
        r.as_ref()
            .map_err(|e| Stop::Fail(format!("SMART discovery failed: {e}")))
    }

    /// The token endpoint (configured, else discovered).
    pub async fn token_endpoint(&self) -> Result<String, Stop> {
        if let Some(t) = &self.config.token_endpoint {
            return Ok(t.clone());
        }
        match self.discovery().await?.get("token_endpoint") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => fail("discovery has no string token_endpoint"),
        }
    }

    /// A plain GET.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Exchange {
        self.probe
            .send(Request {
                method: "GET".into(),
                url: url.into(),
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
                ..Request::default()
            })
            .await
    }

    // ---- tickets ---------------------------------------------------------------------------

    /// The baseline ticket's payload: valid, of the baseline type, bound (`jkt`) to the kit's
    /// client key, valid for ten minutes, granting the configured scopes.
    pub fn base_payload(&self) -> Map<String, Value> {
        let now = self.now();
        let mut m = Map::new();
        m.insert("iss".into(), self.host.url.clone().into());
        m.insert("aud".into(), self.base().into());
        m.insert("iat".into(), now.into());
        m.insert("exp".into(), (now + 600).into());
        m.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
        m.insert(
            "subject".into(),
            json!({"patient": self.config.patient.to_fhir()}),
        );
        m.insert(
            "presenter_binding".into(),
            json!({"method": "jkt", "jkt": self.keys.client.thumbprint()}),
        );
        m.insert(
            "access".into(),
            json!({"smart_scopes": self.config.probe.scopes}),
        );
        set_type(&mut m, self.config.baseline_type());
        m
    }

    // ---- token endpoint --------------------------------------------------------------------

    /// The standard token-exchange form for `ticket`, with a fresh valid client assertion.
    pub async fn form(&self, ticket: &str) -> Result<Vec<(String, String)>, Stop> {
        let assertion = self.assertion().await?;
        Ok(vec![
            (
                "grant_type".into(),
                tessera_client::TOKEN_EXCHANGE_GRANT.into(),
            ),
            (
                "subject_token_type".into(),
                "https://smarthealthit.org/token-type/permission-ticket".into(),
            ),
            ("subject_token".into(), ticket.into()),
            (
                "client_assertion_type".into(),
                tessera_client::jwt::CLIENT_ASSERTION_TYPE.into(),
            ),
            ("client_assertion".into(), assertion),
        ])
    }

    /// A valid client assertion for the token endpoint.
    pub async fn assertion(&self) -> Result<String, Stop> {
        let aud = self.token_endpoint().await?;
        tessera_client::jwt::client_assertion(
            &self.keys.client,
            &self.config.client.client_id,
            &aud,
            self.now(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|e| Stop::Fail(format!("kit cannot sign its client assertion: {e}")))
    }

    /// POSTs a form to the token endpoint.
    pub async fn post_form(
        &self,
        params: &[(String, String)],
        dpop: Option<String>,
    ) -> Result<Exchange, Stop> {
        let url = self.token_endpoint().await?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let shown = params
            .iter()
            .map(|(k, v)| {
                let v = if matches!(
                    k.as_str(),
                    "subject_token" | "client_assertion" | "actor_token" | "refresh_token"
                ) {
                    crate::probe::redact(v)
                } else {
                    v.clone()
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        if let Some(p) = dpop {
            headers.push(("DPoP".into(), p));
        }
        Ok(self
            .probe
            .send(Request {
                method: "POST".into(),
                url,
                headers,
                body: Some(body.into_bytes()),
                shown_body: Some(shown),
            })
            .await)
    }

    /// Redeems `ticket` with the standard form.
    pub async fn redeem(&self, ticket: &str) -> Result<Exchange, Stop> {
        let form = self.form(ticket).await?;
        self.post_form(&form, None).await
    }

    /// Redeems `ticket` and requires a token.
    pub async fn redeem_ok(&self, ticket: &str) -> Result<Token, Stop> {
        let ex = self.redeem(ticket).await?;
        crate::expect::token(&ex)
    }

    /// The baseline grant: the baseline ticket redeemed once (shared by the FHIR checks).
    pub async fn baseline(&self) -> Result<&Token, Stop> {
        let r = self
            .baseline
            .get_or_init(|| async {
                let ticket = match self.mint(self.base_payload()) {
                    Ok(t) => t,
                    Err(Stop::Fail(e) | Stop::Skip(e)) => return Err(e),
                };
                match self.redeem_ok(&ticket).await {
                    Ok(t) => Ok(t),
                    Err(Stop::Fail(e) | Stop::Skip(e)) => Err(e),
                }
            })
            .await;
        r.as_ref()
            .map_err(|e| Stop::Fail(format!("the baseline ticket was not redeemed: {e}")))
    }

    // ---- FHIR ------------------------------------------------------------------------------

    /// A FHIR GET with `token` (a fresh DPoP proof when the token is DPoP-bound).
    pub async fn fhir(&self, url: &str, token: &Token) -> Exchange {
        let auth;
        let proof;
        let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/fhir+json")];
        if token.dpop {
            auth = format!("DPoP {}", token.access_token);
            proof = self
                .dpop_proof("GET", url, Some(&token.access_token))
                .unwrap_or_default();
            headers.push(("DPoP", &proof));
        } else {
            auth = format!("Bearer {}", token.access_token);
        }
        headers.push(("Authorization", &auth));
        self.get(url, &headers).await
    }

    /// A DPoP proof by the client key.
    pub fn dpop_proof(&self, htm: &str, url: &str, ath: Option<&str>) -> Result<String, Stop> {
        let u = url::Url::parse(url).map_err(|e| Stop::Fail(format!("bad URL {url}: {e}")))?;
        tessera_client::jwt::dpop_proof(
            &self.keys.client,
            htm,
            &u,
            self.now(),
            &uuid::Uuid::new_v4().to_string(),
            ath,
        )
        .map_err(|e| Stop::Fail(format!("kit cannot sign a DPoP proof: {e}")))
    }

    /// The patient id of the baseline grant.
    pub async fn patient_id(&self) -> Result<String, Stop> {
        match &self.baseline().await?.patient {
            Some(p) if !p.is_empty() => Ok(p.clone()),
            _ => fail("the token response carries no `patient`"),
        }
    }
}

/// Sets `ticket_type` and the claims that type requires of the kit (a delegate `requester`).
pub fn set_type(m: &mut Map<String, Value>, ticket_type: &str) {
    m.insert("ticket_type".into(), ticket_type.into());
    if ticket_type == DELEGATED_ACCESS {
        m.insert(
            "requester".into(),
            json!({
                "resourceType": "RelatedPerson",
                "relationship": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                    "code": "DELEGATEE"}]}],
                "name": [{"family": "Conformance", "given": ["Delegate"]}]
            }),
        );
    } else if ticket_type == SELF_ACCESS {
        m.remove("requester");
    }
}
