//! Reading the target's answers: a token response, or an OAuth error with its code and the
//! specification's description. Anything else is a readable failure naming what was expected.

use serde_json::Value;

use crate::ctx::{Stop, Token, fail};
use crate::probe::Exchange;

/// What a token-endpoint call should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200 with an access token.
    Token,
    /// An OAuth error `code`; when `description` is set, `error_description` must start with it
    /// (the specification's wording; the pipeline-order checks depend on it).
    Error {
        /// The HTTP status, when the specification fixes it.
        status: Option<u16>,
        /// The `error` code.
        code: &'static str,
        /// Prefix of `error_description`.
        description: Option<&'static str>,
    },
}

/// `invalid_grant` with the given description prefix.
pub const fn grant(description: &'static str) -> Expect {
    Expect::Error {
        status: Some(400),
        code: "invalid_grant",
        description: Some(description),
    }
}

/// `invalid_grant`, any description.
pub const GRANT: Expect = Expect::Error {
    status: Some(400),
    code: "invalid_grant",
    description: None,
};

/// 401 `invalid_client`.
pub const CLIENT: Expect = Expect::Error {
    status: Some(401),
    code: "invalid_client",
    description: None,
};

/// 400 `invalid_request`.
pub const REQUEST: Expect = Expect::Error {
    status: Some(400),
    code: "invalid_request",
    description: None,
};

/// 400 `invalid_scope`.
pub const SCOPE: Expect = Expect::Error {
    status: Some(400),
    code: "invalid_scope",
    description: None,
};

/// Checks `ex` against `expect`.
pub fn check(ex: &Exchange, expect: Expect) -> Result<(), Stop> {
    match expect {
        Expect::Token => token(ex).map(|_| ()),
        Expect::Error {
            status,
            code,
            description,
        } => error(ex, status, code, description),
    }
}

/// A 200 token response (`access_token` a non-empty string).
pub fn token(ex: &Exchange) -> Result<Token, Stop> {
    transport(ex)?;
    let body = ex.json();
    if ex.code() != 200 {
        let what = body
            .as_ref()
            .map(describe_error)
            .unwrap_or_else(|| "a non-JSON body".into());
        return fail(format!(
            "expected a token (200), got {} with {what}",
            ex.code()
        ));
    }
    let Some(Value::Object(m)) = body else {
        return fail("200 but the body is not a JSON object");
    };
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some(access_token) = text("access_token").filter(|t| !t.is_empty()) else {
        return fail("200 without a non-empty string access_token");
    };
    let token_type = text("token_type").unwrap_or_default();
    Ok(Token {
        dpop: token_type.eq_ignore_ascii_case("DPoP"),
        access_token,
        token_type,
        expires_in: m.get("expires_in").and_then(Value::as_i64),
        scope: text("scope"),
        patient: text("patient"),
        refresh_token: text("refresh_token").filter(|t| !t.is_empty()),
    })
}

/// An OAuth error response.
pub fn error(
    ex: &Exchange,
    status: Option<u16>,
    code: &str,
    description: Option<&str>,
) -> Result<(), Stop> {
    transport(ex)?;
    let want = match description {
        Some(d) => format!("{code} \"{d}…\""),
        None => code.to_owned(),
    };
    let body = ex.json();
    if ex.code() == 200 {
        return fail(format!(
            "expected {want}, but the target issued a token (200)"
        ));
    }
    let Some(Value::Object(m)) = &body else {
        return fail(format!(
            "expected {want}, got {} with a non-JSON body",
            ex.code()
        ));
    };
    let got = m.get("error").and_then(Value::as_str).unwrap_or("");
    let desc = m
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    if got != code {
        return fail(format!(
            "expected {want}, got {} {}",
            ex.code(),
            describe_error(&Value::Object(m.clone()))
        ));
    }
    if let Some(d) = description
        && !desc.starts_with(d)
    {
        return fail(format!("expected {want}, got {got} \"{desc}\""));
    }
    if let Some(s) = status
        && ex.code() != s
    {
        return fail(format!(
            "expected {want} with status {s}, got status {}",
            ex.code()
        ));
    }
    Ok(())
}

/// A transport failure is a check failure with its reason.
pub fn transport(ex: &Exchange) -> Result<(), Stop> {
    match &ex.error {
        Some(e) => fail(format!("{}: {e}", ex.summary())),
        None => Ok(()),
    }
}

fn describe_error(v: &Value) -> String {
    match (
        v.get("error").and_then(Value::as_str),
        v.get("error_description").and_then(Value::as_str),
    ) {
        (Some(e), Some(d)) => format!("{e} \"{d}\""),
        (Some(e), None) => e.to_owned(),
        _ => "a body without `error`".into(),
    }
}
