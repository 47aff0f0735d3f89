//! `tessera audit verify | head`: the binary walks the trail of a Data Holder's configured
//! SQLite store, says OK with the count and head, or names the first bad row and exits 1 —
//! for rows altered, deleted, swapped or cut off directly in the file (triggers dropped
//! first, as someone with the file would) — and checks an anchored head.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{Value, json};
use tessera_store::audit::AuditRecord;
use tessera_store::token_db::TokenDb;

use crate::{ok, path_str, tessera};

/// A Data Holder config over `dir/holder.db` holding four audit rows (ids 1..=4).
fn holder(dir: &Path) -> (PathBuf, PathBuf) {
    let db_path = dir.join("holder.db");
    let db = TokenDb::open(&db_path).unwrap();
    for i in 1..=4 {
        db.append_audit(&AuditRecord {
            at: 1_767_225_600 + i,
            event: "token_exchange".into(),
            outcome: if i == 3 { "rejected" } else { "accepted" }.into(),
            jti: Some(format!("ticket-{i}")),
            ..AuditRecord::default()
        })
        .unwrap();
    }
    let config = dir.join("holder.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nbase_url = \"https://dh.example.org/fhir\"\nstore = \"sqlite://{}\"\n",
            db_path.display()
        ),
    )
    .unwrap();
    (config, db_path)
}

fn json_line(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap()
}

fn tamper(db: &Path, sql: &str) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(
        "DROP TRIGGER redemption_audit_no_update; DROP TRIGGER redemption_audit_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

#[test]
fn audit_verify_passes_an_untouched_trail_and_head_anchors_it() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = holder(dir.path());
    let head = json_line(
        ok(&tessera(
            &["audit", "head", "--config", path_str(&config)],
            None,
        ))
        .as_bytes(),
    );
    assert_eq!((&head["seq"], &head["id"]), (&json!(4), &json!(4)));
    let hash = head["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    let out = ok(&tessera(
        &["audit", "verify", "--config", path_str(&config)],
        None,
    ));
    assert_eq!(
        json_line(out.as_bytes()),
        json!({"status": "ok", "rows": 4, "head": head, "legacy_rows": 0})
    );

    // More rows later: the anchored head is still in the chain.
    TokenDb::open(&db)
        .unwrap()
        .append_audit(&AuditRecord {
            at: 1_767_225_700,
            event: "introspection".into(),
            outcome: "accepted".into(),
            ..AuditRecord::default()
        })
        .unwrap();
    let args = [
        "audit",
        "verify",
        "--config",
        path_str(&config),
        "--anchor",
        &hash,
    ];
    let out = json_line(ok(&tessera(&args, None)).as_bytes());
    assert_eq!((&out["rows"], &out["anchor"]), (&json!(5), &json!(hash)));

    // Listing records still works beside the subcommands.
    let list = ok(&tessera(
        &["audit", "--config", path_str(&config), "--jti", "ticket-3"],
        None,
    ));
    assert_eq!(json_line(list.as_bytes())["outcome"], "rejected");
}

#[test]
fn audit_verify_names_the_row_of_every_kind_of_tampering() {
    let cases = [
        (
            "UPDATE redemption_audit SET outcome = 'accepted' WHERE id = 3",
            json!(3),
            "altered",
            "row 3: altered: content does not match its hash (position 3)",
        ),
        (
            "DELETE FROM redemption_audit WHERE id = 2",
            json!(3),
            "deleted",
            "row 3: deleted: positions 2..2 missing before it (after row 1)",
        ),
        (
            "CREATE TEMP TABLE s AS SELECT * FROM redemption_audit WHERE id IN (2, 3);
             UPDATE s SET id = 5 - id;
             DELETE FROM redemption_audit WHERE id IN (2, 3);
             INSERT INTO redemption_audit SELECT * FROM s;",
            json!(2),
            "reordered",
            "row 2: reordered: holds position 3 where position 2 belongs",
        ),
        (
            "DELETE FROM redemption_audit WHERE id = 4",
            Value::Null,
            "broken_at_end",
            "broken_at_end: the head records position 4 (row 4) but the trail ends at position 3 \
             (row 3): its newest rows were deleted",
        ),
    ];
    for (sql, row, fault, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (config, db) = holder(dir.path());
        tamper(&db, sql);
        let out = tessera(&["audit", "verify", "--config", path_str(&config)], None);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        let report = json_line(&out.stdout);
        assert_eq!(report["status"], "failed", "{sql}");
        assert_eq!(report["row_id"], row, "{sql}");
        assert_eq!(report["fault"], fault, "{sql}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("error: audit chain does not verify: {message}\n"),
            "{sql}"
        );
    }
}

#[test]
fn audit_verify_refuses_a_malformed_or_unknown_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = holder(dir.path());
    let out = tessera(
        &[
            "audit",
            "verify",
            "--config",
            path_str(&config),
            "--anchor",
            "abc",
        ],
        None,
    );
    crate::fails_with(
        &out,
        "error: --anchor: expected 64 hex digits (the `hash` printed by `tessera audit head`)",
    );
    let unknown = "ab".repeat(32);
    let out = tessera(
        &[
            "audit",
            "verify",
            "--config",
            path_str(&config),
            "--anchor",
            &unknown,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_line(&out.stdout)["fault"], "anchor_missing");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: audit chain does not verify: anchor_missing: no row has the anchored hash \
             {unknown}: the chain was rewritten or cut since it was anchored\n"
        )
    );
}
