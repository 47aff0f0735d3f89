//! A black-box conformance kit for any SMART Permission Tickets Data Holder.
//!
//! The kit talks to the target over HTTP only. It plays the ticket **issuer** (its own ES256
//! and RS256 keys; a JWKS and status lists it serves itself, on an address it binds, and flips
//! during the run) and the **client** (its own key; `private_key_jwt`, DPoP). Each test is
//! named by the checklist ID it checks; requirements it cannot test black-box are listed with
//! their reason in a skip list the operator can edit.
//!
//! ```text
//! KitConfig::load("kit.toml") + KitKeys::load(..)
//!   run(config, keys, listener?, clock, &RunOptions{only, progress}) -> Report
//!   report::{terminal, junit, markdown}(&report), report.json()
//! init(dir)                                    keys, kit.toml template, what to register
//! ```
//!
//! It never links a Data Holder's internals: the JOSE core, ticket minting and the client's
//! JWTs are the only Tessera code it uses.

pub mod checklist;
mod checks;
pub mod config;
mod ctx;
mod expect;
pub mod federation;
mod fhir;
pub mod host;
pub mod init;
pub mod keys;
pub mod pki;
pub mod probe;
pub mod report;
mod runner;
mod tickets;

pub use config::KitConfig;
pub use keys::KitKeys;
pub use report::{Report, Status};
pub use runner::{RunOptions, run, selected};

/// Every (ID, case) the kit runs, in order.
pub fn check_ids() -> Vec<(&'static str, &'static str)> {
    checks::all().iter().map(|c| (c.id, c.case)).collect()
}
