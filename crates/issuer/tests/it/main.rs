//! Integration tests of tessera-issuer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
