//! The token endpoint over the group-commit writer (docs/design/002-durable-writes.md): many
//! requests racing one assertion ⇒ exactly one success (PT-CA-05), every attempt audited
//! (PT-AUDIT-02), whether the replay is caught by the early read or inside the batch.

use std::sync::Arc;

use crate::token_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pt_ca_05_many_requests_racing_one_assertion_succeed_once() {
    let h = Arc::new(Holder::new());
    let assertion = h.assertion("app1", &keys().client);
    let mut tasks = Vec::new();
    let mut jtis = Vec::new();
    for _ in 0..24 {
        let mut claims = baseline();
        let jti = uuid::Uuid::new_v4().to_string();
        claims["jti"] = serde_json::json!(jti);
        jtis.push(jti);
        let (h, a, t) = (h.clone(), assertion.clone(), mint(&claims));
        tasks.push(tokio::spawn(async move {
            let form = exchange_form(&t, &a);
            let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
            (s.as_u16(), b)
        }));
    }
    let mut successes = 0;
    for t in tasks {
        let (s, b) = t.await.unwrap();
        match s {
            200 => successes += 1,
            401 => {
                assert_eq!(b["error"], "invalid_client");
                assert_eq!(b["error_description"], "Client assertion replayed");
            }
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(successes, 1);
    // Losers refused by the early read never reached the ticket (no `jti` on their row);
    // losers refused inside the batch did. Either way: one row per attempt.
    let rows = h.db.audit_recent().unwrap();
    assert_eq!(rows.len(), 24);
    let accepted: Vec<_> = rows.iter().filter(|r| r.outcome == "accepted").collect();
    assert_eq!(accepted.len(), 1);
    assert!(
        jtis.iter()
            .any(|j| accepted[0].jti.as_deref() == Some(j.as_str()))
    );
    for r in rows.iter().filter(|r| r.outcome != "accepted") {
        assert_eq!(r.step.as_deref(), Some("client_authentication"));
        assert_eq!(r.error.as_deref(), Some("invalid_client"));
        assert_eq!(
            r.error_description.as_deref(),
            Some("Client assertion replayed")
        );
    }
}

// PT-AUDIT-02: a refused client authentication is audited under the id its assertion claims
// (decoded only for the refusal), an accepted one under the authenticated id.
#[tokio::test]
async fn failed_client_authentication_is_audited_under_the_claimed_id() {
    let h = Holder::new();
    let forged = h.assertion("app1", &keys().other);
    let ticket = mint(&baseline());
    let form = exchange_form(&ticket, &forged);
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    assert_eq!(s.as_u16(), 401, "{b}");
    assert_eq!(b["error"], "invalid_client");
    let good = h.assertion("app1", &keys().client);
    let form = exchange_form(&ticket, &good);
    let (s, _, b) = h.post("/fhir/token", &form, &[]).await;
    assert_eq!(s.as_u16(), 200, "{b}");
    let rows = h.db.audit_recent().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].outcome, "rejected");
    assert_eq!(rows[0].step.as_deref(), Some("client_authentication"));
    assert_eq!(rows[0].client_id.as_deref(), Some("app1"));
    assert_eq!(rows[1].outcome, "accepted");
    assert_eq!(rows[1].client_id.as_deref(), Some("app1"));
}
