//! Property tests: the parser never panics, grants only narrow, adding a constraint never
//! releases more, and `decide` agrees with `to_filter(..).matches(extract_facts(..))`.

use proptest::prelude::*;
use serde_json::{Value, json};
use tessera_access::scope::{Syntax, parse_scope};
use tessera_access::{Decision, Grant, Interaction, extract_facts};
use tessera_ticket::claims::TYPE_SELF_ACCESS;

use crate::common::{Inputs, PATIENT};

const TYPES: [&str; 5] = [
    "Observation",
    "Condition",
    "Encounter",
    "Patient",
    "Practitioner",
];
const CATS: [&str; 3] = ["laboratory", "vital-signs", "survey"];
const CODES: [&str; 3] = ["4548-4", "2345-7", "8867-4"];
const SYSTEMS: [&str; 3] = [
    "",
    "http://loinc.org",
    "http://terminology.hl7.org/CodeSystem/observation-category",
];
const LABELS: [&str; 4] = ["SEX", "MH", "HIV", "HIPAASelfPay"];
const DATES: [&str; 6] = [
    "2022-12-31",
    "2023-01-01",
    "2023-06",
    "2023-12-31T23:59:59Z",
    "2024",
    "2023-05-05T10:00:00+02:00",
];

fn value() -> impl Strategy<Value = String> {
    (0..4usize, 0..3usize, 0..3usize).prop_map(|(s, c, k)| {
        let code = if k == 0 { CATS[c % 3] } else { CODES[c % 3] };
        match s {
            0 => code.to_owned(),
            1 => format!("|{code}"),
            n => format!("{}|{code}", SYSTEMS[n - 1]),
        }
    })
}

fn scope() -> impl Strategy<Value = String> {
    let ty = prop_oneof![
        Just("*".to_owned()),
        (0..TYPES.len()).prop_map(|i| TYPES[i].to_owned())
    ];
    let perms = prop_oneof![Just("rs"), Just("r"), Just("s"), Just("cruds")];
    let clause = (
        prop_oneof![Just("code"), Just("category")],
        prop::collection::vec(value(), 1..3),
    )
        .prop_map(|(p, vs)| format!("{p}={}", vs.join(",")));
    (ty, perms, prop::collection::vec(clause, 0..3)).prop_map(|(t, p, cs)| {
        if cs.is_empty() {
            format!("patient/{t}.{p}")
        } else {
            format!("patient/{t}.{p}?{}", cs.join("&"))
        }
    })
}

fn resource() -> impl Strategy<Value = Value> {
    (
        0..TYPES.len(),
        prop::option::of(0..DATES.len()),
        prop::collection::vec(0..LABELS.len(), 0..3),
        0..3usize,
        0..3usize,
        any::<bool>(),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(|(t, date, labels, cat, code, own_patient, active, enc)| {
            let ty = TYPES[t];
            let patient = if own_patient { PATIENT } else { "other" };
            let mut r = json!({"resourceType": ty, "id": format!("r{t}"),
                "subject": {"reference": format!("Patient/{patient}")},
                "encounter": {"reference": format!("Encounter/e{enc}")},
                "category": [{"coding": [{"system": SYSTEMS[2], "code": CATS[cat]},
                                         {"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": CODES[code]}]},
                "clinicalStatus": {"coding": [{"code": if active { "active" } else { "resolved" }}]},
                "meta": {"security": labels.iter().map(|l| json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": LABELS[*l]})).collect::<Vec<_>>()}});
            if ty == "Patient" {
                r["id"] = json!(patient);
            }
            if let Some(d) = date {
                let key = match ty { "Condition" => "recordedDate", "Encounter" => "period", _ => "effectiveDateTime" };
                r[key] = if key == "period" { json!({"start": DATES[d]}) } else { json!(DATES[d]) };
            }
            r
        })
}

fn access() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(scope(), 1..4),
        prop::option::of((prop::option::of(0..3usize), prop::option::of(3..5usize))),
        prop::option::of((prop::collection::vec(0..3usize, 0..2), any::<bool>())),
    )
        .prop_map(|(scopes, period, withhold)| {
            let mut a = json!({"smart_scopes": scopes});
            if let Some((s, e)) = period && (s.is_some() || e.is_some()) {
                let mut p = json!({});
                if let Some(s) = s { p["start"] = json!(["2023-01-01", "2023-03", "2022"][s]); }
                if let Some(e) = e { p["end"] = json!(["", "", "", "2023-12-31", "2024"][e]); }
                a["data_period"] = p;
            }
            if let Some((codes, unlisted)) = withhold && (!codes.is_empty() || unlisted) {
                a["sensitivity_withhold"] = json!({"unlisted": unlisted, "codes": codes.iter().map(|c| json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": LABELS[*c]})).collect::<Vec<_>>()});
            }
            a
        })
}

const INTERACTIONS: [Interaction; 3] =
    [Interaction::Read, Interaction::Search, Interaction::Create];

fn allows(grant: &Grant, r: &Value, i: Interaction) -> bool {
    grant.decide(r, i) == Decision::Allow
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The parser is total on arbitrary input (fuzz target twin that runs in CI).
    #[test]
    fn parser_never_panics(s in "\\PC{0,80}", t in "(patient|user|system|x)/[A-Za-z*]{0,8}\\.[cruds*a-z]{0,6}(\\?[a-z:=|,&%\\\\ .]{0,30})?") {
        for syntax in [Syntax::Ticket, Syntax::Requested, Syntax::Registered] {
            let _ = parse_scope(&s, syntax);
            if let Ok(parsed) = parse_scope(&t, syntax) {
                // What we print, we parse back identically (v1 letters print as v2).
                let printed = parsed.to_string();
                prop_assert_eq!(parse_scope(&printed, Syntax::Registered), Ok(parsed));
            }
        }
    }

    /// decide and to_filter agree on generated resources.
    #[test]
    fn decide_agrees_with_filter(a in access(), req in prop::option::of(scope()), rs in prop::collection::vec(resource(), 1..6)) {
        let mut inputs = Inputs::new(TYPE_SELF_ACCESS, a);
        inputs.scope = req;
        if let Ok(grant) = inputs.grant() {
            for r in &rs {
                for i in INTERACTIONS {
                    let facts = extract_facts(r);
                    let by_filter = grant.to_filter(&facts.resource_type, i).is_ok_and(|f| f.matches(&facts));
                    prop_assert_eq!(allows(&grant, r, i), by_filter, "{} {:?}", r, i);
                }
            }
        }
    }

    /// The granted set is never wider than the ticket, the request, or the registration:
    /// whatever the grant releases, each of them alone releases too.
    #[test]
    fn grant_only_narrows(a in access(), req in prop::option::of(scope()), client in prop::option::of(prop::collection::vec(scope(), 1..3)), rs in prop::collection::vec(resource(), 1..6)) {
        let mut inputs = Inputs::new(TYPE_SELF_ACCESS, a.clone());
        inputs.scope = req.clone();
        inputs.client_scopes = client.clone();
        let Ok(grant) = inputs.grant() else { return Ok(()); };
        let ticket_only = Inputs::new(TYPE_SELF_ACCESS, a.clone()).grant().unwrap();
        let mut ceilings = vec![ticket_only];
        let wide = json!({"smart_scopes": ["patient/*.cruds"]});
        if let Some(r) = &req {
            ceilings.push(Inputs::new(TYPE_SELF_ACCESS, wide.clone()).scope(r).grant().unwrap());
        }
        if let Some(c) = &client {
            let mut i = Inputs::new(TYPE_SELF_ACCESS, wide.clone());
            i.client_scopes = Some(c.clone());
            ceilings.push(i.grant().unwrap());
        }
        for r in &rs {
            for i in INTERACTIONS {
                if allows(&grant, r, i) {
                    for c in &ceilings {
                        prop_assert!(allows(c, r, i), "{} released beyond {}", r, c.scope_string());
                    }
                }
            }
        }
        // Syntactically too: every granted scope's type appears in the ticket's grant.
        let ticket_types = Inputs::new(TYPE_SELF_ACCESS, a).grant().unwrap();
        for t in grant.allowed_types() {
            prop_assert!(ticket_types.allowed_types().contains(&t));
        }
    }

    /// Adding a constraint (period, withhold, extra request narrowing) never releases more.
    #[test]
    fn adding_a_constraint_never_releases_more(a in access(), extra in access(), rs in prop::collection::vec(resource(), 1..6)) {
        let Ok(base) = Inputs::new(TYPE_SELF_ACCESS, a.clone()).grant() else { return Ok(()); };
        let mut tighter = a.clone();
        for key in ["data_period", "sensitivity_withhold"] {
            if tighter.get(key).is_none() && let Some(v) = extra.get(key) {
                tighter[key] = v.clone();
            }
        }
        let narrowed = Inputs::new(TYPE_SELF_ACCESS, tighter.clone()).grant();
        let requested = extra["smart_scopes"][0].as_str().map(|s| Inputs::new(TYPE_SELF_ACCESS, a.clone()).scope(s).grant());
        for g in [narrowed.ok(), requested.and_then(Result::ok)].into_iter().flatten() {
            for r in &rs {
                for i in INTERACTIONS {
                    if allows(&g, r, i) {
                        prop_assert!(allows(&base, r, i), "{} released only after narrowing", r);
                    }
                }
            }
        }
    }
}
