//! The backends under test. Each constructor returns the stores and whatever keeps them alive
//! (a temporary directory, a PostgreSQL schema dropped with it).

use std::sync::Arc;

use tessera_store::durable::TokenStore;
use tessera_store::token_db::TokenDb;
use tessera_store::{ResourceStore, SqliteStore};
use tessera_store_pg::testing::TestDb;
use tessera_store_pg::{PgStore, PoolOptions, open_resources};

/// What keeps a backend's storage alive until the test ends.
#[allow(dead_code)]
pub enum Guard {
    /// The SQLite file's directory.
    Dir(tempfile::TempDir),
    /// The PostgreSQL schema.
    Pg(Box<TestDb>),
}

/// A resource store under test.
pub struct Resources {
    pub name: &'static str,
    pub store: Arc<dyn ResourceStore>,
    pub _guard: Guard,
}

/// A token store under test.
pub struct Tokens {
    pub name: &'static str,
    pub store: Arc<dyn TokenStore>,
    pub _guard: Guard,
}

fn sqlite_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    (dir, path)
}

/// Every resource backend available here: SQLite (a file: the real durable paths), then
/// PostgreSQL when a server answers.
pub fn resources() -> Vec<Resources> {
    let (dir, path) = sqlite_file();
    let mut v = vec![Resources {
        name: "sqlite",
        store: Arc::new(SqliteStore::open(&path).unwrap()),
        _guard: Guard::Dir(dir),
    }];
    if let Some((db, store)) = postgres_resources() {
        v.push(Resources {
            name: "postgres",
            store,
            _guard: Guard::Pg(Box::new(db)),
        });
    }
    v
}

/// A PostgreSQL resource store in a fresh schema, when a server answers (for the cases only
/// PostgreSQL has: EXPLAIN plans, schema versions).
pub fn postgres_resources() -> Option<(TestDb, Arc<PgStore>)> {
    let db = TestDb::new()?;
    let store = open_resources(db.url(), PoolOptions::default()).unwrap();
    Some((db, store))
}

/// Every token backend available here, as [`resources`].
pub fn tokens() -> Vec<Tokens> {
    let (dir, path) = sqlite_file();
    let mut v = vec![Tokens {
        name: "sqlite",
        store: Arc::new(TokenDb::open(&path).unwrap()),
        _guard: Guard::Dir(dir),
    }];
    if let Some(db) = TestDb::new() {
        let (_, store) = pg_open(db.url());
        v.push(Tokens {
            name: "postgres",
            store,
            _guard: Guard::Pg(Box::new(db)),
        });
    }
    v
}

/// Opens both PostgreSQL stores on `url` (a second call on the same URL is a second node:
/// its own pool and connections).
pub fn pg_open(url: &str) -> (Arc<tessera_store_pg::PgStore>, Arc<dyn TokenStore>) {
    let options = tessera_store_pg::PoolOptions {
        max: 4,
        ..tessera_store_pg::PoolOptions::default()
    };
    let (store, tokens) = tessera_store_pg::open(url, options).unwrap();
    (store, tokens)
}
