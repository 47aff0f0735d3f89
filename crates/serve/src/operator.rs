//! What the Data Holder's and the issuer's operator workbenches serve the same way: static
//! assets under a strict Content-Security-Policy, one stylesheet and one helper script, and
//! the admin-secret check.

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

/// The operator pages' stylesheet (no external fonts).
pub const OPERATOR_CSS: &str = include_str!("operator.css");
/// The operator pages' shared script (DOM helpers, the admin-secret call and its trace).
pub const OPERATOR_JS: &str = include_str!("operator.js");

/// An embedded asset: `no-store`, and a CSP that allows only this origin's script and style.
pub fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; object-src 'none'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

/// The page's routes, relative to where the caller nests them: `/workbench` (the page),
/// `/workbench/app.js` (its own script), `/workbench/operator.js` and `/workbench/app.css`.
pub fn page_routes<S: Clone + Send + Sync + 'static>(
    index_html: &'static str,
    app_js: &'static str,
) -> Router<S> {
    Router::new()
        .route(
            "/workbench",
            get(move || async move { static_asset("text/html; charset=utf-8", index_html) }),
        )
        .route(
            "/workbench/app.js",
            get(move || async move { static_asset("text/javascript; charset=utf-8", app_js) }),
        )
        .route(
            "/workbench/operator.js",
            get(|| async { static_asset("text/javascript; charset=utf-8", OPERATOR_JS) }),
        )
        .route(
            "/workbench/app.css",
            get(|| async { static_asset("text/css; charset=utf-8", OPERATOR_CSS) }),
        )
}

/// A bearer secret from configuration (`admin_token`). It reads as a `str`; its `Debug` shows
/// only its length, so a configuration printed for diagnosis never carries it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.0.len())
    }
}

/// Whether `headers` carry `Authorization: Bearer <secret>`, compared in constant time (a
/// length difference still takes the constant-time path over the shorter input; the secret's
/// length is not what protects it).
pub fn bearer_matches(headers: &HeaderMap, secret: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = super::Secret::new("correct horse battery staple");
        let shown = format!("{s:?} {:?}", Some(s.clone()));
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("redacted, 28 bytes"), "{shown}");
        assert_eq!(&*s, "correct horse battery staple");
    }

    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        let secret = "admin-secret-0123456789";
        assert!(bearer_matches(
            &with("Bearer admin-secret-0123456789"),
            secret
        ));
        assert!(!bearer_matches(
            &with("Bearer admin-secret-012345678"),
            secret
        ));
        assert!(!bearer_matches(
            &with("Bearer admin-secret-01234567890"),
            secret
        ));
        assert!(!bearer_matches(
            &with("bearer admin-secret-0123456789"),
            secret
        ));
        assert!(!bearer_matches(&HeaderMap::new(), secret));
    }
}
