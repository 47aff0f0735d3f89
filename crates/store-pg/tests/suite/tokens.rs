//! The durable write contract (docs/design/002-durable-writes.md) on every token backend:
//! per-set conflicts within and across batches, refresh rotation and reuse, a failed batch
//! writing nothing, registrations, tokens and the audit trail; then PostgreSQL across nodes
//! (two pools on one schema): concurrent spends of one key, batches spending keys in opposite
//! orders, an insert waiting on another node's open transaction (without holding the chain
//! head, so other nodes' batches go on), and the durability refusal.

use std::sync::{Arc, Barrier};

use tessera_store::audit::AuditRecord;
use tessera_store::durable::{
    OnceKey, RefreshRotation, RegistrationChange, SetOutcome, TokenStore, WriteSet,
};
use tessera_store::refresh::{RefreshFamily, RefreshRecord};
use tessera_store::registrations::ClientRegistration;
use tessera_store::tokens::TokenRecord;
use tessera_store_pg::testing::TestDb;

use crate::backends::{self, pg_open};

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

fn key(namespace: &str, k: &str, ticket: &str) -> OnceKey {
    OnceKey {
        namespace: namespace.into(),
        key: k.into(),
        keep_until: 500,
        on_conflict: Some(audit(ticket, "rejected")),
    }
}

/// One redemption's writes: the assertion key, the token, the accepted audit row.
fn redemption(assertion_jti: &str, hash: u8, ticket: &str) -> WriteSet {
    WriteSet {
        now: 100,
        once: vec![key("client-a", assertion_jti, ticket)],
        tokens: vec![token(hash, ticket)],
        audit: vec![audit(ticket, "accepted")],
        ..WriteSet::default()
    }
}

fn outcomes_of(db: &dyn TokenStore, ticket: &str) -> Vec<String> {
    db.audit_by_jti(ticket)
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

// PT-CA-05: a key pending in the same batch counts as spent; the conflicting set fails alone,
// and a key spent by an earlier batch conflicts too.
#[test]
fn pt_ca_05_a_spent_key_conflicts_within_and_across_batches() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        let out = db
            .commit_batch(&[
                redemption("a1", 1, "t1"),
                redemption("a1", 2, "t2"),
                redemption("a2", 3, "t3"),
            ])
            .unwrap();
        let expected = [
            SetOutcome::Committed,
            SetOutcome::Conflict(0),
            SetOutcome::Committed,
        ];
        assert_eq!(out, expected, "{}", b.name);
        assert_eq!(outcomes_of(db, "t1"), ["accepted"], "{}", b.name);
        // Only the conflict's audit row; no token of the refused set.
        assert_eq!(outcomes_of(db, "t2"), ["rejected"], "{}", b.name);
        assert!(
            db.find_token(&[2; 32], 100).unwrap().is_none(),
            "{}",
            b.name
        );
        assert!(
            db.find_token(&[1; 32], 100).unwrap().is_some(),
            "{}",
            b.name
        );
        assert!(
            db.find_token(&[3; 32], 100).unwrap().is_some(),
            "{}",
            b.name
        );
        assert_eq!(
            db.commit_batch(&[redemption("a2", 4, "t4")]).unwrap(),
            [SetOutcome::Conflict(0)],
            "{}",
            b.name
        );
        assert_eq!(outcomes_of(db, "t4"), ["rejected"], "{}", b.name);
    }
}

// A set refused at its second key leaves its first key unspent, and a set
// whose only key conflicts writes its refusal and nothing else.
#[test]
fn a_set_refused_at_its_second_key_spends_neither() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        db.commit_batch(&[redemption("dpop-seen", 1, "t1")])
            .unwrap();
        let mut set = redemption("fresh", 2, "t2");
        set.once.push(key("client-a", "dpop-seen", "t2"));
        assert_eq!(
            db.commit_batch(&[set]).unwrap(),
            [SetOutcome::Conflict(1)],
            "{}",
            b.name
        );
        assert!(
            !db.is_spent("client-a", "fresh", 100).unwrap(),
            "{}",
            b.name
        );
        assert!(
            db.find_token(&[2; 32], 100).unwrap().is_none(),
            "{}",
            b.name
        );
        assert_eq!(outcomes_of(db, "t2"), ["rejected"], "{}", b.name);
        // The key it did not spend is still good.
        assert_eq!(
            db.commit_batch(&[redemption("fresh", 3, "t3")]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
    }
}

// Sets are decided in batch order as if each spent its keys alone: a key of a set refused at
// a later key is free for a later set of the same batch, and a key named twice in one set
// conflicts at its second mention.
#[test]
fn a_refused_sets_keys_are_free_for_a_later_set_of_its_batch() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        db.commit_batch(&[redemption("dpop-seen", 1, "t1")])
            .unwrap();
        let mut first = redemption("shared", 2, "t2");
        first.once.push(key("client-a", "dpop-seen", "t2"));
        let mut twice = redemption("own", 4, "t4");
        twice.once.push(key("client-a", "own", "t4"));
        let out = db
            .commit_batch(&[first, redemption("shared", 3, "t3"), twice])
            .unwrap();
        assert_eq!(
            out,
            [
                SetOutcome::Conflict(1),
                SetOutcome::Committed,
                SetOutcome::Conflict(1)
            ],
            "{}",
            b.name
        );
        assert_eq!(outcomes_of(db, "t2"), ["rejected"], "{}", b.name);
        assert_eq!(outcomes_of(db, "t3"), ["accepted"], "{}", b.name);
        assert_eq!(outcomes_of(db, "t4"), ["rejected"], "{}", b.name);
        assert!(
            db.is_spent("client-a", "shared", 100).unwrap(),
            "{}",
            b.name
        );
        assert!(!db.is_spent("client-a", "own", 100).unwrap(), "{}", b.name);
        assert!(
            db.find_token(&[3; 32], 100).unwrap().is_some()
                && db.find_token(&[2; 32], 100).unwrap().is_none()
                && db.find_token(&[4; 32], 100).unwrap().is_none(),
            "{}",
            b.name
        );
    }
}

// A key whose keep_until has passed is free even while its row is still stored (PostgreSQL
// purges at most once per second of the batch clock): the batch at 550 does not purge, and
// the one at 600 spends a key kept until 599 that no purge has removed.
#[test]
fn an_expired_key_is_free_before_it_is_purged() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        let at = |now: i64, jti: &str, keep_until: i64, hash: u8| {
            let mut set = redemption(jti, hash, &format!("t{hash}"));
            set.now = now;
            set.once[0].keep_until = keep_until;
            set.tokens[0].expires_at = 900;
            set
        };
        assert_eq!(
            db.commit_batch(&[at(600, "first", 600, 1)]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
        db.commit_batch(&[at(550, "old", 599, 2)]).unwrap();
        assert!(db.is_spent("client-a", "old", 599).unwrap(), "{}", b.name);
        assert!(!db.is_spent("client-a", "old", 600).unwrap(), "{}", b.name);
        assert_eq!(
            db.commit_batch(&[at(600, "old", 700, 3)]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
        assert!(db.is_spent("client-a", "old", 700).unwrap(), "{}", b.name);
        assert_eq!(
            db.commit_batch(&[at(600, "old", 700, 4)]).unwrap(),
            [SetOutcome::Conflict(0)],
            "{}",
            b.name
        );
    }
}

#[test]
fn a_failed_batch_writes_nothing_of_any_set() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        // The second set repeats the first one's token hash: not a single-use-key conflict but
        // a storage failure, so the whole batch fails.
        let err = db
            .commit_batch(&[redemption("a1", 1, "t1"), redemption("a2", 1, "t2")])
            .unwrap_err();
        let expected = match b.name {
            "sqlite" => "UNIQUE constraint failed: access_token.token_hash",
            _ => "unique constraint \"access_token_pkey\"",
        };
        assert!(err.0.contains(expected), "{}: {err}", b.name);
        assert!(outcomes_of(db, "t1").is_empty(), "{}", b.name);
        assert!(outcomes_of(db, "t2").is_empty(), "{}", b.name);
        assert!(
            db.find_token(&[1; 32], 100).unwrap().is_none(),
            "{}",
            b.name
        );
        assert!(!db.is_spent("client-a", "a1", 100).unwrap(), "{}", b.name);
        // Nothing half-applied: the same keys are still spendable.
        assert_eq!(
            db.commit_batch(&[redemption("a1", 1, "t1")]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
    }
}

#[test]
fn spent_keys_are_remembered_until_keep_until_then_reusable() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        db.commit_batch(&[redemption("a1", 1, "t1")]).unwrap();
        assert!(db.is_spent("client-a", "a1", 500).unwrap(), "{}", b.name);
        assert!(!db.is_spent("client-a", "a1", 501).unwrap(), "{}", b.name);
        assert!(!db.is_spent("client-b", "a1", 100).unwrap(), "{}", b.name);
        // A batch after keep_until purges the key first, so it can be spent again.
        let mut later = redemption("a1", 2, "t2");
        later.now = 501;
        later.tokens[0].expires_at = 900;
        assert_eq!(
            db.commit_batch(&[later]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
    }
}

#[test]
fn tokens_are_found_until_expiry() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        let mut rec = token(1, "j");
        rec.cnf_jkt = Some("thumb".into());
        let set = WriteSet {
            now: 100,
            tokens: vec![rec.clone()],
            ..WriteSet::default()
        };
        db.commit_batch(&[set]).unwrap();
        assert_eq!(
            db.find_token(&[1; 32], 399).unwrap(),
            Some(rec),
            "{}",
            b.name
        );
        assert_eq!(db.find_token(&[2; 32], 100).unwrap(), None, "{}", b.name);
        assert_eq!(db.find_token(&[1; 32], 400).unwrap(), None, "{}", b.name);
    }
}

#[test]
fn audit_rows_round_trip_by_jti_and_recent() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        let full = AuditRecord {
            id: 0,
            at: 10,
            event: "token_exchange".into(),
            outcome: "rejected".into(),
            step: Some("signature".into()),
            error: Some("invalid_grant".into()),
            error_description: Some("Ticket signature invalid".into()),
            jti: Some("t1".into()),
            iss: Some("https://issuer.example".into()),
            ticket_type: Some("urn:t".into()),
            client_id: Some("app".into()),
            requester: Some(r#"{"name":"x"}"#.into()),
            binding: Some("none".into()),
            patient: Some("Patient/1".into()),
            scopes: Some("patient/Observation.rs".into()),
            details: r#"{"k":1}"#.into(),
        };
        let bare = AuditRecord {
            jti: Some("t2".into()),
            details: String::new(),
            ..AuditRecord::default()
        };
        db.commit_batch(&[
            WriteSet::audit_only(10, full.clone()),
            WriteSet::audit_only(10, bare),
        ])
        .unwrap();
        let found = db.audit_by_jti("t1").unwrap();
        assert_eq!(found.len(), 1, "{}", b.name);
        assert!(found[0].id > 0, "{}", b.name);
        assert_eq!(
            found[0],
            AuditRecord {
                id: found[0].id,
                ..full
            },
            "{}",
            b.name
        );
        let recent = db.audit_recent().unwrap();
        let jtis: Vec<_> = recent.iter().map(|r| r.jti.as_deref()).collect();
        assert_eq!(jtis, [Some("t1"), Some("t2")], "{}: oldest first", b.name);
        // An empty `details` is stored as the empty object.
        assert_eq!(recent[1].details, "{}", "{}", b.name);
        assert!(db.audit_by_jti("none").unwrap().is_empty(), "{}", b.name);
    }
}

fn family() -> RefreshFamily {
    RefreshFamily {
        family_id: "f1".into(),
        client_id: "app1".into(),
        grant_json: "{}".into(),
        ticket_jti: "j1".into(),
        ticket_iss: "https://issuer.example".into(),
        ticket_type: "t".into(),
        patient: "p".into(),
        scope: "patient/Observation.rs".into(),
        revocation_url: "https://issuer.example/status/a".into(),
        revocation_index: 7,
        refresh_until: Some(10_000),
        cnf_jkt: None,
        created_at: 0,
        revoked_at: None,
        revoked_reason: None,
    }
}

fn refresh(hash: u8, family_id: &str, expires_at: i64) -> RefreshRecord {
    RefreshRecord {
        token_hash: vec![hash; 32],
        family_id: family_id.into(),
        issued_at: 0,
        expires_at,
        used_at: None,
    }
}

fn refresh_audit(outcome: &str) -> AuditRecord {
    AuditRecord {
        event: "refresh".into(),
        outcome: outcome.into(),
        jti: Some("j1".into()),
        ..AuditRecord::default()
    }
}

fn new_family(db: &dyn TokenStore, f: RefreshFamily, first: RefreshRecord, now: i64) {
    let set = WriteSet {
        now,
        refresh_families: vec![(f, first)],
        ..WriteSet::default()
    };
    assert_eq!(db.commit_batch(&[set]).unwrap(), [SetOutcome::Committed]);
}

fn rotation(next: u8, access_hash: u8, now: i64) -> WriteSet {
    WriteSet {
        now,
        rotation: Some(RefreshRotation {
            old_hash: vec![1; 32],
            next: refresh(next, "f1", 6000),
            on_reuse: refresh_audit("rejected"),
        }),
        tokens: vec![token(access_hash, "j1")],
        audit: vec![refresh_audit("accepted")],
        ..WriteSet::default()
    }
}

// RFC 9700 §4.14.2: a rotation marks the presented token used; presenting it again (a later
// batch, or a second rotation in the same batch) revokes the family and stores nothing else.
#[test]
fn refresh_rotation_is_single_use_and_reuse_revokes_the_family() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        new_family(db, family(), refresh(1, "f1", 5000), 0);
        let (t, f) = db.find_refresh(&[1; 32]).unwrap().unwrap();
        assert_eq!((t, f), (refresh(1, "f1", 5000), family()), "{}", b.name);
        let out = db
            .commit_batch(&[rotation(2, 9, 10), rotation(3, 8, 10)])
            .unwrap();
        let expected = [SetOutcome::Committed, SetOutcome::RefreshReused];
        assert_eq!(out, expected, "{}", b.name);
        let old = db.find_refresh(&[1; 32]).unwrap().unwrap().0;
        assert_eq!(old.used_at, Some(10), "{}", b.name);
        assert!(db.find_refresh(&[2; 32]).unwrap().is_some(), "{}", b.name);
        assert!(db.find_refresh(&[3; 32]).unwrap().is_none(), "{}", b.name);
        assert!(db.find_token(&[9; 32], 20).unwrap().is_some(), "{}", b.name);
        assert!(db.find_token(&[8; 32], 20).unwrap().is_none(), "{}", b.name);
        let f = db.refresh_family("f1").unwrap().unwrap();
        assert_eq!(f.revoked_at, Some(10), "{}", b.name);
        assert_eq!(
            f.revoked_reason.as_deref(),
            Some("refresh token reuse"),
            "{}",
            b.name
        );
        // A later presentation: reuse again; the first reason stays.
        assert_eq!(
            db.commit_batch(&[rotation(4, 7, 20)]).unwrap(),
            [SetOutcome::RefreshReused],
            "{}",
            b.name
        );
        assert_eq!(
            db.refresh_family("f1").unwrap().unwrap().revoked_at,
            Some(10),
            "{}",
            b.name
        );
        assert_eq!(
            outcomes_of(db, "j1"),
            ["accepted", "rejected", "rejected"],
            "{}",
            b.name
        );
    }
}

// A set with an assertion key and a rotation: a reused token un-spends the key.
#[test]
fn a_reused_rotation_unspends_the_sets_keys() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        new_family(db, family(), refresh(1, "f1", 5000), 0);
        db.commit_batch(&[rotation(2, 9, 10)]).unwrap();
        let mut again = rotation(3, 8, 20);
        again.once.push(key("app1", "assertion-1", "j1"));
        assert_eq!(
            db.commit_batch(&[again]).unwrap(),
            [SetOutcome::RefreshReused],
            "{}",
            b.name
        );
        assert!(
            !db.is_spent("app1", "assertion-1", 20).unwrap(),
            "{}",
            b.name
        );
    }
}

#[test]
fn expired_refresh_tokens_and_empty_families_are_purged() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        new_family(db, family(), refresh(1, "f1", 100), 0);
        let mut other = family();
        other.family_id = "f2".into();
        new_family(db, other, refresh(2, "f2", 1000), 100);
        assert!(db.find_refresh(&[1; 32]).unwrap().is_none(), "{}", b.name);
        assert!(db.refresh_family("f1").unwrap().is_none(), "{}", b.name);
        assert!(db.find_refresh(&[2; 32]).unwrap().is_some(), "{}", b.name);
    }
}

fn registration(id: &str, san: &str, meta: &str) -> ClientRegistration {
    ClientRegistration {
        client_id: id.into(),
        kind: "udap".into(),
        trust_framework: Some("https://tf".into()),
        san: Some(san.into()),
        metadata: meta.into(),
        token_hash: Some(vec![5; 32]),
        created_at: 1,
        updated_at: 1,
    }
}

#[test]
fn registrations_put_replace_supersede_and_delete() {
    for b in backends::tokens() {
        let db = b.store.as_ref();
        db.put_registration(&registration("a", "https://x", "{}"))
            .unwrap();
        // Same id: replaced in place.
        let mut a2 = registration("a", "https://x", r#"{"v":2}"#);
        a2.updated_at = 2;
        a2.token_hash = None;
        db.put_registration(&a2).unwrap();
        assert_eq!(db.registration("a").unwrap(), Some(a2), "{}", b.name);
        // A new id for the same SAN supersedes: the old id is gone (through a write set).
        let set = WriteSet {
            now: 3,
            registrations: vec![RegistrationChange::Put(registration(
                "b",
                "https://x",
                r#"{"v":3}"#,
            ))],
            ..WriteSet::default()
        };
        assert_eq!(
            db.commit_batch(&[set]).unwrap(),
            [SetOutcome::Committed],
            "{}",
            b.name
        );
        assert!(db.registration("a").unwrap().is_none(), "{}", b.name);
        let by_san = db.registration_by_san("https://tf", "https://x").unwrap();
        assert_eq!(by_san.map(|r| r.client_id), Some("b".into()), "{}", b.name);
        assert!(
            db.registration_by_san("https://other", "https://x")
                .unwrap()
                .is_none(),
            "{}",
            b.name
        );
        // A jwks client has no SAN and never collides with one.
        let jwks = ClientRegistration {
            kind: "jwks".into(),
            trust_framework: None,
            san: None,
            ..registration("c", "", "{}")
        };
        db.put_registration(&jwks).unwrap();
        assert_eq!(db.registration("c").unwrap(), Some(jwks), "{}", b.name);
        let delete = WriteSet {
            now: 4,
            registrations: vec![RegistrationChange::Delete("b".into())],
            ..WriteSet::default()
        };
        db.commit_batch(&[delete]).unwrap();
        assert!(db.registration("b").unwrap().is_none(), "{}", b.name);
        assert!(db.delete_registration("c").unwrap(), "{}", b.name);
        assert!(!db.delete_registration("c").unwrap(), "{}", b.name);
    }
}

#[test]
fn every_backend_is_ready() {
    for b in backends::tokens() {
        b.store
            .ready()
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
    }
}

// PT-CA-05 across nodes: two pools on one schema (two Data Holder nodes) commit the same key
// at once, round after round; the primary key decides: exactly one Committed per key.
#[test]
fn pt_ca_05_two_nodes_racing_one_key_commit_it_once() {
    let Some(db) = TestDb::new() else { return };
    let (_, a) = pg_open(db.url());
    let (_, b) = pg_open(db.url());
    for round in 0..20u8 {
        let barrier = Arc::new(Barrier::new(2));
        let k = format!("k{round}");
        let spawn = |node: Arc<dyn TokenStore>, hash: u8| {
            let barrier = barrier.clone();
            let set = redemption(&k, hash, &format!("r{round}-{hash}"));
            std::thread::spawn(move || {
                barrier.wait();
                node.commit_batch(&[set]).unwrap()
            })
        };
        let ta = spawn(a.clone(), round * 2);
        let tb = spawn(b.clone(), round * 2 + 1);
        let mut all = ta.join().unwrap();
        all.extend(tb.join().unwrap());
        all.sort_by_key(|o| *o == SetOutcome::Committed);
        assert_eq!(all, [SetOutcome::Conflict(0), SetOutcome::Committed]);
    }
    // Each node sees the other's rows.
    assert_eq!(a.audit_recent().unwrap().len(), 40);
    assert_eq!(b.audit_recent().unwrap().len(), 40);
}

// Two nodes' batches spend the same keys in opposite orders: each waits on the other's
// uncommitted insert, PostgreSQL aborts one as a deadlock, and the retry (nothing was written)
// finds both keys spent. Both nodes answer; each key is committed exactly once.
#[test]
fn opposite_order_batches_on_two_nodes_both_answer_each_key_once() {
    let Some(db) = TestDb::new() else { return };
    let (_, a) = pg_open(db.url());
    let (_, b) = pg_open(db.url());
    for round in 0..3u8 {
        let (k1, k2) = (format!("x{round}"), format!("y{round}"));
        let barrier = Arc::new(Barrier::new(2));
        let spawn = |node: Arc<dyn TokenStore>, first: &str, second: &str, hash: u8| {
            let barrier = barrier.clone();
            let sets = [
                redemption(first, hash, &format!("{round}-{first}-{hash}")),
                redemption(second, hash + 1, &format!("{round}-{second}-{hash}")),
            ];
            std::thread::spawn(move || {
                barrier.wait();
                node.commit_batch(&sets).unwrap()
            })
        };
        let ta = spawn(a.clone(), &k1, &k2, round * 4);
        let tb = spawn(b.clone(), &k2, &k1, round * 4 + 2);
        let (oa, ob) = (ta.join().unwrap(), tb.join().unwrap());
        // a: [k1, k2], b: [k2, k1]; per key exactly one of the two sets committed.
        let k1_wins = [oa[0], ob[1]];
        let k2_wins = [oa[1], ob[0]];
        for (name, pair) in [("k1", k1_wins), ("k2", k2_wins)] {
            let committed = pair.iter().filter(|o| **o == SetOutcome::Committed).count();
            assert_eq!(committed, 1, "round {round} {name}: {oa:?} {ob:?}");
            assert!(pair.contains(&SetOutcome::Conflict(0)), "{oa:?} {ob:?}");
        }
    }
}

// The constraint, not a read, decides: a key inserted by another node's still-open
// transaction makes this node's batch wait; it then conflicts if that transaction commits,
// and commits if it rolls back.
#[test]
fn a_key_pending_on_another_node_waits_then_decides() {
    let Some(mut db) = TestDb::new() else { return };
    let (_, node) = pg_open(db.url());
    let schema = db.schema().to_string();
    for other_commits in [true, false] {
        let k = format!("pending-{other_commits}");
        let admin = db.admin();
        hold_pending_key(admin, &schema, &k);
        let n = node.clone();
        let set = redemption(&k, u8::from(other_commits), &k);
        let waiter = std::thread::spawn(move || n.commit_batch(&[set]).unwrap());
        wait_for_lock_waiter(admin, 0);
        admin
            .batch_execute(if other_commits { "COMMIT" } else { "ROLLBACK" })
            .unwrap();
        let expected = if other_commits {
            SetOutcome::Conflict(0)
        } else {
            SetOutcome::Committed
        };
        assert_eq!(
            waiter.join().unwrap(),
            [expected],
            "other commits: {other_commits}"
        );
    }
}

// A batch waiting on another transaction's pending key does not hold the audit chain's head
// (it locks the head only after its keys): another node's batch commits meanwhile, and the
// chain orders both by commit.
#[test]
fn a_batch_waiting_on_a_pending_key_lets_other_nodes_batches_commit() {
    let Some(mut db) = TestDb::new() else { return };
    let a = tessera_store_pg::open(db.url(), tessera_store_pg::PoolOptions::default())
        .unwrap()
        .1;
    let (_, b) = pg_open(db.url());
    let schema = db.schema().to_string();
    let admin = db.admin();
    hold_pending_key(admin, &schema, "held");
    let n = a.clone();
    let waiter = std::thread::spawn(move || n.commit_batch(&[redemption("held", 1, "waits")]));
    wait_for_lock_waiter(admin, 0);
    // Node b's batch with keys of its own: answered while node a's batch still waits (with
    // the head taken first it would wait behind a until the pending key's transaction ended).
    let (tx, rx) = std::sync::mpsc::channel();
    let other = b.clone();
    std::thread::spawn(move || {
        let _ = tx.send(other.commit_batch(&[redemption("free", 2, "passes")]));
    });
    let passed = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the other node's batch waited behind the blocked one");
    assert_eq!(passed.unwrap(), [SetOutcome::Committed]);
    assert!(
        !waiter.is_finished(),
        "the pending key still holds node a's batch"
    );
    admin.batch_execute("ROLLBACK").unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), [SetOutcome::Committed]);
    let chain = tessera_store::audit::AuditChainStore::verify_audit_chain(a.as_ref(), None);
    assert_eq!(chain.unwrap().outcome.unwrap().rows, 2);
    let order: Vec<String> = a
        .audit_recent()
        .unwrap()
        .into_iter()
        .filter_map(|r| r.jti)
        .collect();
    assert_eq!(order, ["passes", "waits"], "chain order is commit order");
}

// A lost connection mid-batch: the node's backend is terminated while its batch waits; the
// server rolls that transaction back, the store retries on a new connection, and the outcome
// is as if nothing had happened — the refusal audited once, the chain intact.
#[test]
fn a_connection_lost_mid_batch_is_retried_on_a_new_one() {
    let Some(mut db) = TestDb::new() else { return };
    let node = tessera_store_pg::open(db.url(), tessera_store_pg::PoolOptions::default())
        .unwrap()
        .1;
    let schema = db.schema().to_string();
    let admin = db.admin();
    hold_pending_key(admin, &schema, "lost");
    let n = node.clone();
    let waiter = std::thread::spawn(move || n.commit_batch(&[redemption("lost", 1, "lost")]));
    let blocked = wait_for_lock_waiter(admin, 0);
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&blocked])
        .unwrap();
    // The retry waits on the same pending key from a new backend.
    wait_for_lock_waiter(admin, blocked);
    admin.batch_execute("COMMIT").unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), [SetOutcome::Conflict(0)]);
    assert_eq!(outcomes_of(node.as_ref(), "lost"), ["rejected"]);
    let chain = tessera_store::audit::AuditChainStore::verify_audit_chain(node.as_ref(), None);
    assert_eq!(chain.unwrap().outcome.unwrap().rows, 1);
}

/// Opens a transaction on `admin` that inserts assertion key `key` of `client-a` and keeps
/// it uncommitted: another node's insert of it waits until `admin` commits or rolls back.
fn hold_pending_key(admin: &mut postgres::Client, schema: &str, key: &str) {
    admin.batch_execute("BEGIN").unwrap();
    admin
        .execute(
            &format!(
                "INSERT INTO {schema}.assertion_jti (client_id, jti, keep_until) \
                 VALUES ('client-a', $1, 500)"
            ),
            &[&key],
        )
        .unwrap();
}

/// Returns once a backend other than `except` waits for a lock held by `admin`'s open
/// transaction: its pid.
fn wait_for_lock_waiter(admin: &mut postgres::Client, except: i32) -> i32 {
    let me: i32 = admin
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    // pg_locks, not pg_stat_activity: the latter is a snapshot frozen for the transaction.
    for _ in 0..6000 {
        let waiting: Option<i32> = admin
            .query_one(
                "SELECT min(pid) FROM pg_locks WHERE NOT granted \
                 AND $1 = ANY(pg_blocking_pids(pid)) AND pid <> $2",
                &[&me, &except],
            )
            .unwrap()
            .get(0);
        if let Some(pid) = waiting {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("no backend ever waited on the pending key");
}

// The node refuses to open on a session that acknowledges commits before they are durable.
#[test]
fn postgres_refuses_to_open_without_synchronous_commit() {
    let Some(db) = TestDb::new() else { return };
    // `url()` ends in the `options=` parameter; one more `-c` setting joins it.
    let url = format!("{}%20-csynchronous_commit%3Doff", db.url());
    let err = tessera_store_pg::open(&url, tessera_store_pg::PoolOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PostgreSQL is not durable: synchronous_commit = off; refusing to use it"
    );
    // Nothing was migrated by the refused node.
    let mut db = db;
    let schema = db.schema().to_string();
    let tables: i64 = db
        .admin()
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}
