//! The workbench's JSON API: plain async functions over the running demo world, each returning
//! what the page shows and the HTTP exchanges it made (the trace). Every protocol step goes over
//! the same public HTTP APIs a real client uses (the issuers' `/tickets`, the Data Holder's
//! token endpoint, FHIR API and admin audit); only the release explanation reads the Grant the
//! Data Holder stored with the token, as `tessera demo`'s report does.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};
use tessera_access::{Decision, Interaction};
use tessera_client::tap::{self, Exchange};
use tessera_client::{ClientError, TokenResponse};
use tessera_issuer::Caller;

use super::compose::{self, Composed, Composition};
use crate::cast::Record;
use crate::env::DemoEnv;
use crate::exec::{Which, grant_in};
use crate::explain::{in_store, reason_text, released, tally};
use crate::keys::{BILLING_MINTER, HOLDER_CLIENTS, NETWORK_MINTER};
use crate::tickets::mint_request;
use tessera_ticket::explain::{self as words, Explained, HOLDER_STEPS};

/// Redemptions the workbench keeps (oldest forgotten first).
const MAX_SESSIONS: usize = 64;

/// A redemption the page can browse.
#[derive(Debug, Clone)]
struct Session {
    token: TokenResponse,
    client: String,
    /// Whose records the release is explained against: one site's record, or at the network
    /// Data Holder every site record linked to the person.
    records: Vec<Record>,
    jti: Option<String>,
    holder: HolderTarget,
}

/// A Data Holder the workbench redeems at and explains from.
#[derive(Clone)]
pub struct HolderTarget {
    /// `site` or `network`.
    pub key: &'static str,
    /// Its FHIR base.
    pub base_url: String,
    /// Its state (store and token tables).
    pub state: tessera_holder::HolderState,
}

impl std::fmt::Debug for HolderTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HolderTarget")
            .field("key", &self.key)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The workbench over one demo world.
#[derive(Clone)]
pub struct Workbench {
    env: Arc<DemoEnv>,
    network: Option<HolderTarget>,
    sessions: Arc<Mutex<VecDeque<(String, Session)>>>,
}

/// A failure the page shows as-is.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// What went wrong.
    pub error: String,
    /// The exchanges made before it.
    pub trace: Vec<Exchange>,
}

type Answer<T> = Result<T, Problem>;

fn problem(error: impl Into<String>) -> Problem {
    Problem {
        error: error.into(),
        trace: Vec::new(),
    }
}

impl Workbench {
    /// A workbench over `env`, redeeming at its Data Holder and, when given, at a network
    /// Data Holder of the same sites (for a person's combined record).
    pub fn new(env: Arc<DemoEnv>, network: Option<HolderTarget>) -> Workbench {
        Workbench {
            env,
            network,
            sessions: Arc::default(),
        }
    }

    fn site(&self) -> HolderTarget {
        HolderTarget {
            key: "site",
            base_url: self.env.base_url.clone(),
            state: self.env.holder.clone(),
        }
    }

    fn target(&self, key: &str) -> Answer<HolderTarget> {
        match key {
            "site" => Ok(self.site()),
            "network" => self
                .network
                .clone()
                .ok_or_else(|| problem("no network Data Holder is running in this workbench")),
            other => Err(problem(format!(
                "unknown Data Holder {other:?}: use site or network"
            ))),
        }
    }

    /// The world: patients, clients, presets, the Data Holder's steps.
    pub fn world(&self) -> Answer<Value> {
        let env = &self.env;
        let patients: Vec<Value> = compose::patients(env)
            .into_iter()
            .map(|(key, r)| {
                json!({
                    "key": key, "name": r.display(), "birth_date": r.birth_date,
                    "gender": r.gender, "site": r.site_name, "mrn": r.mrn,
                    "patient_id": r.patient_id,
                })
            })
            .collect();
        let persons: Vec<Value> = compose::persons(env)
            .into_iter()
            .map(|(key, r, linked)| {
                let records: Vec<Value> = linked
                    .iter()
                    .map(|l| json!({ "site": l.site_name, "patient_id": l.patient_id, "mrn": l.mrn }))
                    .collect();
                json!({
                    "key": key, "name": r.display(), "birth_date": r.birth_date,
                    "gender": r.gender, "records": records,
                })
            })
            .collect();
        let clients: Vec<Value> = known_clients(env)
            .iter()
            .map(|id| {
                let jkt = env.keys.client(id).ok().map(|k| k.thumbprint());
                json!({
                    "client_id": id, "jkt": jkt,
                    "framework": compose::framework_binding(env, id),
                    "authenticates": authenticates(id),
                })
            })
            .collect();
        let presets: Vec<Value> = compose::presets(env)
            .map_err(problem)?
            .into_iter()
            .map(|s| {
                json!({
                    "key": s.key, "title": s.title, "story": s.story,
                    "ticket_type": s.claims.get("ticket_type"),
                    "client": s.client, "dpop": s.dpop,
                    "expected": s.expect.describe(),
                    "claims": s.claims,
                })
            })
            .collect();
        let sites: Vec<Value> = env
            .cast
            .sites
            .iter()
            .map(|s| json!({ "npi": s.npi, "name": s.name, "city": s.city, "state": s.state }))
            .collect();
        Ok(json!({
            "base_url": env.base_url,
            "sites": sites,
            "network_issuer": env.network_iss,
            "holder_issuer": env.holder_iss,
            "state": env.cast.state,
            "patients": patients,
            "persons": persons,
            "network_base_url": self.network.as_ref().map(|n| n.base_url.clone()),
            // Demo mode: the run's admin secret, for the Data Holder's operator workbench.
            "holder_workbench": format!("{}/workbench", env.base_url),
            "issuer_workbench": format!("{}/workbench", env.network_iss),
            "admin_token": env.admin_token,
            "clients": clients,
            "presets": presets,
            "holder_steps": HOLDER_STEPS,
            "authority_codes": tessera_ticket::AUTHORITY_CODES,
        }))
    }

    /// The composition's claims and the issuer's verdict on them (nothing is minted).
    pub async fn check(&self, c: &Composition) -> Answer<Value> {
        let composed = compose::compose(&self.env, c).map_err(problem)?;
        let (status, body, exchange) = self
            .issuer_call(
                composed.which(),
                "/tickets/check",
                Some(&composed.request(&self.env)),
            )
            .await
            .map_err(problem)?;
        let verdict = if status == 200 {
            json!({ "ok": true, "claims": body.get("claims") })
        } else {
            json!({
                "ok": false,
                "error": body.get("error"),
                "error_description": body.get("error_description"),
                "fix": fix_for_issuer(body.get("error_description").and_then(Value::as_str)),
            })
        };
        Ok(json!({
            "composed": composed,
            "request": composed.request(&self.env),
            "verdict": verdict,
            "trace": [exchange],
        }))
    }

    /// Mints the composition; the ticket decoded and explained.
    pub async fn mint(&self, c: &Composition) -> Answer<Value> {
        let composed = compose::compose(&self.env, c).map_err(problem)?;
        let mut trace = Vec::new();
        let (ticket, jti) = match composed.minted_seconds_ago {
            // Minting in the past needs the issuer's clock, which its HTTP API does not lend.
            Some(ago) => self.mint_earlier(&composed, ago).await.map_err(problem)?,
            None => {
                let (status, body, exchange) = self
                    .issuer_call(
                        composed.which(),
                        "/tickets",
                        Some(&composed.request(&self.env)),
                    )
                    .await
                    .map_err(problem)?;
                trace.push(exchange);
                if status != 201 {
                    return Err(Problem {
                        error: format!(
                            "the issuer refused: {}: {}",
                            body.get("error").and_then(Value::as_str).unwrap_or("?"),
                            body.get("error_description")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                        ),
                        trace,
                    });
                }
                let text = |k| body.get(k).and_then(Value::as_str).map(str::to_owned);
                match (text("ticket"), text("jti")) {
                    (Some(t), Some(j)) => (t, j),
                    _ => return Err(problem("the issuer's answer has no ticket")),
                }
            }
        };
        let mut inspected = self.inspect(&ticket)?;
        inspected["jti"] = jti.into();
        inspected["issuer"] = composed.issuer.into();
        inspected["client"] = composed.client.into();
        inspected["dpop"] = composed.dpop.into();
        inspected["holder"] = composed.holder.into();
        inspected["record"] = composed.record.patient_id.clone().into();
        inspected["trace"] = serde_json::to_value(&trace).unwrap_or(Value::Null);
        Ok(inspected)
    }

    async fn mint_earlier(&self, c: &Composed, ago: i64) -> Result<(String, String), String> {
        let (issuer, minter) = match c.which() {
            Which::Network => (self.env.network.clone(), NETWORK_MINTER),
            Which::Holder => (self.env.holder_issuer.clone(), BILLING_MINTER),
        };
        let at = (self.env.now)() - ago;
        let request = mint_request(&c.claims, at);
        let caller = Caller::Client(minter.to_owned());
        let minted = tokio::task::spawn_blocking(move || issuer.mint_as(&caller, &request, at))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the issuer refused: {e}"))?;
        Ok((minted.token, minted.record.jti))
    }

    /// Decodes `ticket`, verifies it against the demo issuers' keys, explains each claim.
    pub fn inspect(&self, ticket: &str) -> Answer<Value> {
        let ticket = ticket.trim();
        let parts = tessera_ticket::danger::decode_unverified(ticket)
            .map_err(|e| problem(format!("not a ticket: {e}")))?;
        let payload = Value::Object(parts.payload.clone());
        let now = (self.env.now)();
        let iss = parts
            .payload
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or("");
        let keys = if iss == self.env.network_iss {
            Some(self.env.network.jwks(now))
        } else if iss == self.env.holder_iss {
            Some(self.env.holder_issuer.jwks(now))
        } else {
            None
        };
        let verification = match keys {
            None => {
                json!({ "ok": false, "error": format!("{iss:?} is not one of the demo's issuers") })
            }
            Some(keys) => match tessera_ticket::verify(ticket, &keys, now, &verify_options()) {
                Ok(_) => json!({ "ok": true, "by": iss }),
                Err(e) => json!({ "ok": false, "error": e.to_string() }),
            },
        };
        let explained: Vec<Explained> = words::explain_claims(&payload);
        Ok(json!({
            "ticket": ticket,
            "header": Value::Object(parts.header),
            "payload": payload,
            "claims": explained,
            "verification": verification,
            "holder_steps": HOLDER_STEPS,
        }))
    }

    /// Revokes a ticket at its issuer (`POST /tickets/{jti}/revoke`).
    pub async fn revoke(&self, issuer: &str, jti: &str) -> Answer<Value> {
        let which = if issuer == "holder" {
            Which::Holder
        } else {
            Which::Network
        };
        if jti.is_empty() || !jti.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(problem("not a ticket id"));
        }
        let (status, body, exchange) = self
            .issuer_call(which, &format!("/tickets/{jti}/revoke"), Some(&json!({})))
            .await
            .map_err(problem)?;
        if status != 200 {
            return Err(Problem {
                error: format!("the issuer refused the revocation (HTTP {status}): {body}"),
                trace: vec![exchange],
            });
        }
        Ok(json!({ "revoked": jti, "trace": [exchange] }))
    }

    /// Token exchange as `client` (of the demo's registered clients) at `holder` (`site` or
    /// `network`).
    pub async fn redeem(
        &self,
        ticket: &str,
        client: &str,
        dpop: bool,
        holder: &str,
    ) -> Answer<Value> {
        if !known_clients(&self.env).iter().any(|c| c == client) {
            return Err(problem(format!("unknown client {client:?}")));
        }
        let target = self.target(holder)?;
        let env = &self.env;
        let ticket = ticket.trim().to_owned();
        let (result, mut trace) =
            tap::record(env.redeem_at(&target.base_url, &ticket, client, dpop)).await;
        let jti = tessera_ticket::danger::decode_unverified(&ticket)
            .ok()
            .and_then(|p| {
                p.payload
                    .get("jti")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        let audit = match &jti {
            Some(j) => {
                let (audit, exchange) = self.audit(&target.base_url, j).await;
                trace.extend(exchange);
                audit
            }
            None => Vec::new(),
        };
        match result {
            Ok(token) => {
                let patient = token
                    .raw
                    .get("patient")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let records = records_of(env, target.key, patient);
                let session = uuid::Uuid::new_v4().simple().to_string();
                let command = self.tessera_command(&target.base_url, &ticket, client, dpop);
                let summary = json!({
                    "ok": true,
                    "session": session,
                    "token_type": token.token_type,
                    "scope": token.scope,
                    "patient": patient,
                    "holder": target.key,
                    "base_url": target.base_url,
                    "expires_in": token.expires_in,
                    "audit": audit,
                    "tessera_command": command,
                    "trace": trace,
                });
                self.remember(
                    session,
                    Session {
                        token,
                        client: client.to_owned(),
                        records,
                        jti,
                        holder: target.clone(),
                    },
                );
                Ok(summary)
            }
            Err(e) => {
                let (status, error, description) = match &e {
                    ClientError::Refused {
                        status,
                        error,
                        description,
                    }
                    | ClientError::ClientRejected {
                        status,
                        error,
                        description,
                    } => (Some(*status), error.clone(), description.clone()),
                    other => (None, "client_error".to_owned(), other.to_string()),
                };
                let step = audit
                    .iter()
                    .rev()
                    .find_map(|r| r.get("step").and_then(Value::as_str))
                    .map(str::to_owned);
                let command = self.tessera_command(&target.base_url, &ticket, client, dpop);
                Ok(json!({
                    "ok": false,
                    "holder": target.key,
                    "tessera_command": command,
                    "status": status,
                    "error": error,
                    "error_description": description,
                    "step": step,
                    "fix": fix_for_refusal(&description),
                    "audit": audit,
                    "trace": trace,
                }))
            }
        }
    }

    /// What a redemption released, and for everything held back, why.
    pub async fn browse(&self, session: &str) -> Answer<Value> {
        let s = self
            .session(session)
            .ok_or_else(|| problem("no such redemption (the workbench keeps the last 64)"))?;
        let env = &self.env;
        let base = &s.holder.base_url;
        let (fetched, trace) = tap::record(env.fetch_granted_at(base, &s.token, &s.client)).await;
        let (pages, notes) = fetched.map_err(|e| Problem {
            error: format!("FHIR fetch: {e}"),
            trace: trace.clone(),
        })?;
        let grant =
            grant_in(&s.holder.state, &s.token.access_token, (env.now)()).map_err(problem)?;
        let store = s.holder.state.store().clone();
        let records = s.records.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            for r in &records {
                all.extend(in_store(store.as_ref(), r)?);
            }
            Ok::<_, String>(all)
        })
        .await
        .map_err(|e| problem(e.to_string()))?
        .map_err(problem)?;
        let released = released(&pages);
        let (types, problems) = tally(&stored, &released, &grant);
        let released_ids: std::collections::BTreeSet<(&str, &str)> = released
            .iter()
            .map(|r| (r.resource_type.as_str(), r.id.as_str()))
            .collect();
        let mut held: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in &stored {
            if released_ids.contains(&(r.resource_type.as_str(), r.id.as_str())) {
                continue;
            }
            if let Decision::Deny { reasons } = grant.decide(&r.json, Interaction::Search) {
                held.entry(r.resource_type.clone())
                    .or_default()
                    .push(json!({
                        "id": r.id, "date": date_of(&r.json), "reason": reason_text(&reasons),
                    }));
            }
        }
        let records: Vec<Value> = released
            .iter()
            .map(|r| {
                json!({
                    "type": r.resource_type, "id": r.id, "date": date_of(&r.json),
                    "resource": r.json,
                })
            })
            .collect();
        let audit = match &s.jti {
            Some(j) => self.audit(base, j).await.0,
            None => Vec::new(),
        };
        let site_records: Vec<Value> = s
            .records
            .iter()
            .map(|r| json!({ "site": r.site_name, "patient_id": r.patient_id }))
            .collect();
        let who = s.records.first().map(Record::display).unwrap_or_default();
        Ok(json!({
            "patient": who,
            "holder": s.holder.key,
            "base_url": base,
            "records": site_records,
            "types": types,
            "released": records,
            "held_back": held,
            "notes": notes,
            "disagreements": problems,
            "audit": audit,
            "trace": trace,
        }))
    }

    /// The same redemption with the `tessera` CLI, when the client is a JWK client of the demo
    /// (its key file is in the run directory); the ticket is saved beside the demo's own.
    fn tessera_command(
        &self,
        base: &str,
        ticket: &str,
        client: &str,
        dpop: bool,
    ) -> Option<String> {
        let env = &self.env;
        env.keys.client(client).ok()?;
        let jti = tessera_ticket::danger::decode_unverified(ticket)
            .ok()?
            .payload
            .get("jti")?
            .as_str()?
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>();
        let dir = env.dir.join("tickets");
        std::fs::create_dir_all(&dir).ok()?;
        let file = dir.join(format!("workbench-{jti}.jwt"));
        std::fs::write(&file, format!("{ticket}\n")).ok()?;
        Some(format!(
            "tessera redeem{} --ticket {} --fhir-base {} --client-id {client} --client-key {}",
            if dpop { " --dpop" } else { "" },
            file.display(),
            base,
            env.keys.private_file(client).display()
        ))
    }

    fn remember(&self, id: String, s: Session) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            sessions.pop_front();
        }
        sessions.push_back((id, s));
    }

    fn session(&self, id: &str) -> Option<Session> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, s)| s.clone())
    }

    /// A Data Holder's audit rows for `jti` (`GET [base]/admin/audit`).
    async fn audit(&self, base: &str, jti: &str) -> (Vec<Value>, Option<Exchange>) {
        let url = format!("{base}/admin/audit?jti={}", urlencode(jti));
        let auth = format!("Bearer {}", self.env.admin_token);
        match http_json(
            &self.env.http,
            "GET",
            &url,
            Some(&auth),
            None,
            "audit query",
        )
        .await
        {
            Ok((200, body, x)) => (
                body.get("records")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                Some(x),
            ),
            Ok((_, _, x)) => (Vec::new(), Some(x)),
            Err(_) => (Vec::new(), None),
        }
    }

    /// A call to an issuer's API as its minting client.
    async fn issuer_call(
        &self,
        which: Which,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value, Exchange), String> {
        let (iss, minter) = match which {
            Which::Network => (&self.env.network_iss, NETWORK_MINTER),
            Which::Holder => (&self.env.holder_iss, BILLING_MINTER),
        };
        let key = self.env.keys.client(minter).map_err(|e| e.to_string())?;
        let url = format!("{iss}{path}");
        let jti = uuid::Uuid::new_v4().to_string();
        let assertion = tessera_client::jwt::client_assertion(
            key,
            minter,
            &format!("{iss}/tickets"),
            (self.env.now)(),
            &jti,
        )
        .map_err(|e| e.to_string())?;
        let auth = format!("Bearer {assertion}");
        http_json(
            &self.env.http,
            "POST",
            &url,
            Some(&auth),
            body,
            "issuer API",
        )
        .await
    }
}

/// The ticket checks the demo's Data Holder runs (it enforces `sensitivity_withhold`); the
/// audience and the Data Holder's own steps are shown as steps, not checked here.
fn verify_options() -> tessera_ticket::VerifyOptions {
    tessera_ticket::VerifyOptions {
        access: tessera_ticket::AccessOptions {
            legacy_access_shapes: false,
            sensitivity_withhold: true,
        },
        ..Default::default()
    }
}

impl Composed {
    /// The mint request: the claims plus what the demo "verified".
    fn request(&self, env: &DemoEnv) -> Value {
        mint_request(&self.claims, (env.now)())
    }
}

/// The clients the workbench can present as: the Data Holder's registered clients and the
/// trust-framework clients the scenarios use (UDAP, OpenID Federation, well-known).
fn known_clients(env: &DemoEnv) -> Vec<String> {
    let mut out: Vec<String> = HOLDER_CLIENTS.iter().map(|c| (*c).to_owned()).collect();
    for sc in compose::presets(env).unwrap_or_default() {
        if !out.iter().any(|c| c == sc.client) {
            out.push(sc.client.to_owned());
        }
    }
    out
}

/// How a client authenticates at the token endpoint, in words.
fn authenticates(client: &str) -> &'static str {
    match client {
        crate::udap::UDAP_PAYER => {
            "UDAP: registered by DCR; signs with its certificate's key, the chain in x5c"
        }
        crate::federation::FED_PAYER => {
            "OpenID Federation: private_key_jwt, its trust chain in the assertion header"
        }
        crate::federation::WELL_KNOWN_APP => {
            "well-known client: private_key_jwt, keys from its /.well-known/jwks.json"
        }
        _ => "private_key_jwt with its registered demo key",
    }
}

/// Whose records a token for `patient` is explained against: at the network Data Holder the
/// person's linked site records, else the one demo record with that id.
fn records_of(env: &DemoEnv, holder: &str, patient: &str) -> Vec<Record> {
    if holder == "network"
        && let Some((_, _, linked)) = compose::persons(env)
            .into_iter()
            .find(|(_, _, linked)| linked.iter().any(|r| r.patient_id == patient))
    {
        return linked;
    }
    let one = compose::patients(env)
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.patient_id == patient)
        .cloned()
        .unwrap_or_else(|| env.cast.patient.clone());
    vec![one]
}

/// One JSON call over plain HTTP, recorded as an [`Exchange`].
async fn http_json(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
    step: &str,
) -> Result<(u16, Value, Exchange), String> {
    let mut request = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    };
    let mut headers = Vec::new();
    if let Some(a) = authorization {
        request = request.header("authorization", a);
        headers.push(("authorization".to_owned(), a.to_owned()));
    }
    let body_text = body.map(Value::to_string).unwrap_or_default();
    if body.is_some() {
        request = request
            .header("content-type", "application/json")
            .body(body_text.clone());
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status().as_u16();
    let response_headers = tap::headers(response.headers());
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((
        status,
        value,
        Exchange {
            step: step.to_owned(),
            method: method.to_owned(),
            url: url.to_owned(),
            request_headers: headers,
            request_body: body_text,
            status: Some(status),
            response_headers,
            response_body: text,
            error: None,
        },
    ))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The clinically meaningful date of a resource, for the timeline.
fn date_of(r: &Value) -> Option<String> {
    [
        "/effectiveDateTime",
        "/effectivePeriod/start",
        "/onsetDateTime",
        "/recordedDate",
        "/authoredOn",
        "/occurrenceDateTime",
        "/period/start",
        "/issued",
        "/date",
        "/billablePeriod/start",
        "/created",
    ]
    .iter()
    .find_map(|p| r.pointer(p).and_then(Value::as_str))
    .map(|d| d.get(..10).unwrap_or(d).to_owned())
}

/// What to change when the token endpoint refuses.
fn fix_for_refusal(description: &str) -> &'static str {
    let d = description.to_ascii_lowercase();
    if d.contains("expired") {
        "Mint a new ticket: this one is past its exp."
    } else if d.contains("revoked") {
        "The issuer revoked this ticket; mint a new one (revocation cannot be undone)."
    } else if d.contains("binding") {
        "Redeem as the client the ticket is bound to (its presenter_binding names the key or \
         framework identity), or mint a ticket bound to this client."
    } else if d.contains("ambiguous") {
        "More than one local record matches the subject: name a patient at one site (with its \
         MRN), or redeem a person's ticket at the network Data Holder, which links their records."
    } else if d.contains("subject") || d.contains("patient") {
        "Make the subject's demographics and identifiers match exactly one local patient."
    } else if d.contains("scope") {
        "Request scopes within the ticket's smart_scopes and the client's registration."
    } else if d.contains("client") {
        "Check the client's key and registration at the Data Holder."
    } else {
        "See the audit row's step and the specification's rule for it."
    }
}

/// What to change when the issuer refuses a composition.
fn fix_for_issuer(description: Option<&str>) -> &'static str {
    let d = description.unwrap_or_default().to_ascii_lowercase();
    if d.contains("exp") {
        "Shorten the lifetime: each ticket type has a longest lifetime."
    } else if d.contains("scope") {
        "Use SMART v2 scopes such as patient/Observation.rs, optionally with ?code= or ?category=."
    } else if d.contains("data_period") || d.contains("period") {
        "Give dates as YYYY-MM-DD with the start before the end."
    } else if d.contains("binding") {
        "This ticket type needs a presenter binding; keep the preset's."
    } else {
        "Change the field the message names; presets show a valid starting point."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_prefer_clinical_time_and_cut_to_the_day() {
        let r = json!({ "effectiveDateTime": "2024-03-05T10:00:00Z", "issued": "2024-03-06" });
        assert_eq!(date_of(&r).as_deref(), Some("2024-03-05"));
        assert_eq!(date_of(&json!({})), None);
    }

    #[test]
    fn refusals_map_to_a_fix() {
        assert!(fix_for_refusal("Ticket expired").contains("new ticket"));
        assert!(fix_for_refusal("Ticket presenter binding mismatch").contains("bound"));
        assert!(fix_for_refusal("Ticket has been revoked").contains("revoked"));
        assert!(fix_for_refusal("Ambiguous ticket subject match").contains("network Data Holder"));
    }

    #[test]
    fn unknown_keys_are_refused_in_a_composition() {
        let e = serde_json::from_value::<Composition>(json!({ "preset": "x", "bogus": 1 }));
        assert!(e.is_err());
    }
}
