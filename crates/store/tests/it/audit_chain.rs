//! The audit hash chain on a real SQLite file: an untouched trail verifies; rows tampered with
//! directly in the file (as someone with the file would: triggers dropped first) are caught
//! and named; the append-only triggers refuse changes; databases from before the chain are
//! migrated; concurrent appenders on one file keep one chain; anchors are checked.

use std::path::Path;
use std::sync::{Arc, Barrier};

use rusqlite::Connection;
use tessera_store::audit::{AuditChainStore, AuditRecord};
use tessera_store::audit_chain::{ChainHead, FaultKind};
use tessera_store::durable::{OnceKey, SetOutcome, TokenStore, WriteSet};
use tessera_store::token_db::TokenDb;

fn audit(i: usize) -> AuditRecord {
    AuditRecord {
        at: 1000 + i as i64,
        event: "token_exchange".into(),
        outcome: "accepted".into(),
        jti: Some(format!("t{i}")),
        client_id: Some("app".into()),
        ..AuditRecord::default()
    }
}

/// A file trail of five rows (ids 1..=5): two appended alone, a batch of two sets (one a
/// replay whose `on_conflict` row is written instead) and one more alone.
fn trail(dir: &Path) -> (TokenDb, std::path::PathBuf) {
    let path = dir.join("tokens.db");
    let db = TokenDb::open(&path).unwrap();
    db.append_audit(&audit(1)).unwrap();
    db.append_audit(&audit(2)).unwrap();
    let key = |k: &str| OnceKey {
        namespace: "app".into(),
        key: k.into(),
        keep_until: 5000,
        on_conflict: Some(AuditRecord {
            outcome: "rejected".into(),
            ..audit(4)
        }),
    };
    let set = |k: &str, i: usize| WriteSet {
        now: 1000,
        once: vec![key(k)],
        audit: vec![audit(i)],
        ..WriteSet::default()
    };
    let out = db.commit_batch(&[set("a", 3), set("a", 4)]).unwrap();
    assert_eq!(out, vec![SetOutcome::Committed, SetOutcome::Conflict(0)]);
    db.append_audit(&audit(5)).unwrap();
    (db, path)
}

/// A connection to the file with the append-only triggers gone.
fn tamper(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "DROP TRIGGER redemption_audit_no_update; DROP TRIGGER redemption_audit_no_delete; \
         DROP TRIGGER audit_chain_head_advances; DROP TRIGGER audit_chain_head_kept;",
    )
    .unwrap();
    c
}

/// The first fault of the chain in the file at `path` (opened afresh, as the CLI does).
fn fault(path: &Path) -> (Option<i64>, FaultKind, String) {
    let report = TokenDb::open(path)
        .unwrap()
        .verify_audit_chain(None)
        .unwrap();
    let f = report.outcome.unwrap_err();
    (f.row_id, f.kind, f.detail)
}

#[test]
fn an_untouched_trail_verifies_and_its_head_is_the_last_row() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = trail(dir.path());
    let report = db.verify_audit_chain(None).unwrap();
    let summary = report.outcome.unwrap();
    assert_eq!(summary.rows, 5);
    assert_eq!(report.legacy_rows, 0);
    let head = db.audit_head().unwrap().unwrap();
    assert_eq!(summary.head, head);
    assert_eq!((head.seq, head.row_id), (5, 5));
    let recent = db.audit_recent().unwrap();
    assert_eq!(recent.last().unwrap().jti.as_deref(), Some("t5"));
    assert_eq!(
        recent[3].outcome, "rejected",
        "the conflict row is chained too"
    );
}

#[test]
fn the_triggers_refuse_updates_and_deletes_of_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, path) = trail(dir.path());
    let c = Connection::open(&path).unwrap();
    let err = |sql: &str| c.execute_batch(sql).unwrap_err().to_string();
    assert_eq!(
        err("UPDATE redemption_audit SET outcome = 'rejected' WHERE id = 2"),
        "redemption_audit is append-only"
    );
    assert_eq!(
        err("DELETE FROM redemption_audit WHERE id = 5"),
        "redemption_audit is append-only"
    );
    assert_eq!(
        err("INSERT INTO redemption_audit (at, event, outcome) VALUES (1, 'e', 'accepted')"),
        "redemption_audit rows must be chained"
    );
    assert_eq!(
        err("UPDATE audit_chain_head SET seq = 4"),
        "the audit chain head only advances to the newest row"
    );
    assert_eq!(
        err("DELETE FROM audit_chain_head"),
        "the audit chain head cannot be deleted"
    );
}

#[test]
fn an_updated_field_is_caught_at_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, path) = trail(dir.path());
    tamper(&path)
        .execute_batch("UPDATE redemption_audit SET outcome = 'rejected' WHERE id = 3")
        .unwrap();
    let (row, kind, detail) = fault(&path);
    assert_eq!((row, kind), (Some(3), FaultKind::Altered));
    assert_eq!(detail, "content does not match its hash (position 3)");
}

#[test]
fn a_deleted_middle_row_is_caught_at_the_next_row() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, path) = trail(dir.path());
    tamper(&path)
        .execute_batch("DELETE FROM redemption_audit WHERE id = 2")
        .unwrap();
    let (row, kind, detail) = fault(&path);
    assert_eq!((row, kind), (Some(3), FaultKind::Deleted));
    assert_eq!(detail, "positions 2..2 missing before it (after row 1)");
}

#[test]
fn two_rows_with_swapped_contents_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, path) = trail(dir.path());
    // Every column but the id exchanged between rows 2 and 3 (their hashes with them).
    tamper(&path)
        .execute_batch(
            "CREATE TEMP TABLE s AS SELECT * FROM redemption_audit WHERE id IN (2, 3);
             UPDATE s SET id = 5 - id;
             DELETE FROM redemption_audit WHERE id IN (2, 3);
             INSERT INTO redemption_audit SELECT * FROM s;",
        )
        .unwrap();
    let (row, kind, detail) = fault(&path);
    assert_eq!((row, kind), (Some(2), FaultKind::Reordered));
    assert_eq!(detail, "holds position 3 where position 2 belongs");
}

#[test]
fn a_deleted_last_row_is_caught_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, path) = trail(dir.path());
    tamper(&path)
        .execute_batch("DELETE FROM redemption_audit WHERE id = 5")
        .unwrap();
    let (row, kind, detail) = fault(&path);
    assert_eq!((row, kind), (None, FaultKind::BrokenAtEnd));
    assert_eq!(
        detail,
        "the head records position 5 (row 5) but the trail ends at position 4 (row 4): its \
         newest rows were deleted"
    );
    // Cutting the head back too is caught by an anchor taken before the cut.
}

#[test]
fn an_anchor_survives_appends_and_a_rewritten_tail_loses_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, path) = trail(dir.path());
    let anchored = db.audit_head().unwrap().unwrap();
    db.append_audit(&audit(6)).unwrap();
    let s = db
        .verify_audit_chain(Some(anchored.hash))
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!((s.rows, s.anchor_found), (6, Some(true)));
    drop(db);
    // The newest two rows cut and the head moved back to row 4 consistently: only the anchor
    // shows it.
    let c = tamper(&path);
    c.execute_batch(
        "DELETE FROM redemption_audit WHERE id >= 5;
         UPDATE audit_chain_head SET seq = 4, row_id = 4,
             hash = (SELECT chain_hash FROM redemption_audit WHERE id = 4);",
    )
    .unwrap();
    let db = TokenDb::open(&path).unwrap();
    assert!(db.verify_audit_chain(None).unwrap().outcome.is_ok());
    let f = db
        .verify_audit_chain(Some(anchored.hash))
        .unwrap()
        .outcome
        .unwrap_err();
    assert_eq!((f.row_id, f.kind), (None, FaultKind::AnchorMissing));
}

#[test]
fn a_database_from_before_the_chain_is_migrated_and_its_rows_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The table as older Tessera created it, with rows and a gap in the ids.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE redemption_audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, event TEXT NOT NULL,
                outcome TEXT NOT NULL, step TEXT, error TEXT, error_description TEXT, jti TEXT,
                iss TEXT, ticket_type TEXT, client_id TEXT, requester TEXT, binding TEXT,
                patient TEXT, scopes TEXT, details TEXT NOT NULL DEFAULT '{}');
             INSERT INTO redemption_audit (id, at, event, outcome, jti) VALUES
                (1, 10, 'token_exchange', 'accepted', 'old1'),
                (2, 11, 'token_exchange', 'rejected', 'old2'),
                (7, 12, 'introspection', 'accepted', NULL);",
        )
        .unwrap();
    }
    let db = TokenDb::open(&path).unwrap();
    let report = db.verify_audit_chain(None).unwrap();
    assert_eq!(report.legacy_rows, 3);
    let head = report.outcome.unwrap().head;
    assert_eq!((head.seq, head.row_id), (3, 7));
    let id = db.append_audit(&audit(1)).unwrap();
    assert_eq!(id, 8, "ids continue after the old ones");
    let s = db.verify_audit_chain(None).unwrap().outcome.unwrap();
    assert_eq!((s.rows, s.head.seq), (4, 4));
    assert_eq!(db.audit_by_jti("old2").unwrap()[0].outcome, "rejected");
    drop(db);
    // Opening again changes nothing.
    let db = TokenDb::open(&path).unwrap();
    let report = db.verify_audit_chain(None).unwrap();
    assert_eq!(report.legacy_rows, 3);
    assert_eq!(report.outcome.unwrap().rows, 4);
}

#[test]
fn a_missing_head_refuses_appends_and_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (db, path) = trail(dir.path());
    drop(db);
    tamper(&path)
        .execute_batch("DELETE FROM audit_chain_head")
        .unwrap();
    let db = TokenDb::open(&path).unwrap();
    let err = db.append_audit(&audit(9)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "token database: audit chain head missing: refusing to append (run `tessera audit verify`)"
    );
    let f = db.verify_audit_chain(None).unwrap().outcome.unwrap_err();
    assert_eq!(
        (f.kind, f.detail.as_str()),
        (FaultKind::BrokenAtEnd, "no chain head is recorded")
    );
}

#[test]
fn concurrent_appenders_on_one_file_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let dbs: Vec<Arc<TokenDb>> = (0..2)
        .map(|_| Arc::new(TokenDb::open(&path).unwrap()))
        .collect();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = dbs[t % 2].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..25 {
                    if i % 2 == 0 {
                        db.append_audit(&audit(t * 100 + i)).unwrap();
                    } else {
                        let set = WriteSet::audit_only(1000, audit(t * 100 + i));
                        db.commit_batch(&[set]).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = dbs[0].verify_audit_chain(None).unwrap().outcome.unwrap();
    assert_eq!(s.rows, 100);
    assert_eq!(s.head, dbs[1].audit_head().unwrap().unwrap());
    assert_ne!(s.head, ChainHead::EMPTY);
}
