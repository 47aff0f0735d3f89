//! Throwaway databases for tests: each [`TestDb`] is a schema of its own in the server named
//! by `TESSERA_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), dropped when the
//! value is dropped, so tests run in parallel and runs never see each other's rows.
//!
//! When `TESSERA_PG_URL` is unset and nothing answers at the default, the first [`TestDb::new`]
//! of a test process runs the project's own `scripts/postgres.sh` (which starts — installing
//! Debian's `postgresql` if it must — a private server under `target/pg`), so the README's one
//! test command covers PostgreSQL on a fresh machine too. When even that fails, `new` returns
//! `None` and the caller skips its PostgreSQL half (printing why), unless
//! `TESSERA_REQUIRE_PG=1` is set — `.ci/run` sets it, so there a missing server fails the run.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The admin URL tests create their schemas through: `TESSERA_PG_URL`, else the default when
/// it answers, else whatever `scripts/postgres.sh` started.
pub fn admin_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TESSERA_PG_URL") {
            return url;
        }
        if Client::connect(DEFAULT_URL, NoTls).is_ok() {
            return DEFAULT_URL.to_owned();
        }
        start_server().unwrap_or_else(|| DEFAULT_URL.to_owned())
    })
    .clone()
}

/// Runs scripts/postgres.sh; the URL it printed, if it succeeded.
fn start_server() -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/postgres.sh");
    eprintln!("no PostgreSQL at {DEFAULT_URL}: running {script}");
    let out = std::process::Command::new("bash")
        .arg(script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    let url = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !url.is_empty()).then_some(url)
}

/// Whether a missing server must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("TESSERA_REQUIRE_PG").is_ok_and(|v| v == "1")
}

/// A fresh schema; `url()` selects it through `options=-csearch_path=…`. Or, from
/// [`TestDb::new_database`], a fresh database.
pub struct TestDb {
    admin: Client,
    schema: String,
    url: String,
    /// A database of its own, dropped instead of the schema.
    database: Option<String>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("url", &self.url).finish()
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A new empty schema, or `None` (with a note on stderr) when no server answers and one is
    /// not required.
    ///
    /// # Panics
    /// When `TESSERA_REQUIRE_PG=1` and no server answers, or the schema cannot be made.
    #[allow(clippy::panic)]
    pub fn new() -> Option<TestDb> {
        let base = admin_url();
        let mut admin = match Client::connect(&base, NoTls) {
            Ok(c) => c,
            Err(e) if !required() => {
                eprintln!("skipping the PostgreSQL half: no server at {base}: {e}");
                return None;
            }
            Err(e) => panic!("TESSERA_REQUIRE_PG=1 but no PostgreSQL at {base}: {e}"),
        };
        let schema = format!(
            "t_{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        );
        if let Err(e) = admin.batch_execute(&format!("CREATE SCHEMA {schema}")) {
            panic!("cannot create test schema {schema}: {e}");
        }
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Some(TestDb {
            admin,
            schema,
            url,
            database: None,
        })
    }

    /// A new empty *database* (schema `public`), for a test whose outcome depends on other
    /// sessions: VACUUM's horizon and the visibility map, hence the planner's choice between
    /// index-only and sequential scans, count every open snapshot in the same database, and
    /// parallel tests in their schemas of the shared one hold such snapshots.
    ///
    /// # Panics
    /// As [`TestDb::new`].
    #[allow(clippy::panic)]
    pub fn new_database() -> Option<TestDb> {
        let mut db = TestDb::new()?;
        let name = db.schema.clone();
        if let Err(e) = db.admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            panic!("cannot create test database {name}: {e}");
        }
        let base = admin_url();
        let (path, query) = match base.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (base.as_str(), None),
        };
        // `scheme://authority/dbname`: replace (or add) the last path segment.
        let authority_end = path.find("://").map_or(0, |i| i + 3);
        let prefix = match path[authority_end..].find('/') {
            Some(i) => &path[..authority_end + i],
            None => path,
        };
        db.url = match query {
            Some(q) => format!("{prefix}/{name}?{q}"),
            None => format!("{prefix}/{name}"),
        };
        db.database = Some(name);
        Some(db)
    }

    /// The URL of this schema (what `store = "…"` would say).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The admin connection (to tamper with rows in tests, say).
    pub fn admin(&mut self) -> &mut Client {
        &mut self.admin
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A test that failed inside a transaction on `admin` would otherwise roll the drop
        // back with it and leave its schema behind.
        let _ = self.admin.batch_execute("ROLLBACK");
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        if let Some(name) = &self.database {
            let _ = self
                .admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
