//! The kit against a Data Holder that gets one rule wrong at a time: a proxy in front of a real
//! `tessera serve` that breaks exactly one requirement (accepts an expired ticket, ignores
//! `aud`, omits `WWW-Authenticate`, leaks out-of-grant records). The kit must fail exactly the
//! IDs whose requirement was broken, and pass everything else.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::conformance_kit::Fixture;

/// The one rule the proxy breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `invalid_grant "Ticket expired"` becomes a token.
    AcceptsExpired,
    /// `invalid_grant "Ticket not valid for this server"` becomes a token.
    IgnoresAud,
    /// 401 responses lose `WWW-Authenticate`.
    NoWwwAuthenticate,
    /// A FHIR read outside the grant (404) returns a resource.
    LeaksOutOfGrant,
    /// `Invalid identity evidence` becomes a token when the subject evidence's signature does
    /// not verify with its provider's keys (a holder that skips the evidence signature).
    AcceptsForgedEvidence,
    /// `invalid_client` for an `x5c` client assertion becomes a token (a holder that does not
    /// validate UDAP chains or their signatures).
    AcceptsAnyX5c,
    /// `invalid_client` for a `well-known:` client becomes a token (a holder that neither
    /// checks framework recognition nor the entity's keys).
    AcceptsAnyWellKnown,
    /// An `invalid_grant` for a ticket of the kit's federation issuer becomes a token (a
    /// holder that verifies tickets with any key of the issuer's federation statements).
    TrustsFederationKeys,
    /// `invalid_grant "Ticket has been revoked"` to a refresh becomes a token (a holder that
    /// does not re-check the source ticket's status list when refreshing).
    RefreshIgnoresRevocation,
}

/// The proxy listens where the Data Holder's `base_url` points, so discovery, paging links,
/// ticket `aud` and DPoP `htu` all name it; `tessera serve` listens behind it.
struct Proxy {
    upstream: String,
    prefix: String,
    fault: Mutex<Option<Fault>>,
    http: reqwest::Client,
}

fn fake_token() -> Response {
    let body = json!({
        "access_token": format!("fake-{}", uuid::Uuid::new_v4().simple()),
        "token_type": "Bearer",
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "expires_in": 60,
        "scope": "patient/Patient.rs",
        "patient": "fake",
    });
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path_q = parts.uri.path_and_query().map_or("/", |x| x.as_str());
    let rest = path_q.strip_prefix(&p.prefix).unwrap_or(path_q);
    let url = format!("{}{rest}", p.upstream);
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut out = p
        .http
        .request(parts.method.clone(), &url)
        .body(bytes.to_vec());
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let Ok(resp) = out.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            headers.append(k, v.clone());
        }
    }
    let body: Bytes = resp.bytes().await.unwrap_or_default();
    let description = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error_description"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let fault = *p.fault.lock().unwrap();
    match fault {
        Some(Fault::AcceptsForgedEvidence)
            if description == "Invalid identity evidence"
                && forged_evidence(&p.http, &bytes).await =>
        {
            return fake_token();
        }
        Some(Fault::AcceptsAnyX5c) if status == StatusCode::UNAUTHORIZED && has_x5c(&bytes) => {
            return fake_token();
        }
        Some(Fault::AcceptsAnyWellKnown)
            if status == StatusCode::UNAUTHORIZED
                && form_param(&bytes, "client_assertion")
                    .and_then(|a| jws_part(&a, 1))
                    .is_some_and(|c| {
                        c["iss"]
                            .as_str()
                            .is_some_and(|i| i.starts_with("well-known:"))
                    }) =>
        {
            return fake_token();
        }
        Some(Fault::TrustsFederationKeys)
            if status == StatusCode::BAD_REQUEST
                && form_param(&bytes, "subject_token")
                    .and_then(|t| jws_part(&t, 1))
                    .is_some_and(|t| {
                        t["iss"]
                            .as_str()
                            .is_some_and(|i| i.ends_with("/federation/issuer"))
                    }) =>
        {
            return fake_token();
        }
        Some(Fault::RefreshIgnoresRevocation)
            if description.starts_with("Ticket has been revoked")
                && form_param(&bytes, "grant_type").as_deref() == Some("refresh_token") =>
        {
            return fake_token();
        }
        Some(Fault::AcceptsExpired) if description == "Ticket expired" => return fake_token(),
        Some(Fault::IgnoresAud) if description == "Ticket not valid for this server" => {
            return fake_token();
        }
        Some(Fault::NoWwwAuthenticate) if status == StatusCode::UNAUTHORIZED => {
            headers.remove("www-authenticate");
        }
        Some(Fault::LeaksOutOfGrant)
            if status == StatusCode::NOT_FOUND && parts.method == "GET" =>
        {
            let segs: Vec<&str> = rest
                .split('?')
                .next()
                .unwrap_or("")
                .trim_matches('/')
                .split('/')
                .collect();
            if let [ty, id] = segs.as_slice() {
                let leaked = json!({"resourceType": ty, "id": id});
                let mut r = (StatusCode::OK, leaked.to_string()).into_response();
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("application/fhir+json"),
                );
                return r;
            }
        }
        _ => {}
    }
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// The form parameter `name` of a token request.
fn form_param(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn jws_part(token: &str, i: usize) -> Option<Value> {
    let part = token.split('.').nth(i)?;
    serde_json::from_slice(&tessera_jose::b64::decode(part).ok()?).ok()
}

/// The subject evidence of the request's ticket fails to verify with the keys at its
/// provider's `{iss}/jwks.json` (the kit's layout). Unreachable keys are not a forgery.
async fn forged_evidence(http: &reqwest::Client, body: &[u8]) -> bool {
    let Some(ticket) = form_param(body, "subject_token") else {
        return false;
    };
    let Some(jwt) = jws_part(&ticket, 1).and_then(|p| {
        p["subject_identity_evidence"]["jwt"]
            .as_str()
            .map(str::to_owned)
    }) else {
        return false;
    };
    let Some(iss) = jws_part(&jwt, 1).and_then(|c| c["iss"].as_str().map(str::to_owned)) else {
        return false;
    };
    let Ok(r) = http.get(format!("{iss}/jwks.json")).send().await else {
        return false;
    };
    let Ok(set) = tessera_jose::JwkSet::from_json(&r.bytes().await.unwrap_or_default()) else {
        return false;
    };
    tessera_jose::decode(&jwt, &tessera_jose::Limits::id_token())
        .is_ok_and(|j| j.verify_with_set(&set).is_err())
}

fn has_x5c(body: &[u8]) -> bool {
    form_param(body, "client_assertion")
        .and_then(|a| jws_part(&a, 0))
        .is_some_and(|h| h.get("x5c").is_some())
}

/// Starts the proxy on `port`, passing everything through until a fault is set.
fn start_proxy(rt: &tokio::runtime::Runtime, port: u16, proxy: &Arc<Proxy>) {
    let proxy = proxy.clone();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    });
}

#[test]
fn a_server_breaking_one_rule_fails_exactly_its_ids() {
    let proxy_slot: Arc<Mutex<Option<Arc<Proxy>>>> = Arc::new(Mutex::new(None));
    let slot = proxy_slot.clone();
    let behind = move |rt: &tokio::runtime::Runtime, port: u16, target: String| {
        let proxy = Arc::new(Proxy {
            upstream: target,
            prefix: "/fhir".into(),
            fault: Mutex::new(None),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        });
        start_proxy(rt, port, &proxy);
        *slot.lock().unwrap() = Some(proxy);
    };
    let fx = Fixture::start(Some(&behind));
    let proxy = proxy_slot.lock().unwrap().clone().unwrap();
    // Each fault, and the IDs whose required answer it changes. Every other test passes.
    let cases: [(Fault, &[&str]); 9] = [
        // Expired tickets: PT-VAL-12, its PT-LIFE-02 restatement, and the pair expired+revoked.
        (
            Fault::AcceptsExpired,
            &["PT-LIFE-02", "PT-VAL-12", "PT-VAL-15"],
        ),
        // Every wrong audience (a framework aud without aud_type, an unbound payer ticket), and the pair aud
        // mismatch+revoked.
        (
            Fault::IgnoresAud,
            &[
                "PT-AUD-01",
                "PT-AUD-02",
                "PT-AUD-04",
                "PT-AUD-05",
                "PT-AUD-07",
                "PT-BIND-10",
                "PT-VAL-15",
            ],
        ),
        (Fault::NoWwwAuthenticate, &["PT-RS-01"]),
        // Forged evidence: a changed ID token and one signed by a key the provider lacks.
        (Fault::AcceptsForgedEvidence, &["PT-EVID-01"]),
        // A chain to another anchor, and a signature by a key the leaf does not certify.
        (Fault::AcceptsAnyX5c, &["PT-CA-10"]),
        // An unlisted entity, and a signature by a key the entity's JWKS lacks.
        (Fault::AcceptsAnyWellKnown, &["PT-CA-09"]),
        (Fault::TrustsFederationKeys, &["PT-TRUST-03"]),
        (Fault::RefreshIgnoresRevocation, &["PT-REV-09"]),
        // Reads outside the grant: claim_linkage (unlinked, resolved and self-pay records),
        // narrowing (and its conjunction), data_period, read/search parity, other patient,
        // withheld sensitive records.
        (
            Fault::LeaksOutOfGrant,
            &[
                "PT-CL-03",
                "PT-CL-04",
                "PT-CL-06",
                "PT-DP-02",
                "PT-RS-02",
                "PT-RS-04",
                "PT-SCOPE-03",
                "PT-SCOPE-04",
                "PT-SENS-03",
                "PT-SENS-04",
                "PT-SENS-05",
                "PT-SENS-07",
            ],
        ),
    ];
    for (fault, want) in cases {
        *proxy.fault.lock().unwrap() = Some(fault);
        let report = fx.run(&fx.base, &[]);
        assert_eq!(
            report.failing_ids(),
            want,
            "{fault:?}:\n{}",
            tessera_conformance::report::terminal(
                &report,
                tessera_conformance::report::Style::Plain
            )
        );
    }
    // The binary fails (exit 1) and names the failing IDs (the last fault is still set).
    fx.release_kit_port();
    let out = crate::tessera(
        &[
            "conformance",
            "--config",
            crate::path_str(&fx.kit_toml()),
            "--only",
            "PT-RS-04,PT-DISC-01",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL PT-RS-04") && stdout.contains("PASS PT-DISC-01"),
        "{stdout}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: conformance: failing PT-RS-04\n"
    );
}
