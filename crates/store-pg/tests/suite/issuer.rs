//! The issuer's storage contract (`tessera_issuer::IssuerStore`) on SQLite (a file) and on
//! PostgreSQL: records round-trip, revocation keeps its first author, a failed mint stores
//! nothing and consumes no index, full lists and colliding probes, assertion replay — and on
//! PostgreSQL, two issuer processes' worth of pools racing on one database.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use serde_json::json;
use tessera_issuer::{Db, IssuanceRecord, IssueError, IssuerStore, RefusalRecord};
use tessera_store_pg::PoolOptions;
use tessera_store_pg::issuer::PgIssuerStore;
use tessera_store_pg::testing::TestDb;

use crate::backends::Guard;

struct Issuers {
    name: &'static str,
    store: Arc<dyn IssuerStore>,
    _guard: Guard,
}

fn pg(db: &TestDb) -> PgIssuerStore {
    tessera_store_pg::issuer::open(db.url(), PoolOptions::default()).unwrap()
}

/// SQLite, then PostgreSQL when a server answers.
fn issuers() -> Vec<Issuers> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open(&dir.path().join("issuer.db")).unwrap();
    let mut v = vec![Issuers {
        name: "sqlite",
        store: Arc::new(sqlite),
        _guard: Guard::Dir(dir),
    }];
    if let Some(db) = TestDb::new() {
        v.push(Issuers {
            name: "postgres",
            store: Arc::new(pg(&db)),
            _guard: Guard::Pg(Box::new(db)),
        });
    }
    v
}

fn record(jti: &str, index: u64) -> IssuanceRecord {
    IssuanceRecord {
        jti: jti.into(),
        ticket_type: "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1"
            .into(),
        subject: "Ana Díaz 1980-01-01".into(),
        requester: None,
        requested_by: "app".into(),
        issued_at: 100,
        expires_at: 1000,
        kid: "k1".into(),
        status_list: "l".into(),
        status_index: index,
        status_url: "https://issuer.example/status/l".into(),
        revoked_at: None,
        revoked_by: None,
        claims: json!({"jti": jti, "b": [1, 2], "a": "ü"}),
        verification: Some(json!({"facts": ["identity"]})),
        revocation_management: None,
    }
}

fn mint(
    store: &dyn IssuerStore,
    jti: &str,
    size: u64,
    random: &mut dyn FnMut() -> u64,
) -> Result<Option<(IssuanceRecord, String)>, IssueError> {
    let jti = jti.to_owned();
    store.issue(
        "l",
        size,
        random,
        Box::new(move |i| Ok((record(&jti, i), format!("token-{jti}")))),
    )
}

#[test]
fn issuer_records_round_trip_and_revocation_keeps_its_first_author() {
    for b in issuers() {
        let s = b.store.as_ref();
        let (rec, token) = mint(s, "t1", 16, &mut || 5).unwrap().unwrap();
        assert_eq!(
            (rec.status_index, token.as_str()),
            (5, "token-t1"),
            "{}",
            b.name
        );
        assert_eq!(s.get("t1").unwrap(), Some(record("t1", 5)), "{}", b.name);
        assert_eq!(s.get("nope").unwrap(), None, "{}", b.name);
        assert!(s.has_unexpired("k1", 999).unwrap(), "{}", b.name);
        assert!(!s.has_unexpired("k1", 1000).unwrap(), "{}", b.name);
        assert!(!s.has_unexpired("k2", 0).unwrap(), "{}", b.name);

        assert!(s.revoke("t1", "app", 200).unwrap(), "{}", b.name);
        assert!(s.revoke("t1", "operator", 300).unwrap(), "{}", b.name);
        assert!(!s.revoke("nope", "app", 300).unwrap(), "{}", b.name);
        let got = s.get("t1").unwrap().unwrap();
        assert_eq!(
            (got.revoked_at, got.revoked_by.as_deref()),
            (Some(200), Some("app")),
            "{}",
            b.name
        );
        assert_eq!(s.revoked_indexes("l").unwrap(), vec![5], "{}", b.name);
        assert!(s.revoked_indexes("other").unwrap().is_empty(), "{}", b.name);
    }
}

#[test]
fn issuer_failed_mints_store_nothing_full_lists_refuse_and_collisions_scan() {
    for b in issuers() {
        let s = b.store.as_ref();
        let failed = s.issue(
            "l",
            3,
            &mut || 0,
            Box::new(|_| Err(IssueError::NotFound("signing refused".into()))),
        );
        assert!(
            matches!(failed, Err(IssueError::NotFound(ref m)) if m == "signing refused"),
            "{}: {failed:?}",
            b.name
        );
        // The random source always says 0: after the first, probes collide and the scan
        // finds the next gap; index 0 was not consumed by the failed mint.
        let mut indexes = Vec::new();
        for jti in ["a", "b", "c"] {
            indexes.push(mint(s, jti, 3, &mut || 0).unwrap().unwrap().0.status_index);
        }
        assert_eq!(indexes, vec![0, 1, 2], "{}", b.name);
        assert!(
            mint(s, "d", 3, &mut || 0).unwrap().is_none(),
            "{}: full",
            b.name
        );
        assert_eq!(s.get("d").unwrap(), None, "{}", b.name);
    }
}

#[test]
fn issuer_assertion_jtis_are_fresh_once_until_they_expire() {
    for b in issuers() {
        let s = b.store.as_ref();
        assert!(
            s.record_assertion("app", "j1", 500, 100).unwrap(),
            "{}",
            b.name
        );
        assert!(
            !s.record_assertion("app", "j1", 500, 200).unwrap(),
            "{}",
            b.name
        );
        assert!(
            s.record_assertion("other", "j1", 500, 200).unwrap(),
            "{}",
            b.name
        );
        // Purged once expired: the assertion itself is past its exp by then.
        assert!(
            s.record_assertion("app", "j1", 900, 500).unwrap(),
            "{}",
            b.name
        );
    }
}

fn refusal(at: i64, endpoint: &str, client: Option<&str>) -> RefusalRecord {
    RefusalRecord {
        id: 0,
        at,
        endpoint: endpoint.into(),
        client_id: client.map(str::to_owned),
        claimed_client_id: None,
        status: 404,
        error: "not_found".into(),
        error_description: "no such ticket: Ana Díaz's".into(),
        ticket_type: None,
        jti: Some("j-1".into()),
    }
}

#[test]
fn issuer_refusals_are_kept_in_order_and_are_append_only() {
    for b in issuers() {
        let s = b.store.as_ref();
        for (at, endpoint) in [(1, "mint"), (2, "record"), (3, "revoke")] {
            s.record_refusal(&refusal(at, endpoint, Some("app")))
                .unwrap();
        }
        let latest = s.refusals(2).unwrap();
        let got: Vec<(i64, &str)> = latest.iter().map(|r| (r.at, r.endpoint.as_str())).collect();
        assert_eq!(got, [(2, "record"), (3, "revoke")], "{}", b.name);
        assert!(latest[0].id < latest[1].id, "{}", b.name);
        let mut want = refusal(3, "revoke", Some("app"));
        want.id = latest[1].id;
        assert_eq!(latest[1], want, "{}: every field round-trips", b.name);
        // Neither an update nor a delete gets through, whoever asks.
        let refused: Vec<String> = match &b._guard {
            Guard::Dir(dir) => {
                let c = rusqlite::Connection::open(dir.path().join("issuer.db")).unwrap();
                ["UPDATE refusal SET status = 200", "DELETE FROM refusal"]
                    .iter()
                    .map(|q| c.execute(q, []).unwrap_err().to_string())
                    .collect()
            }
            Guard::Pg(db) => {
                let mut c = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
                [
                    "UPDATE issuer_refusal SET status = 200",
                    "DELETE FROM issuer_refusal",
                    "TRUNCATE issuer_refusal",
                ]
                .iter()
                .map(|q| {
                    let e = c.batch_execute(q).unwrap_err();
                    e.as_db_error()
                        .map_or(e.to_string(), |d| d.message().to_owned())
                })
                .collect()
            }
        };
        for e in &refused {
            assert!(e.contains("refusal is append-only"), "{}: {e}", b.name);
        }
        assert_eq!(s.refusals(10).unwrap().len(), 3, "{}", b.name);
    }
}

#[test]
fn issuer_two_pools_on_one_postgres_never_share_an_index_or_a_jti() {
    let Some(db) = TestDb::new() else {
        return;
    };
    let nodes = [Arc::new(pg(&db)), Arc::new(pg(&db))];
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let node = nodes[t % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut out = Vec::new();
                let mut fresh = 0;
                for i in 0..10 {
                    // Every thread draws the same sequence: collisions are the rule.
                    let mut seq = (0..).map(move |k: u64| (k * 7 + i) % 64);
                    let minted = mint(node.as_ref(), &format!("t{t}-{i}"), 64, &mut || {
                        seq.next().unwrap_or(0)
                    });
                    out.push(minted.unwrap().unwrap().0.status_index);
                    if node
                        .record_assertion("app", &format!("j{i}"), 500, 100)
                        .unwrap()
                    {
                        fresh += 1;
                    }
                }
                (out, fresh)
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    let mut fresh = 0;
    for t in threads {
        let (indexes, f) = t.join().unwrap();
        fresh += f;
        for i in indexes {
            assert!(all.insert(i), "index {i} handed out twice");
        }
    }
    assert_eq!(all.len(), 40);
    assert_eq!(fresh, 10, "each jti fresh exactly once across both nodes");
    drop(nodes);
    drop(db);
}
