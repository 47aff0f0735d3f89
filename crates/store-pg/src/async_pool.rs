//! The pool of asynchronous connections that FHIR reads and searches run on.
//!
//! A read or search is one statement. On the blocking pool it costs two thread hand-offs
//! (the handler to a blocking thread and back) plus the `postgres` client's own runtime
//! parking on its socket; here the handler's task sends the statement and the worker runs
//! other tasks until the answer arrives (BENCHMARKS.md, "FHIR reads without a blocking
//! thread").
//!
//! Connections are shared, not checked out: a read statement needs no transaction (each is
//! one snapshot), so up to [`PIPELINE_DEPTH`] of them ride one connection at once, pipelined
//! (`tokio-postgres` sends each request's messages whole and matches answers in order). A
//! connection fills its pipeline before another is opened, so a busy node keeps a few
//! PostgreSQL backends working through queued statements instead of many backends woken one
//! statement at a time: +10–30 % reads and searches at 8 connections, for a longer tail
//! when a slow statement sits ahead of fast ones (measured, BENCHMARKS.md). Otherwise the
//! blocking pool's rules: at most `max` connections, made lazily; at most `max ×
//! PIPELINE_DEPTH` statements in flight, with a bounded wait past that; a connection the
//! server closed is dropped and replaced; statements kept per connection with the same 256
//! bound.
//!
//! Each connection's I/O runs as a task on the runtime that opened it. A connection whose
//! runtime has ended reports itself closed and is dropped at the next checkout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use crate::error::PgError;
use crate::pool::MAX_PREPARED;

/// Statements one connection carries at once, pipelined: a connection takes more until it
/// has this many before another is opened.
pub const PIPELINE_DEPTH: usize = 4;

struct Shared {
    client: Client,
    prepared: Mutex<HashMap<String, Statement>>,
    in_flight: AtomicUsize,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What a checkout does next.
enum Pick {
    Use(Arc<Shared>),
    /// Open a connection (already counted in `Open::opening`).
    Open,
    /// Every allowed connection is being opened: wait for one.
    Wait,
}

struct Open {
    conns: Vec<Arc<Shared>>,
    /// Connections being made now (counted against `max`).
    opening: usize,
}

/// Asynchronous pool of `tokio_postgres::Client`s to one database.
pub struct AsyncPool {
    config: Config,
    max: usize,
    checkout_timeout: Duration,
    connect_timeout: Duration,
    /// One permit per statement that may be in flight at once.
    permits: Semaphore,
    open: Mutex<Open>,
}

impl std::fmt::Debug for AsyncPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPool")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl AsyncPool {
    /// A pool over `config` that opens nothing until its first checkout.
    pub fn new(
        config: Config,
        max: usize,
        checkout_timeout: Duration,
        connect_timeout: Duration,
    ) -> AsyncPool {
        let max = max.max(1);
        AsyncPool {
            config,
            max,
            checkout_timeout,
            connect_timeout,
            permits: Semaphore::new(max * PIPELINE_DEPTH),
            open: Mutex::new(Open {
                conns: Vec::new(),
                opening: 0,
            }),
        }
    }

    /// A connection to send one statement on: the first open one with room in its
    /// pipeline, else a new one while fewer than `max` are open or being opened, else the
    /// least busy; while every allowed connection is still being opened, the wait for one
    /// counts against the checkout timeout.
    pub async fn get(&self) -> Result<AsyncClient<'_>, PgError> {
        let deadline = tokio::time::Instant::now() + self.checkout_timeout;
        let timeout = || PgError::PoolTimeout(self.checkout_timeout.as_millis() as u64);
        let permit = match tokio::time::timeout_at(deadline, self.permits.acquire()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) | Err(_) => return Err(timeout()),
        };
        let conn = loop {
            match self.pick() {
                Pick::Use(c) => break c,
                Pick::Open => {
                    let made = self.connect().await;
                    let mut open = locked(&self.open);
                    open.opening -= 1;
                    let c = Arc::new(Shared {
                        client: made?,
                        prepared: Mutex::new(HashMap::new()),
                        in_flight: AtomicUsize::new(0),
                    });
                    open.conns.push(c.clone());
                    break c;
                }
                Pick::Wait => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(timeout());
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        };
        conn.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(AsyncClient {
            conn,
            _permit: permit,
        })
    }

    fn pick(&self) -> Pick {
        let mut open = locked(&self.open);
        open.conns.retain(|c| !c.client.is_closed());
        let busy = |c: &Arc<Shared>| c.in_flight.load(Ordering::Relaxed);
        if let Some(c) = open.conns.iter().find(|c| busy(c) < PIPELINE_DEPTH) {
            return Pick::Use(c.clone());
        }
        if open.conns.len() + open.opening < self.max {
            open.opening += 1;
            return Pick::Open;
        }
        match open.conns.iter().min_by_key(|c| busy(c)) {
            Some(c) => Pick::Use(c.clone()),
            // Every allowed connection is being opened by other checkouts.
            None => Pick::Wait,
        }
    }

    async fn connect(&self) -> Result<Client, PgError> {
        let connecting = self.config.connect(NoTls);
        let (client, connection) =
            match tokio::time::timeout(self.connect_timeout, connecting).await {
                Ok(Ok(pair)) => pair,
                Ok(Err(e)) => return Err(PgError::Connect(crate::error::describe(&e))),
                Err(_) => {
                    return Err(PgError::Connect(format!(
                        "no answer within {} ms",
                        self.connect_timeout.as_millis()
                    )));
                }
            };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %crate::error::describe(&e), "PostgreSQL read connection ended");
            }
        });
        Ok(client)
    }

    /// Connections open, and those with a statement in flight, now.
    pub fn usage(&self) -> (usize, usize) {
        let open = locked(&self.open);
        let busy = open
            .conns
            .iter()
            .filter(|c| c.in_flight.load(Ordering::Relaxed) > 0)
            .count();
        (open.conns.len(), busy)
    }

    /// Most connections open at once.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A connection taken for one statement (or a few in sequence); its place in the pipeline
/// is given back on drop.
pub struct AsyncClient<'p> {
    conn: Arc<Shared>,
    _permit: SemaphorePermit<'p>,
}

impl AsyncClient<'_> {
    /// The rows of `text` run as a statement kept on this connection (prepared once, with
    /// these parameter types), as [`crate::pool::PooledClient::query_kept`].
    pub async fn query_kept(
        &mut self,
        text: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let key = crate::pool::statement_key(text, &types);
        let found = locked(&self.conn.prepared).get(&key).cloned();
        let st = match found {
            Some(st) => st,
            None => {
                let st = self.conn.client.prepare_typed(text, &types).await?;
                let mut prepared = locked(&self.conn.prepared);
                if prepared.len() >= MAX_PREPARED {
                    prepared.clear();
                }
                prepared.insert(key, st.clone());
                st
            }
        };
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        Ok(self.conn.client.query(&st, &values).await?)
    }

    /// The rows of `text` sent unnamed: parsed and planned for these values.
    pub async fn query_typed(
        &mut self,
        text: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        Ok(self.conn.client.query_typed(text, params).await?)
    }

    /// Statements kept on this connection.
    pub fn prepared_count(&self) -> usize {
        locked(&self.conn.prepared).len()
    }
}

impl Drop for AsyncClient<'_> {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
