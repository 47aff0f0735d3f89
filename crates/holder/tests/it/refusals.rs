//! Refusal paths found by black-box runs (issue 9): every refusal at the OAuth endpoints is an
//! audited RFC 6749 JSON error with `no-store`, whatever the body's size or shape; a ticket
//! refused at the parse step stays findable by its claimed `jti`; two `Authorization` headers
//! on a FHIR request are refused; operations at every level are 403.

use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use tessera_jose::b64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::token_support::*;

fn seg(v: &Value) -> String {
    b64::encode(serde_json::to_vec(v).unwrap())
}

/// A compact JWS with any header, signed properly by the issuer key when the header allows
/// (so only the refused header member differs from a valid ticket).
fn with_header(header: Value, payload: &Value) -> String {
    sign_with_header(&keys().issuer, header, payload)
}

// ---- A ticket refused at the parse step keeps its claimed identity (PT-AUDIT-01) ----------

#[tokio::test]
async fn pt_audit_01_parse_step_refusals_record_the_claimed_jti_iss_and_type() {
    let h = Holder::new();
    let kid = keys().issuer.kid().unwrap().to_owned();
    let mut cases: Vec<(&str, Value, String)> = Vec::new();
    let t = baseline();
    let unsigned = |header: Value, t: &Value| format!("{}.{}.c2ln", seg(&header), seg(t));
    cases.push((
        "alg none",
        t.clone(),
        unsigned(json!({"alg": "none", "kid": kid}), &t),
    ));
    let t = baseline();
    cases.push((
        "alg HS256",
        t.clone(),
        unsigned(json!({"alg": "HS256", "kid": kid}), &t),
    ));
    let t = baseline();
    cases.push((
        "missing kid",
        t.clone(),
        unsigned(json!({"alg": "ES256"}), &t),
    ));
    let t = baseline();
    let crit = with_header(json!({"kid": kid, "crit": ["exp"], "exp": 1}), &t);
    cases.push(("crit", t, crit));
    let mut t = baseline();
    t["exp"] = json!("tomorrow");
    let mistyped = mint(&t);
    cases.push(("mistyped exp", t, mistyped));
    let mut t = baseline();
    t["jti"] = json!(format!("{}\n{}", uuid::Uuid::new_v4(), "x".repeat(400)));
    t["iat"] = json!(true);
    let long = mint(&t);
    cases.push(("long jti, mistyped iat", t, long));

    for (name, t, token) in cases {
        let got = h.redeem(&token, &[]).await;
        assert_error(&got, 400, "invalid_grant", None);
        let claimed_jti: String = t["jti"]
            .as_str()
            .unwrap()
            .chars()
            .filter(|c| !c.is_control())
            .take(256)
            .collect();
        let rows = h.audit(&claimed_jti);
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        let row = &rows[0];
        assert_eq!(row.outcome, "rejected", "{name}");
        assert_eq!(row.step.as_deref(), Some("parse"), "{name}");
        assert_eq!(row.iss.as_deref(), Some(ISSUER), "{name}");
        assert_eq!(row.ticket_type.as_deref(), Some(T_SELF), "{name}");
        assert_eq!(row.client_id.as_deref(), Some("app1"), "{name}");
        let details: Value = serde_json::from_str(&row.details).unwrap();
        assert_eq!(details["unverified_ticket_claims"], true, "{name}");
        // Never the token itself.
        assert!(!row.details.contains(&token[..30]), "{name}");
    }

    // A verified ticket's row is not marked unverified.
    let t = baseline();
    assert_eq!(h.redeem(&mint(&t), &[]).await.0, 200);
    let rows = h.audit(t["jti"].as_str().unwrap());
    let details: Value = serde_json::from_str(&rows[0].details).unwrap();
    assert!(
        details.get("unverified_ticket_claims").is_none(),
        "{details}"
    );
    // A payload that is not JSON: audited, with nothing claimed.
    let before = h.db.audit_recent().unwrap().len();
    let junk = format!(
        "{}.{}.c2ln",
        seg(&json!({"alg": "ES256", "kid": kid})),
        b64::encode(b"not json")
    );
    assert_error(&h.redeem(&junk, &[]).await, 400, "invalid_grant", None);
    let rows = h.db.audit_recent().unwrap();
    assert_eq!(rows.len(), before + 1);
    assert!(
        rows.iter()
            .any(|r| r.step.as_deref() == Some("parse") && r.jti.is_none())
    );
}

// ---- Every refusal at /token and /introspect is audited OAuth JSON ------------------------

async fn raw(
    h: &Holder,
    path: &str,
    req: http::request::Builder,
    body: Body,
) -> (StatusCode, HeaderMap, Value) {
    send(&h.router, req.uri(path).body(body).unwrap()).await
}

#[track_caller]
fn assert_oauth_refusal(got: &(StatusCode, HeaderMap, Value), status: u16, description: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.2);
    assert_eq!(got.1.get("cache-control").unwrap(), "no-store");
    assert_eq!(got.1.get("pragma").unwrap(), "no-cache");
    assert!(
        got.1
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        got.1
    );
    assert_eq!(got.2["error"], "invalid_request", "{}", got.2);
    assert_eq!(got.2["error_description"], description, "{}", got.2);
}

fn form() -> http::request::Builder {
    Request::post("/").header("content-type", "application/x-www-form-urlencoded")
}

#[tokio::test]
async fn pt_req_06_07_every_unreadable_body_is_an_audited_oauth_error() {
    let h = Holder::new();
    let big = "a=".to_owned() + &"x".repeat(300 * 1024);
    let mut valid_form = "grant_type=".to_owned() + TOKEN_EXCHANGE;
    valid_form.push_str("&scope=a&scope=b");
    for path in ["/fhir/token", "/fhir/introspect"] {
        let event = if path.ends_with("token") {
            "token_exchange"
        } else {
            "introspection"
        };
        let cases: Vec<(&str, http::request::Builder, Body, u16, &str)> = vec![
            (
                "json",
                Request::post("/").header("content-type", "application/json"),
                Body::from("{}"),
                400,
                "Content-Type must be application/x-www-form-urlencoded",
            ),
            (
                "no content type",
                Request::post("/"),
                Body::from("a=1"),
                400,
                "Content-Type must be application/x-www-form-urlencoded",
            ),
            (
                "non-UTF-8",
                form(),
                Body::from(&b"grant_type=%FF%FE"[..]),
                400,
                "Request is not valid UTF-8",
            ),
            (
                "raw non-UTF-8",
                form(),
                Body::from(&b"grant_type=\xff"[..]),
                400,
                "Request is not valid UTF-8",
            ),
            (
                "duplicate",
                form(),
                Body::from(valid_form.clone()),
                400,
                "Repeated parameter",
            ),
            // Far over the HTTP layer's old 256 KiB limit: declared in Content-Length (refused
            // before reading), and undeclared (the stream is cut at the limit).
            (
                "declared oversize",
                form().header("content-length", big.len()),
                Body::from(big.clone()),
                400,
                "Request too large",
            ),
            (
                "oversize",
                form(),
                Body::from(big.clone()),
                400,
                "Request too large",
            ),
            // Just over our own limit (128 KiB), far under any HTTP-layer one.
            (
                "slightly oversize",
                form(),
                Body::from("a=".to_owned() + &"x".repeat(128 * 1024)),
                400,
                "Request too large",
            ),
            (
                "GET",
                Request::get("/"),
                Body::empty(),
                405,
                "Only POST is accepted",
            ),
            (
                "PUT",
                Request::put("/").header("content-type", "application/x-www-form-urlencoded"),
                Body::from("a=1"),
                405,
                "Only POST is accepted",
            ),
        ];
        for (name, req, body, status, description) in cases {
            let before = h.db.audit_recent().unwrap().len();
            let got = raw(&h, path, req, body).await;
            assert_oauth_refusal(&got, status, description);
            if status == 405 {
                assert_eq!(got.1.get("allow").unwrap(), "POST", "{path} {name}");
            }
            let rows = h.db.audit_recent().unwrap();
            assert_eq!(rows.len(), before + 1, "{path} {name}: audited");
            let row = rows.iter().max_by_key(|r| r.id).unwrap();
            assert_eq!(row.event, event, "{path} {name}");
            assert_eq!(row.outcome, "rejected");
            assert_eq!(row.error.as_deref(), Some("invalid_request"));
            assert_eq!(row.error_description.as_deref(), Some(description));
        }
    }
}

/// Chunked transfer encoding over real loopback HTTP: no `Content-Length` to check up front,
/// the stream is cut at the limit, and the answer is still OAuth JSON with no-store, audited.
#[tokio::test]
async fn pt_req_07_chunked_oversize_over_loopback() {
    let h = Holder::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = h.router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST /fhir/token HTTP/1.1\r\nHost: dh.example.org\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    // The server may answer (and stop reading) before the last chunk: write errors are fine.
    for i in 0..5 {
        let mut frame = format!("{:x}\r\n", chunk.len() + usize::from(i == 0) * 2).into_bytes();
        if i == 0 {
            frame.extend_from_slice(b"a=");
        }
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if conn.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = conn.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = conn.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 400"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    // The body may itself be chunked: find the JSON object.
    let json_text = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let v: Value = serde_json::from_str(json_text).unwrap();
    assert_eq!(
        v,
        json!({"error": "invalid_request", "error_description": "Request too large"})
    );
    let rows = h.db.audit_recent().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].event, "token_exchange");
    assert_eq!(
        rows[0].error_description.as_deref(),
        Some("Request too large")
    );
}

// ---- FHIR: two Authorization headers, operations ---------------------------------------

async fn bearer(h: &Holder) -> String {
    let (s, b) = h.redeem(&mint(&baseline()), &[]).await;
    assert_eq!(s, 200, "{b}");
    b["access_token"].as_str().unwrap().to_owned()
}

/// RFC 6750 §3.1: a request with two credentials is malformed, whichever comes first.
#[tokio::test]
async fn pt_rs_01_two_authorization_headers_are_invalid_request() {
    let h = Holder::new();
    let token = bearer(&h).await;
    let good = format!("Bearer {token}");
    let (s, _, _) = h
        .get("/fhir/Observation", &[("authorization", &good)])
        .await;
    assert_eq!(s, 200);
    for pair in [
        [good.as_str(), "Bearer nonsense"],
        ["Bearer nonsense", good.as_str()],
        [good.as_str(), good.as_str()],
    ] {
        let (s, headers, body) = h
            .get(
                "/fhir/Observation",
                &[("authorization", pair[0]), ("authorization", pair[1])],
            )
            .await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["code"], "invalid");
        let www = headers.get("www-authenticate").unwrap().to_str().unwrap();
        assert!(www.contains("error=\"invalid_request\""), "{www}");
        assert_eq!(
            headers.get("content-type").unwrap(),
            "application/fhir+json"
        );
    }
}

/// decisions.md (FHIR API, status codes): `$operations` are 403 at every level — system,
/// type (granted or not) and instance — for GET and POST (PT-ACC-08).
#[tokio::test]
async fn pt_acc_08_operations_are_forbidden_at_every_level() {
    let h = Holder::new();
    let token = bearer(&h).await;
    let auth = format!("Bearer {token}");
    for path in [
        "/fhir/$export",
        "/fhir/Observation/$validate",
        "/fhir/Observation/$lastn",
        "/fhir/Patient/$match",
        "/fhir/Procedure/$everything",
        "/fhir/Patient/elena/$everything",
    ] {
        let (s, _, body) = h.get(path, &[("authorization", &auth)]).await;
        assert_eq!(s, 403, "GET {path}: {body}");
        assert_eq!(body["issue"][0]["code"], "forbidden", "{path}: {body}");
        let req = Request::post(path)
            .header("authorization", &auth)
            .header("content-type", "application/fhir+json")
            .body(Body::from("{}"))
            .unwrap();
        let (s, _, body) = send(&h.router, req).await;
        assert_eq!(s, 403, "POST {path}: {body}");
    }
    // Without a token, still 401 first; a create is still 405; a read is still a read.
    let (s, _, _) = h.get("/fhir/Observation/$lastn", &[]).await;
    assert_eq!(s, 401);
    let req = Request::post("/fhir/Observation")
        .header("authorization", &auth)
        .header("content-type", "application/fhir+json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&h.router, req).await.0, 405);
    let (s, _, _) = h
        .get("/fhir/Observation/obs-in", &[("authorization", &auth)])
        .await;
    assert_eq!(s, 200);
}
