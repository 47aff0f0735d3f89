//! `tessera serve` and `tessera audit` on a PostgreSQL store that cannot be used: a malformed
//! or unreachable URL, a schema from a newer Tessera, a session that would acknowledge commits
//! before they are durable, a migration that fails half way. Each is refused at start-up with one
//! line naming the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tessera_store_pg::testing::TestDb;

fn config(dir: &Path, store: &str) -> PathBuf {
    let text = format!(
        r#"
listen = "127.0.0.1:0"
base_url = "https://h.example/fhir"
store = "{store}"
[holder]
organization = [{{ system = "http://hl7.org/fhir/sid/us-npi", value = "1234567893" }}]
address = {{ country = "US", state = "CA" }}
"#
    );
    let path = dir.join("holder.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `tessera serve` to its exit; a server that starts instead is killed and fails the test.
fn serve(config: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "tessera serve started instead of refusing {}",
                config.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Both commands refuse `store` with exactly this message.
fn both_refuse(store: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), store);
    let line = format!("error: config key `store`: {message}");
    crate::fails_with(&serve(&config), &line);
    let audit = crate::tessera(&["audit", "--config", config.to_str().unwrap()], None);
    crate::fails_with(&audit, &line);
}

#[test]
fn a_malformed_postgres_url_is_refused() {
    both_refuse(
        "postgres://postgres@127.0.0.1:notaport/test",
        "bad PostgreSQL URL: invalid connection string: invalid value for option `port`",
    );
}

#[test]
fn an_unreachable_postgres_server_is_refused() {
    both_refuse(
        "postgres://postgres@127.0.0.1:1/test",
        "cannot connect to PostgreSQL: error connecting to server: Connection refused (os error 111)",
    );
}

#[test]
fn a_schema_from_a_newer_tessera_is_refused() {
    let Some(mut db) = TestDb::new() else { return };
    tessera_store_pg::open(db.url(), tessera_store_pg::PoolOptions::default()).unwrap();
    let schema = db.schema().to_string();
    db.admin()
        .batch_execute(&format!(
            "INSERT INTO {schema}.refinery_schema_history (version, name, applied_on, checksum) \
             VALUES (999, 'future', '2030-01-01T00:00:00Z', '0')"
        ))
        .unwrap();
    let supported = tessera_store_pg::migrate::newest_version();
    both_refuse(
        db.url(),
        &format!("database schema version 999 is newer than supported {supported}"),
    );
}

#[test]
fn a_session_without_synchronous_commit_is_refused() {
    let Some(db) = TestDb::new() else { return };
    // `url()` ends in the `options=` parameter; one more `-c` setting joins it.
    let url = format!("{}%20-csynchronous_commit%3Doff", db.url());
    both_refuse(
        &url,
        "PostgreSQL is not durable: synchronous_commit = off; refusing to use it",
    );
}

// Issue 13, bad input: a migration that fails half way leaves nothing of itself behind, the
// node refuses to start naming the failure, and once the cause is gone the next start
// completes the schema.
#[test]
fn a_migration_failing_half_way_is_rolled_back_refused_and_completed_later() {
    let Some(mut db) = TestDb::new() else { return };
    let schema = db.schema().to_owned();
    // V2 creates `client_registration` after several other tables: an existing table of that
    // name makes it fail in the middle.
    db.admin()
        .batch_execute(&format!(
            "CREATE TABLE {schema}.client_registration (squatter INT)"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), db.url());
    let out = serve(&config);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: config key `store`: migration failed: V2__tokens (rolled back): ERROR: \
             relation \"client_registration\" already exists"
        ),
        "{stderr}"
    );
    let exists = |db: &mut TestDb, table: &str| -> bool {
        db.admin()
            .query_one(
                &format!("SELECT to_regclass('{schema}.{table}') IS NOT NULL"),
                &[],
            )
            .unwrap()
            .get(0)
    };
    let version = |db: &mut TestDb| -> i64 {
        db.admin()
            .query_one(
                &format!(
                    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM {schema}.refinery_schema_history"
                ),
                &[],
            )
            .unwrap()
            .get(0)
    };
    // V1 stands; nothing of V2 does (its first table was created, then rolled back).
    assert_eq!(version(&mut db), 1);
    assert!(exists(&mut db, "resource"));
    assert!(!exists(&mut db, "redemption_audit"));

    db.admin()
        .batch_execute(&format!("DROP TABLE {schema}.client_registration"))
        .unwrap();
    crate::ok(&crate::tessera(
        &["audit", "--config", config.to_str().unwrap()],
        None,
    ));
    assert_eq!(
        version(&mut db),
        tessera_store_pg::migrate::newest_version()
    );
    assert!(exists(&mut db, "redemption_audit"));
}
