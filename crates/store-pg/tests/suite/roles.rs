//! A node running as an application role that owns nothing (docs/deployment.md "Database
//! roles"): it serves — migrations found current, redemptions committed and chained — while
//! PostgreSQL itself refuses it any rewrite of the audit trail, including switching off the
//! triggers that guard it.

use postgres::{Client, NoTls};
use tessera_store::audit::{AuditChainStore, AuditRecord};
use tessera_store::durable::{OnceKey, SetOutcome, TokenStore, WriteSet};
use tessera_store_pg::testing::{TestDb, admin_url};

/// A login role for one test, dropped (with its grants) at the end even when the test fails.
struct Role {
    admin: Client,
    name: String,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
            self.name
        ));
    }
}

fn audit(jti: &str) -> AuditRecord {
    AuditRecord {
        at: 100,
        event: "token_exchange".into(),
        outcome: "accepted".into(),
        jti: Some(jti.into()),
        ..AuditRecord::default()
    }
}

fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

#[test]
fn an_application_role_serves_but_cannot_rewrite_or_unguard_the_audit_trail() {
    let Some(db) = TestDb::new() else { return };
    // The owner migrates (here: the admin role of the test server).
    drop(tessera_store_pg::open(db.url(), tessera_store_pg::PoolOptions::default()).unwrap());
    let name = format!("{}_app", db.schema());
    let mut role = Role {
        admin: Client::connect(&admin_url(), NoTls).unwrap(),
        name: name.clone(),
    };
    role.admin
        .batch_execute(&format!("CREATE ROLE {name} LOGIN"))
        .unwrap();
    role.admin
        .batch_execute(&tessera_store_pg::roles::app_role_grants(db.schema(), &name).unwrap())
        .unwrap();

    // The same database as that role: `user=` overrides the URL's user.
    let app_url = format!("{}&user={name}", db.url());
    let (_, tokens) =
        tessera_store_pg::open(&app_url, tessera_store_pg::PoolOptions::default()).unwrap();
    tokens.ready().unwrap();
    let set = WriteSet {
        now: 100,
        once: vec![OnceKey {
            namespace: "client-a".into(),
            key: "k1".into(),
            keep_until: 500,
            on_conflict: None,
        }],
        audit: vec![audit("t1")],
        ..WriteSet::default()
    };
    assert_eq!(
        tokens.commit_batch(&[set]).unwrap(),
        vec![SetOutcome::Committed]
    );
    assert!(tokens.verify_audit_chain(None).unwrap().outcome.is_ok());

    let mut app = Client::connect(&app_url, NoTls).unwrap();
    for sql in [
        "UPDATE redemption_audit SET outcome = 'rejected'",
        "DELETE FROM redemption_audit",
        "TRUNCATE redemption_audit",
        "DELETE FROM audit_chain_head",
        "UPDATE issuer_refusal SET status = 200",
        "DELETE FROM issuer_refusal",
        "TRUNCATE issuer_refusal",
    ] {
        let e = app.batch_execute(sql).unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e:?}");
    }
    // Not the owner: the guards cannot be switched off or dropped.
    for sql in [
        "ALTER TABLE redemption_audit DISABLE TRIGGER ALL",
        "DROP TRIGGER redemption_audit_append_only ON redemption_audit",
    ] {
        let e = app.batch_execute(sql).unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{sql}: {e:?}");
    }
    // And the trail is as it was.
    let report = tokens.verify_audit_chain(None).unwrap();
    assert!(report.outcome.is_ok());
    assert_eq!(tokens.audit_by_jti("t1").unwrap()[0].outcome, "accepted");
}
