//! A small blocking connection pool, which also holds the node's second set of connections,
//! the asynchronous ones FHIR reads use ([`crate::async_pool`], same bounds and timeouts).
//!
//! Connections are made lazily up to `max`; a checkout waits at most `checkout_timeout` for a
//! free one. A connection the server closed (restart, network loss) is dropped at checkout or
//! return and a new one is made on the next checkout, so a node reconnects by itself when the
//! database comes back; a request that hit the outage fails with an error rather than a stale
//! answer.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};

use crate::async_pool::AsyncPool;
use crate::error::PgError;

/// Pool sizing.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once (reads and writes together).
    pub max: usize,
    /// Longest wait for a free connection.
    pub checkout_timeout: Duration,
    /// Longest wait for a new connection.
    pub connect_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max: 8,
            checkout_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Most prepared statements one connection keeps; past it the cache starts over (the search
/// shapes in use refill it within a few requests).
pub const MAX_PREPARED: usize = 256;

/// The key a statement is kept under on a connection. The parameter types are part of the
/// statement: the same text with other types is another one.
pub(crate) fn statement_key(text: &str, types: &[Type]) -> String {
    let mut key = String::with_capacity(text.len() + 4 * types.len() + 1);
    key.push_str(text);
    key.push('\0');
    for t in types {
        key.push_str(&t.oid().to_string());
        key.push(',');
    }
    key
}

/// A connection and the statements prepared on it, by text.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            prepared: HashMap::new(),
        }
    }
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections open, idle or checked out.
    open: usize,
}

/// Blocking pool of `postgres::Client`s to one database.
pub struct Pool {
    config: Config,
    options: PoolOptions,
    /// The asynchronous connections FHIR reads and searches use (at most `max` more).
    reads: AsyncPool,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: only where the pool points.
        f.debug_struct("Pool")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("max", &self.options.max)
            .finish()
    }
}

impl Pool {
    /// Parses `url` and makes one connection now, so a wrong URL or an unreachable server is
    /// reported at start-up.
    pub fn connect(url: &str, options: PoolOptions) -> Result<Pool, PgError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| PgError::BadUrl(crate::error::describe(&e)))?;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("tessera");
        }
        // The default, set explicitly so a server configured otherwise cannot change it:
        // statements sent unnamed are planned for their values, and a named one keeps a
        // generic plan only when it costs no more (resources/plan.rs decides which is which).
        let startup = match config.get_options() {
            Some(o) => format!("{o} -c plan_cache_mode=auto"),
            None => "-c plan_cache_mode=auto".to_owned(),
        };
        config.options(&startup);
        let max = options.max.max(1);
        let pool = Pool {
            reads: AsyncPool::new(
                config.clone(),
                max,
                options.checkout_timeout,
                options.connect_timeout,
            ),
            config: Config::from(config),
            options: PoolOptions { max, ..options },
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        };
        let first = pool.get()?;
        drop(first);
        Ok(pool)
    }

    /// The parsed connection settings (e.g. to open a dedicated writer connection).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A new connection outside the pool.
    pub fn dedicated(&self) -> Result<Client, PgError> {
        self.config
            .connect(NoTls)
            .map_err(|e| PgError::Connect(crate::error::describe(&e)))
    }

    /// A connection: an idle one, a new one while fewer than `max` are open, or the next one
    /// returned within the checkout timeout.
    pub fn get(&self) -> Result<PooledClient<'_>, PgError> {
        let deadline = Instant::now() + self.options.checkout_timeout;
        let mut slots = self.lock();
        loop {
            while let Some(conn) = slots.idle.pop() {
                if conn.client.is_closed() {
                    slots.open -= 1;
                    continue;
                }
                return Ok(PooledClient {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if slots.open < self.options.max {
                slots.open += 1;
                drop(slots);
                return match self.dedicated() {
                    Ok(client) => Ok(PooledClient {
                        pool: self,
                        conn: Some(Conn::new(client)),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(PgError::PoolTimeout(
                    self.options.checkout_timeout.as_millis() as u64,
                ));
            }
            slots = match self.freed.wait_timeout(slots, deadline - now) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Slots is two plain fields updated together under the lock: a panic elsewhere cannot
        // leave it torn, so a poisoned lock is safe to keep using.
        match self.slots.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The asynchronous connections of FHIR reads and searches.
    pub fn reads(&self) -> &AsyncPool {
        &self.reads
    }

    /// Connections open now (idle or checked out).
    pub fn open_connections(&self) -> usize {
        self.lock().open
    }

    /// Open, checked-out and maximum connections, blocking and asynchronous together.
    pub fn usage(&self) -> tessera_store::PoolUse {
        let (reads_open, reads_in_use) = self.reads.usage();
        let slots = self.lock();
        tessera_store::PoolUse {
            open: slots.open + reads_open,
            in_use: slots.open.saturating_sub(slots.idle.len()) + reads_in_use,
            max: self.options.max + self.reads.max(),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a client blocks on its own runtime, which tokio forbids on a thread driving
        // async tasks — where the last store handle is often dropped (server shutdown).
        let idle = std::mem::take(&mut self.lock().idle);
        crate::blocking::run(move || drop(idle));
    }
}

/// A pooled connection; returned to the pool on drop (or discarded when the server closed it).
pub struct PooledClient<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
}

impl PooledClient<'_> {
    fn conn(&mut self) -> &mut Conn {
        // Invariant: `conn` is Some from construction until drop.
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("pooled client taken before drop"),
        }
    }

    /// `text` prepared on this connection (once; later calls reuse it), for statements run
    /// often enough that parsing and planning them each time is PostgreSQL's main cost, and
    /// whose plan may be kept (resources/plan.rs).
    pub fn prepared(&mut self, text: &str, types: &[Type]) -> Result<Statement, PgError> {
        let key = statement_key(text, types);
        let conn = self.conn();
        if let Some(st) = conn.prepared.get(&key) {
            return Ok(st.clone());
        }
        let st = conn.client.prepare_typed(text, types)?;
        if conn.prepared.len() >= MAX_PREPARED {
            // Dropping a Statement closes it on the server.
            conn.prepared.clear();
        }
        conn.prepared.insert(key, st.clone());
        Ok(st)
    }

    /// The rows of `text` run as a statement kept on this connection ([`Self::prepared`]),
    /// with its parameters given as for `query_typed`.
    pub fn query_kept(
        &mut self,
        text: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, PgError> {
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let st = self.prepared(text, &types)?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        Ok(self.query(&st, &values)?)
    }

    /// Statements prepared on this connection.
    pub fn prepared_count(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.prepared.len())
    }
}

impl Deref for PooledClient<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Invariant: `conn` is Some from construction until drop.
        match &self.conn {
            Some(c) => &c.client,
            None => unreachable!("pooled client taken before drop"),
        }
    }
}

impl DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.conn().client
    }
}

impl Drop for PooledClient<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut slots = self.pool.lock();
        if conn.client.is_closed() {
            slots.open -= 1;
        } else {
            slots.idle.push(conn);
        }
        drop(slots);
        self.pool.freed.notify_one();
    }
}
