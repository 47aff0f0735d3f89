//! Compose: the form's choices turned into ticket claims. A composition starts from one of the
//! demo's scenarios of the chosen type (so every required claim is present and right) and
//! applies the user's edits; the issuer then judges the result (`POST /tickets/check`), so the
//! form never carries its own copy of the rules.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cast::Record;
use crate::env::{DemoEnv, NPI_SYSTEM};
use crate::exec::Which;
use crate::scenarios::{self, Flow, Scenario};
use crate::tickets;

/// The clients [`framework_binding`] knows.
pub const FRAMEWORK_CLIENTS: [&str; 4] = [
    crate::udap::UDAP_PAYER,
    crate::federation::FED_PAYER,
    crate::federation::WELL_KNOWN_APP,
    crate::keys::PHA,
];

/// V3 ActCode, the system of the sensitivity labels offered for withholding.
const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// What the compose form sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Composition {
    /// The scenario the claims start from (its key).
    pub preset: String,
    /// Whose ticket: `patient`, `elder` or `case` (one site's record: demographics and MRN),
    /// or `person:patient` (and so on) for the person known at several sites (demographics
    /// only, redeemed at the network Data Holder, which combines the linked records); for types
    /// whose subject is a patient the demo knows; absent: the preset's.
    #[serde(default)]
    pub patient: Option<String>,
    /// `access.smart_scopes`, one per entry; absent: the preset's.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// `access.data_period.start` (`YYYY-MM-DD`; empty: none).
    #[serde(default)]
    pub period_start: Option<String>,
    /// `access.data_period.end`.
    #[serde(default)]
    pub period_end: Option<String>,
    /// `access.sensitivity_withhold` codes (v3 ActCode); absent: the preset's.
    #[serde(default)]
    pub withhold: Option<Vec<String>>,
    /// `access.data_holder_filter` jurisdictions (US state codes); absent: the preset's.
    #[serde(default)]
    pub holder_states: Option<Vec<String>>,
    /// `access.data_holder_filter` organizations (site NPIs); with `holder_states` the filter
    /// lists both kinds (a Data Holder matching any entry is accepted); absent: the preset's.
    #[serde(default)]
    pub holder_organizations: Option<Vec<String>>,
    /// Bind to this demo client's key (`presenter_binding` `jkt`); absent: the preset's.
    #[serde(default)]
    pub binding_client: Option<String>,
    /// Bind to this client's trust-framework identity (`presenter_binding` method
    /// `trust_framework_client`): the UDAP, OpenID Federation and well-known clients, or a
    /// registered client with a configured framework identity; absent: the preset's.
    #[serde(default)]
    pub binding_framework: Option<String>,
    /// The delegate's authority (`requester.relationship`, a v3-RoleCode such as `DELEGATEE`,
    /// `HPOWATT`, `GUARD`), for delegated access; absent: the preset's.
    #[serde(default)]
    pub requester_authority: Option<String>,
    /// The requesting organization's identifier (`requester.identifier[0].value`: the payer's
    /// NPI, the agency's URI), for the organizational types.
    #[serde(default)]
    pub requester_identifier: Option<String>,
    /// The requesting organization's name (`requester.name`), for the organizational types.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// The quality measure's code (`measure.coding[0].code`, e.g. `CMS122v12`).
    #[serde(default)]
    pub measure_code: Option<String>,
    /// The claim's control number (`access.claim_linkage.claim.identifier.value`).
    #[serde(default)]
    pub claim_control_number: Option<String>,
    /// The claim's encounter (`access.claim_linkage.encounter`, a local Encounter id).
    #[serde(default)]
    pub claim_encounter: Option<String>,
    /// The reportable condition's SNOMED CT code (`reportable_condition.coding[0].code`).
    #[serde(default)]
    pub reportable_condition: Option<String>,
    /// Requested lifetime in seconds (`exp` = now + this); absent: the issuer's default.
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    /// Minted this many seconds ago (an already-expired ticket, for the refusal it earns).
    #[serde(default)]
    pub minted_seconds_ago: Option<i64>,
}

/// A composed ticket request: who mints it, the claims, and how the preset presents it.
#[derive(Debug, Clone, Serialize)]
pub struct Composed {
    /// `network` or `holder`.
    pub issuer: &'static str,
    /// The ticket claims (what the issuer signs, before it adds `iss`, `iat`, `jti`, ...).
    pub claims: Value,
    /// The client the preset redeems as.
    pub client: &'static str,
    /// Whether the preset binds its token with DPoP.
    pub dpop: bool,
    /// Where it is meant to be redeemed: `site` (the demo's Data Holder) or `network` (the
    /// network Data Holder, for a person's combined record).
    pub holder: &'static str,
    /// Mint in the past by this many seconds.
    #[serde(skip)]
    pub minted_seconds_ago: Option<i64>,
    /// Whose records the release is explained against.
    #[serde(skip)]
    pub record: Record,
}

impl Composed {
    /// Which issuer mints.
    pub fn which(&self) -> Which {
        if self.issuer == "holder" {
            Which::Holder
        } else {
            Which::Network
        }
    }
}

/// The presets the form offers: every scenario minted over the issuer's API.
pub fn presets(env: &DemoEnv) -> Result<Vec<Scenario>, String> {
    Ok(scenarios::all(env)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|s| s.flow == Flow::Direct)
        .collect())
}

/// The demo patients a ticket can name, by form key.
pub fn patients(env: &DemoEnv) -> Vec<(&'static str, &Record)> {
    vec![
        ("patient", &env.cast.patient),
        ("elder", &env.cast.elder),
        ("case", &env.cast.case.record),
    ]
}

/// The people known at more than one site: form key (`person:` + the patient key), the
/// record the demographics come from, and the site records a network Data Holder links.
pub fn persons(env: &DemoEnv) -> Vec<(String, Record, Vec<Record>)> {
    patients(env)
        .into_iter()
        .filter_map(|(key, r)| {
            let linked = crate::network::linked_records(env, r);
            (linked.len() >= 2).then(|| (format!("person:{key}"), r.clone(), linked))
        })
        .collect()
}

/// A client's framework identity as a `trust_framework_client` presenter binding: the
/// framework clients the demo's Data Holder recognizes, and the registered client whose
/// identity its configuration asserts.
pub fn framework_binding(env: &DemoEnv, client: &str) -> Option<Value> {
    let fed = &env.federation;
    let (framework, framework_type, entity) = match client {
        crate::udap::UDAP_PAYER => (
            crate::udap::UDAP_COMMUNITY.to_owned(),
            "udap",
            crate::env::QUALITY_ENTITY.to_owned(),
        ),
        crate::federation::FED_PAYER => (fed.anchor.id.clone(), "oidf", fed.payer.id.clone()),
        crate::federation::WELL_KNOWN_APP => (
            crate::federation::WELL_KNOWN_FRAMEWORK.to_owned(),
            "well-known",
            fed.app.clone(),
        ),
        crate::keys::PHA => (
            crate::env::FRAMEWORK.to_owned(),
            "udap",
            crate::env::PHA_ENTITY.to_owned(),
        ),
        _ => return None,
    };
    Some(json!({
        "method": "trust_framework_client",
        "trust_framework": framework,
        "framework_type": framework_type,
        "entity_uri": entity,
    }))
}

/// Applies `c` to its preset.
pub fn compose(env: &DemoEnv, c: &Composition) -> Result<Composed, String> {
    let presets = presets(env)?;
    let sc = presets
        .iter()
        .find(|s| s.key == c.preset)
        .ok_or_else(|| format!("unknown preset {:?}", c.preset))?;
    let mut claims = sc.claims.clone();
    let mut record = sc.record.clone();
    let mut holder = "site";
    if let Some(key) = &c.patient {
        if let Some((_, r, _)) = persons(env).into_iter().find(|(k, _, _)| k == key) {
            set_patient(env, &mut claims, &r)?;
            // The person, not one site's record: no MRN, so each Data Holder matches the
            // demographics (a network Data Holder then adds the linked records).
            if let Some(p) = claims
                .pointer_mut("/subject/patient")
                .and_then(Value::as_object_mut)
            {
                p.remove("identifier");
            }
            record = r;
            holder = "network";
        } else {
            let (_, r) = patients(env)
                .into_iter()
                .find(|(k, _)| k == key)
                .ok_or_else(|| {
                    let people: Vec<String> = persons(env).into_iter().map(|p| p.0).collect();
                    format!(
                        "unknown patient {key:?}: use patient, elder or case, or a person known \
                         at several sites ({})",
                        people.join(", ")
                    )
                })?;
            record = r.clone();
            set_patient(env, &mut claims, r)?;
        }
    }
    let access = claims
        .get_mut("access")
        .and_then(Value::as_object_mut)
        .ok_or("the preset has no access object")?;
    if let Some(scopes) = &c.scopes {
        let scopes: Vec<&str> = scopes
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        // No scopes: no ticket-level scope constraint (some types need one; the issuer says so).
        if scopes.is_empty() {
            access.remove("smart_scopes");
        } else {
            access.insert("smart_scopes".into(), json!(scopes));
        }
    }
    let start = non_empty(&c.period_start);
    let end = non_empty(&c.period_end);
    if c.period_start.is_some() || c.period_end.is_some() {
        access.remove("data_period");
        if start.is_some() || end.is_some() {
            let mut p = serde_json::Map::new();
            if let Some(s) = start {
                p.insert("start".into(), s.into());
            }
            if let Some(e) = end {
                p.insert("end".into(), e.into());
            }
            access.insert("data_period".into(), Value::Object(p));
        }
    }
    if let Some(codes) = &c.withhold {
        access.remove("sensitivity_withhold");
        if !codes.is_empty() {
            let codes: Vec<Value> = codes
                .iter()
                .map(|code| json!({ "system": V3_ACT_CODE, "code": code }))
                .collect();
            access.insert("sensitivity_withhold".into(), json!({ "codes": codes }));
        }
    }
    if c.holder_states.is_some() || c.holder_organizations.is_some() {
        access.remove("data_holder_filter");
        let mut entries: Vec<Value> = c
            .holder_states
            .iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| json!({ "kind": "jurisdiction", "address": { "country": "US", "state": s } }))
            .collect();
        let orgs: Vec<Value> = c
            .holder_organizations
            .iter()
            .flatten()
            .map(|npi| {
                let site = env.cast.sites.iter().find(|s| &s.npi == npi);
                match site {
                    Some(site) => Ok(json!({
                        "identifier": { "system": NPI_SYSTEM, "value": site.npi },
                        "display": site.name,
                    })),
                    None => Err(format!("no demo site has NPI {npi:?}")),
                }
            })
            .collect::<Result<_, String>>()?;
        if !orgs.is_empty() {
            entries.push(json!({ "kind": "organization", "organization": orgs }));
        }
        if !entries.is_empty() {
            access.insert("data_holder_filter".into(), Value::Array(entries));
        }
    }
    if c.binding_client.is_some() && c.binding_framework.is_some() {
        return Err("bind to a client's key or to a framework identity, not both".into());
    }
    if let Some(client) = &c.binding_client {
        let key = env
            .keys
            .client(client)
            .map_err(|_| format!("{client:?} has no key of the demo to bind to"))?;
        claims["presenter_binding"] = json!({ "method": "jkt", "jkt": key.thumbprint() });
    }
    if let Some(client) = &c.binding_framework {
        claims["presenter_binding"] = framework_binding(env, client).ok_or_else(|| {
            format!(
                "{client:?} has no trust-framework identity at the Data Holder: use {}",
                FRAMEWORK_CLIENTS.join(", ")
            )
        })?;
    }
    type_claims(env, c, &mut claims)?;
    if let Some(seconds) = c.lifetime_seconds {
        if seconds <= 0 {
            return Err("the lifetime must be a positive number of seconds".into());
        }
        let at = (env.now)() - c.minted_seconds_ago.unwrap_or(0);
        claims["exp"] = json!(at + seconds);
    }
    if c.minted_seconds_ago.is_some_and(|s| s < 0) {
        return Err("\"minted seconds ago\" cannot be negative".into());
    }
    Ok(Composed {
        issuer: match sc.issuer {
            Which::Network => "network",
            Which::Holder => "holder",
        },
        claims,
        client: sc.client,
        dpop: sc.dpop,
        holder,
        minted_seconds_ago: c.minted_seconds_ago.filter(|s| *s > 0),
        record,
    })
}

/// The claims only some types carry (requester authority and organization, measure, claim
/// linkage, reportable condition): each edit needs its claim in the preset, and the issuer
/// judges the value (an unknown authority code, say, is its refusal to show).
fn type_claims(env: &DemoEnv, c: &Composition, claims: &mut Value) -> Result<(), String> {
    set(
        claims,
        &c.requester_authority,
        "/requester/relationship/0/coding/0/code",
        "requester authority (delegated access only)",
    )?;
    if claims.pointer("/requester/resourceType") == Some(&json!("Organization")) {
        set(
            claims,
            &c.requester_identifier,
            "/requester/identifier/0/value",
            "requester identifier",
        )?;
        set(
            claims,
            &c.requester_name,
            "/requester/name",
            "requester name",
        )?;
    } else if non_empty(&c.requester_identifier).is_some() || non_empty(&c.requester_name).is_some()
    {
        return Err("this ticket type's requester is not an organization".into());
    }
    let measure_edited = non_empty(&c.measure_code).is_some();
    set(
        claims,
        &c.measure_code,
        "/measure/coding/0/code",
        "measure (payer quality gap only)",
    )?;
    set(
        claims,
        &c.claim_control_number,
        "/access/claim_linkage/claim/identifier/value",
        "claim (payer claims only)",
    )?;
    if let Some(id) = non_empty(&c.claim_encounter) {
        let slot = claims
            .pointer_mut("/access/claim_linkage/encounter/0/reference")
            .ok_or("this ticket type has no claim encounter (payer claims only)")?;
        *slot = json!(format!("{}/Encounter/{id}", env.base_url));
    }
    let condition_edited = non_empty(&c.reportable_condition).is_some();
    set(
        claims,
        &c.reportable_condition,
        "/reportable_condition/coding/0/code",
        "reportable condition (public health only)",
    )?;
    // A changed code no longer has the preset's display text.
    for (edited, pointer) in [
        (measure_edited, "/measure/coding/0"),
        (condition_edited, "/reportable_condition/coding/0"),
    ] {
        if edited && let Some(coding) = claims.pointer_mut(pointer).and_then(Value::as_object_mut) {
            coding.remove("display");
        }
    }
    if measure_edited && let Some(m) = claims.get_mut("measure").and_then(Value::as_object_mut) {
        m.remove("text");
    }
    Ok(())
}

/// Puts the non-empty `value` at `pointer`, which the preset must have.
fn set(
    claims: &mut Value,
    value: &Option<String>,
    pointer: &str,
    what: &str,
) -> Result<(), String> {
    let Some(v) = non_empty(value) else {
        return Ok(());
    };
    let slot = claims
        .pointer_mut(pointer)
        .ok_or_else(|| format!("this ticket type has no {what}"))?;
    *slot = Value::String(v.to_owned());
    Ok(())
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Puts `r` in `subject.patient`, and renews identity evidence for them (the evidence names
/// the person it was issued for, so it cannot be carried over from the preset's patient).
fn set_patient(env: &DemoEnv, claims: &mut Value, r: &Record) -> Result<(), String> {
    if claims.pointer("/subject/patient").is_none() {
        return Err("this ticket type does not name a patient in its subject".into());
    }
    claims["subject"]["patient"] = tickets::patient(r);
    if claims.get("subject_identity_evidence").is_some() {
        let token = tickets::id_token(&env.keys.idp, r, (env.now)()).map_err(|e| e.to_string())?;
        claims["subject_identity_evidence"]["jwt"] = token.into();
    }
    Ok(())
}
