//! Resource-server authentication for the FHIR API: the access token (Bearer, or DPoP-bound
//! with a per-request proof, RFC 9449 §7) is looked up and its Grant inserted into the request
//! extensions as `Arc<tessera_access::Grant>` for the FHIR router. Requests without a valid
//! token get 401 with `WWW-Authenticate` (PT-RS-01); `metadata` is public.

use std::sync::Arc;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::state::HolderState;
use crate::token::access_token::{TokenInfo, lookup_token};
use crate::token::dpop::{ProofExpectation, verify_and_commit};

pub mod refusal;

use refusal::Refusal;

/// The middleware (`axum::middleware::from_fn_with_state`). Every refusal it or the FHIR
/// API behind it sends is audited first ([`refusal`]).
pub async fn require_token(State(state): State<HolderState>, req: Request, next: Next) -> Response {
    if is_public(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    // Kept for a refusal's audit row: cheap clones (the URI's bytes are shared).
    let method = req.method().clone();
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |u| u.0.clone());
    let (response, token) = admit(&state, req, next).await;
    let asked = refusal::Asked {
        event: "fhir_access",
        method: &method,
        path: uri.path(),
    };
    let record = token.as_ref().map(|t| &t.record);
    refusal::audited(&state, &asked, record, response, || {
        crate::fhir::FhirError::Internal.into_response()
    })
    .await
}

/// The request's answer — the API's, or the middleware's refusal — and the record of the
/// token it presented, when it presented a known one.
async fn admit(
    state: &HolderState,
    mut req: Request,
    next: Next,
) -> (Response, Option<Arc<TokenInfo>>) {
    // Issue 14: each site base is a Data Holder of its own; one that does not exist is 404
    // whatever the credentials, and a token works only at the Data Holder that issued it.
    let asked = crate::network::site::asked_site(req.uri().path()).map(str::to_owned);
    if let Some(site) = &asked
        && state.network().site(site).is_none()
    {
        let refused = crate::fhir::FhirError::NotFound("unknown site".to_owned()).into_response();
        let why = crate::network::site::unknown_site(site);
        return (why.attach(refused), None);
    }
    // RFC 6750 §3.1: more than one credential is a malformed request, never "first wins".
    if req.headers().get_all(header::AUTHORIZATION).iter().count() > 1 {
        return (invalid_request("more than one Authorization header"), None);
    }
    let Some((scheme, token)) = credentials(&req) else {
        let why = Refusal::new("access_token", "login", "no access token presented");
        return (why.attach(challenge(None, None)), None);
    };
    let info = match lookup_token(state, &token).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            let why = Refusal::new(
                "access_token",
                "invalid_token",
                "unknown, expired or revoked access token",
            )
            .with_details(serde_json::json!({ "scheme": scheme.name() }));
            return (
                why.attach(challenge(Some(scheme), Some("invalid_token"))),
                None,
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "token lookup failed");
            return (StatusCode::INTERNAL_SERVER_ERROR.into_response(), None);
        }
    };
    match (&info.record.cnf_jkt, scheme) {
        (None, Scheme::Bearer) => {}
        (Some(cnf), Scheme::Dpop) => {
            let proof = proof_parts(&req);
            if let Err(reason) = check_proof(state, proof, &token, cnf).await {
                tracing::info!(reason, "DPoP proof rejected");
                let why = Refusal::new("dpop", "invalid_dpop_proof", reason);
                let refused = challenge(Some(Scheme::Dpop), Some("invalid_dpop_proof"));
                return (why.attach(refused), Some(info));
            }
        }
        // A DPoP-bound token presented as Bearer, or a Bearer token under the DPoP scheme.
        (bound, s) => {
            let why = Refusal::new(
                "access_token",
                "invalid_token",
                if bound.is_some() {
                    "DPoP-bound access token presented as Bearer"
                } else {
                    "Bearer access token presented under the DPoP scheme"
                },
            );
            return (
                why.attach(challenge(Some(s), Some("invalid_token"))),
                Some(info),
            );
        }
    }
    let issued_by = info.grant.person_scope().data_holder.as_deref();
    if issued_by != asked.as_deref() {
        let why = Refusal::new(
            "data_holder",
            "invalid_token",
            "access token issued by another Data Holder",
        )
        .with_details(serde_json::json!({
            "asked": asked.as_deref().unwrap_or("network"),
            "issued_by": issued_by.unwrap_or("network"),
        }));
        let refused = challenge(Some(scheme), Some("invalid_token"));
        return (why.attach(refused), Some(info));
    }
    req.extensions_mut().insert(info.grant.clone());
    (next.run(req).await, Some(info))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        }
    }
}

fn is_public(method: &Method, path: &str) -> bool {
    method == Method::GET
        && (path == "/metadata"
            || (path.starts_with("/site/")
                && path.ends_with("/metadata")
                && path.matches('/').count() == 3))
}

fn credentials(req: &Request) -> Option<(Scheme, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return None;
    };
    let token = token.trim();
    (!token.is_empty()).then(|| (scheme, token.to_owned()))
}

/// What a proof check needs from the request: (proof, path, method).
type ProofParts = Result<(String, String, String), &'static str>;

fn proof_parts(req: &Request) -> ProofParts {
    let mut proofs = req.headers().get_all("dpop").iter();
    let proof = proofs.next().ok_or("no DPoP proof")?;
    if proofs.next().is_some() {
        return Err("several DPoP proofs");
    }
    let proof = proof.to_str().map_err(|_| "non-ASCII proof")?.to_owned();
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    Ok((proof, path, req.method().as_str().to_owned()))
}

async fn check_proof(
    state: &HolderState,
    parts: ProofParts,
    token: &str,
    cnf: &str,
) -> Result<(), &'static str> {
    let (proof, path, htm) = parts?;
    let htu = format!("{}{}", origin(&state.config().base_url), path);
    let now = state.now();
    let leeway = state.config().leeway;
    let want = ProofExpectation {
        htm: &htm,
        htu: &htu,
        access_token: Some(token),
        now,
        leeway,
    };
    let verified = verify_and_commit(&state.inner.writer, &proof, want)
        .await
        .map_err(|e| e.0)?;
    if bool::from(verified.jkt.as_bytes().ct_eq(cnf.as_bytes())) {
        Ok(())
    } else {
        Err("proof key is not the token's key")
    }
}

/// `scheme://host[:port]` of a URL (the base URL's origin, never the request's Host).
pub fn origin(base_url: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => String::new(),
    }
}

/// 400 `invalid_request` (RFC 6750 §3.1) as an OperationOutcome, with the challenge header.
fn invalid_request(diagnostics: &str) -> Response {
    let body = serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": diagnostics}]
    });
    let mut resp = (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tessera\", error=\"invalid_request\""),
    );
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    Refusal::new("request", "invalid_request", diagnostics).attach(resp)
}

fn challenge(scheme: Option<Scheme>, error: Option<&str>) -> Response {
    let www = match (scheme, error) {
        (Some(Scheme::Dpop), Some(e)) => format!("DPoP algs=\"ES256 ES384 RS256\", error=\"{e}\""),
        (_, Some(e)) => format!("Bearer realm=\"tessera\", error=\"{e}\""),
        (_, None) => "Bearer realm=\"tessera\", DPoP algs=\"ES256 ES384 RS256\"".to_owned(),
    };
    let body = serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "A valid access token is required"}]
    });
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&www) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    // Every FHIR-facing error is an OperationOutcome in FHIR's own media type.
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    resp
}
