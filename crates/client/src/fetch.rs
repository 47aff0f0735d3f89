//! FHIR reads with an access token: Bearer, or DPoP with a fresh proof (incl. `ath`) per
//! request; optionally following a searchset's `next` links, bounded, and never off-origin.

use serde_json::Value;
use url::Url;

use crate::error::{Step, echo};
use crate::http::{MAX_FHIR_BODY, json_object, send};
use crate::jwt::{ClientKey, dpop_proof};
use crate::{Client, ClientError};

/// Default bound on pages followed with `all`.
pub const DEFAULT_MAX_PAGES: usize = 100;

/// How the access token is presented.
#[derive(Debug, Clone, Copy)]
pub enum Authorization<'a> {
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: DPoP <token>` plus a `DPoP` proof signed with `key`.
    Dpop {
        /// The access token.
        token: &'a str,
        /// The key the token is bound to.
        key: &'a ClientKey,
    },
}

/// Paging behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// Follow `next` links.
    pub all: bool,
    /// At most this many pages (including the first) when `all` is set.
    pub max_pages: usize,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            all: false,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }
}

/// What a fetch produced: every page read, and whether a `next` link was left unfollowed
/// because of `max_pages`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The JSON documents (a resource, or one Bundle per page).
    pub pages: Vec<Value>,
    /// A `next` link remained when the page bound was reached.
    pub truncated: bool,
}

impl Client {
    /// Reads `url` (and, with `all`, the pages after it).
    pub async fn fetch(
        &self,
        url: &Url,
        auth: Authorization<'_>,
        options: FetchOptions,
    ) -> Result<Fetched, ClientError> {
        let mut pages = Vec::new();
        let mut next = Some(url.clone());
        while let Some(current) = next.take() {
            let page = self.fetch_one(&current, auth).await?;
            let link = if options.all { next_link(&page) } else { None };
            pages.push(page);
            let Some(link) = link else { break };
            let link = current.join(&link).map_err(|e| ClientError::BadResponse {
                step: Step::Fetch,
                url: current.to_string(),
                reason: format!("next link is not a URL: {e}"),
            })?;
            if link.origin() != url.origin() {
                return Err(ClientError::ForeignNextLink {
                    start: url.to_string(),
                    next: link.to_string(),
                });
            }
            if pages.len() >= options.max_pages {
                return Ok(Fetched {
                    pages,
                    truncated: true,
                });
            }
            next = Some(link);
        }
        Ok(Fetched {
            pages,
            truncated: false,
        })
    }

    async fn fetch_one(&self, url: &Url, auth: Authorization<'_>) -> Result<Value, ClientError> {
        let mut request = self
            .http
            .get(url.clone())
            .header("accept", "application/fhir+json");
        request = match auth {
            Authorization::Bearer(token) => request.header("authorization", bearer(token)?),
            Authorization::Dpop { token, key } => {
                let proof = dpop_proof(
                    key,
                    "GET",
                    url,
                    self.clock.now(),
                    &Client::new_jti(),
                    Some(token),
                )?;
                request
                    .header("authorization", format!("DPoP {}", check_token(token)?))
                    .header("DPoP", proof)
            }
        };
        let body = send(request, Step::Fetch, url, MAX_FHIR_BODY).await?;
        if !(200..300).contains(&body.status) {
            return Err(ClientError::FhirStatus {
                url: url.to_string(),
                status: body.status,
                summary: outcome_summary(&body.bytes),
            });
        }
        json_object(&body.bytes, Step::Fetch, url).map(Value::Object)
    }
}

fn bearer(token: &str) -> Result<String, ClientError> {
    Ok(format!("Bearer {}", check_token(token)?))
}

/// A token goes into a header: refuse anything that is not a visible-ASCII single word.
pub(crate) fn check_token(token: &str) -> Result<&str, ClientError> {
    let token = token.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ClientError::Input(
            "the access token is empty or contains characters not allowed in a header".into(),
        ));
    }
    Ok(token)
}

/// The `next` link of a Bundle (`link[relation = next].url`).
fn next_link(doc: &Value) -> Option<String> {
    doc.get("link")?
        .as_array()?
        .iter()
        .find(|l| l.get("relation").and_then(Value::as_str) == Some("next"))?
        .get("url")?
        .as_str()
        .map(str::to_owned)
}

/// A one-line summary of an error body: the OperationOutcome's first diagnostics or details
/// text, else the start of the body.
pub(crate) fn outcome_summary(body: &[u8]) -> String {
    let from_outcome = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let issue = v.get("issue")?.as_array()?.first()?;
        let text = issue
            .get("diagnostics")
            .and_then(Value::as_str)
            .or_else(|| issue.get("details")?.get("text")?.as_str())
            .or_else(|| issue.get("code")?.as_str())?;
        Some(text.to_owned())
    });
    match from_outcome {
        Some(text) => echo(&text),
        None => echo(&String::from_utf8_lossy(body.get(..200).unwrap_or(body))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_link_and_outcome_summary() {
        let bundle = json!({"resourceType": "Bundle", "link": [
            {"relation": "self", "url": "a"}, {"relation": "next", "url": "b"}]});
        assert_eq!(next_link(&bundle).as_deref(), Some("b"));
        assert_eq!(next_link(&json!({"resourceType": "Patient"})), None);
        let oo = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Access denied"}]}"#;
        assert_eq!(outcome_summary(oo), "Access denied");
        assert_eq!(outcome_summary(b"plain\ntext"), "plain text");
    }

    #[test]
    fn tokens_with_header_breaking_characters_are_refused() {
        assert!(check_token("abc.def-_~+/=").is_ok());
        assert!(check_token("abc\r\nx: y").is_err());
        assert!(check_token("").is_err());
    }
}
