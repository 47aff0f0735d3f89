//! The token request (PT-REQ): grant type, token types, form encoding, bounds, error shape.

use serde_json::Value;

use super::{Check, Fut, custom, form, remove, replace, ticket, unchanged};
use crate::ctx::{Ctx, fail};
use crate::expect::{self, Expect, REQUEST};
use crate::probe::Request;

const UNSUPPORTED_GRANT: Expect = Expect::Error {
    status: Some(400),
    code: "unsupported_grant_type",
    description: None,
};
const TARGET: Expect = Expect::Error {
    status: Some(400),
    code: "invalid_target",
    description: None,
};

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-REQ-01",
        "baseline-token-exchange",
        unchanged,
        Expect::Token,
    ),
    form(
        "PT-REQ-02",
        "grant-type-foo",
        |f| replace(f, "grant_type", "foo"),
        UNSUPPORTED_GRANT,
    ),
    form(
        "PT-REQ-03",
        "subject-token-type-missing",
        |f| remove(f, "subject_token_type"),
        REQUEST,
    ),
    form(
        "PT-REQ-04",
        "subject-token-type-jwt",
        |f| {
            replace(
                f,
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:jwt",
            )
        },
        REQUEST,
    ),
    form(
        "PT-REQ-05",
        "subject-token-missing",
        |f| remove(f, "subject_token"),
        REQUEST,
    ),
    form(
        "PT-REQ-06",
        "duplicate-scope",
        |f| {
            f.push(("scope".into(), "patient/Patient.rs".into()));
            f.push(("scope".into(), "patient/Observation.rs".into()));
        },
        REQUEST,
    ),
    custom("PT-REQ-06", "json-body", req_06_json),
    form(
        "PT-REQ-07",
        "subject-token-over-64-KiB",
        |f| {
            let big = format!("eyJhbGciOiJFUzI1NiJ9.{}.sig", "A".repeat(96 * 1024));
            replace(f, "subject_token", &big);
        },
        REQUEST,
    ),
    custom("PT-REQ-08", "error-json-no-store", req_08),
    custom("PT-REQ-09", "success-members", req_09),
    form(
        "PT-REQ-10",
        "actor-token-without-type",
        |f| f.push(("actor_token".into(), "eyJhbGciOiJub25lIn0.e30.".into())),
        REQUEST,
    ),
    form(
        "PT-REQ-11",
        "foreign-resource",
        |f| {
            f.push((
                "resource".into(),
                "https://elsewhere.conformance.invalid/fhir".into(),
            ))
        },
        TARGET,
    ),
];

fn req_06_json(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        let form = c.form(&ticket).await?;
        let body: serde_json::Map<String, Value> = form
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let ex = c
            .probe
            .send(Request {
                method: "POST".into(),
                url: c.token_endpoint().await?,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: Some(Value::Object(body).to_string().into_bytes()),
                shown_body: Some("{\"grant_type\": …, \"subject_token\": …} (JSON)".into()),
            })
            .await;
        expect::check(&ex, REQUEST)
    })
}

fn req_08(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        let mut f = c.form(&ticket).await?;
        replace(&mut f, "grant_type", "foo");
        let ex = c.post_form(&f, None).await?;
        expect::transport(&ex)?;
        let Some(Value::Object(m)) = ex.json() else {
            return fail(format!(
                "{}: the error body is not a JSON object",
                ex.summary()
            ));
        };
        if !m.get("error").is_some_and(Value::is_string) {
            return fail("the error body has no string `error`");
        }
        if m.get("error_description").is_some_and(|d| !d.is_string()) {
            return fail("`error_description` is not a string");
        }
        if !ex
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            return fail(format!(
                "error Content-Type is {:?}, not application/json",
                ex.header("content-type")
            ));
        }
        if !ex
            .header("cache-control")
            .is_some_and(|v| v.contains("no-store"))
        {
            return fail(format!(
                "error response Cache-Control is {:?}, not no-store",
                ex.header("cache-control")
            ));
        }
        Ok(())
    })
}

fn req_09(c: &Ctx) -> Fut<'_> {
    Box::pin(async move {
        let ticket = c.mint(c.base_payload())?;
        let ex = c.redeem(&ticket).await?;
        let t = expect::token(&ex)?;
        let m = ex.json().unwrap_or_default();
        if !t.token_type.eq_ignore_ascii_case("Bearer") {
            return fail(format!("token_type is {:?}, not Bearer", t.token_type));
        }
        if m.get("issued_token_type").and_then(Value::as_str)
            != Some("urn:ietf:params:oauth:token-type:access_token")
        {
            return fail("issued_token_type is not urn:ietf:params:oauth:token-type:access_token");
        }
        if t.expires_in.is_none_or(|e| e <= 0) {
            return fail("expires_in is not a positive integer");
        }
        if t.scope.as_deref().is_none_or(str::is_empty) {
            return fail("scope is missing or empty");
        }
        if t.patient.as_deref().is_none_or(str::is_empty) {
            return fail("patient is missing or empty");
        }
        if !ex
            .header("cache-control")
            .is_some_and(|v| v.contains("no-store"))
        {
            return fail("token response Cache-Control is not no-store");
        }
        Ok(())
    })
}
