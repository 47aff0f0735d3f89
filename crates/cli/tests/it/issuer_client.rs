//! `tessera issuer`, `tessera redeem`, `tessera fetch`: help, the operator commands over a real
//! database, and one-line errors that name the failing step.

use serde_json::{Value, json};
use tessera_jose::{Alg, PrivateJwk};

use crate::{ok, path_str, tessera};

#[test]
fn help_is_available() {
    for (args, needle) in [
        (&["issuer", "--help"][..], "serve"),
        (&["issuer", "serve", "--help"][..], "--print-example-config"),
        (&["issuer", "revoke", "--help"][..], "<JTI>"),
        (&["issuer", "refusals", "--help"][..], "--limit"),
        (&["redeem", "--help"][..], "--token-endpoint"),
        (&["fetch", "--help"][..], "--dpop-key"),
    ] {
        let out = ok(&tessera(args, None));
        assert!(out.contains(needle), "{args:?}: {out}");
    }
    let out = ok(&tessera(
        &["issuer", "serve", "--print-example-config"],
        None,
    ));
    assert_eq!(out, tessera_issuer::EXAMPLE_CONFIG);
    // Exactly one of the two endpoint options is a usage error otherwise.
    assert_eq!(
        tessera(
            &[
                "redeem",
                "--ticket",
                "t",
                "--client-id",
                "c",
                "--client-key",
                "k"
            ],
            None
        )
        .status
        .code(),
        Some(2)
    );
}

fn setup(dir: &std::path::Path) -> std::path::PathBuf {
    setup_store(dir, "database = \"issuer.sqlite3\"")
}

/// An issuer config whose storage line is `store`.
fn setup_store(dir: &std::path::Path, store: &str) -> std::path::PathBuf {
    let key = PrivateJwk::generate(Alg::Es256).unwrap();
    std::fs::write(dir.join("issuer.jwk.json"), key.to_value().to_string()).unwrap();
    let config = dir.join("issuer.toml");
    std::fs::write(
        &config,
        format!(
            "issuer = \"http://127.0.0.1:8090\"\n{store}\n\
             [[key]]\nfile = \"issuer.jwk.json\"\nstatus = \"active\"\n"
        ),
    )
    .unwrap();
    config
}

#[test]
fn operator_mints_shows_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    operator_flow(&setup(dir.path()));
}

#[test]
fn operator_lists_the_latest_refusals() {
    use tessera_issuer::IssuerStore;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let refusals = |limit: &str| -> Value {
        let args = [
            "issuer",
            "refusals",
            "--config",
            path_str(&config),
            "--limit",
            limit,
        ];
        serde_json::from_str(&ok(&tessera(&args, None))).unwrap()
    };
    assert_eq!(refusals("10"), json!({"refusals": []}));
    // Two refusals the minting API recorded.
    let db = tessera_issuer::Db::open(&dir.path().join("issuer.sqlite3")).unwrap();
    for (at, endpoint) in [(10, "mint"), (20, "revoke")] {
        db.record_refusal(&tessera_issuer::RefusalRecord {
            id: 0,
            at,
            endpoint: endpoint.into(),
            client_id: None,
            claimed_client_id: Some("portal".into()),
            status: 401,
            error: "invalid_client".into(),
            error_description: "client assertion signature invalid".into(),
            ticket_type: None,
            jti: None,
        })
        .unwrap();
    }
    let latest = refusals("1");
    let rows = latest["refusals"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{latest}");
    assert_eq!(
        (
            &rows[0]["endpoint"],
            &rows[0]["at"],
            &rows[0]["claimed_client_id"]
        ),
        (&json!("revoke"), &json!(20), &json!("portal"))
    );
    assert_eq!(refusals("10")["refusals"].as_array().unwrap().len(), 2);
    let out = tessera(
        &[
            "issuer",
            "refusals",
            "--config",
            path_str(&config),
            "--limit",
            "0",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "a limit of 0 is a usage error");
}

/// The same operator flow with `store = "postgres://…"` (skipped without a server unless
/// `TESSERA_REQUIRE_PG=1`): each command is a new process on the shared database.
#[test]
fn operator_mints_shows_and_revokes_on_postgres() {
    let Some(db) = tessera_store_pg::testing::TestDb::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    operator_flow(&setup_store(
        dir.path(),
        &format!("store = \"{}\"", db.url()),
    ));
}

#[test]
fn a_bad_issuer_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for (line, message) in [
        (
            "store = \"mysql://x/db\"",
            "error: config key `store`: must be `sqlite://path.db` or `postgres://user@host/db`",
        ),
        (
            "store = \"sqlite://x.db\"\ndatabase = \"y.db\"",
            "error: config key `store`: give `database` or `store`, not both",
        ),
    ] {
        let config = setup_store(dir.path(), line);
        let out = tessera(
            &["issuer", "show", "--config", path_str(&config), "x"],
            None,
        );
        crate::fails_with(&out, message);
    }
    let config = setup_store(dir.path(), "store = \"postgres://nobody@127.0.0.1:1/db\"");
    let out = tessera(
        &["issuer", "show", "--config", path_str(&config), "x"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: config key `store`: cannot connect to PostgreSQL: "),
        "{err}"
    );
}

fn operator_flow(config: &std::path::Path) {
    let config = config.to_path_buf();
    let jkt = PrivateJwk::generate(Alg::Es256)
        .unwrap()
        .public()
        .thumbprint();
    let claims = json!({
        "aud": "http://127.0.0.1:8080/fhir",
        "ticket_type": "https://smarthealthit.org/permission-ticket-type/patient-self-access-v1",
        "presenter_binding": {"method": "jkt", "jkt": jkt},
        "subject": {"patient": {"resourceType": "Patient", "name": [{"family": "Reyes", "given": ["Elena"]}],
            "birthDate": "1989-09-14"}},
        "access": {"smart_scopes": ["patient/Observation.rs"]}
    });
    let minted: Value = serde_json::from_str(&ok(&tessera(
        &[
            "issuer",
            "mint",
            "--config",
            path_str(&config),
            "--claims",
            "-",
            "--verified",
            "identity",
            "--verified-by",
            "front-desk",
            "--verification-method",
            "in-person photo ID check",
        ],
        Some(&claims.to_string()),
    )))
    .unwrap();
    let jti = minted["jti"].as_str().unwrap();
    assert_eq!(
        minted["revocation"]["url"],
        "http://127.0.0.1:8090/status/tickets"
    );

    let shown: Value = serde_json::from_str(&ok(&tessera(
        &["issuer", "show", "--config", path_str(&config), jti],
        None,
    )))
    .unwrap();
    assert_eq!(shown["requested_by"], "operator");
    // PT-ISS-06: the verification record is kept by jti.
    assert_eq!(shown["verification"]["facts"], json!(["identity"]));
    assert_eq!(shown["verification"]["verified_by"], "front-desk");
    assert_eq!(shown["revoked_at"], Value::Null);

    let revoked: Value = serde_json::from_str(&ok(&tessera(
        &["issuer", "revoke", "--config", path_str(&config), jti],
        None,
    )))
    .unwrap();
    assert!(revoked["revoked_at"].is_i64());
    let shown: Value = serde_json::from_str(&ok(&tessera(
        &["issuer", "show", "--config", path_str(&config), jti],
        None,
    )))
    .unwrap();
    assert_eq!(shown["revoked_at"], revoked["revoked_at"]);

    let out = tessera(
        &["issuer", "show", "--config", path_str(&config), "nope"],
        None,
    );
    crate::fails_with(&out, "error: no ticket \"nope\"");
}

#[test]
fn bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("issuer.toml");
    std::fs::write(&config, "issuer = \"ftp://x\"\ndatabase = \"db\"\n").unwrap();
    let out = tessera(
        &["issuer", "show", "--config", path_str(&config), "x"],
        None,
    );
    crate::fails_with(
        &out,
        "error: config key `issuer`: must be an https URL (http only on loopback)",
    );
}

#[test]
fn client_errors_name_the_failing_step() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("client.jwk.json");
    std::fs::write(
        &key,
        PrivateJwk::generate(Alg::Es256)
            .unwrap()
            .to_value()
            .to_string(),
    )
    .unwrap();
    let ticket = dir.path().join("ticket.jwt");
    std::fs::write(&ticket, "a.b.c\n").unwrap();
    // Port 9 (discard) is closed on loopback: the connection is refused at once.
    let out = tessera(
        &[
            "redeem",
            "--ticket",
            path_str(&ticket),
            "--token-endpoint",
            "http://127.0.0.1:9/token",
            "--client-id",
            "app",
            "--client-key",
            path_str(&key),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: token exchange failed: cannot reach http://127.0.0.1:9/token"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    let out = tessera(
        &[
            "redeem",
            "--ticket",
            path_str(&ticket),
            "--fhir-base",
            "http://127.0.0.1:9/fhir",
            "--client-id",
            "app",
            "--client-key",
            path_str(&key),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: SMART discovery failed: cannot reach"),
        "{err}"
    );

    let out = tessera(
        &["fetch", "--token", "t", "http://127.0.0.1:9/fhir/Patient/1"],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: FHIR fetch failed: cannot reach"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1));

    let out = tessera(
        &[
            "redeem",
            "--ticket",
            path_str(&ticket),
            "--token-endpoint",
            "http://127.0.0.1:9/token",
            "--client-id",
            "app",
            "--client-key",
            path_str(&ticket),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: key file"), "{err}");
}
