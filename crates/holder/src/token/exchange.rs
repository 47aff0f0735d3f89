//! The redemption pipeline (spec-digest §7), in the normative order, as plain async functions
//! over [`HolderState`]: no HTTP types here, so every step is testable without a server.
//!
//! ```text
//! 0  grant_type                      unsupported_grant_type
//! L1 client authentication           invalid_client (401)
//! 1-2 subject_token_type, subject_token, other parameters     invalid_request / invalid_target
//!    DPoP proof (if sent)            invalid_dpop_proof
//! 3  parse                           invalid_grant Malformed permission ticket
//!    iss named by a trust policy     invalid_grant Ticket issuer not trusted (OP-05: before any fetch)
//! 4  issuer keys + signature         invalid_grant Unable to retrieve issuer keys / signature failed
//! 5  ticket type advertised          invalid_grant Missing / Unsupported ticket type
//! 7  issuer trusted for this type    invalid_grant Ticket issuer not trusted
//! 8  exp / iat / nbf, aud            invalid_grant Ticket expired / not valid for this server
//! 9  revocation (fail closed)        invalid_grant Ticket has been revoked / could not be determined
//! 10 presenter binding               invalid_grant Ticket presenter binding required / mismatch
//! 11 identity evidence + profile     invalid_grant Invalid identity evidence / Identity evidence required
//! 12 every access member enforceable invalid_grant Unsupported access constraint / data_holder_filter
//! 13 the type's required claims      invalid_grant Ticket missing required claim
//! 14 subject resolution              invalid_grant Unable to resolve / Ambiguous
//!                                    (Proposal 001 switch: interaction_required + launch)
//!    type processing                 invalid_grant claim_linkage / requester relationship
//! 15 access intersection             invalid_scope No authorized scopes
//!    token issued, audited
//! ```

use serde::Serialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tessera_access::{Grant, GrantRequest, check_holder_filter, compute_grant};
use tessera_store::audit::AuditRecord;
use tessera_store::durable::WriteSet;
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::tokens::TokenRecord;
use tessera_ticket::claims::{AudType, FrameworkType, Identifier, PresenterBinding, Requester};
use tessera_ticket::{
    AccessOptions, CurrentTicket, EnvelopeError, Limits, TicketType, UnverifiedTicket,
};

use crate::evidence::{EvidenceContext, VerifiedEvidence, verify_evidence};
use crate::network::DataHolder;
use crate::network::person::resolve_person;
use crate::state::HolderState;
use crate::subject::{EvidenceDemographics, ticket_consistent_with_evidence};
use crate::token::access_token::{cache_token, new_token_string, token_hash};
use crate::token::claimed::{claimed_ticket, clip};
use crate::token::client_auth::{
    AuthContext, AuthenticatedClient, ClientCredentials, claimed_client_id,
};
use crate::token::commit::{commit_refusal, commit_request, mark_rejected};
use crate::token::dpop::{ProofExpectation, verify_and_spend};
use crate::token::error::TokenError;
use crate::token::launch::{FallbackRequest, UNRESOLVED_PATIENT, interaction_fallback};
use crate::token::replay_guard::ReplayGuard;
use crate::token::request::{
    ACCESS_TOKEN_TYPE, FormParams, MAX_SUBJECT_TOKEN_BYTES, TOKEN_EXCHANGE,
};
use crate::token::type_rules::{check_relationship, claim_encounters};

/// Audit `details` member present while the row's ticket facts are unverified claims.
pub const UNVERIFIED_CLAIMS: &str = "unverified_ticket_claims";

/// Longest accepted `scope` parameter.
pub const MAX_SCOPE_PARAM: usize = 8192;

/// A successful token response (RFC 8693 §2.2.1 plus SMART's `patient`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The opaque access token.
    pub access_token: String,
    /// `Bearer`, or `DPoP` when a proof bound it.
    pub token_type: String,
    /// Always the access-token type.
    pub issued_token_type: String,
    /// Seconds until expiry.
    pub expires_in: i64,
    /// Granted scopes.
    pub scope: String,
    /// Resolved local Patient id.
    pub patient: String,
    /// A rotating refresh token, only for a `continuation` ticket with the feature enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The audit facts gathered while the pipeline runs.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    pub(crate) step: &'static str,
    record: AuditRecord,
    details: serde_json::Map<String, Value>,
}

impl Trail {
    fn at(&mut self, step: &'static str) {
        self.step = step;
    }
}

/// A redemption that passed every step, not yet durable.
struct Issued {
    response: TokenResponse,
    record: TokenRecord,
    grant: Grant,
    /// A `continuation` ticket's new refresh family and its first token.
    refresh: Option<(RefreshFamily, RefreshRecord)>,
}

/// Runs the whole pipeline at the network base, then commits its spent keys, token and audit record as one
/// durable write before returning. `dpop` is the `DPoP` header, if any.
pub async fn redeem(
    state: &HolderState,
    params: &FormParams,
    dpop: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    redeem_at(state, state.network_holder(), params, dpop).await
}

/// [`redeem`] at the Data Holder `holder` (the network base or one site, issue 14).
pub async fn redeem_at(
    state: &HolderState,
    holder: &DataHolder,
    params: &FormParams,
    dpop: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let now = state.now();
    let mut trail = Trail::default();
    trail.details.insert(
        "data_holder".into(),
        json!(holder.site.as_deref().unwrap_or("network")),
    );
    let guard = ReplayGuard::new();
    let result = run(state, holder, params, dpop, now, &mut trail, &guard).await;
    let mut rec = trail.record;
    rec.at = now;
    rec.event = "token_exchange".into();
    rec.details = Value::Object(trail.details).to_string();
    let mut effects = WriteSet::default();
    let result = match result {
        Ok(mut issued) => {
            rec.outcome = "accepted".into();
            rec.scopes = Some(issued.response.scope.clone());
            rec.patient = Some(issued.response.patient.clone());
            effects.tokens.push(issued.record.clone());
            effects.refresh_families.extend(issued.refresh.take());
            Ok(issued)
        }
        Err(e) => {
            mark_rejected(&mut rec, trail.step, &e);
            tracing::info!(step = trail.step, error = %e, jti = ?rec.jti, client = ?rec.client_id, "token request rejected");
            Err(e)
        }
    };
    let issued = commit_request(state, guard.into_keys(), effects, rec, result).await?;
    cache_token(state, issued.record, issued.grant, now);
    Ok(issued.response)
}

/// What the Data Holder decides about a ticket on its own, without a presenting client.
#[derive(Debug)]
pub struct DryRun {
    /// The last step reached (the failing one, on a refusal).
    pub step: &'static str,
    /// The refusal the token endpoint would send, or `Ok`.
    pub result: Result<(), TokenError>,
}

/// Runs every step that judges the ticket alone, at the network base, as the token endpoint
/// would (same functions, same order), then the ticket-only parts of the later steps (binding
/// required, access constraints, `data_holder_filter`). Nothing is spent or recorded: no jti,
/// no audit row. Steps that need the presenting client (authentication, binding match,
/// identity evidence, subject resolution, the grant) are not judged here.
pub async fn dry_run(state: &HolderState, ticket: &str) -> DryRun {
    let now = state.now();
    let holder = state.network_holder();
    let mut trail = Trail::default();
    let result = async {
        let current = verify_ticket_alone(state, holder, ticket, now, &mut trail).await?;
        trail.at("presenter_binding");
        current.check_binding_required()?;
        trail.at("access_constraints");
        let opts = AccessOptions {
            legacy_access_shapes: state.inner.config.legacy_access_shapes,
            sensitivity_withhold: state.inner.policy.sensitivity_profile,
        };
        let constrained = current.check_access(&opts)?;
        if let Some(filter) = &constrained.access().data_holder_filter {
            check_holder_filter(filter, &holder.profile)?;
        }
        Ok(())
    }
    .await;
    DryRun {
        step: trail.step,
        result,
    }
}

/// Records a request refused before the pipeline could read it (body not a bounded form,
/// duplicated or oversized parameters, a malformed DPoP header): every attempt is audited,
/// even one that names no client or ticket. Returns the error to send, or an internal error
/// if the audit row could not be written.
pub async fn audit_unreadable_request(
    state: &HolderState,
    event: &str,
    error: TokenError,
) -> TokenError {
    let mut rec = AuditRecord {
        at: state.now(),
        event: event.to_owned(),
        details: "{}".into(),
        ..AuditRecord::default()
    };
    mark_rejected(&mut rec, "request", &error);
    commit_refusal(state, rec, error).await
}

async fn run(
    state: &HolderState,
    holder: &DataHolder,
    params: &FormParams,
    dpop: Option<&str>,
    now: i64,
    trail: &mut Trail,
    guard: &ReplayGuard,
) -> Result<Issued, TokenError> {
    let st = &state.inner;
    let cfg = &st.config;

    trail.at("grant_type");
    match params.get("grant_type") {
        None => return Err(TokenError::InvalidRequest("Missing grant_type")),
        Some(TOKEN_EXCHANGE) => {}
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    }

    trail.at("client_authentication");
    let token_url = holder.token_url();
    let client = authenticate_at_token_endpoint(
        state,
        params,
        now,
        guard,
        &mut trail.record.client_id,
        &token_url,
    )
    .await?;

    trail.at("request");
    let ticket = check_parameters(holder, params)?;
    let cnf_jkt = match dpop {
        None => None,
        Some(proof) => {
            trail.at("dpop");
            let url = token_url.clone();
            let want = ProofExpectation {
                htm: "POST",
                htu: &url,
                access_token: None,
                now,
                leeway: cfg.leeway,
            };
            let verified =
                verify_and_spend(guard, proof, want).map_err(|e| TokenError::InvalidDpop(e.0))?;
            Some(verified.jkt)
        }
    };

    let current = verify_ticket_alone(state, holder, ticket, now, trail).await?;
    let shell = current.shell();
    let ticket_type = shell.ticket_type();

    trail.at("presenter_binding");
    current.check_binding_required()?;
    let binding = verify_binding(
        ticket_type,
        shell.presenter_binding(),
        shell.requester(),
        &client,
    )?;
    trail.record.binding = Some(binding.to_owned());
    trail.details.insert(
        "binding_check".into(),
        json!(binding_check(&client, binding)),
    );

    trail.at("identity_evidence");
    let evidence = check_evidence(state, shell, &client, now).await?;
    if let Some(ev) = &evidence {
        trail.details.insert(
            "subject_evidence".into(),
            json!({"iss": ev.iss, "acr": ev.acr, "issuer_attested": ev.issuer_attested}),
        );
    }

    trail.at("access_constraints");
    let opts = AccessOptions {
        legacy_access_shapes: cfg.legacy_access_shapes,
        sensitivity_withhold: st.policy.sensitivity_profile,
    };
    let constrained = current.check_access(&opts)?;
    // Step 12 ends with our own enforceability check: a ticket scoped to other Data Holders
    // fails here, before the type's required claims (PT-VAL-15, OP-07).
    if let Some(filter) = &constrained.access().data_holder_filter {
        check_holder_filter(filter, &holder.profile)?;
    }

    trail.at("type_rules");
    let verified = constrained.check_type_rules()?;
    if verified.legacy_translated() {
        trail
            .details
            .insert("legacy_access_shape".into(), json!(true));
    }
    let claims = verified.claims();
    if let Some(rc) = &claims.reportable_condition {
        // A J10 `context.reportable_condition` is only known after step 12.
        trail
            .details
            .entry("reportable_condition")
            .or_insert_with(|| json!(rc));
    }
    if let Some(r) = &claims.sensitivity_release_authorized {
        trail
            .details
            .insert("sensitivity_release_authorized".into(), json!(r));
    }
    if let Some(c) = claims
        .access
        .claim_linkage
        .as_ref()
        .and_then(|c| c.claim.as_ref())
    {
        trail.details.insert("claim".into(), json!(c));
    }

    trail.at("subject");
    let demographics: Option<EvidenceDemographics> = evidence.map(|e| e.demographics);
    // On this task, not through `spawn_blocking`: the lookups are a bounded number of
    // index-driven reads (at most MAX_CANDIDATES identifiers and MAX_PERSON_RECORDS records).
    // An embedded store answers them inline, tens of microseconds in all, less than a hand-off
    // to a blocking thread costs (BENCHMARKS.md, "Where the floor ends"); a networked one
    // through its asynchronous reads, so the worker serves other requests meanwhile.
    let resolved = resolve_person(
        st.records.as_ref(),
        st.store.as_ref(),
        &claims.subject,
        demographics.as_ref(),
        holder,
    )
    .await
    .map_err(|refusal| {
        if let Some((k, v)) = refusal.detail {
            trail.details.insert(k.into(), v);
        }
        refusal.error
    });
    let grant_for = |patient_id: &str, encounters: &[String]| {
        compute_grant(&GrantRequest {
            ticket_type: ticket_type.uri(),
            access: &claims.access,
            release_authorized: claims.sensitivity_release_authorized.as_ref(),
            reportable_condition: claims.reportable_condition.as_ref(),
            measure: claims.measure.as_ref(),
            requested_scope: params.get("scope"),
            client_scopes: client.scopes.as_deref(),
            patient_id,
            claim_encounters: encounters,
            holder: &holder.profile,
            policy: &st.policy,
        })
    };
    let person = match resolved {
        Ok(p) => p,
        Err(failure) => {
            // Proposal 001 (off by default): only when every other check would pass.
            let otherwise_acceptable = grant_for(UNRESOLVED_PATIENT, &[]).is_ok();
            let fallback = FallbackRequest {
                ticket_type,
                ticket_iss: &claims.iss,
                ticket_jti: &claims.jti,
                client: &client,
                otherwise_acceptable,
                now,
            };
            let e = interaction_fallback(state, failure, fallback);
            if matches!(e, TokenError::InteractionRequired(_)) {
                trail.details.insert("launch_issued".into(), json!(true));
            }
            return Err(e);
        }
    };
    let patient_id = person.patient.clone();
    trail.record.patient = Some(patient_id.clone());
    trail.details.insert("person".into(), json!(person.person));
    trail
        .details
        .insert("person_records".into(), json!(person.records));

    trail.at("type_processing");
    let encounters = match ticket_type {
        TicketType::PayerClaims => claim_encounters(state, claims, &person.records).await?,
        _ => Vec::new(),
    };
    if ticket_type == TicketType::QualityGap {
        let how = check_relationship(state, claims, &person.records, now).await?;
        trail.details.insert("relationship".into(), json!(how));
    }

    trail.at("grant");
    let grant =
        grant_for(&patient_id, &encounters)?.for_person(crate::network::location::person_scope(
            state,
            holder,
            &person,
            claims.access.data_holder_filter.as_deref(),
        ));
    // PT-RS-02: supporting resources only as released data references them.
    let grant = crate::token::supporting::with_supporting(state, grant).await?;
    let scope = grant.scope_string();

    trail.at("issue");
    let lifetime = cfg.access_token_ttl.min(claims.exp - now);
    if lifetime <= 0 {
        // Within leeway of `exp`: a token would outlive the ticket (OP-09).
        return Err(TokenError::Ticket(EnvelopeError::Expired.into()));
    }
    let token = new_token_string().map_err(TokenError::Internal)?;
    let grant_json =
        serde_json::to_string(&grant).map_err(|e| TokenError::Internal(e.to_string()))?;
    let record = TokenRecord {
        token_hash: token_hash(&token),
        client_id: client.client_id.clone(),
        grant_json,
        ticket_jti: claims.jti.clone(),
        ticket_iss: claims.iss.clone(),
        ticket_type: ticket_type.uri().to_owned(),
        patient: patient_id.clone(),
        scope: scope.clone(),
        issued_at: now,
        expires_at: now + lifetime,
        cnf_jkt: cnf_jkt.clone(),
    };
    trail.at("continuation");
    let refresh = crate::token::refresh::first_family(state, claims, &record, now)?;
    trail.at("issue");
    Ok(Issued {
        response: TokenResponse {
            access_token: token,
            token_type: if cnf_jkt.is_some() { "DPoP" } else { "Bearer" }.into(),
            issued_token_type: ACCESS_TOKEN_TYPE.into(),
            expires_in: lifetime,
            scope,
            patient: patient_id,
            refresh_token: refresh.as_ref().map(|r| r.token.clone()),
        },
        record,
        grant,
        refresh: refresh.map(|r| (r.family, r.first)),
    })
}

/// Steps 1–2 and the OP-11 parameters; returns the subject token.
/// The steps that judge the ticket alone, in the specification's order: parse, issuer trust,
/// signature, ticket type, issuer trusted for that type, lifetime, audience, revocation. The
/// token endpoint runs them inside a redemption (after client authentication); the operator's
/// workbench runs them as a dry run (nothing spent, nothing recorded), so both see the same
/// verdict from the same code. `trail` gets the step reached and the audit details.
pub(crate) async fn verify_ticket_alone(
    state: &HolderState,
    holder: &DataHolder,
    ticket: &str,
    now: i64,
    trail: &mut Trail,
) -> Result<CurrentTicket, TokenError> {
    let st = &state.inner;
    let cfg = &st.config;
    trail.at("parse");
    // Until the signature verifies, the row's jti/iss/ticket_type are only what the ticket
    // claims; a ticket refused here is still findable by its claimed jti (issue 9).
    trail.details.insert(UNVERIFIED_CLAIMS.into(), json!(true));
    let unverified = match UnverifiedTicket::parse(ticket, &Limits::ticket()) {
        Ok(u) => u,
        Err(e) => {
            if let Some(c) = claimed_ticket(ticket) {
                trail.record.jti = c.jti;
                trail.record.iss = c.iss;
                trail.record.ticket_type = c.ticket_type;
            }
            return Err(e.into());
        }
    };
    let env = unverified.envelope();
    trail.record.jti = Some(clip(&env.jti));
    trail.record.iss = Some(clip(&env.iss));

    trail.at("issuer_trust");
    let issuer = st
        .issuers
        .get(unverified.issuer())
        .ok_or_else(|| TokenError::IssuerNotTrusted(unverified.issuer().to_owned()))?;

    trail.at("signature");
    let keys = st
        .keys
        .key_set(&issuer.keys, Some(unverified.kid()), now)
        .await
        .map_err(|e| {
            // Which check failed (fetch, federation chain, trust mark) is for the audit row.
            let reason: String = e.to_string().chars().take(512).collect();
            trail
                .details
                .insert("issuer_keys_error".into(), json!(reason));
            TokenError::IssuerKeysUnavailable
        })?;
    let signed = unverified.verify_signature(&keys)?;
    trail.details.remove(UNVERIFIED_CLAIMS);

    trail.at("ticket_type");
    trail.record.ticket_type = signed
        .ticket_type_uri()
        .map(|t| t.chars().take(256).collect());
    let typed = signed.check_type(&st.supported_types)?;
    let ticket_type = typed.shell().ticket_type();

    trail.at("issuer_trust");
    if !issuer.trusted_for(ticket_type.uri()) {
        return Err(TokenError::IssuerNotTrusted(issuer.iss.clone()));
    }

    trail.at("envelope");
    let current = typed.check_times(now, cfg.leeway)?;
    let shell = current.shell();
    trail.record.requester = shell.requester().map(requester_summary);
    // PT-AUDIT-01: every profile claim is on the redemption's audit row.
    if let Some(m) = shell.measure() {
        trail.details.insert("measure".into(), json!(m));
    }
    if let Some(rc) = shell.reportable_condition() {
        trail
            .details
            .insert("reportable_condition".into(), json!(rc));
    }
    if !audience_accepted(state, holder, shell, now, trail).await {
        return Err(TokenError::Ticket(EnvelopeError::AudienceMismatch.into()));
    }

    trail.at("revocation");
    if let Some(rev) = shell.revocation() {
        st.revocation
            .check(&rev.url, rev.index, now)
            .await
            .map_err(|e| match e {
                crate::trust::revocation::RevocationError::Revoked => TokenError::Revoked,
                crate::trust::revocation::RevocationError::Undeterminable(r) => {
                    TokenError::RevocationUndeterminable(r)
                }
            })?;
    }

    Ok(current)
}

fn check_parameters<'p>(
    holder: &DataHolder,
    params: &'p FormParams,
) -> Result<&'p str, TokenError> {
    match params.get("subject_token_type") {
        Some(tessera_ticket::claims::SUBJECT_TOKEN_TYPE) => {}
        _ => return Err(TokenError::InvalidRequest("Unsupported subject token type")),
    }
    let ticket = params
        .get("subject_token")
        .ok_or(TokenError::InvalidRequest("No permission ticket provided"))?;
    if ticket.len() > MAX_SUBJECT_TOKEN_BYTES {
        return Err(TokenError::InvalidRequest("Permission ticket too large"));
    }
    if params.get("actor_token").is_some() || params.get("actor_token_type").is_some() {
        return Err(TokenError::InvalidRequest("actor_token is not supported"));
    }
    if params
        .get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(TokenError::InvalidRequest(
            "Unsupported requested_token_type",
        ));
    }
    let own = &holder.bases;
    for name in ["resource", "audience"] {
        if params
            .get(name)
            .is_some_and(|v| !own.iter().any(|b| b == v))
        {
            return Err(TokenError::InvalidTarget);
        }
    }
    if params
        .get("scope")
        .is_some_and(|s| s.len() > MAX_SCOPE_PARAM)
    {
        return Err(TokenError::InvalidRequest("scope too long"));
    }
    Ok(ticket)
}

/// Step 8, audience: our base URLs, or (PT-AUD-05) a trust framework we participate in at
/// `now`, verified where the framework offers a proof; the audit row says which.
async fn audience_accepted(
    state: &HolderState,
    holder: &DataHolder,
    shell: &tessera_ticket::Shell,
    now: i64,
    trail: &mut Trail,
) -> bool {
    let st = &state.inner;
    if shell.aud_type() != AudType::TrustFramework {
        return shell.audience_matches(&holder.audience);
    }
    // A site is a member of the frameworks its network belongs to (one certificate, one
    // federation entity); its own base URLs stay its own.
    let candidates = shell.aud().entries();
    let (expected, how) = st
        .memberships
        .expected_audience(&holder.audience.data_holder_urls, &candidates, now)
        .await;
    if let Some(how) = how.and_then(|m| m.audit()) {
        trail.details.insert("audience_check".into(), json!(how));
    }
    shell.audience_matches(&expected)
}

/// How the binding was checked, for the audit row: `verified:{framework_type}` when the
/// client's framework identity was proven (a verified trust chain), `asserted` when it came
/// from configuration, `key` for `jkt`, `none` for unbound tickets.
fn binding_check(client: &AuthenticatedClient, outcome: &str) -> String {
    if outcome.starts_with("trust_framework_client:verified") {
        match &client.verified_framework {
            Some(f) => format!("verified:{}", f.framework_type),
            None => "verified".into(),
        }
    } else if outcome == "trust_framework_client:asserted" {
        "asserted".into()
    } else if outcome.starts_with("jkt") {
        "key".into()
    } else {
        "none".into()
    }
}

/// Layer 1 at the token endpoint, for every grant type: `audited_client_id` becomes the
/// authenticated id, or, when authentication fails, the id the assertion claims (so a failure
/// is audited under it).
pub(crate) async fn authenticate_at_token_endpoint(
    state: &HolderState,
    params: &FormParams,
    now: i64,
    guard: &ReplayGuard,
    audited_client_id: &mut Option<String>,
    token_url: &str,
) -> Result<AuthenticatedClient, TokenError> {
    let cfg = &state.inner.config;
    let assertion = params.get("client_assertion");
    let creds = ClientCredentials {
        assertion_type: params.get("client_assertion_type"),
        assertion,
        client_id: params.get("client_id"),
    };
    // The token endpoint being called: clients registered with the network are registered at
    // its sites, each with its own endpoint (issue 14).
    let audiences = [token_url.to_owned()];
    let ctx = AuthContext {
        audiences: &audiences,
        now,
        leeway: cfg.leeway,
        replay: guard,
    };
    match state.inner.clients.authenticate(creds, ctx).await {
        Ok(client) => {
            *audited_client_id = Some(client.client_id.clone());
            Ok(client)
        }
        Err(e) => {
            // The claimed id is decoded only for a refusal's audit row: an accepted request
            // is audited under the authenticated id, so it need not parse its assertion twice.
            *audited_client_id = assertion.and_then(claimed_client_id);
            Err(TokenError::InvalidClient(e))
        }
    }
}

/// Step 10: the binding against the authenticated client; returns the audited outcome.
fn verify_binding(
    ticket_type: TicketType,
    binding: Option<&PresenterBinding>,
    requester: Option<&Requester>,
    client: &AuthenticatedClient,
) -> Result<&'static str, TokenError> {
    match binding {
        Some(PresenterBinding::Jkt { jkt }) => {
            if bool::from(jkt.as_bytes().ct_eq(client.jkt.as_bytes())) {
                Ok("jkt:match")
            } else {
                Err(TokenError::BindingMismatch("jkt"))
            }
        }
        Some(PresenterBinding::TrustFrameworkClient {
            trust_framework,
            framework_type,
            entity_uri,
        }) => {
            let same = |f: &crate::config::FrameworkIdentityConfig| {
                f.trust_framework == *trust_framework
                    && f.framework_type == framework_type_str(*framework_type)
                    && f.entity_uri == *entity_uri
            };
            // Proven by the client's authentication (UDAP: the certificate's URI SAN under
            // the named community's anchors, PT-BIND-06) wins; a configuration-asserted
            // identity is the audited fallback (OP-18: unknown framework ⇒ mismatch).
            if client.verified_framework.as_ref().is_some_and(same) {
                Ok(match framework_type {
                    FrameworkType::Udap => "trust_framework_client:verified(udap)",
                    FrameworkType::Oidf => "trust_framework_client:verified(oidf)",
                    FrameworkType::WellKnown => "trust_framework_client:verified(well-known)",
                })
            } else if client.framework_identity.as_ref().is_some_and(same) {
                // `[[client]] framework_identity` with `asserted = true`: taken on the
                // configuration's word, and audited as such.
                Ok("trust_framework_client:asserted")
            } else {
                Err(TokenError::BindingMismatch("trust_framework_client"))
            }
        }
        // Unbound: any authenticated client, except that B2B types need a client registered
        // as acting for the requester (OP-33). Individual types never get here unbound.
        None => match ticket_type {
            TicketType::PayerClaims | TicketType::QualityGap | TicketType::PublicHealth => {
                let ids: &[Identifier] = match requester {
                    Some(Requester::Organization(o)) => &o.identifier,
                    _ => &[],
                };
                let acts = ids.iter().any(|i| {
                    client.acts_for.iter().any(|a| {
                        i.system.as_deref() == Some(a.system.as_str())
                            && i.value.as_deref() == Some(a.value.as_str())
                    })
                });
                if acts {
                    Ok("unbound:acts_for_requester")
                } else {
                    Err(TokenError::NotActingForRequester)
                }
            }
            TicketType::SelfAccess | TicketType::DelegatedAccess => Ok("unbound"),
        },
    }
}

fn framework_type_str(t: FrameworkType) -> &'static str {
    match t {
        FrameworkType::Udap => "udap",
        FrameworkType::WellKnown => "well-known",
        FrameworkType::Oidf => "oidf",
    }
}

/// Step 11: both evidence slots; returns the verified subject evidence.
async fn check_evidence(
    state: &HolderState,
    shell: &tessera_ticket::Shell,
    client: &AuthenticatedClient,
    now: i64,
) -> Result<Option<VerifiedEvidence>, TokenError> {
    let st = &state.inner;
    let profile = st.idps.profile(shell.ticket_type().uri());
    if let Some(p) = profile {
        // PT-EVID-13: evidence this deployment requires for the type, absent.
        if p.require_subject && shell.subject_identity_evidence().is_none() {
            return Err(TokenError::EvidenceRequired("subject"));
        }
        if p.require_requester && shell.requester_identity_evidence().is_none() {
            return Err(TokenError::EvidenceRequired("requester"));
        }
    }
    let ctx = EvidenceContext {
        ticket_iss: shell.iss(),
        ticket_iat: shell.iat(),
        client_id: &client.client_id,
        leeway: st.config.leeway,
        now,
        profile,
    };
    let subject = match shell.subject_identity_evidence() {
        None => None,
        Some(ev) => {
            let v = verify_evidence(&st.idps, &st.keys, ev, ctx).await?;
            if !ticket_consistent_with_evidence(&shell.subject().patient, &v.demographics) {
                return Err(TokenError::InvalidEvidence(
                    "subject evidence does not match subject.patient",
                ));
            }
            Some(v)
        }
    };
    if let Some(ev) = shell.requester_identity_evidence() {
        let v = verify_evidence(&st.idps, &st.keys, ev, ctx).await?;
        let Some(Requester::RelatedPerson(rp)) = shell.requester() else {
            return Err(TokenError::InvalidEvidence(
                "requester evidence without a person requester",
            ));
        };
        let as_patient = tessera_ticket::claims::Patient {
            resource_type: "Patient".into(),
            name: rp.name.clone(),
            birth_date: None,
            identifier: Vec::new(),
            gender: None,
            extra: serde_json::Map::new(),
        };
        if v.demographics.family.is_none()
            || !ticket_consistent_with_evidence(&as_patient, &v.demographics)
        {
            return Err(TokenError::InvalidEvidence(
                "requester evidence does not match requester",
            ));
        }
    }
    Ok(subject)
}

/// What the audit keeps of the requester: type, identifiers, authority codes, org name.
fn requester_summary(r: &Requester) -> String {
    let v = match r {
        Requester::RelatedPerson(p) => json!({
            "resourceType": "RelatedPerson",
            "relationship": p.relationship.iter().flat_map(|c| c.coding.iter()).filter_map(|c| c.code.clone()).collect::<Vec<_>>(),
            "identifier": p.identifier,
        }),
        Requester::Organization(o) => json!({
            "resourceType": "Organization",
            "name": o.name,
            "identifier": o.identifier,
        }),
        Requester::Practitioner(_) => json!({"resourceType": "Practitioner"}),
        Requester::PractitionerRole(_) => json!({"resourceType": "PractitionerRole"}),
    };
    v.to_string()
}
