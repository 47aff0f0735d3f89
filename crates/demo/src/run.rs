//! Running one scenario: mint → (redeem, revoke) → redeem → fetch → explain → check. Nothing
//! here fails the run: every failure becomes a problem of the scenario's outcome, so the report
//! always shows how far each scenario got.

use std::collections::BTreeSet;

use tessera_client::{ClientError, TokenResponse};
use tessera_issuer::Caller;

use crate::env::DemoEnv;
use crate::exec::{Minted, Which, prefix, summarize};
use crate::explain::{Stored, has_label, in_store, released, tally};
use crate::keys::NETWORK_MINTER;
use crate::report::{Granted, Redemption, ScenarioOutcome};
use crate::scenarios::{Check, Expect, Flow, Scenario};
use crate::tickets::{HBA1C, HBA1C_SCOPE, mint_request};

/// Token characters shown in the trace.
const TOKEN_PREFIX: usize = 10;

/// Runs `sc` against the running world.
pub async fn run(env: &DemoEnv, sc: &Scenario) -> ScenarioOutcome {
    let mut out = ScenarioOutcome {
        key: sc.key.to_owned(),
        title: sc.title.clone(),
        story: sc.story.clone(),
        ticket: None,
        notes: Vec::new(),
        result: None,
        expected: sc.expect.describe(),
        passed: false,
        problems: Vec::new(),
    };
    let minted = match mint(env, sc).await {
        Ok(m) => m,
        Err(e) => {
            out.problems.push(format!("minting failed: {e}"));
            return out;
        }
    };
    match summarize(&minted.token) {
        Ok(s) => out.ticket = Some(s),
        Err(e) => out.problems.push(e),
    }
    if let Err(e) = save_ticket(env, sc.key, &minted.token) {
        out.problems.push(format!("cannot save the ticket: {e}"));
    }
    if sc.flow == Flow::RevokeAfterUse {
        match env.redeem(&minted.token, sc.client, sc.dpop).await {
            Ok(t) => out.notes.push(format!(
                "first redemption granted (scope {}, {} s)",
                crate::report::abbreviate_scope(t.scope.as_deref().unwrap_or("-")),
                t.expires_in.unwrap_or_default()
            )),
            Err(e) => out.problems.push(format!("first redemption failed: {e}")),
        }
        match env.revoke(sc.issuer, &minted.jti).await {
            Ok(()) => out.notes.push(format!(
                "revoked at the issuer: POST {}/tickets/{}/revoke",
                issuer_url(env, sc.issuer),
                minted.jti
            )),
            Err(e) => out.problems.push(format!("revocation failed: {e}")),
        }
    }
    let redeemed = env.redeem(&minted.token, sc.client, sc.dpop).await;
    match (sc.expect, redeemed) {
        (
            Expect::Refused { error, description },
            Err(ClientError::Refused {
                status,
                error: got,
                description: got_description,
            }),
        ) => {
            if got != error || got_description != description {
                out.problems.push(format!(
                    "refused with {got}: {got_description}, expected {error}: {description}"
                ));
            }
            out.result = Some(Redemption::Refused {
                status,
                error: got,
                description: got_description,
            });
        }
        (Expect::Refused { .. }, Ok(t)) => {
            out.problems.push(format!(
                "the ticket was accepted (scope {})",
                t.scope.unwrap_or_default()
            ));
        }
        (_, Err(e)) => out.problems.push(format!("redemption: {e}")),
        (Expect::Granted(check), Ok(token)) => match granted(env, sc, &token).await {
            Ok(x) => {
                out.notes.extend(binding_note(env, &minted.jti));
                out.notes.extend(x.notes);
                out.problems.extend(x.problems);
                let checked = verify(env, sc, check, &x.granted, &x.stored, &x.released);
                out.problems.extend(checked);
                out.result = Some(Redemption::Granted(x.granted));
            }
            Err(e) => out.problems.push(e),
        },
    }
    out.passed = out.problems.is_empty();
    out
}

/// How the Data Holder checked the presenter binding, from its audit row (`binding_check`:
/// `verified:udap`, `asserted`, `key`, `none`).
fn binding_note(env: &DemoEnv, jti: &str) -> Option<String> {
    let rows = env.holder.token_db().audit_by_jti(jti).ok()?;
    let row = rows
        .iter()
        .rev()
        .find(|r| r.event == "token_exchange" && r.outcome == "accepted")?;
    let details: serde_json::Value = serde_json::from_str(&row.details).ok()?;
    let check = details.get("binding_check")?.as_str()?;
    Some(format!(
        "binding {} (audit binding_check = {check})",
        row.binding.as_deref().unwrap_or("-")
    ))
}

fn issuer_url(env: &DemoEnv, which: Which) -> &str {
    match which {
        Which::Network => &env.network_iss,
        Which::Holder => &env.holder_iss,
    }
}

async fn mint(env: &DemoEnv, sc: &Scenario) -> Result<Minted, String> {
    match sc.flow {
        Flow::Direct | Flow::RevokeAfterUse => {
            let request = mint_request(&sc.claims, (env.now)());
            env.mint(sc.issuer, &request).await
        }
        Flow::MintedEarlier(ago) => {
            let issuer = match sc.issuer {
                Which::Network => env.network.clone(),
                Which::Holder => env.holder_issuer.clone(),
            };
            let at = (env.now)() - ago;
            let claims = mint_request(&sc.claims, at);
            let caller = Caller::Client(NETWORK_MINTER.to_owned());
            let minted = tokio::task::spawn_blocking(move || issuer.mint_as(&caller, &claims, at))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            Ok(Minted {
                jti: minted.record.jti,
                token: minted.token,
            })
        }
    }
}

fn save_ticket(env: &DemoEnv, key: &str, token: &str) -> std::io::Result<()> {
    let dir = env.dir.join("tickets");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{key}.jwt")), format!("{token}\n"))
}

/// What a granted redemption released: the summary, the patient's stored and the released
/// resources, the API/Grant disagreements, and notes on the fetch.
struct Explained {
    granted: Granted,
    stored: Vec<Stored>,
    released: Vec<Stored>,
    problems: Vec<String>,
    notes: Vec<String>,
}

async fn granted(env: &DemoEnv, sc: &Scenario, token: &TokenResponse) -> Result<Explained, String> {
    let (pages, notes) = env
        .fetch_granted(token, sc.client)
        .await
        .map_err(|e| format!("FHIR fetch: {e}"))?;
    let grant = env.grant_of(&token.access_token)?;
    let store = env.holder.store().clone();
    let record = sc.record.clone();
    let stored = tokio::task::spawn_blocking(move || in_store(store.as_ref(), &record))
        .await
        .map_err(|e| e.to_string())??;
    let released = released(&pages);
    let (types, problems) = tally(&stored, &released, &grant);
    let patient = token
        .raw
        .get("patient")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let g = Granted {
        token_type: token.token_type.clone(),
        token_prefix: prefix(&token.access_token, TOKEN_PREFIX),
        scope: token.scope.clone().unwrap_or_default(),
        patient,
        expires_in: token.expires_in,
        pages: pages.len(),
        types,
    };
    Ok(Explained {
        granted: g,
        stored,
        released,
        problems,
        notes,
    })
}

/// The scenario's own expectations (the API/Grant agreement is checked in `tally`).
fn verify(
    env: &DemoEnv,
    sc: &Scenario,
    check: Check,
    g: &Granted,
    stored: &[Stored],
    released: &[Stored],
) -> Vec<String> {
    let mut p = Vec::new();
    if g.patient != sc.record.patient_id {
        p.push(format!(
            "patient {} resolved, expected {}",
            g.patient, sc.record.patient_id
        ));
    }
    if g.released_own() == 0 {
        p.push("nothing of the patient's was released".into());
    }
    let held = |reason: &str| -> usize {
        g.types
            .iter()
            .flat_map(|t| t.held_back.iter())
            .filter(|(r, _)| r.contains(reason))
            .map(|(_, n)| n)
            .sum()
    };
    let released_with = |label: &str| {
        released
            .iter()
            .filter(|r| has_label(&r.json, label))
            .count()
    };
    let stored_with = |label: &str| stored.iter().filter(|r| has_label(&r.json, label)).count();
    let own_types: BTreeSet<&str> = released
        .iter()
        .map(|r| r.resource_type.as_str())
        .filter(|t| !tessera_access::SHARED_TYPES.contains(t))
        .collect();
    match check {
        Check::SelfAccess => {
            if !g.token_type.eq_ignore_ascii_case("dpop") {
                p.push(format!("token_type {}, expected DPoP", g.token_type));
            }
            for t in &g.types {
                let other: usize = t
                    .held_back
                    .iter()
                    .filter(|(r, _)| r.as_str() != "type not in scope")
                    .map(|(_, n)| n)
                    .sum();
                if other > 0 {
                    p.push(format!(
                        "{other} {} held back from the patient",
                        t.resource_type
                    ));
                }
            }
            for label in ["MH", "HIPAASelfPay"] {
                if stored_with(label) > 0 && released_with(label) == 0 {
                    p.push(format!(
                        "the patient's own {label} records were not released"
                    ));
                }
            }
        }
        Check::Withholds(label) => {
            if released_with(label) > 0 {
                p.push(format!(
                    "{} records labelled {label} released",
                    released_with(label)
                ));
            }
            if held("sensitive label withheld") == 0 {
                p.push(format!("no {label} record was there to withhold"));
            }
        }
        Check::DataPeriod => {
            if held("outside data_period") == 0 {
                p.push("nothing was held back for data_period".into());
            }
        }
        Check::TypesWithin(types) => {
            for t in &own_types {
                if !types.contains(t) {
                    p.push(format!("{t} released"));
                }
            }
        }
        Check::PayerClaims => {
            let enc = &env.cast.claim.encounter_id;
            let encounters: Vec<&str> = released
                .iter()
                .filter(|r| r.resource_type == "Encounter")
                .map(|r| r.id.as_str())
                .collect();
            if encounters != [enc.as_str()] {
                p.push(format!(
                    "encounters released {encounters:?}, expected [{enc}]"
                ));
            }
            if released_with("HIPAASelfPay") > 0 {
                p.push("a HIPAA self-pay record was released to the payer".into());
            }
            if stored_with("HIPAASelfPay") == 0 || held("restricted from the payer") == 0 {
                p.push("no self-pay record was held back as restricted".into());
            }
        }
        Check::QualityGap => {
            if g.scope != HBA1C_SCOPE {
                p.push(format!("scope {:?}, expected {HBA1C_SCOPE:?}", g.scope));
            }
            let year = env.cast.measurement_year.to_string();
            let expected: BTreeSet<&str> = stored
                .iter()
                .filter(|r| r.resource_type == "Observation" && is_hba1c(&r.json))
                .filter(|r| !has_label(&r.json, "HIPAASelfPay"))
                .filter(|r| effective(&r.json).starts_with(&year))
                .map(|r| r.id.as_str())
                .collect();
            let got: BTreeSet<&str> = released.iter().map(|r| r.id.as_str()).collect();
            if got != expected || expected.is_empty() {
                p.push(format!(
                    "released {} resources, expected exactly the {} HbA1c results of {year}",
                    got.len(),
                    expected.len()
                ));
            }
            if released
                .iter()
                .any(|r| r.resource_type != "Observation" || !is_hba1c(&r.json))
            {
                p.push("something other than an HbA1c Observation was released".into());
            }
        }
        Check::PublicHealth => {
            let condition = &env.cast.case.condition_id;
            if !released
                .iter()
                .any(|r| r.resource_type == "Condition" && &r.id == condition)
            {
                p.push(format!(
                    "the COVID-19 Condition {condition} was not released"
                ));
            }
            for t in &own_types {
                if !["Condition", "Observation", "DiagnosticReport"].contains(t) {
                    p.push(format!("{t} released"));
                }
            }
        }
    }
    p
}

fn is_hba1c(r: &serde_json::Value) -> bool {
    r.pointer("/code/coding")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| {
            c.get("system").and_then(serde_json::Value::as_str) == Some("http://loinc.org")
                && c.get("code").and_then(serde_json::Value::as_str) == Some(HBA1C)
        })
}

fn effective(r: &serde_json::Value) -> &str {
    r.get("effectiveDateTime")
        .or_else(|| r.pointer("/effectivePeriod/start"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}
