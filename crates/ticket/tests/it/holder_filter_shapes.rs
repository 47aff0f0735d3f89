//! `data_holder_filter` entry shapes (constraints.md §5, OP-25): extra members inside an
//! organization reference, its identifier or an address are malformed (PT-DHF-08); the older
//! single-`Organization` entry is refused by default and translated, system-aware, only in
//! compat mode (PT-DHF-10).

use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};
use tessera_ticket::claims::HolderFilterEntry;
use tessera_ticket::danger::decode_unverified;
use tessera_ticket::{AccessOptions, VerifyOptions, verify};

use crate::support::read;

const NOW: i64 = 1_800_000_060;
const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
const MALFORMED: &str = "Malformed permission ticket: access.data_holder_filter";

static KEY: LazyLock<PrivateJwk> = LazyLock::new(|| PrivateJwk::generate(Alg::Es256).unwrap());

/// The self-access baseline vector, re-signed with `filter` as its `data_holder_filter`.
fn ticket_with_filter(filter: Value) -> String {
    let base = read("tickets/ok/001_self_access.jwt");
    let mut payload: Map<String, Value> = decode_unverified(base.trim()).unwrap().payload;
    payload["access"]["data_holder_filter"] = filter;
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(&payload).unwrap(),
        &KEY.signer().unwrap(),
    )
    .unwrap()
}

fn options(legacy: bool) -> VerifyOptions {
    VerifyOptions {
        access: AccessOptions {
            legacy_access_shapes: legacy,
            sensitivity_withhold: false,
        },
        ..VerifyOptions::default()
    }
}

fn keys() -> JwkSet {
    JwkSet::new(vec![KEY.public().clone()])
}

/// The verified filter entries, or the OAuth error description.
fn outcome(filter: Value, legacy: bool) -> Result<Vec<HolderFilterEntry>, String> {
    match verify(&ticket_with_filter(filter), &keys(), NOW, &options(legacy)) {
        Ok(v) => Ok(v.access().data_holder_filter.clone().unwrap_or_default()),
        Err(e) => {
            let (code, description) = e.oauth_error();
            assert_eq!(code, "invalid_grant");
            Err(description)
        }
    }
}

fn npi_ref(value: &str) -> Value {
    json!({"identifier": {"system": NPI, "value": value}})
}

#[test]
fn pt_dhf_08_current_shape_is_accepted() {
    let filter = json!([
        {"kind": "organization", "organization": [npi_ref("1234567893")]},
        {"kind": "jurisdiction", "address": {"country": "US", "state": "CA"}}
    ]);
    assert_eq!(outcome(filter.clone(), false).unwrap().len(), 2);
    assert_eq!(outcome(filter, true).unwrap().len(), 2);
}

#[test]
fn pt_dhf_08_extra_member_in_organization_reference() {
    for extra in [
        json!({"reference": "Organization/1"}),
        json!({"type": "Organization"}),
        json!({"extension": []}),
    ] {
        let mut r = npi_ref("1234567893");
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        let filter = json!([{"kind": "organization", "organization": [r]}]);
        for legacy in [false, true] {
            assert_eq!(
                outcome(filter.clone(), legacy),
                Err(MALFORMED.into()),
                "{extra}"
            );
        }
    }
    // `display` is the one optional member.
    let shown = json!([{"kind": "organization", "organization": [
        {"identifier": {"system": NPI, "value": "1"}, "display": "Clinic"}]}]);
    assert!(outcome(shown, false).is_ok());
}

#[test]
fn pt_dhf_08_extra_member_in_identifier() {
    let filter = json!([{"kind": "organization", "organization": [
        {"identifier": {"system": NPI, "value": "1", "period": {"end": "2020-01-01"}}}]}]);
    assert_eq!(outcome(filter, false), Err(MALFORMED.into()));
}

#[test]
fn pt_dhf_08_extra_member_in_address() {
    for address in [
        json!({"country": "US", "state": "TX", "city": "Austin"}),
        json!({"country": "US", "postalCode": "78701"}),
        json!({"state": "TX", "line": ["1 Main St"]}),
    ] {
        let filter = json!([{"kind": "jurisdiction", "address": address}]);
        assert_eq!(outcome(filter, false), Err(MALFORMED.into()), "{address}");
    }
}

/// The April–mid-June shape: one Organization resource with `identifier[]`.
fn legacy_entry() -> Value {
    json!([{"kind": "organization", "organization": {
    "resourceType": "Organization",
    "name": "Example Clinic",
    "identifier": [
        {"system": NPI, "value": "1234567893"},
        {"system": "urn:oid:2.16.840.1.113883.4.4", "value": "12-3456789"}
    ]}}])
}

#[test]
fn pt_dhf_10_older_organization_shape_rejected_by_default() {
    assert_eq!(outcome(legacy_entry(), false), Err(MALFORMED.into()));
}

#[test]
fn pt_dhf_10_older_organization_shape_translated_in_compat_mode() {
    let entries = outcome(legacy_entry(), true).unwrap();
    let [HolderFilterEntry::Organization { organization }] = entries.as_slice() else {
        panic!("one organization entry expected: {entries:?}");
    };
    let ids: Vec<(Option<&str>, Option<&str>, Option<&str>)> = organization
        .iter()
        .map(|r| {
            (
                r.identifier.system.as_deref(),
                r.identifier.value.as_deref(),
                r.display.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            (Some(NPI), Some("1234567893"), Some("Example Clinic")),
            (
                Some("urn:oid:2.16.840.1.113883.4.4"),
                Some("12-3456789"),
                Some("Example Clinic")
            ),
        ]
    );
}

#[test]
fn pt_dhf_10_compat_translation_stays_system_aware_and_strict() {
    let with_org = |org: Value| json!([{"kind": "organization", "organization": org}]);
    let cases = [
        // An identifier without a system cannot be matched on system + value (OP-25).
        json!({"resourceType": "Organization", "identifier": [{"value": "1234567893"}]}),
        json!({"resourceType": "Organization", "identifier": []}),
        json!({"resourceType": "Organization", "name": "No identifiers"}),
        json!({"resourceType": "Location", "identifier": [{"system": NPI, "value": "1"}]}),
        // A member that could change which Data Holders were meant is not translated.
        json!({"resourceType": "Organization", "identifier": [{"system": NPI, "value": "1"}],
               "partOf": {"reference": "Organization/parent"}}),
    ];
    for org in cases {
        assert_eq!(
            outcome(with_org(org.clone()), true),
            Err(MALFORMED.into()),
            "{org}"
        );
    }
    // An extra member beside `organization` on the entry stays malformed.
    let extra = json!([{"kind": "organization", "x": 1, "organization":
        {"resourceType": "Organization", "identifier": [{"system": NPI, "value": "1"}]}}]);
    assert_eq!(outcome(extra, true), Err(MALFORMED.into()));
}
