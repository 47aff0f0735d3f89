//! The kit's own tests: its tables against the checklist, its reports, and a deliberately
//! wrong server that must fail exactly the matching IDs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hostile;
mod parties;
mod tables;
