//! Two `tessera serve` nodes on different loopback ports sharing one PostgreSQL schema (issue
//! 13): a token from A works at B; an assertion used at A is refused at B; one assertion raced
//! at both succeeds once; a client registered at A redeems at B and its deletion at A is
//! enforced at B; a node exports its pool use; A killed with SIGKILL under a redemption load loses no answered
//! audit row and the trail's hash chain verifies. Skipped (with a message) when no PostgreSQL answers and `TESSERA_REQUIRE_PG` is
//! not set.
//!
//! Bounded: fixed request counts, the kill after a fixed number of answers; no timing
//! assertions (the deadlines only stop a hung run).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tessera_store_pg::testing::TestDb;

use crate::pg_node::{Fixture, Node, audit_records, observations, redeem};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn skip_note() {
    eprintln!("multi-node test skipped: no PostgreSQL (set TESSERA_REQUIRE_PG=1 to require it)");
}

/// The bundle's one Observation (ids are namespaced by the bundle's site).
fn only_the_observation(ids: &[String]) -> bool {
    matches!(ids, [id] if id.ends_with("-bp"))
}

fn replayed() -> serde_json::Value {
    json!({"error": "invalid_client", "error_description": "Client assertion replayed"})
}

/// Runs `body` on a fresh schema, or notes the skip. The schema is made and dropped outside
/// the async runtime: its admin connection is a blocking client.
fn on_postgres<F: std::future::Future<Output = ()>>(body: impl FnOnce(String) -> F) {
    let Some(db) = TestDb::new() else {
        return skip_note();
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body(db.url().to_owned()));
}

// PT-CA-05 across nodes, and a token usable on every node.
#[test]
fn pt_ca_05_two_nodes_share_tokens_and_spend_each_assertion_once() {
    on_postgres(two_nodes_share_tokens_and_spend_each_assertion_once);
}

async fn two_nodes_share_tokens_and_spend_each_assertion_once(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let config = f.write_config(dir.path(), &url);
    let a = Node::start(&config);
    let b = Node::start(&config);
    assert_ne!(a.addr, b.addr);
    let http = http();

    // A token issued by A works at B, with the Grant A computed.
    let assertion = f.assertion();
    let at_a = redeem(&http, &a.addr, &f.ticket("mn-1", true), &assertion)
        .await
        .unwrap();
    assert_eq!(at_a.status, 200, "{}", at_a.body);
    let token = at_a.token().unwrap().to_owned();
    let (status, ids) = observations(&http, &b.addr, &token).await;
    assert_eq!(status, 200);
    assert!(only_the_observation(&ids), "{ids:?}");
    assert_eq!(observations(&http, &b.addr, "not-a-token").await.0, 401);

    // The same assertion at B afterwards: refused at client authentication, and audited.
    let at_b = redeem(&http, &b.addr, &f.ticket("mn-2", true), &assertion)
        .await
        .unwrap();
    assert_eq!((at_b.status, at_b.body), (401, replayed()));
    // Client authentication fails before the ticket is read: the row has no ticket jti.
    let rows = audit_records(&config);
    let accepted: Vec<_> = rows.iter().filter(|r| r["jti"] == "mn-1").collect();
    assert_eq!(accepted.len(), 1, "{rows:?}");
    assert_eq!(accepted[0]["outcome"], "accepted");
    let last = rows.last().unwrap();
    assert_eq!(
        (
            &last["outcome"],
            &last["step"],
            &last["error"],
            &last["error_description"],
            &last["client_id"]
        ),
        (
            &json!("rejected"),
            &json!("client_authentication"),
            &json!("invalid_client"),
            &json!("Client assertion replayed"),
            &json!("app1")
        )
    );

    // One assertion raced at both nodes: exactly one success, the other told it was replayed.
    for round in 0..10 {
        let assertion = f.assertion();
        let (ta, tb) = (
            f.ticket(&format!("race-{round}-a"), true),
            f.ticket(&format!("race-{round}-b"), true),
        );
        let (ra, rb) = tokio::join!(
            redeem(&http, &a.addr, &ta, &assertion),
            redeem(&http, &b.addr, &tb, &assertion)
        );
        let mut replies = [ra.unwrap(), rb.unwrap()];
        replies.sort_by_key(|r| r.status);
        assert_eq!(replies[0].status, 200, "round {round}: {replies:?}");
        assert_eq!(
            (replies[1].status, replies[1].body.clone()),
            (401, replayed()),
            "round {round}"
        );
    }
}

/// Requests the clients try in all, half at each node; A is killed after `KILL_AFTER` answers.
const ATTEMPTS: usize = 240;
const KILL_AFTER: usize = 80;
const CONNECTIONS: usize = 8;

/// What a client was told about one ticket.
#[derive(Debug, Clone)]
struct Answer {
    ticket_jti: String,
    accepted: bool,
    token: Option<String>,
}

// PT-AUDIT-02 across nodes: SIGKILL of one node mid-load; every answer any client received,
// from either node, has its audit row, and every token issued by the dead node still works on
// the live one.
#[test]
fn pt_audit_02_a_node_killed_under_load_loses_no_answered_audit_row() {
    on_postgres(a_node_killed_under_load_loses_no_answered_audit_row);
}

async fn a_node_killed_under_load_loses_no_answered_audit_row(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let f = Arc::new(Fixture::new());
    let config = f.write_config(dir.path(), &url);
    let a = Arc::new(Mutex::new(Node::start(&config)));
    let b = Node::start(&config);
    let addrs = [a.lock().unwrap().addr.clone(), b.addr.clone()];
    let http = http();
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (http, addrs, f, a) = (http.clone(), addrs.clone(), f.clone(), a.clone());
        let (next, answered, answers) = (next.clone(), answered.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= ATTEMPTS {
                    break;
                }
                let jti = format!("load-{i}");
                // Every fourth request is refused: refusals must survive the crash too.
                let ticket = f.ticket(&jti, i % 4 != 3);
                let Some(reply) = redeem(&http, &addrs[i % 2], &ticket, &f.assertion()).await
                else {
                    continue;
                };
                match reply.status {
                    200 => {}
                    400 => assert_eq!(reply.body["error"], "invalid_grant", "{}", reply.body),
                    other => panic!("unexpected status {other}: {}", reply.body),
                }
                answers.lock().unwrap().push(Answer {
                    ticket_jti: jti,
                    accepted: reply.status == 200,
                    token: reply.token().map(str::to_owned),
                });
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                    a.lock().unwrap().kill();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();
    assert!(answers.len() >= KILL_AFTER);
    assert!(answers.iter().any(|a| a.accepted) && answers.iter().any(|a| !a.accepted));
    // A is gone; B still serves.
    assert!(
        redeem(&http, &addrs[0], &f.ticket("after-a", true), &f.assertion())
            .await
            .is_none()
    );
    let after = redeem(&http, &addrs[1], &f.ticket("after-b", true), &f.assertion())
        .await
        .unwrap();
    assert_eq!(after.status, 200, "{}", after.body);

    // The trail both nodes appended to is one intact chain, the killed node's last batch
    // included (a batch that did not commit left no row and did not move the head).
    let verify = crate::tessera(
        &["audit", "verify", "--config", config.to_str().unwrap()],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(crate::ok(&verify).trim()).unwrap();
    assert_eq!(report["status"], "ok", "{report}");
    assert!(
        report["rows"].as_u64().unwrap() >= answers.len() as u64,
        "{report}"
    );

    let mut audited: HashMap<String, Vec<String>> = HashMap::new();
    for r in audit_records(&config) {
        if r["event"] == "token_exchange"
            && let Some(jti) = r["jti"].as_str()
        {
            let outcome = r["outcome"].as_str().unwrap().to_owned();
            audited.entry(jti.to_owned()).or_default().push(outcome);
        }
    }
    for answer in &answers {
        let want = if answer.accepted {
            "accepted"
        } else {
            "rejected"
        };
        let rows = audited.get(&answer.ticket_jti).cloned().unwrap_or_default();
        assert!(
            rows.iter().any(|o| o == want),
            "{} answered {want} but audited {rows:?}",
            answer.ticket_jti
        );
        if let Some(token) = &answer.token {
            let (status, ids) = observations(&http, &addrs[1], token).await;
            assert_eq!(status, 200, "token of {} at B", answer.ticket_jti);
            assert!(only_the_observation(&ids), "{}: {ids:?}", answer.ticket_jti);
        }
    }
}

// Issue 13 part 7: a node on PostgreSQL exports its pools' use, so an operator can size N
// nodes against the server's `max_connections`.
#[test]
fn a_node_on_postgres_exports_its_database_pool_use() {
    on_postgres(a_node_exports_its_pool_use);
}

async fn a_node_exports_its_pool_use(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let config = f.write_config_with(dir.path(), &url, "[metrics]\nlisten = \"127.0.0.1:0\"");
    let node = Node::start(&config);
    let http = http();
    // One redemption, so the token store's pool has opened a connection.
    let reply = redeem(&http, &node.addr, &f.ticket("pool-1", true), &f.assertion())
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let metrics = node
        .metrics
        .lock()
        .unwrap()
        .clone()
        .expect("no metrics listener logged");
    let body = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> i64 {
        let line = body
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{body}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let max = value("tessera_db_pool_connections_max");
    let open = value("tessera_db_pool_connections_open");
    let in_use = value("tessera_db_pool_connections_in_use");
    assert_eq!(
        max, 16,
        "the default pool size: 8 blocking and 8 asynchronous (FHIR read) connections"
    );
    assert!((1..=max).contains(&open), "{open} open of {max}");
    // Idle between requests: nothing holds a connection while the node waits.
    assert_eq!(in_use, 0);
}

// Issue 13 part 2: a registration made or withdrawn at one node is honoured by every node at
// once (registrations are read from the shared database at each authentication, never cached).
#[test]
fn a_registration_at_one_node_is_honoured_and_its_deletion_enforced_at_the_other() {
    on_postgres(registration_is_shared_across_nodes);
}

async fn registration_is_shared_across_nodes(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let config = f.write_config_with(dir.path(), &url, "[registration]\nenabled = true");
    let (a, b) = (Node::start(&config), Node::start(&config));
    let http = http();
    let reg: serde_json::Value = {
        let r = http
            .post(format!("http://{}/fhir/register", a.addr))
            .json(&json!({"client_name": "app at A", "grant_types":
                ["urn:ietf:params:oauth:grant-type:token-exchange"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [f.client_jwk()]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    };
    let id = reg["client_id"].as_str().unwrap();
    let rat = reg["registration_access_token"].as_str().unwrap();

    let at_b = redeem(
        &http,
        &b.addr,
        &f.ticket("reg-1", true),
        &f.assertion_as(id),
    )
    .await
    .unwrap();
    assert_eq!(at_b.status, 200, "{}", at_b.body);

    let r = http
        .delete(format!("http://{}/fhir/register/{id}", a.addr))
        .bearer_auth(rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let at_b = redeem(
        &http,
        &b.addr,
        &f.ticket("reg-2", true),
        &f.assertion_as(id),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            at_b.status,
            &at_b.body["error"],
            &at_b.body["error_description"]
        ),
        (401, &json!("invalid_client"), &json!("Unknown client"))
    );
}

// A node that wrote rows from its `load` leaves the planner statistics, as `tessera ingest`
// does: without them the first searches are planned on a guess of one row per table until
// autovacuum comes by, which for a bundle this small (under its 50-row threshold) is never.
#[test]
fn a_node_that_loaded_rows_leaves_the_planner_statistics() {
    let Some(mut db) = TestDb::new() else {
        return skip_note();
    };
    let dir = tempfile::tempdir().unwrap();
    let config = Fixture::new().write_config(dir.path(), db.url());
    let node = Node::start(&config);
    let schema = db.schema().to_owned();
    let row = db
        .admin()
        .query_one(
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = 'resource'",
            &[&schema],
        )
        .unwrap();
    let estimated: f32 = row.get(0);
    // -1 (never analyzed) without the settle step; the loaded rows' count after it.
    assert!(estimated >= 1.0, "reltuples = {estimated}");
    drop(node);
}
