//! Fuzz target: SMART scope parsing and requested-scope intersection (attacker-reachable via
//! the token endpoint's `scope` parameter and via ticket `smart_scopes`).
//!
//! Checks, beyond "no panic": whatever parses prints canonically and re-parses to the same
//! scope; a grant computed for the input as the requested `scope` prints a scope string whose
//! every entry re-parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_access::scope::{Syntax, parse_scope};
use tessera_access::{GrantRequest, HolderProfile, LocalPolicy, compute_grant};
use tessera_ticket::claims::{Access, TYPE_SELF_ACCESS};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for syntax in [Syntax::Ticket, Syntax::Requested, Syntax::Registered] {
        if let Ok(scope) = parse_scope(input, syntax) {
            let printed = scope.to_string();
            assert_eq!(parse_scope(&printed, Syntax::Registered), Ok(scope));
        }
    }

    let access = Access {
        smart_scopes: Some(vec![
            "patient/*.rs".to_owned(),
            "patient/Observation.rs?category=laboratory,vital-signs&code=http://loinc.org|4548-4"
                .to_owned(),
        ]),
        ..Access::default()
    };
    let policy = LocalPolicy::reference_defaults();
    let holder = HolderProfile::default();
    let request = GrantRequest {
        ticket_type: TYPE_SELF_ACCESS,
        access: &access,
        release_authorized: None,
        requested_scope: Some(input),
        client_scopes: None,
        patient_id: "p",
        claim_encounters: &[],
        holder: &holder,
        policy: &policy,
    };
    if let Ok(grant) = compute_grant(&request) {
        for entry in grant.scope_string().split(' ') {
            assert!(parse_scope(entry, Syntax::Ticket).is_ok(), "{entry}");
        }
    }
});
