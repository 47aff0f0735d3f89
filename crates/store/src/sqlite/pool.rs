//! Opening SQLite connections: one writer plus a small pool of read-only readers.
//!
//! WAL lets readers run in parallel with each other and with the single writer. An
//! in-memory database cannot be shared between connections without SQLite's shared-cache
//! mode (table locks, `SQLITE_LOCKED` errors no busy timeout covers), so `:memory:` stores
//! use the writer connection for reads too.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;

/// Statements cached per connection; grants of the same shape reuse the same SQL text.
const STATEMENT_CACHE: usize = 256;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_linkage.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_linkage_inputs.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_probe_indexes.sql"),
    ),
];

/// Where the database lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file on disk.
    File(PathBuf),
    /// A private in-memory database.
    Memory,
}

/// Opens the writer connection and brings the schema up to date.
pub fn open_writer(location: &Location) -> Result<Connection, StoreError> {
    let conn = match location {
        Location::File(path) => Connection::open(path)?,
        Location::Memory => Connection::open_in_memory()?,
    };
    configure(&conn)?;
    if matches!(location, Location::File(_)) {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL for ingest (re-runnable); acknowledged operator writes switch to FULL
        // (`durably` in sqlite/mod.rs).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    migrate(&conn)?;
    Ok(conn)
}

/// Opens `n` read-only connections to a file database.
pub fn open_readers(path: &Path, n: usize) -> Result<Vec<Connection>, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    (0..n)
        .map(|_| {
            let conn = Connection::open_with_flags(path, flags)?;
            configure(&conn)?;
            Ok(conn)
        })
        .collect()
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    stable_plans(conn)?;
    Ok(())
}

/// Turns on SQLite's query-planner stability guarantee. Without it, a statement whose plan
/// looked at a bound value (`LIMIT ?1`, a `LIKE ?1` prefix) is marked for re-preparation on
/// every rebind, and rusqlite clears the bindings of every cached statement it hands back: so
/// each cached search and linkage lookup was parsed and planned again on every execution
/// (about a tenth of a redemption's CPU in a `perf` profile, docs/BENCHMARKS.md). Our
/// plans come from the indexes, never from the bound values (EXPLAIN tests check them).
pub fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: newest,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

/// A fixed set of reader connections handed out one request at a time.
pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    available: Condvar,
}

impl Pool {
    /// A pool over these connections (may be empty: then [`Pool::get`] returns `None`).
    pub fn new(conns: Vec<Connection>) -> Pool {
        Pool {
            idle: Mutex::new(conns),
            available: Condvar::new(),
        }
    }

    /// Whether the pool has any connections at all.
    pub fn is_empty(&self) -> bool {
        self.idle.lock().map(|v| v.is_empty()).unwrap_or(true)
    }

    /// Waits for an idle connection.
    pub fn get(&self) -> Result<PooledConn<'_>, StoreError> {
        let mut idle = self.idle.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(PooledConn {
                    pool: self,
                    conn: Some(conn),
                });
            }
            idle = self
                .available
                .wait(idle)
                .map_err(|_| StoreError::Poisoned)?;
        }
    }
}

/// A connection borrowed from a [`Pool`]; returned on drop.
pub struct PooledConn<'p> {
    pool: &'p Pool,
    conn: Option<Connection>,
}

impl PooledConn<'_> {
    /// The connection.
    pub fn conn(&self) -> Option<&Connection> {
        self.conn.as_ref()
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.pool.idle.lock()) {
            idle.push(conn);
            self.pool.available.notify_one();
        }
    }
}

/// Either a pooled reader or the locked writer: both deref to a connection.
pub enum ReadConn<'a> {
    /// From the reader pool.
    Pooled(PooledConn<'a>),
    /// The writer (in-memory stores).
    Writer(MutexGuard<'a, Connection>),
}

impl ReadConn<'_> {
    /// The connection to query on.
    pub fn conn(&self) -> Result<&Connection, StoreError> {
        match self {
            ReadConn::Pooled(p) => p.conn().ok_or(StoreError::Poisoned),
            ReadConn::Writer(g) => Ok(g),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    use super::stable_plans;

    /// How often the cached statement was prepared again over `runs` executions with
    /// different bound values.
    fn reprepares(conn: &Connection, runs: i64) -> i32 {
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t (b);",
        )
        .unwrap();
        let sql = "SELECT a FROM t WHERE b = ?1 ORDER BY a LIMIT ?2";
        for n in 0..runs {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let _: Vec<i64> = stmt
                .query_map(rusqlite::params![format!("v{n}"), n + 2], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        }
        let stmt = conn.prepare_cached(sql).unwrap();
        stmt.get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn cached_statements_with_bound_limits_are_not_prepared_again() {
        let plain = Connection::open_in_memory().unwrap();
        assert!(
            reprepares(&plain, 5) > 0,
            "the default re-prepares on rebind"
        );
        let stable = Connection::open_in_memory().unwrap();
        stable_plans(&stable).unwrap();
        assert_eq!(reprepares(&stable, 5), 0);
    }
}
