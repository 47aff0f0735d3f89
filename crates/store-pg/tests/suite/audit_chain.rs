//! The audit hash chain on PostgreSQL (docs/design/003-audit-chain.md): two nodes appending
//! at once still form one intact chain; an altered, deleted or cut row is named by `verify`;
//! the application cannot update, delete or truncate audit rows, nor move the head but
//! forward to an existing row.

use std::sync::{Arc, Barrier};

use tessera_store::audit::{AuditChainStore, AuditRecord};
use tessera_store::audit_chain::FaultKind;
use tessera_store::durable::{OnceKey, SetOutcome, TokenStore, WriteSet};
use tessera_store_pg::PgTokenStore;
use tessera_store_pg::testing::TestDb;

fn node(db: &TestDb) -> Arc<PgTokenStore> {
    let options = tessera_store_pg::PoolOptions {
        max: 2,
        ..tessera_store_pg::PoolOptions::default()
    };
    tessera_store_pg::open(db.url(), options).unwrap().1
}

fn row(jti: &str, outcome: &str) -> AuditRecord {
    AuditRecord {
        at: 100,
        event: "token_exchange".into(),
        outcome: outcome.into(),
        jti: Some(jti.into()),
        ..AuditRecord::default()
    }
}

/// A redemption spending `key`, refused with its own audit row when the key is spent.
fn redemption(key: &str, jti: &str) -> WriteSet {
    WriteSet {
        now: 100,
        once: vec![OnceKey {
            namespace: "client-a".into(),
            key: key.into(),
            keep_until: 500,
            on_conflict: Some(row(jti, "rejected")),
        }],
        audit: vec![row(jti, "accepted")],
        ..WriteSet::default()
    }
}

fn fault_of(store: &PgTokenStore) -> (Option<i64>, FaultKind) {
    let f = store.verify_audit_chain(None).unwrap().outcome.unwrap_err();
    (f.row_id, f.kind)
}

#[test]
fn two_nodes_appending_at_once_form_one_intact_chain() {
    let Some(db) = TestDb::new() else { return };
    let (a, b) = (node(&db), node(&db));
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(t, store)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..10 {
                    // Every key twice across the threads: half the sets are refusals, which
                    // are chained too.
                    let sets = [
                        redemption(&format!("k{}-{i}", t % 2), &format!("t{t}-{i}")),
                        WriteSet::audit_only(100, row(&format!("t{t}-{i}-x"), "rejected")),
                    ];
                    store.commit_batch(&sets).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for store in [&a, &b] {
        let summary = store.verify_audit_chain(None).unwrap().outcome.unwrap();
        assert_eq!(summary.rows, 80);
        assert_eq!(summary.head.seq, 80);
        assert_eq!(store.audit_head().unwrap(), Some(summary.head));
    }
    let accepted = a
        .audit_recent()
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == "accepted")
        .count();
    assert_eq!(accepted, 20, "each of the 20 keys accepted once");
}

#[test]
fn altered_deleted_and_cut_rows_are_named() {
    let Some(mut db) = TestDb::new() else { return };
    let store = node(&db);
    for i in 0..5 {
        let out = store
            .commit_batch(&[redemption(&format!("k{i}"), &format!("t{i}"))])
            .unwrap();
        assert_eq!(out, [SetOutcome::Committed]);
    }
    let anchor = store.audit_head().unwrap().unwrap();
    let table = format!("{}.redemption_audit", db.schema());
    // As an attacker with the database would: the append-only triggers off first.
    let admin = db.admin();
    admin
        .batch_execute(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "UPDATE {table} SET outcome = 'rejected' WHERE id = 2"
        ))
        .unwrap();
    assert_eq!(fault_of(&store), (Some(2), FaultKind::Altered));
    admin
        .batch_execute(&format!(
            "UPDATE {table} SET outcome = 'accepted' WHERE id = 2"
        ))
        .unwrap();
    assert!(
        store
            .verify_audit_chain(Some(anchor.hash))
            .unwrap()
            .outcome
            .is_ok()
    );
    admin
        .batch_execute(&format!("DELETE FROM {table} WHERE id = 3"))
        .unwrap();
    assert_eq!(fault_of(&store), (Some(4), FaultKind::Deleted));
    admin
        .batch_execute(&format!("DELETE FROM {table} WHERE id >= 3"))
        .unwrap();
    assert_eq!(fault_of(&store), (None, FaultKind::BrokenAtEnd));
}

#[test]
fn audit_rows_are_append_only_and_the_head_only_advances() {
    let Some(mut db) = TestDb::new() else { return };
    let store = node(&db);
    store
        .commit_batch(&[WriteSet::audit_only(100, row("t1", "accepted"))])
        .unwrap();
    let schema = db.schema().to_string();
    let admin = db.admin();
    let refused = |admin: &mut postgres::Client, sql: &str| -> String {
        let e = admin.batch_execute(sql).unwrap_err();
        e.as_db_error().unwrap().message().to_string()
    };
    for sql in [
        format!("UPDATE {schema}.redemption_audit SET outcome = 'rejected'"),
        format!("DELETE FROM {schema}.redemption_audit"),
        format!("TRUNCATE {schema}.redemption_audit"),
    ] {
        assert_eq!(
            refused(admin, &sql),
            "redemption_audit is append-only",
            "{sql}"
        );
    }
    assert_eq!(
        refused(admin, &format!("DELETE FROM {schema}.audit_chain_head")),
        "the audit chain head cannot be deleted"
    );
    for sql in [
        format!("UPDATE {schema}.audit_chain_head SET seq = seq - 1"),
        format!("UPDATE {schema}.audit_chain_head SET seq = seq + 1"),
    ] {
        assert_eq!(
            refused(admin, &sql),
            "the audit chain head only advances to the newest row",
            "{sql}"
        );
    }
    assert!(store.verify_audit_chain(None).unwrap().outcome.is_ok());
}

// Rows written before the chain (a database migrated by a Tessera without it) are chained
// once, by the first node opening it afterwards; a head deleted later is not re-created.
#[test]
fn rows_from_before_the_chain_are_chained_once_and_a_lost_head_stays_lost() {
    let Some(mut db) = TestDb::new() else { return };
    let store = node(&db);
    for i in 0..3 {
        store
            .commit_batch(&[WriteSet::audit_only(
                100,
                row(&format!("old{i}"), "accepted"),
            )])
            .unwrap();
    }
    drop(store);
    let s = db.schema().to_string();
    // Back to the state the chain's migration leaves an older trail in.
    db.admin()
        .batch_execute(&format!(
            "ALTER TABLE {s}.redemption_audit DISABLE TRIGGER USER;
             ALTER TABLE {s}.audit_chain_head DISABLE TRIGGER USER;
             UPDATE {s}.redemption_audit SET chain_seq = NULL, chain_version = NULL,
                 prev_hash = NULL, chain_hash = NULL;
             DELETE FROM {s}.audit_chain_head;
             UPDATE {s}.audit_chain_origin SET pending = TRUE, legacy_rows = 0;
             ALTER TABLE {s}.redemption_audit ENABLE TRIGGER USER;
             ALTER TABLE {s}.audit_chain_head ENABLE TRIGGER USER;"
        ))
        .unwrap();
    let store = node(&db);
    store
        .commit_batch(&[WriteSet::audit_only(100, row("new", "accepted"))])
        .unwrap();
    let report = store.verify_audit_chain(None).unwrap();
    assert_eq!(report.legacy_rows, 3);
    assert_eq!(report.outcome.unwrap().rows, 4);
    drop(store);

    db.admin()
        .batch_execute(&format!(
            "ALTER TABLE {s}.audit_chain_head DISABLE TRIGGER USER;
             DELETE FROM {s}.audit_chain_head;"
        ))
        .unwrap();
    let store = node(&db);
    let err = store
        .commit_batch(&[WriteSet::audit_only(100, row("after", "accepted"))])
        .unwrap_err();
    assert_eq!(
        err.0,
        "corrupt row: audit chain head missing: refusing to append (run `tessera audit verify`)"
    );
    assert_eq!(fault_of(&store), (None, FaultKind::BrokenAtEnd));
}
