//! Integration tests of tessera-federation over fixtures the tests build themselves: real
//! ES256 keys (tessera-jose), real signed entity statements, trust marks and policies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod chain;
mod fixtures;
mod policy;
mod resolve;
mod trust_mark_owners;
