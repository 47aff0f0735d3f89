//! `compute_grant`: the intersection of spec-digest §12 (PT-ACC-01) — requested scopes ∩
//! ticket `access` ∩ client registration ∩ ticket-type rules ∩ local policy — plus the
//! checks that make every ticket constraint enforceable or rejected.

use std::collections::BTreeSet;

use tessera_ticket::claims::{
    Access, CodeableConcept, Coding, Period, SensitivityRule, TYPE_PAYER_CLAIMS,
    TYPE_PUBLIC_HEALTH, TYPE_QUALITY_GAP,
};

use crate::date::{Strictness, parse_range};
use crate::error::AccessError;
use crate::grant::{Grant, GrantedScope, Window};
use crate::holder_filter::check_holder_filter;
use crate::intersect::{PrefixFrom, expand, intersect, normalize, whole_types};
use crate::policy::{HolderProfile, Label, LocalPolicy, PAYER_TYPES};
use crate::public_health::{measure_release, release_for};
use crate::scope::{Context, ScopeError, Syntax, TokenValue, parse_scope};

/// Upper bound on scope entries per source (ticket, request).
pub const MAX_SCOPES: usize = 64;
/// Upper bound on the `scope` parameter's length.
pub const MAX_SCOPE_PARAM_LEN: usize = 8192;
/// Upper bound on sensitivity codings per rule.
pub const MAX_SENSITIVITY_CODES: usize = 64;

/// Everything the grant depends on. The ticket is already verified; the subject and the
/// `claim_linkage` encounters are already resolved to local ids by the Data Holder.
#[derive(Debug, Clone, Copy)]
pub struct GrantRequest<'a> {
    /// The verified ticket's `ticket_type` URI.
    pub ticket_type: &'a str,
    /// The ticket's `access` constraints.
    pub access: &'a Access,
    /// The ticket's `sensitivity_release_authorized` profile claim, if any.
    pub release_authorized: Option<&'a SensitivityRule>,
    /// The ticket's `reportable_condition` (public health), if any.
    pub reportable_condition: Option<&'a CodeableConcept>,
    /// The ticket's `measure` (quality gap), if any.
    pub measure: Option<&'a CodeableConcept>,
    /// The token request's `scope` parameter (`None` = omitted).
    pub requested_scope: Option<&'a str>,
    /// The client's registered scopes (`None` = the registration does not limit scopes).
    /// Non-resource and unparseable entries contribute nothing.
    pub client_scopes: Option<&'a [String]>,
    /// The resolved local patient id.
    pub patient_id: &'a str,
    /// Local ids of the `claim_linkage` encounters. The caller has checked that every
    /// reference resolves to an Encounter of `patient_id` (else `invalid_grant`, PT-CL-02).
    pub claim_encounters: &'a [String],
    /// The Data Holder's identity.
    pub holder: &'a HolderProfile,
    /// The Data Holder's release policy.
    pub policy: &'a LocalPolicy,
}

/// Computes the grant, or the reason none can be issued.
pub fn compute_grant(req: &GrantRequest<'_>) -> Result<Grant, AccessError> {
    let access = req.access;
    let policy = req.policy;
    let payer_claims = req.ticket_type == TYPE_PAYER_CLAIMS;

    // Ticket-side checks first (all `invalid_grant`), then the request (`invalid_scope`).
    if access.sensitivity_withhold.is_some() && !policy.sensitivity_profile {
        return Err(AccessError::Unsupported("sensitivity_withhold"));
    }
    if payer_claims && access.data_period.is_some() {
        // OP-16: the type prohibits it and it contradicts the current-state universe.
        return Err(AccessError::Unenforceable("data_period"));
    }
    if access.claim_linkage.is_some() && !payer_claims {
        // OP-16: association is defined only for self-issued claims tickets.
        return Err(AccessError::Unenforceable("claim_linkage"));
    }
    if let Some(filter) = &access.data_holder_filter {
        check_holder_filter(filter, req.holder)?;
    }
    let ticket_scopes = match &access.smart_scopes {
        Some(list) => Some(parse_ticket_scopes(list)?),
        None if payer_claims => None,
        None => return Err(AccessError::MissingClaim("access.smart_scopes")),
    };
    // PT-TYPE-18: the condition's local disclosure policy is one more ceiling.
    // PT-TYPE-16: a configured measure policy narrows quality-gap releases likewise.
    let disclosure = match req.ticket_type {
        TYPE_PUBLIC_HEALTH => Some(release_for(
            &policy.public_health,
            req.reportable_condition,
        )?),
        TYPE_QUALITY_GAP => measure_release(&policy.quality_gap_measures, req.measure),
        _ => None,
    };
    let window = access.data_period.as_ref().map(parse_window).transpose()?;
    let encounters = if payer_claims {
        if access.claim_linkage.is_none() {
            return Err(AccessError::MissingClaim("access.claim_linkage"));
        }
        if req.claim_encounters.is_empty() {
            return Err(AccessError::Unenforceable("claim_linkage"));
        }
        let mut ids = req.claim_encounters.to_vec();
        ids.sort();
        ids.dedup();
        Some(ids)
    } else {
        None
    };
    let sensitivity = sensitivity(req)?;
    if req.patient_id.is_empty() {
        return Err(AccessError::Unenforceable("subject"));
    }

    let requested = match req.requested_scope {
        Some(s) => Some(parse_requested(s)?),
        None => None,
    };

    let universe = &policy.served_types;
    let ceiling = policy.release_ceiling(req.ticket_type);
    let mut granted = whole_types(&ceiling, policy.interactions);
    if let Some(ticket) = &ticket_scopes {
        granted = intersect(&granted, &expand(ticket, universe), PrefixFrom::Left);
    }
    if let Some(allowed) = &disclosure {
        granted = intersect(&granted, &expand(allowed, universe), PrefixFrom::Left);
    }
    if let Some(client) = req.client_scopes {
        let registered: Vec<_> = client
            .iter()
            .filter_map(|s| parse_scope(s, Syntax::Registered).ok())
            .collect();
        granted = intersect(&granted, &expand(&registered, universe), PrefixFrom::Left);
    }
    granted = match &requested {
        Some(r) => intersect(&granted, &expand(r, universe), PrefixFrom::Right),
        None => normalize(
            granted
                .into_iter()
                .map(|s| GrantedScope {
                    context: Context::Patient,
                    ..s
                })
                .collect(),
        ),
    };
    if granted.is_empty() {
        return Err(AccessError::NoAuthorizedScopes);
    }

    Ok(Grant {
        patient: req.patient_id.to_owned(),
        scopes: granted,
        window,
        relevant: if window.is_some() {
            policy.currently_relevant_types.clone()
        } else {
            BTreeSet::new()
        },
        encounters,
        withhold: sensitivity.withhold,
        unlisted_allow: sensitivity.unlisted_allow,
        restricted: sensitivity.restricted,
        local_withhold: sensitivity.local_withhold,
        // PT-RS-02: no supporting resource until the Data Holder names the referenced ones.
        supporting: Some(Vec::new()),
        person: Default::default(),
    })
}

fn parse_ticket_scopes(list: &[String]) -> Result<Vec<crate::scope::Scope>, AccessError> {
    if list.is_empty() || list.len() > MAX_SCOPES {
        return Err(AccessError::MalformedTicket("access.smart_scopes"));
    }
    list.iter()
        .map(|s| {
            parse_scope(s, Syntax::Ticket).map_err(|e| match e {
                ScopeError::Malformed => AccessError::MalformedTicket("access.smart_scopes"),
                ScopeError::Unenforceable => AccessError::Unenforceable("smart_scopes"),
            })
        })
        .collect()
}

/// The `scope` parameter: space-separated SMART resource scopes; anything else (including
/// `openid`, `launch/patient`, `offline_access`: this endpoint issues neither ID tokens nor
/// refresh tokens) is `invalid_scope`.
pub(crate) fn parse_requested(s: &str) -> Result<Vec<crate::scope::Scope>, AccessError> {
    if s.is_empty() || s.len() > MAX_SCOPE_PARAM_LEN {
        return Err(AccessError::MalformedScope);
    }
    let parts: Vec<&str> = s.split(' ').collect();
    if parts.len() > MAX_SCOPES {
        return Err(AccessError::MalformedScope);
    }
    parts
        .iter()
        .map(|p| parse_scope(p, Syntax::Requested).map_err(|_| AccessError::MalformedScope))
        .collect()
}

/// `data_period` (OP-24): at least one bound, FHIR date or zoned dateTime, start ≤ end.
fn parse_window(period: &Period) -> Result<Window, AccessError> {
    let malformed = || AccessError::MalformedTicket("access.data_period");
    let bound = |v: &Option<String>| -> Result<Option<(i64, i64)>, AccessError> {
        v.as_deref()
            .map(|s| parse_range(s, Strictness::RequireZone).ok_or_else(malformed))
            .transpose()
    };
    let start = bound(&period.start)?;
    let end = bound(&period.end)?;
    if start.is_none() && end.is_none() {
        return Err(malformed());
    }
    if let (Some(s), Some(e)) = (start, end)
        && s.0 > e.1
    {
        return Err(malformed());
    }
    Ok(Window {
        start: start.map(|r| r.0),
        end: end.map(|r| r.1),
    })
}

struct Sensitivity {
    withhold: Vec<TokenValue>,
    unlisted_allow: Option<Vec<TokenValue>>,
    restricted: Vec<TokenValue>,
    local_withhold: Vec<TokenValue>,
}

/// Proposal 005 and local label rules. Withhold beats release (PT-SENS-07): a code the ticket
/// withholds is never in the allowed set, whatever `sensitivity_release_authorized` says.
fn sensitivity(req: &GrantRequest<'_>) -> Result<Sensitivity, AccessError> {
    let policy = req.policy;
    let withhold_rule = req.access.sensitivity_withhold.as_ref();
    // Without the profile, release authorizations are unknown claims: ignored (PT-SENS-02).
    let release = req
        .release_authorized
        .filter(|_| policy.sensitivity_profile);

    let withhold = match withhold_rule {
        Some(rule) => {
            if rule.codes.is_empty() && !rule.unlisted {
                return Err(AccessError::MalformedTicket("access.sensitivity_withhold"));
            }
            codings(&rule.codes)
                .ok_or(AccessError::MalformedTicket("access.sensitivity_withhold"))?
        }
        None => Vec::new(),
    };
    let released = match release {
        Some(rule) => codings(&rule.codes).ok_or(AccessError::MalformedTicket(
            "sensitivity_release_authorized",
        ))?,
        None => Vec::new(),
    };
    let withheld_by_ticket = |label: &TokenValue| withhold.iter().any(|w| label_hits(label, w));
    let release_named: Vec<TokenValue> = released
        .iter()
        .filter(|r| !withheld_by_ticket(r))
        .cloned()
        .collect();

    let unlisted_allow = match withhold_rule {
        Some(rule) if rule.unlisted && !release.is_some_and(|r| r.unlisted) => {
            let mut allow: BTreeSet<TokenValue> = policy
                .benign_labels
                .iter()
                .filter(|l| !policy.sensitive_labels.contains(*l))
                .map(label_value)
                .filter(|l| !withheld_by_ticket(l))
                .collect();
            // Exact labels only: a release coding without a system allows only unsystemed labels.
            allow.extend(release_named.iter().cloned());
            Some(allow.into_iter().collect())
        }
        _ => None,
    };

    let restricted = if PAYER_TYPES.contains(&req.ticket_type) {
        policy
            .payer_restricted
            .iter()
            .map(label_value)
            // Unlocking needs the exact label (system and code), never a system-less coding.
            .filter(|l| !release_named.contains(l))
            .collect()
    } else {
        Vec::new()
    };
    let local_withhold = policy
        .local_withhold
        .get(req.ticket_type)
        .map(|set| set.iter().map(label_value).collect())
        .unwrap_or_default();

    let mut withhold = withhold;
    withhold.sort();
    withhold.dedup();
    Ok(Sensitivity {
        withhold,
        unlisted_allow,
        restricted,
        local_withhold,
    })
}

/// Codings as label search values; `None` if one lacks a code or the list is too long. A
/// coding without a system withholds the code in every system (the conservative reading).
fn codings(codes: &[Coding]) -> Option<Vec<TokenValue>> {
    if codes.len() > MAX_SENSITIVITY_CODES {
        return None;
    }
    codes
        .iter()
        .map(|c| {
            let code = c.code.as_deref().filter(|s| !s.is_empty())?;
            let system = c
                .system
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            Some(TokenValue {
                system,
                code: code.to_owned(),
            })
        })
        .collect()
}

fn label_value(l: &Label) -> TokenValue {
    TokenValue {
        system: Some(l.system.clone()),
        code: l.code.clone(),
    }
}

/// Does a rule value (system `None` = any system) name this label?
fn label_hits(label: &TokenValue, rule: &TokenValue) -> bool {
    label.code == rule.code && (rule.system.is_none() || rule.system == label.system)
}
