//! Bad input is a clear 400 OperationOutcome (or 401/403/404/405/415 where that is the
//! meaning), never a panic, never SQL or internals in the response.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::fhir_support::*;

#[tokio::test]
async fn malformed_searches_are_rejected_with_the_parameter_named() {
    let app = app(Some(grant(grant_all(patient(), 18))));
    let cases: &[(&str, &str)] = &[
        ("/Observation?foo=bar", "foo"),
        ("/Observation?birthdate=2000", "birthdate"),
        ("/Observation?date=2021-13-01", "date"),
        ("/Observation?date=xx2021", "date"),
        ("/Observation?_count=100000", "_count"),
        ("/Observation?_count=-1", "_count"),
        ("/Observation?_include=Observation:patient", "_include"),
        ("/Observation?_revinclude=Provenance:target", "_revinclude"),
        ("/Observation?_sort=date", "_sort"),
        ("/Observation?code:text=x", "code"),
        ("/Observation?_id=1'%20OR%20'1'='1", "_id"),
        ("/Observation?_cursor=abc", "_cursor"),
        ("/Observation?_summary=true", "_summary"),
        ("/Observation?patient=Encounter/1", "patient"),
    ];
    for (uri, param) in cases {
        let r = get(&app, uri).await;
        let diag = outcome(&r, StatusCode::BAD_REQUEST);
        assert!(diag.contains(param), "{uri}: {diag}");
        assert!(
            !diag.to_lowercase().contains("sql") && !diag.contains("SELECT"),
            "{diag}"
        );
    }
}

#[tokio::test]
async fn sql_metacharacters_are_just_values() {
    let app = app(Some(grant(grant_all(patient(), 18))));
    for uri in [
        "/Observation?code=%27%20OR%201%3D1%20--",
        "/Observation?code=x%22%3B%20DROP%20TABLE%20resource%3B--",
        "/Patient?family=%25",
        "/Patient?name=%27%29%29%20OR%20%28%28%271",
    ] {
        let r = get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.body["total"], 0, "{uri}");
    }
    assert_eq!(
        get(&app, "/Observation?_summary=count").await.status,
        StatusCode::OK,
        "table still there"
    );
}

#[tokio::test]
async fn oversized_requests_are_400() {
    let app = app(Some(grant(grant_all(patient(), 18))));
    // In-process the `http` crate caps a URI at 64 KiB; the 1 MiB case runs on the socket
    // (fhir_loopback).
    let huge = format!("/Observation?code={}", "a".repeat(60 * 1024));
    let diag = outcome(&get(&app, &huge).await, StatusCode::BAD_REQUEST);
    assert!(diag.contains("longer than"), "{diag}");
    let many: String = (0..40).map(|i| format!("code=c{i}&")).collect();
    outcome(
        &get(&app, &format!("/Observation?{many}")).await,
        StatusCode::BAD_REQUEST,
    );
    let ors = vec!["c"; 40].join(",");
    outcome(
        &get(&app, &format!("/Observation?code={ors}")).await,
        StatusCode::BAD_REQUEST,
    );
    let body = Body::from(format!("code={}", "a".repeat(100 * 1024)));
    let req = Request::post("/Observation/_search")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .unwrap();
    let r = send(&app, req).await;
    // An OperationOutcome, not axum's plain-text refusal.
    let diag = outcome(&r, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(diag.contains("too large"), "{diag}");
}

#[tokio::test]
async fn auth_routes_methods_and_media_types() {
    let anonymous = app(None);
    let r = get(&anonymous, "/Observation").await;
    outcome(&r, StatusCode::UNAUTHORIZED);
    outcome(
        &get(&anonymous, &format!("/Patient/{}", patient())).await,
        StatusCode::UNAUTHORIZED,
    );
    let app = app(Some(grant(grant_all(patient(), 18))));
    outcome(&get(&app, "/Binary/x").await, StatusCode::NOT_FOUND);
    outcome(&get(&app, "/Binary").await, StatusCode::NOT_FOUND);
    outcome(&get(&app, "/$export").await, StatusCode::FORBIDDEN);
    outcome(
        &get(&app, "/Patient/x/_history").await,
        StatusCode::NOT_FOUND,
    );
    outcome(&get(&app, "/a/b/c/d/e").await, StatusCode::NOT_FOUND);
    let del = send(
        &app,
        Request::delete(format!("/Patient/{}", patient()))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    outcome(&del, StatusCode::METHOD_NOT_ALLOWED);
    let json_post = Request::post("/Observation/_search")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    outcome(
        &send(&app, json_post).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
}
