//! Online resolution over a fetcher that serves real signed statements from a map and
//! records every URL asked for: bounds (depth, fan-out, size, total), caching per `exp`,
//! no fetch beyond what the chain names.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;
use tessera_federation::{
    FederationError, FetchFailure, FetchFuture, Resolver, ResolverLimits, StatementFetcher,
};
use url::Url;

use crate::fixtures::{Entity, Fed, MARK, NOW};

#[derive(Default)]
struct MapFetcher {
    docs: HashMap<String, String>,
    too_large: Vec<String>,
    asked: Mutex<Vec<String>>,
}

impl MapFetcher {
    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl StatementFetcher for MapFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> FetchFuture<'a> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(url.to_string());
            if self.too_large.contains(&url.to_string()) {
                return Err(FetchFailure::TooLarge);
            }
            self.docs
                .get(url.as_str())
                .map(|d| d.as_bytes().to_vec())
                .ok_or_else(|| FetchFailure::Other("HTTP 404".into()))
        })
    }
}

impl StatementFetcher for &MapFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> FetchFuture<'a> {
        (**self).fetch(url)
    }
}

fn serve(f: &Fed) -> MapFetcher {
    let mut m = MapFetcher::default();
    m.docs
        .insert(f.app.configuration_url(), f.app_configuration());
    m.docs.insert(
        f.intermediate.configuration_url(),
        f.intermediate_configuration(),
    );
    m.docs
        .insert(f.anchor.configuration_url(), f.anchor_configuration());
    m.docs
        .insert(f.intermediate.fetch_url(&f.app), f.about_app(json!({})));
    m.docs.insert(
        f.anchor.fetch_url(&f.intermediate),
        f.about_intermediate(json!({})),
    );
    m
}

#[tokio::test]
async fn pt_trust_02_resolves_leaf_through_intermediate_with_trust_marks() {
    let f = Fed::new();
    let m = serve(&f);
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    let chain = r
        .resolve_with_marks(&f.app.id, &[MARK.to_owned()], NOW)
        .await
        .unwrap();
    assert_eq!(chain.statements.len(), 4);
    assert_eq!(chain.trust_marks[0].iss, f.intermediate.id);
    assert_eq!(
        chain.entity_metadata("oauth_client").unwrap()["contacts"],
        json!(["ops@anchor.example.org", "ops@int.example.org"])
    );
}

#[tokio::test]
async fn statements_are_cached_until_their_exp() {
    let f = Fed::new();
    let m = serve(&f);
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    r.resolve(&f.app.id, NOW).await.unwrap();
    let first = m.asked().len();
    assert_eq!(first, 5);
    r.resolve(&f.app.id, NOW + 10).await.unwrap();
    assert_eq!(m.asked().len(), first, "served from cache");
    // After exp the cached copies are stale; the (expired) documents are fetched again and
    // refused for their exp.
    let err = r.resolve(&f.app.id, NOW + 7200).await.unwrap_err();
    assert!(matches!(err, FederationError::Expired { .. }), "{err:?}");
    assert!(m.asked().len() > first);
}

#[tokio::test]
async fn unknown_anchor_gives_no_path() {
    let f = Fed::new();
    let m = serve(&f);
    let other = Entity::new("https://elsewhere.example.org");
    let r = Resolver::new(&m, vec![other.anchor()], ResolverLimits::default());
    let err = r.resolve(&f.app.id, NOW).await.unwrap_err();
    // The intermediate's hint names an anchor we do not have; its configuration has no
    // further hints.
    assert!(
        matches!(
            err,
            FederationError::NoPathToAnchor { .. } | FederationError::Fetch { .. }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn chain_longer_than_bound_refused() {
    let f = Fed::new();
    let m = serve(&f);
    let limits = ResolverLimits {
        max_chain_len: 3,
        ..ResolverLimits::default()
    };
    let r = Resolver::new(&m, vec![f.anchor.anchor()], limits);
    assert_eq!(
        r.resolve(&f.app.id, NOW).await.unwrap_err(),
        FederationError::TooDeep(3)
    );
}

#[tokio::test]
async fn oversized_statement_refused() {
    let f = Fed::new();
    let mut m = serve(&f);
    m.too_large.push(f.intermediate.fetch_url(&f.app));
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    assert_eq!(
        r.resolve(&f.app.id, NOW).await.unwrap_err(),
        FederationError::TooLarge(f.intermediate.fetch_url(&f.app))
    );
    // And the resolver's own bound, whatever the fetcher allows.
    let m = serve(&f);
    let limits = ResolverLimits {
        max_statement_len: 300,
        ..ResolverLimits::default()
    };
    let r = Resolver::new(&m, vec![f.anchor.anchor()], limits);
    assert!(matches!(
        r.resolve(&f.app.id, NOW).await.unwrap_err(),
        FederationError::TooLarge(_)
    ));
}

#[tokio::test]
async fn total_statement_budget_enforced() {
    let f = Fed::new();
    let m = serve(&f);
    let limits = ResolverLimits {
        max_statements: 3,
        ..ResolverLimits::default()
    };
    let r = Resolver::new(&m, vec![f.anchor.anchor()], limits);
    assert_eq!(
        r.resolve(&f.app.id, NOW).await.unwrap_err(),
        FederationError::TooManyStatements(3)
    );
}

#[tokio::test]
async fn fan_out_is_bounded() {
    let f = Fed::new();
    let mut m = serve(&f);
    let hints: Vec<String> = (0..10)
        .map(|i| format!("https://dead{i}.example.org"))
        .chain([f.intermediate.id.clone()])
        .collect();
    let mark = f.intermediate.trust_mark(&f.app.id, MARK, json!({}));
    m.docs.insert(
        f.app.configuration_url(),
        f.app.configuration(json!({
            "authority_hints": hints,
            "metadata": f.app_metadata(),
            "trust_marks": [{"trust_mark_type": MARK, "trust_mark": mark}],
        })),
    );
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    let err = r.resolve(&f.app.id, NOW).await.unwrap_err();
    assert!(matches!(err, FederationError::Fetch { .. }), "{err:?}");
    // Only the first max_fan_out hints were tried (plus the leaf itself).
    assert_eq!(m.asked().len(), 1 + 4);
}

#[tokio::test]
async fn fetch_endpoint_answering_about_someone_else_is_refused() {
    let f = Fed::new();
    let mut m = serve(&f);
    let other = Entity::new("https://other.example.org");
    m.docs.insert(
        f.intermediate.fetch_url(&f.app),
        f.intermediate.subordinate(&other, json!({})),
    );
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    assert!(matches!(
        r.resolve(&f.app.id, NOW).await.unwrap_err(),
        FederationError::NoPathToAnchor { .. }
    ));
}

#[tokio::test]
async fn invalid_entity_identifier_is_never_fetched() {
    let f = Fed::new();
    let m = serve(&f);
    let r = Resolver::new(&m, vec![f.anchor.anchor()], ResolverLimits::default());
    for bad in [
        "http://app.example.org",
        "https://x.example.org/?q=1",
        "not a url",
    ] {
        assert!(matches!(
            r.resolve(bad, NOW).await.unwrap_err(),
            FederationError::InvalidEntityId(_)
        ));
    }
    assert!(m.asked().is_empty());
}
