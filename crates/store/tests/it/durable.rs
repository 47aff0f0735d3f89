//! The durable write contract on SQLite: batch atomicity, per-set conflicts, exact replay
//! under concurrency, two handles (two processes' worth) on one file, and durability before
//! the group-commit writer answers (docs/design/002-durable-writes.md).

use std::sync::{Arc, Barrier};

use tessera_store::audit::AuditRecord;
use tessera_store::durable::{OnceKey, SetOutcome, TokenStore, WriteSet};
use tessera_store::group_commit::GroupCommit;
use tessera_store::token_db::TokenDb;
use tessera_store::tokens::TokenRecord;

fn audit(jti: &str, outcome: &str) -> AuditRecord {
    AuditRecord {
        at: 100,
        event: "token_exchange".into(),
        outcome: outcome.into(),
        jti: Some(jti.into()),
        details: "{}".into(),
        ..AuditRecord::default()
    }
}

fn token(hash: u8, jti: &str) -> TokenRecord {
    TokenRecord {
        token_hash: vec![hash; 32],
        client_id: "c".into(),
        grant_json: "{}".into(),
        ticket_jti: jti.into(),
        ticket_iss: "i".into(),
        ticket_type: "t".into(),
        patient: "p".into(),
        scope: "patient/Observation.rs".into(),
        issued_at: 100,
        expires_at: 400,
        cnf_jkt: None,
    }
}

/// One redemption's writes: the assertion key, the token, the accepted audit row.
fn redemption(assertion_jti: &str, hash: u8, ticket: &str) -> WriteSet {
    WriteSet {
        now: 100,
        once: vec![OnceKey {
            namespace: "client-a".into(),
            key: assertion_jti.into(),
            keep_until: 500,
            on_conflict: Some(audit(ticket, "rejected")),
        }],
        tokens: vec![token(hash, ticket)],
        audit: vec![audit(ticket, "accepted")],
        ..WriteSet::default()
    }
}

fn outcomes_of(db: &TokenDb, ticket: &str) -> Vec<String> {
    db.audit_by_jti(ticket)
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

// PT-CA-05: a key pending in the same batch counts as spent; the conflicting set fails alone.
#[test]
fn pt_ca_05_second_use_in_one_batch_conflicts_alone() {
    let db = TokenDb::open_in_memory().unwrap();
    let out = db
        .commit_batch(&[
            redemption("a1", 1, "t1"),
            redemption("a1", 2, "t2"),
            redemption("a2", 3, "t3"),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![
            SetOutcome::Committed,
            SetOutcome::Conflict(0),
            SetOutcome::Committed
        ]
    );
    assert_eq!(outcomes_of(&db, "t1"), ["accepted"]);
    // Only the conflict's audit row; no token of the refused set.
    assert_eq!(outcomes_of(&db, "t2"), ["rejected"]);
    assert!(db.find_token(&[2; 32], 100).unwrap().is_none());
    assert!(db.find_token(&[1; 32], 100).unwrap().is_some());
    assert!(db.find_token(&[3; 32], 100).unwrap().is_some());
    // And in a later batch too.
    assert_eq!(
        db.commit_batch(&[redemption("a2", 4, "t4")]).unwrap(),
        vec![SetOutcome::Conflict(0)]
    );
}

#[test]
fn a_failed_batch_writes_nothing_of_any_set() {
    let db = TokenDb::open_in_memory().unwrap();
    // The second set repeats the first one's token hash: not a single-use-key conflict but a
    // storage failure, so the whole batch fails.
    let err = db
        .commit_batch(&[redemption("a1", 1, "t1"), redemption("a2", 1, "t2")])
        .unwrap_err();
    assert!(err.0.contains("UNIQUE"), "{err}");
    assert!(outcomes_of(&db, "t1").is_empty());
    assert!(outcomes_of(&db, "t2").is_empty());
    assert!(db.find_token(&[1; 32], 100).unwrap().is_none());
    assert!(!db.is_spent("client-a", "a1", 100).unwrap());
    // Nothing half-applied: the same keys are still spendable.
    assert_eq!(
        db.commit_batch(&[redemption("a1", 1, "t1")]).unwrap(),
        vec![SetOutcome::Committed]
    );
}

#[test]
fn spent_keys_are_remembered_until_keep_until() {
    let db = TokenDb::open_in_memory().unwrap();
    db.commit_batch(&[redemption("a1", 1, "t1")]).unwrap();
    assert!(db.is_spent("client-a", "a1", 500).unwrap());
    assert!(!db.is_spent("client-a", "a1", 501).unwrap());
    assert!(!db.is_spent("client-b", "a1", 100).unwrap());
}

// PT-CA-05: N writers racing one assertion through the group-commit writer ⇒ exactly one
// success, and every attempt audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pt_ca_05_racing_one_assertion_through_the_writer_succeeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(TokenDb::open(&dir.path().join("t.db")).unwrap());
    let writer = GroupCommit::start(db.clone()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..32u8 {
        let w = writer.clone();
        tasks.push(tokio::spawn(async move {
            w.commit(redemption("same", i, &format!("t{i}"))).await
        }));
    }
    let mut committed = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            SetOutcome::Committed => committed += 1,
            SetOutcome::Conflict(0) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    let rows = db.audit_recent().unwrap();
    assert_eq!(rows.len(), 32);
    assert_eq!(rows.iter().filter(|r| r.outcome == "accepted").count(), 1);
    let (batches, sets, failed) = writer.stats().snapshot();
    assert_eq!((sets, failed), (32, 0));
    assert!((1..=32).contains(&batches));
}

// PT-CA-05 across processes: two handles on one file (each its own connections, as two
// server processes would have) race one key; SQLite's write lock plus the primary key decide.
#[test]
fn pt_ca_05_two_handles_on_one_file_accept_a_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let a = Arc::new(TokenDb::open(&path).unwrap());
    let b = Arc::new(TokenDb::open(&path).unwrap());
    for round in 0..20u8 {
        let barrier = Arc::new(Barrier::new(2));
        let key = format!("k{round}");
        let spawn = |db: Arc<TokenDb>, hash: u8| {
            let barrier = barrier.clone();
            let set = redemption(&key, hash, &format!("r{round}-{hash}"));
            std::thread::spawn(move || {
                barrier.wait();
                db.commit_batch(&[set]).unwrap()
            })
        };
        let ta = spawn(a.clone(), round * 2);
        let tb = spawn(b.clone(), round * 2 + 1);
        let mut all = ta.join().unwrap();
        all.extend(tb.join().unwrap());
        all.sort_by_key(|o| *o == SetOutcome::Committed);
        assert_eq!(all, vec![SetOutcome::Conflict(0), SetOutcome::Committed]);
    }
    // Each handle sees the other's writes.
    assert_eq!(a.audit_recent().unwrap().len(), 40);
    assert_eq!(b.audit_recent().unwrap().len(), 40);
}

// Durability ordering: when the writer answers, the set is committed — a fresh handle on the
// file (a restarted process) finds every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_answers_only_after_the_set_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let db = Arc::new(TokenDb::open(&path).unwrap());
    let writer = GroupCommit::start(db).unwrap();
    for i in 0..10u8 {
        let ticket = format!("d{i}");
        let out = writer
            .commit(redemption(&format!("k{i}"), i, &ticket))
            .await
            .unwrap();
        assert_eq!(out, SetOutcome::Committed);
        let other = TokenDb::open(&path).unwrap();
        assert_eq!(outcomes_of(&other, &ticket), ["accepted"]);
        assert!(other.find_token(&[i; 32], 100).unwrap().is_some());
        assert!(other.is_spent("client-a", &format!("k{i}"), 100).unwrap());
    }
}

#[tokio::test]
async fn a_failed_batch_fails_every_waiting_submitter() {
    let db = Arc::new(TokenDb::open_in_memory().unwrap());
    db.commit_batch(&[redemption("x", 9, "t0")]).unwrap();
    let writer = GroupCommit::start(db.clone()).unwrap();
    // Same token hash as the stored row: the batch fails, the submitter is told.
    let err = writer.commit(redemption("y", 9, "t1")).await.unwrap_err();
    assert!(err.0.contains("UNIQUE"), "{err}");
    assert!(outcomes_of(&db, "t1").is_empty());
    assert_eq!(writer.stats().snapshot().2, 1);
}
