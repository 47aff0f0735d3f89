//! The backend conformance suite: each case is a function over a backend, run on SQLite
//! always and on PostgreSQL when a server answers (`TESSERA_REQUIRE_PG=1` makes a missing
//! server fail; `.ci/run` sets it). Cases go in `resources.rs` and `tokens.rs`, each iterating
//! `backends::resources()` / `backends::tokens()` and naming the backend in every assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod audit_chain;
mod backends;
mod issuer;
mod pool;
// The store crate's independent reference for search parameters over raw JSON, shared rather
// than copied so both suites check against one definition.
#[path = "../../../store/tests/it/expect.rs"]
#[allow(dead_code)]
mod expect;
mod resources;
mod roles;
mod tokens;

#[test]
fn every_backend_opens_empty() {
    for b in backends::resources() {
        assert!(b.store.sites().unwrap().is_empty(), "{}", b.name);
    }
    for b in backends::tokens() {
        assert!(b.store.audit_recent().unwrap().is_empty(), "{}", b.name);
    }
}
