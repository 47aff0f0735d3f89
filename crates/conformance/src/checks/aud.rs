//! Audience (PT-AUD): exact match of the FHIR base, arrays, `aud_type`.

use serde_json::{Map, Value, json};

use super::{Check, ticket, unchanged};
use crate::ctx::{Ctx, R, skip};
use crate::expect::{Expect, GRANT, grant};

const NOT_FOR_US: Expect = grant("Ticket not valid for this server");
const ELSEWHERE: &str = "https://elsewhere.conformance.invalid/fhir";

pub(super) const CHECKS: &[Check] = &[
    ticket("PT-AUD-01", "exact-base-url", unchanged, Expect::Token),
    ticket(
        "PT-AUD-01",
        "other-url",
        |_, m| set_aud(m, json!(ELSEWHERE)),
        GRANT,
    ),
    ticket(
        "PT-AUD-02",
        "description",
        |_, m| set_aud(m, json!(ELSEWHERE)),
        NOT_FOR_US,
    ),
    ticket(
        "PT-AUD-03",
        "array-one-entry-matches",
        |c, m| set_aud(m, json!([ELSEWHERE, c.base()])),
        Expect::Token,
    ),
    ticket(
        "PT-AUD-04",
        "framework-without-aud-type",
        framework_no_type,
        GRANT,
    ),
    ticket(
        "PT-AUD-05",
        "framework-member",
        framework_member,
        Expect::Token,
    ),
    ticket(
        "PT-AUD-05",
        "framework-non-member",
        |_, m| {
            m.insert("aud_type".into(), "trust_framework".into());
            set_aud(m, json!("https://framework.conformance.invalid"))
        },
        GRANT,
    ),
    ticket(
        "PT-AUD-06",
        "unknown-aud-type",
        |_, m| {
            m.insert("aud_type".into(), "kit_unknown".into());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-AUD-06",
        "empty-aud-array",
        |_, m| set_aud(m, json!([])),
        GRANT,
    ),
    ticket(
        "PT-AUD-06",
        "non-string-aud-entry",
        |c, m| set_aud(m, json!([c.base(), 1])),
        GRANT,
    ),
    ticket(
        "PT-AUD-07",
        "trailing-slash-differs",
        |c, m| set_aud(m, json!(format!("{}/", c.base()))),
        GRANT,
    ),
];

fn set_aud(m: &mut Map<String, Value>, aud: Value) -> R {
    m.insert("aud".into(), aud);
    Ok(())
}

fn framework_no_type(c: &Ctx, m: &mut Map<String, Value>) -> R {
    match c.config.target_frameworks.first() {
        Some(f) => set_aud(m, json!(f)),
        None => skip("kit.toml names no target_frameworks"),
    }
}

fn framework_member(c: &Ctx, m: &mut Map<String, Value>) -> R {
    match c.config.target_frameworks.first() {
        Some(f) => {
            m.insert("aud_type".into(), "trust_framework".into());
            set_aud(m, json!(f))
        }
        None => skip("kit.toml names no target_frameworks"),
    }
}
