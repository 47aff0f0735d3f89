//! Resource-server authentication for the FHIR API: the access token (Bearer, or DPoP-bound
//! with a per-request proof, RFC 9449 §7) is looked up and its Grant inserted into the request
//! extensions as `Arc<tessera_access::Grant>` for the FHIR router. Requests without a valid
//! token get 401 with `WWW-Authenticate` (PT-RS-01); `metadata` is public.

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::state::HolderState;
use crate::token::access_token::lookup_token;
use crate::token::dpop::{ProofExpectation, verify_and_commit};

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn require_token(
    State(state): State<HolderState>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_public(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    // Issue 14: each site base is a Data Holder of its own; one that does not exist is 404
    // whatever the credentials, and a token works only at the Data Holder that issued it.
    let asked = crate::network::site::asked_site(req.uri().path()).map(str::to_owned);
    if let Some(site) = &asked
        && state.network().site(site).is_none()
    {
        if let Err(e) = crate::network::site::audit_unknown_site(&state, "fhir_access", site).await
        {
            tracing::error!(error = %e, "audit of an unknown site failed");
            return crate::fhir::FhirError::Internal.into_response();
        }
        return crate::fhir::FhirError::NotFound("unknown site".to_owned()).into_response();
    }
    // RFC 6750 §3.1: more than one credential is a malformed request, never "first wins".
    if req.headers().get_all(header::AUTHORIZATION).iter().count() > 1 {
        return invalid_request("more than one Authorization header");
    }
    let Some((scheme, token)) = credentials(&req) else {
        return challenge(None, None);
    };
    let info = match lookup_token(&state, &token).await {
        Ok(Some(i)) => i,
        Ok(None) => return challenge(Some(scheme), Some("invalid_token")),
        Err(e) => {
            tracing::error!(error = %e, "token lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match (&info.record.cnf_jkt, scheme) {
        (None, Scheme::Bearer) => {}
        (Some(cnf), Scheme::Dpop) => {
            let proof = proof_parts(&req);
            if let Err(reason) = check_proof(&state, proof, &token, cnf).await {
                tracing::info!(reason, "DPoP proof rejected");
                return challenge(Some(Scheme::Dpop), Some("invalid_dpop_proof"));
            }
        }
        // A DPoP-bound token presented as Bearer, or a Bearer token under the DPoP scheme.
        (_, s) => return challenge(Some(s), Some("invalid_token")),
    }
    let issued_by = info.grant.person_scope().data_holder.as_deref();
    if issued_by != asked.as_deref() {
        let audited = crate::network::site::audit_wrong_data_holder(
            &state,
            &info.record,
            asked.as_deref(),
            issued_by,
        )
        .await;
        if let Err(e) = audited {
            tracing::error!(error = %e, "audit write failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        return challenge(Some(scheme), Some("invalid_token"));
    }
    req.extensions_mut().insert(info.grant.clone());
    next.run(req).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
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
    resp
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
