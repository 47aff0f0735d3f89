//! Integration tests of tessera-client: JWT contents, and redeem/fetch on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop;
mod jwt;
mod loopback;
