//! Integration tests of tessera-client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
