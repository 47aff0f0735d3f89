//! `GET [base]/[type]?…` and `POST [base]/[type]/_search`: a searchset Bundle of the matches
//! that the grant releases, with keyset paging.
//!
//! Paging links carry only the client's own criteria, `_count` and the `_cursor`; the grant is
//! never in a URL, so a link cannot widen access: each page request is filtered again by the
//! grant of the token presenting it. Stored resources are spliced into the Bundle as their
//! stored bytes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use tessera_access::{Grant, Interaction};
use tessera_fhir::{SearchQuery, parse_search};
use tessera_store::{Scope, SearchPage};
use url::form_urlencoded;

use super::error::fhir_ok;
use super::{FhirError, FhirState, MAX_QUERY_BYTES, blocking, grant_filter};

pub async fn search_get(
    State(state): State<FhirState>,
    Path(params): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    grant: Option<Extension<Arc<Grant>>>,
) -> Result<Response, FhirError> {
    let pairs = decode(query.as_deref().unwrap_or(""))?;
    run(state, params, pairs, grant).await
}

pub async fn search_post(
    State(state): State<FhirState>,
    Path(params): Path<HashMap<String, String>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    grant: Option<Extension<Arc<Grant>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FhirError> {
    // The body limit layer's refusal arrives here, so it gets an OperationOutcome like every
    // other FHIR error instead of axum's plain-text 413.
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => FhirError::PayloadTooLarge,
        _ => FhirError::BadRequest("unreadable request body".to_owned()),
    })?;
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form && !body.is_empty() {
        return Err(FhirError::UnsupportedMediaType);
    }
    let mut pairs = decode(query.as_deref().unwrap_or(""))?;
    let body = std::str::from_utf8(&body)
        .map_err(|_| FhirError::BadRequest("form body is not UTF-8".to_owned()))?;
    pairs.extend(decode(body)?);
    run(state, params, pairs, grant).await
}

fn decode(raw: &str) -> Result<Vec<(String, String)>, FhirError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(FhirError::BadRequest(format!(
            "search parameters longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    Ok(form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect())
}

async fn run(
    state: FhirState,
    params: HashMap<String, String>,
    pairs: Vec<(String, String)>,
    grant: Option<Extension<Arc<Grant>>>,
) -> Result<Response, FhirError> {
    let (site, base) = state.base_for(&params)?;
    let rtype = params.get("rtype").cloned().unwrap_or_default();
    let filter = grant_filter(
        grant.as_deref().map(Arc::as_ref),
        &rtype,
        Interaction::Search,
    )?;
    let mut pairs = pairs;
    if let Some(g) = grant.as_deref() {
        crate::network::expand_person_params(&mut pairs, g);
    }
    let query = parse_search(&rtype, &pairs)?;
    let page = match state.store.async_reads() {
        Some(reads) => {
            let scope = site.as_deref().map_or(Scope::Network, Scope::Site);
            reads.search(scope, &query, &filter).await?
        }
        None => {
            let store = state.store.clone();
            let q = query.clone();
            blocking(move || {
                let scope = site.as_deref().map_or(Scope::Network, Scope::Site);
                store.search(scope, &q, &filter)
            })
            .await?
        }
    };
    Ok(fhir_ok(searchset(&base, &query, &page)))
}

/// The paging URL for `query` at `cursor`.
fn page_url(base: &str, query: &SearchQuery, cursor: Option<i64>) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &query.criteria {
        ser.append_pair(k, v);
    }
    if query.summary_count {
        ser.append_pair("_summary", "count");
    } else {
        ser.append_pair("_count", &query.count.to_string());
    }
    if query.skip_total && !query.summary_count {
        ser.append_pair("_total", "none");
    }
    if let Some(c) = cursor {
        ser.append_pair("_cursor", &c.to_string());
    }
    format!("{base}/{}?{}", query.resource_type, ser.finish())
}

/// Writes the Bundle by hand so stored resources are copied, not re-serialized.
fn searchset(base: &str, query: &SearchQuery, page: &SearchPage) -> Vec<u8> {
    let json_str = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut out = Vec::with_capacity(
        256 + page
            .resources
            .iter()
            .map(|e| e.json.len() + 128)
            .sum::<usize>(),
    );
    out.extend_from_slice(br#"{"resourceType":"Bundle","type":"searchset","#);
    if let Some(total) = page.total {
        out.extend_from_slice(br#""total":"#);
        out.extend_from_slice(total.to_string().as_bytes());
        out.push(b',');
    }
    out.extend_from_slice(br#""link":[{"relation":"self","url":"#);
    out.extend_from_slice(json_str(&page_url(base, query, query.cursor)).as_bytes());
    out.push(b'}');
    if !query.summary_count {
        out.extend_from_slice(br#",{"relation":"first","url":"#);
        out.extend_from_slice(json_str(&page_url(base, query, None)).as_bytes());
        out.push(b'}');
    }
    if let Some(next) = page.next_cursor {
        out.extend_from_slice(br#",{"relation":"next","url":"#);
        out.extend_from_slice(json_str(&page_url(base, query, Some(next))).as_bytes());
        out.push(b'}');
    }
    out.push(b']');
    if !page.resources.is_empty() {
        out.extend_from_slice(br#","entry":["#);
        for (i, e) in page.resources.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"fullUrl":"#);
            out.extend_from_slice(
                json_str(&format!("{base}/{}/{}", query.resource_type, e.id)).as_bytes(),
            );
            out.extend_from_slice(br#","resource":"#);
            out.extend_from_slice(&e.json);
            out.extend_from_slice(br#","search":{"mode":"match"}}"#);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
}
