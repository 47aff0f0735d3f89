//! Integration tests of the demo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
