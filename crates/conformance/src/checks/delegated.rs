//! Delegated-access type rules (PT-TYPE-04/05/06), run when the target trusts the kit's issuer
//! for delegated access: the requester is a RelatedPerson with exactly one relationship coding
//! from the closed v3-RoleCode set.

use serde_json::{Map, Value, json};

use super::{Check, ticket};
use crate::config::DELEGATED_ACCESS;
use crate::ctx::{Ctx, R, set_type, skip};
use crate::expect::{Expect, GRANT};

const ROLE_CODES: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-TYPE-04",
        "delegate-accepted",
        |c, m| delegated(c, m, None),
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-04",
        "organization-requester",
        |c, m| {
            delegated(c, m, None)?;
            m.insert(
                "requester".into(),
                json!({"resourceType": "Organization", "name": "Kit Org"}),
            );
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-05",
        "no-relationship-coding",
        |c, m| delegated(c, m, Some(json!([]))),
        GRANT,
    ),
    ticket(
        "PT-TYPE-05",
        "two-relationship-codings",
        |c, m| {
            delegated(
                c,
                m,
                Some(
                    json!([{"system": ROLE_CODES, "code": "DELEGATEE"}, {"system": ROLE_CODES, "code": "GUARD"}]),
                ),
            )
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-06",
        "code-outside-the-closed-set",
        |c, m| delegated(c, m, Some(json!([{"system": ROLE_CODES, "code": "DAU"}]))),
        GRANT,
    ),
    ticket(
        "PT-TYPE-06",
        "wrong-code-system",
        |c, m| {
            delegated(
                c,
                m,
                Some(json!([{"system": "https://conformance.invalid/roles", "code": "DELEGATEE"}])),
            )
        },
        GRANT,
    ),
];

/// Makes the ticket delegated access, optionally with other relationship codings.
pub(super) fn delegated(c: &Ctx, m: &mut Map<String, Value>, codings: Option<Value>) -> R {
    if !c
        .config
        .issuer
        .ticket_types
        .iter()
        .any(|t| t == DELEGATED_ACCESS)
    {
        return skip("the kit's issuer is not trusted for delegated access (issuer.ticket_types)");
    }
    set_type(m, DELEGATED_ACCESS);
    if let (Some(codings), Some(Value::Object(r))) = (codings, m.get_mut("requester")) {
        r.insert("relationship".into(), json!([{"coding": codings}]));
    }
    Ok(())
}
