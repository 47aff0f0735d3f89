//! Property tests: step-3 parsing and the whole staged pipeline never panic on peer input
//! (style.md §14; the `ticket_decode` fuzz target explores the same surface without bounds).
//! Every rejection must come back as a `TicketError`, never as a panic.

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tessera_jose::{Alg, JwkSet, PrivateJwk, sign_compact};
use tessera_ticket::{AccessOptions, Limits, TicketType, UnverifiedTicket};

use crate::support::read;

const SEEDS: [&str; 5] = [
    "seed/uc1-4b33cc1d-0f6b-44bf-bd33-80f6d7140f3e-v2.jwt",
    "seed/uc2-8c6f4ec2-4fb6-4c42-9530-6bbd11c77e49.jwt",
    "seed/uc3-16ff62cf-2d2d-4b30-8c86-6a13d7ab7d16.jwt",
    "seed/uc5-2f9a7c11-5d28-4e6b-9b54-3c1f8a02d977.jwt",
    "seed/qg-7b41d6e8-90af-4c33-8d12-64e07f5a21c9.jwt",
];

/// Names the mutations aim at: envelope, shell and `access` members, legacy shapes included.
const NAMES: [&str; 24] = [
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "ticket_type",
    "subject",
    "requester",
    "presenter_binding",
    "revocation",
    "context",
    "smart_scopes",
    "periods",
    "jurisdictions",
    "organizations",
    "data_holder_filter",
    "sensitivity_withhold",
    "claim_linkage",
    "permissions",
    "fhir_resources",
    "sensitive_data",
    "patient",
    "resourceType",
];

struct Fixture {
    key: PrivateJwk,
    keys: JwkSet,
    payloads: Vec<Map<String, Value>>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let keys = JwkSet::new(vec![key.public().clone()]);
    let payloads = SEEDS
        .iter()
        .map(|s| {
            tessera_jose::decode(read(s).trim(), &Limits::ticket())
                .unwrap()
                .claims()
                .clone()
        })
        .collect();
    Fixture {
        key,
        keys,
        payloads,
    }
});

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::from),
        prop::sample::select(&NAMES[..]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(&NAMES[..]), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// (top level?, claim name, replacement value or removal)
fn mutation() -> impl Strategy<Value = (bool, &'static str, Option<Value>)> {
    (
        any::<bool>(),
        prop::sample::select(&NAMES[..]),
        prop::option::of(json_value()),
    )
}

/// Runs every stage the pure crate offers; any outcome but a panic is fine. Returns whether
/// the ticket came out verified.
fn run_pipeline(token: &str, keys: &JwkSet, now: i64, opts: &AccessOptions) -> bool {
    let Ok(u) = UnverifiedTicket::parse(token, &Limits::ticket()) else {
        return false;
    };
    let _ = (u.issuer(), u.kid(), u.alg(), u.envelope());
    let Ok(signed) = u.verify_signature(keys) else {
        return false;
    };
    let _ = signed.ticket_type_uri();
    let Ok(typed) = signed.check_type(&TicketType::ALL) else {
        return false;
    };
    let Ok(current) = typed.check_times(now, 30) else {
        return false;
    };
    let _ = current.check_binding_required();
    let Ok(constrained) = current.check_access(opts) else {
        return false;
    };
    let _ = constrained.access();
    constrained.check_type_rules().is_ok()
}

fn sign(payload: &Map<String, Value>) -> String {
    let fx = &*FIXTURE;
    sign_compact(
        &Map::new(),
        &serde_json::to_vec(payload).unwrap(),
        &fx.key.signer().unwrap(),
    )
    .unwrap()
}

fn now_for(payload: &Map<String, Value>) -> i64 {
    payload.get("iat").and_then(Value::as_i64).unwrap_or(0) + 60
}

/// The mutation property is only worth something if unmutated seeds, re-signed, go all the
/// way through (some seeds use the legacy `access` shapes).
#[test]
fn resigned_seeds_verify() {
    let legacy = AccessOptions {
        legacy_access_shapes: true,
        sensitivity_withhold: false,
    };
    for (p, name) in FIXTURE.payloads.iter().zip(SEEDS) {
        assert!(
            run_pipeline(&sign(p), &FIXTURE.keys, now_for(p), &legacy),
            "{name}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = tessera_jose::decode(&s, &Limits::ticket());
        let _ = UnverifiedTicket::parse(&s, &Limits::ticket());
    }

    #[test]
    fn parse_never_panics_on_jws_shaped_strings(s in "[A-Za-z0-9_.=+/-]{0,300}") {
        let _ = tessera_jose::decode(&s, &Limits::ticket());
        let _ = UnverifiedTicket::parse(&s, &Limits::ticket());
    }

    #[test]
    fn parse_never_panics_on_arbitrary_json_segments(header in json_value(), payload in json_value(), sig in any::<Vec<u8>>()) {
        let enc = |v: &Value| tessera_jose::b64::encode(v.to_string());
        let token = format!("{}.{}.{}", enc(&header), enc(&payload), tessera_jose::b64::encode(sig));
        let _ = UnverifiedTicket::parse(&token, &Limits::ticket());
    }

    /// Authentic tickets with hostile claims: the deepest surface (type shell, `access`
    /// normalization incl. legacy translation, type rules) under every option setting.
    #[test]
    fn staged_pipeline_never_panics_on_signed_mutations(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..5),
        legacy in any::<bool>(),
        withhold in any::<bool>(),
    ) {
        let fx = &*FIXTURE;
        let mut payload = fx.payloads[seed].clone();
        let now = now_for(&payload);
        for (top, name, value) in mutations {
            let target = if top {
                Some(&mut payload)
            } else {
                payload.get_mut("access").and_then(Value::as_object_mut)
            };
            if let Some(obj) = target {
                match value {
                    Some(v) => obj.insert(name.to_owned(), v),
                    None => obj.remove(name),
                };
            }
        }
        let opts = AccessOptions { legacy_access_shapes: legacy, sensitivity_withhold: withhold };
        run_pipeline(&sign(&payload), &fx.keys, now, &opts);
    }
}
