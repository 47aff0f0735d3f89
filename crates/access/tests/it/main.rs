//! Integration tests of tessera-access: data-driven vectors, requirement-cited cases and
//! property tests. One binary (see Cargo.toml `autotests = false`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod facts;
mod props;
mod requirements;
mod vectors;
