//! Integration tests of tessera-issuer: the library API, the HTTP layer, configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config;
mod duties;
mod http;
mod library;
mod refusals;
mod support;
mod workbench;
