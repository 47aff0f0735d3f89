//! The pool of asynchronous connections that FHIR reads and searches run on.
//!
//! A read or search is one statement. On the blocking pool it costs two thread hand-offs
//! (the handler to a blocking thread and back) plus the `postgres` client's own runtime
//! parking on its socket; here the handler's task sends the statement and the worker runs
//! other tasks until the answer arrives (BENCHMARKS.md, "FHIR reads without a blocking
//! thread"). Same rules as [`crate::pool::Pool`]: at most `max` connections, made lazily, a
//! bounded wait for a free one, a connection the server closed is dropped and replaced, and
//! statements kept per connection with the same 256 bound.
//!
//! Each connection's I/O runs as a task on the runtime that opened it. A connection whose
//! runtime has ended reports itself closed and is replaced at its next checkout.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use crate::error::PgError;
use crate::pool::MAX_PREPARED;

struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

struct Idle {
    conns: Vec<Conn>,
    /// Connections open, idle or checked out.
    open: usize,
}

/// Asynchronous pool of `tokio_postgres::Client`s to one database.
pub struct AsyncPool {
    config: Config,
    max: usize,
    checkout_timeout: Duration,
    connect_timeout: Duration,
    /// One permit per connection that may be checked out at once.
    permits: Semaphore,
    idle: Mutex<Idle>,
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
            permits: Semaphore::new(max),
            idle: Mutex::new(Idle {
                conns: Vec::new(),
                open: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        // Two plain fields updated together under the lock: a panic elsewhere cannot leave
        // them torn, so a poisoned lock is safe to keep using.
        match self.idle.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A connection: an idle one or a new one, once one of the `max` permits is free within
    /// the checkout timeout.
    pub async fn get(&self) -> Result<AsyncClient<'_>, PgError> {
        let wait = self.checkout_timeout.as_millis() as u64;
        let permit = match tokio::time::timeout(self.checkout_timeout, self.permits.acquire()).await
        {
            Ok(Ok(p)) => p,
            // The semaphore is never closed; a timeout and a closed one both mean "no
            // connection free".
            Ok(Err(_)) | Err(_) => return Err(PgError::PoolTimeout(wait)),
        };
        let reused = {
            let mut idle = self.lock();
            let mut found = None;
            while let Some(conn) = idle.conns.pop() {
                if conn.client.is_closed() {
                    idle.open -= 1;
                    continue;
                }
                found = Some(conn);
                break;
            }
            if found.is_none() {
                // Counted before connecting: a permit is held, so open stays ≤ max.
                idle.open += 1;
            }
            found
        };
        let conn = match reused {
            Some(conn) => conn,
            None => match self.connect().await {
                Ok(client) => Conn {
                    client,
                    prepared: HashMap::new(),
                },
                Err(e) => {
                    self.lock().open -= 1;
                    return Err(e);
                }
            },
        };
        Ok(AsyncClient {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
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

    /// Connections open and checked out now.
    pub fn usage(&self) -> (usize, usize) {
        let idle = self.lock();
        (idle.open, idle.open.saturating_sub(idle.conns.len()))
    }

    /// Most connections open at once.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A checked-out connection; returned to the pool on drop (or discarded when closed).
pub struct AsyncClient<'p> {
    pool: &'p AsyncPool,
    conn: Option<Conn>,
    _permit: SemaphorePermit<'p>,
}

impl AsyncClient<'_> {
    fn conn(&mut self) -> &mut Conn {
        // Invariant: `conn` is Some from construction until drop.
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("pooled client taken before drop"),
        }
    }

    /// The rows of `text` run as a statement kept on this connection (prepared once, with
    /// these parameter types), as [`crate::pool::PooledClient::query_kept`].
    pub async fn query_kept(
        &mut self,
        text: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let key = crate::pool::statement_key(text, &types);
        let conn = self.conn();
        let st = match conn.prepared.get(&key) {
            Some(st) => st.clone(),
            None => {
                let st = conn.client.prepare_typed(text, &types).await?;
                if conn.prepared.len() >= MAX_PREPARED {
                    conn.prepared.clear();
                }
                conn.prepared.insert(key, st.clone());
                st
            }
        };
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        Ok(conn.client.query(&st, &values).await?)
    }

    /// The rows of `text` sent unnamed: parsed and planned for these values.
    pub async fn query_typed(
        &mut self,
        text: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        Ok(self.conn().client.query_typed(text, params).await?)
    }

    /// Statements kept on this connection.
    pub fn prepared_count(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.prepared.len())
    }
}

impl Drop for AsyncClient<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut idle = self.pool.lock();
        if conn.client.is_closed() {
            idle.open -= 1;
        } else {
            idle.conns.push(conn);
        }
        // The permit is released after this, when the field drops.
    }
}
