//! Payer quality gap (PT-TYPE-01/12..15), with `[quality_gap]` and the kit's issuer trusted for
//! the type: an Organization requester with a coverage or contract relationship to the test
//! patient, a `measure`, a `data_period` and narrowed `smart_scopes`. The tickets keep the
//! baseline's `jkt` binding (optional for the type), so what is judged is the type's rules
//! and the relationship, never whom the client acts for.

use serde_json::{Map, Value, json};

use super::payer::{organization, related_person};
use super::{Check, ticket};
use crate::config::{QUALITY_GAP, QualityGapConfig, codings};
use crate::ctx::{Ctx, R, Stop, skip};
use crate::expect::{Expect, GRANT};

pub(super) const CHECKS: &[Check] = &[
    ticket(
        "PT-TYPE-12",
        "quality-gap-ticket-accepted",
        quality_gap,
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-12",
        "measure-missing",
        |c, m| {
            quality_gap(c, m)?;
            m.remove("measure");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-12",
        "requester-not-an-organization",
        |c, m| {
            quality_gap(c, m)?;
            m.insert("requester".into(), related_person());
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-01",
        "quality-gap-requester-missing",
        |c, m| {
            quality_gap(c, m)?;
            m.remove("requester");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-01",
        "quality-gap-measure-not-a-codeable-concept",
        |c, m| {
            quality_gap(c, m)?;
            m.insert("measure".into(), json!("CMS122v12"));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-01",
        "quality-gap-measure-empty",
        |c, m| {
            quality_gap(c, m)?;
            m.insert("measure".into(), json!({}));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-13",
        "data-period-missing",
        |c, m| {
            quality_gap(c, m)?;
            remove_access(m, "data_period");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-13",
        "smart-scopes-missing",
        |c, m| {
            quality_gap(c, m)?;
            remove_access(m, "smart_scopes");
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-14",
        "unnarrowed-scope",
        |c, m| {
            quality_gap(c, m)?;
            super::set_access(m, "smart_scopes", json!(["patient/Observation.rs"]));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-14",
        "one-of-two-scopes-unnarrowed",
        |c, m| {
            let q = make(c, m)?;
            let mut scopes = q.scopes.clone();
            scopes.push("patient/Condition.rs".into());
            super::set_access(m, "smart_scopes", json!(scopes));
            Ok(())
        },
        GRANT,
    ),
    ticket(
        "PT-TYPE-14",
        "category-narrowing-accepted",
        |c, m| {
            quality_gap(c, m)?;
            super::set_access(
                m,
                "smart_scopes",
                json!([
                    "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
                ]),
            );
            Ok(())
        },
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-15",
        "requester-with-relationship",
        quality_gap,
        Expect::Token,
    ),
    ticket(
        "PT-TYPE-15",
        "requester-without-relationship",
        |c, m| {
            let q = make(c, m)?;
            let Some(other) = &q.unrelated_requester else {
                return skip("needs setup: [quality_gap] unrelated_requester in kit.toml");
            };
            m.insert(
                "requester".into(),
                organization(other, "Unrelated Health Plan"),
            );
            Ok(())
        },
        GRANT,
    ),
];

fn section(c: &Ctx) -> Result<&QualityGapConfig, Stop> {
    let Some(q) = &c.config.quality_gap else {
        return skip(
            "needs setup: a quality-gap requester with a coverage relationship to the test \
             patient ([quality_gap] in kit.toml)",
        );
    };
    if !c
        .config
        .issuer
        .ticket_types
        .iter()
        .any(|t| t == QUALITY_GAP)
    {
        return skip(format!(
            "needs setup: the kit's issuer trusted for quality gap ({QUALITY_GAP} in \
             issuer.ticket_types)"
        ));
    }
    Ok(q)
}

/// The baseline made a quality-gap ticket.
fn make<'a>(c: &'a Ctx, m: &mut Map<String, Value>) -> Result<&'a QualityGapConfig, Stop> {
    let q = section(c)?;
    m.insert("ticket_type".into(), QUALITY_GAP.into());
    m.insert(
        "requester".into(),
        organization(&q.requester, "Conformance Kit Health Plan"),
    );
    m.insert(
        "measure".into(),
        json!({"coding": codings(&q.measure), "text": "Conformance kit quality measure"}),
    );
    let period = q
        .data_period
        .as_ref()
        .unwrap_or(&c.config.probe.data_period)
        .to_json();
    m.insert(
        "access".into(),
        json!({"smart_scopes": q.scopes, "data_period": period}),
    );
    Ok(q)
}

fn remove_access(m: &mut Map<String, Value>, key: &str) {
    if let Some(Value::Object(a)) = m.get_mut("access") {
        a.remove(key);
    }
}

/// [`make`] as a table row's change.
pub(super) fn quality_gap(c: &Ctx, m: &mut Map<String, Value>) -> R {
    make(c, m).map(|_| ())
}
