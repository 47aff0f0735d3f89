//! Micro-benchmarks of each layer of a redemption, side by side with the crypto primitives
//! they rest on (issue 12): ES256 sign/verify, RS256 verify, ticket verify, client-assertion
//! verify, DPoP proof verify, token mint, scope parsing, an enforced store search
//! (Filter → SQL → rows), and one whole in-process redemption (every step, durable commit).
//! `cargo bench -p tessera-bench` (divan; docs/decisions.md).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, OnceLock};

use divan::Bencher;
use serde_json::{Map, json};
use tessera_access::scope::{Syntax, parse_scope};
use tessera_access::{Filter, GrantRequest, HolderProfile, Interaction, LocalPolicy};
use tessera_bench::fixture::{BASE, Fixture, SCOPES, now};
use tessera_bench::load::exchange_form;
use tessera_holder::subject::matching_records;
use tessera_holder::subject::store_records::StoreRecords;
use tessera_holder::token::access_token::{new_token_string, token_hash};
use tessera_holder::token::dpop::{ProofExpectation, verify_proof};
use tessera_holder::token::request::FormParams;
use tessera_holder::{Clock, HolderState};
use tessera_jose::{Alg, JwkSet, Limits, PrivateJwk, decode, sign_compact};
use tessera_store::Scope;
use tessera_store::sql::{Dialect, search_statements};
use tessera_ticket::UnverifiedTicket;

fn main() {
    divan::main();
}

struct World {
    _dir: tempfile::TempDir,
    fx: Fixture,
    state: HolderState,
    runtime: tokio::runtime::Runtime,
}

#[derive(Debug)]
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        now()
    }
}

/// Twenty synthetic patients in a file store, and the Data Holder over them (no HTTP).
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let fx = Fixture::create(dir.path(), 20, None, None).unwrap();
        let config =
            tessera_holder::config::Config::load(fx.config_path.as_deref().unwrap()).unwrap();
        let (store, db) = tessera_holder::serve::open_stores(&config).unwrap();
        tessera_holder::serve::ingest_configured(&config, store.as_ref(), now()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let state = runtime.block_on(async {
            HolderState::new(config, Arc::new(SystemClock), store, db).unwrap()
        });
        World {
            _dir: dir,
            fx,
            state,
            runtime,
        }
    })
}

fn payload() -> Vec<u8> {
    serde_json::to_vec(&json!({"iss": "a", "sub": "a", "aud": "b", "jti": "j", "exp": 1})).unwrap()
}

#[divan::bench]
fn es256_sign(b: Bencher) {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let signer = key.signer().unwrap();
    let body = payload();
    b.bench(|| sign_compact(&Map::new(), &body, &signer).unwrap());
}

#[divan::bench(args = [Alg::Es256, Alg::Rs256])]
fn jws_verify(b: Bencher, alg: Alg) {
    let key = PrivateJwk::generate(alg).unwrap();
    let jws = sign_compact(&Map::new(), &payload(), &key.signer().unwrap()).unwrap();
    let public = key.public().clone();
    b.bench(|| {
        decode(&jws, &Limits::client())
            .unwrap()
            .verify_with(&public)
            .unwrap()
    });
}

#[divan::bench]
fn ticket_verify(b: Bencher) {
    let w = world();
    let keys = JwkSet::new(vec![w.fx.issuer.public().clone()]);
    let ticket = w.fx.ticket(0).unwrap();
    b.bench(|| {
        UnverifiedTicket::parse(&ticket, &tessera_ticket::Limits::ticket())
            .unwrap()
            .verify_signature(&keys)
            .unwrap()
    });
}

#[divan::bench]
fn client_assertion_verify(b: Bencher) {
    let w = world();
    let key = w.fx.client.public().clone();
    let a = w.fx.assertion().unwrap();
    b.bench(|| {
        decode(&a, &Limits::client())
            .unwrap()
            .verify_with(&key)
            .unwrap()
    });
}

#[divan::bench]
fn dpop_verify(b: Bencher) {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    let mut header = Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    header.insert("jwk".into(), key.public().to_value());
    let t = now();
    let htu = format!("{BASE}/token");
    let claims = json!({"htm": "POST", "htu": htu, "iat": t, "jti": "p1"});
    let proof = sign_compact(
        &header,
        &serde_json::to_vec(&claims).unwrap(),
        &key.signer().unwrap(),
    )
    .unwrap();
    let want = ProofExpectation {
        htm: "POST",
        htu: &htu,
        access_token: None,
        now: t,
        leeway: 30,
    };
    b.bench(|| verify_proof(&proof, want).unwrap());
}

#[divan::bench]
fn token_mint(b: Bencher) {
    b.bench(|| token_hash(&new_token_string().unwrap()));
}

#[divan::bench]
fn scope_parse(b: Bencher) {
    b.bench(|| {
        for s in SCOPES {
            divan::black_box(parse_scope(s, Syntax::Ticket).unwrap());
        }
    });
}

#[divan::bench]
fn enforced_search(b: Bencher) {
    let w = world();
    let store = w.state.store().clone();
    let patient = &w.fx.subjects[0].id;
    let grant = Filter::PatientIs(patient.clone());
    let pairs = vec![("_count".to_owned(), "50".to_owned())];
    let q = tessera_fhir::parse_search("Observation", &pairs).unwrap();
    b.bench(|| store.search(Scope::Network, &q, &grant).unwrap());
}

/// The whole token exchange without HTTP: every pipeline step and the durable group commit.
#[divan::bench(sample_count = 50)]
fn redemption_in_process(b: Bencher) {
    let w = world();
    b.with_inputs(|| {
        let body = exchange_form(&w.fx.ticket(0).unwrap(), &w.fx.assertion().unwrap());
        FormParams::parse(Some("application/x-www-form-urlencoded"), body.as_bytes()).unwrap()
    })
    .bench_values(|params| {
        w.runtime
            .block_on(tessera_holder::token::exchange::redeem(
                &w.state, &params, None,
            ))
            .unwrap()
    });
}

const SELF_ACCESS: &str = "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1";

/// The benchmark ticket's access object: the scopes every `tessera bench` ticket carries.
fn bench_access() -> tessera_ticket::claims::Access {
    serde_json::from_value(json!({"smart_scopes": SCOPES})).unwrap()
}

fn grant_for(
    access: &tessera_ticket::claims::Access,
    holder: &HolderProfile,
    policy: &LocalPolicy,
) -> tessera_access::Grant {
    tessera_access::compute_grant(&GrantRequest {
        ticket_type: SELF_ACCESS,
        access,
        release_authorized: None,
        reportable_condition: None,
        measure: None,
        requested_scope: None,
        client_scopes: None,
        patient_id: "p1",
        claim_encounters: &[],
        holder,
        policy,
    })
    .unwrap()
}

/// Access calculation alone: ticket ∩ requested ∩ client ∩ local policy → Grant.
#[divan::bench]
fn compute_grant(b: Bencher) {
    let access = bench_access();
    let holder = HolderProfile::default();
    let policy = LocalPolicy::reference_defaults();
    b.bench(|| grant_for(&access, &holder, &policy));
}

/// The Grant's filter for one type compiled, with a search, into SQL (count and page).
#[divan::bench]
fn filter_to_sql(b: Bencher) {
    let grant = grant_for(
        &bench_access(),
        &HolderProfile::default(),
        &LocalPolicy::reference_defaults(),
    );
    let filter = grant.to_filter("Observation", Interaction::Search).unwrap();
    let pairs = vec![
        ("_count".to_owned(), "50".to_owned()),
        ("code".to_owned(), "http://loinc.org|4548-4".to_owned()),
    ];
    let q = tessera_fhir::parse_search("Observation", &pairs).unwrap();
    b.bench(|| search_statements(Dialect::Sqlite, Scope::Network, &q, &filter).unwrap());
}

/// Step 14's matching: the ticket's `subject.patient` against the store (identifier
/// lookups, then the consistency check), without the linkage lookup.
#[divan::bench]
fn subject_matching(b: Bencher) {
    let w = world();
    let records = StoreRecords(w.state.store().clone());
    let subject: tessera_ticket::claims::Subject =
        serde_json::from_value(json!({"patient": w.fx.subjects[0].patient})).unwrap();
    let bases = [BASE.to_owned()];
    // On SQLite the lookups answer at once; `block_on` adds only the runtime's poll.
    b.bench(|| {
        w.runtime
            .block_on(matching_records(&records, &subject, None, &bases))
            .unwrap()
    });
}
