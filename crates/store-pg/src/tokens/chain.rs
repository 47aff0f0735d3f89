//! The audit hash chain on PostgreSQL (docs/design/003-audit-chain.md): every batch that may
//! write an audit row locks the head row (`FOR UPDATE`, held to COMMIT), so appends of all
//! nodes serialize and chain order is commit order. It is the batch's last lock: taken after
//! every statement that can wait on another transaction (single-use keys, rotations,
//! registrations), so a holder of the head only inserts fresh rows and commits — it never
//! waits while holding it, no lock cycle can pass through it, and a batch stalled on another
//! node's pending key stalls no one else. Rows are linked with `tessera_store::audit_chain` in
//! memory and the head is written once before COMMIT; `verify` walks one read-only snapshot
//! through a cursor.

use postgres::types::Type;
use postgres::{Client, IsolationLevel, Row};
use tessera_store::audit::{AuditChainReport, AuditChainStore, AuditRecord};
use tessera_store::audit_chain::{
    self, ChainFault, ChainHead, ChainVerifier, FaultKind, Hash, StoredRow,
};
use tessera_store::token_db::TokenDbError;

use crate::blocking::run;
use crate::error::PgError;
use crate::pool::Pool;

use super::PgTokenStore;
use super::closing::Owned;
use super::durability::SyncCommit;
use super::rows::{AUDIT_COLUMNS, audit_from};

/// Rows fetched per cursor step while verifying, and chained per step when preparing (bounds
/// memory).
const VERIFY_STEP: i32 = 512;

/// Chains the rows written before the chain existed and creates the head — once, by the first
/// node to open the database after the chain's migration (the origin row's lock makes a
/// concurrent opener wait, then find it done). A missing head later is never re-created:
/// that would launder tampering; appends then fail and `verify` reports it.
pub(crate) fn prepare(pool: &Pool, level: SyncCommit) -> Result<(), PgError> {
    super::tx::durable(pool, level, |c| {
        let pending = c
            .query_typed_opt("SELECT pending FROM audit_chain_origin FOR UPDATE", &[])?
            .map(|r| r.try_get::<_, bool>(0))
            .transpose()?;
        if pending != Some(true) {
            return Ok(());
        }
        let mut head = ChainHead::EMPTY;
        let mut rows: i64 = 0;
        loop {
            let step = c.query_typed(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM redemption_audit WHERE id > $1 ORDER BY id \
                     LIMIT {VERIFY_STEP}"
                ),
                &[(&head.row_id, Type::INT8)],
            )?;
            if step.is_empty() {
                break;
            }
            for row in &step {
                let r = audit_from(row)?;
                let l = audit_chain::link(&head, r.id, &r);
                let (prev, hash) = (l.prev_hash.to_vec(), l.hash.to_vec());
                c.execute_typed(
                    "UPDATE redemption_audit SET chain_seq = $2, chain_version = $3, \
                     prev_hash = $4, chain_hash = $5 WHERE id = $1",
                    &[
                        (&r.id, Type::INT8),
                        (&l.seq, Type::INT8),
                        (&l.version, Type::INT8),
                        (&prev, Type::BYTEA),
                        (&hash, Type::BYTEA),
                    ],
                )?;
                head = l.head(r.id);
                rows += 1;
            }
        }
        let hash = head.hash.to_vec();
        c.execute_typed(
            "INSERT INTO audit_chain_head (singleton, seq, row_id, hash) VALUES (TRUE, $1, $2, $3)",
            &[
                (&head.seq, Type::INT8),
                (&head.row_id, Type::INT8),
                (&hash, Type::BYTEA),
            ],
        )?;
        c.execute_typed(
            "UPDATE audit_chain_origin SET pending = FALSE, legacy_rows = $1",
            &[(&rows, Type::INT8)],
        )?;
        if rows > 0 {
            tracing::info!(rows, "audit trail: existing rows chained");
        }
        Ok(())
    })
}

/// The head as locked by this batch, and whether the batch moved it.
pub(crate) struct Appender {
    head: ChainHead,
    moved: bool,
}

/// Locks the head for this transaction.
pub(crate) fn lock(c: &mut Client) -> Result<Appender, PgError> {
    let head = read_head(
        c,
        "SELECT seq, row_id, hash FROM audit_chain_head FOR UPDATE",
    )?
    .ok_or_else(|| {
        PgError::Corrupt(
            "audit chain head missing: refusing to append (run `tessera audit verify`)".into(),
        )
    })?;
    Ok(Appender { head, moved: false })
}

impl Appender {
    /// Chains `records`, in order, as the next rows: their columns for the batch's closing
    /// statement. Ids follow the head's: every append holds the head lock, so no other
    /// transaction can take them.
    pub(crate) fn append_all(&mut self, records: &[&AuditRecord]) -> AuditColumns {
        let mut cols = AuditColumns::with_capacity(records.len());
        for r in records {
            let id = self.head.row_id + 1;
            let details = if r.details.is_empty() {
                "{}"
            } else {
                r.details.as_str()
            };
            // The hash covers the row as stored (an empty `details` is stored as `{}`).
            let stored = AuditRecord {
                id,
                details: details.to_owned(),
                ..(*r).clone()
            };
            let l = audit_chain::link(&self.head, id, &stored);
            cols.push(
                stored,
                l.seq,
                l.version,
                l.prev_hash.to_vec(),
                l.hash.to_vec(),
            );
            self.head = l.head(id);
            self.moved = true;
        }
        cols
    }

    /// Writes the head, if this batch appended anything: after the rows are inserted, since
    /// the head's guard checks it names a stored row.
    pub(crate) fn finish(self, c: &mut Client) -> Result<(), PgError> {
        if self.moved {
            let hash = self.head.hash.to_vec();
            c.execute_typed(
                "UPDATE audit_chain_head SET seq = $1, row_id = $2, hash = $3",
                &[
                    (&self.head.seq, Type::INT8),
                    (&self.head.row_id, Type::INT8),
                    (&hash, Type::BYTEA),
                ],
            )?;
        }
        Ok(())
    }
}

/// Audit rows as one array per column, for one `unnest` insert.
pub(crate) struct AuditColumns {
    rows: Vec<AuditRecord>,
    seq: Vec<i64>,
    version: Vec<i64>,
    prev: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl AuditColumns {
    fn with_capacity(n: usize) -> AuditColumns {
        AuditColumns {
            rows: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            version: Vec::with_capacity(n),
            prev: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, r: AuditRecord, seq: i64, version: i64, prev: Vec<u8>, hash: Vec<u8>) {
        self.rows.push(r);
        self.seq.push(seq);
        self.version.push(version);
        self.prev.push(prev);
        self.hash.push(hash);
    }

    /// Whether no row was chained.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// One array per column: [`AUDIT_COLUMNS`], then the chain columns.
    pub(crate) fn params(&self) -> Vec<Owned<'_>> {
        let rows = &self.rows;
        let text = |f: fn(&AuditRecord) -> &str| -> Owned<'_> {
            (
                Box::new(rows.iter().map(f).collect::<Vec<&str>>()),
                Type::TEXT_ARRAY,
            )
        };
        let opt = |f: fn(&AuditRecord) -> Option<&str>| -> Owned<'_> {
            (
                Box::new(rows.iter().map(f).collect::<Vec<Option<&str>>>()),
                Type::TEXT_ARRAY,
            )
        };
        let int = |v: Vec<i64>| -> Owned<'_> { (Box::new(v), Type::INT8_ARRAY) };
        vec![
            int(rows.iter().map(|r| r.id).collect()),
            int(rows.iter().map(|r| r.at).collect()),
            text(|r| &r.event),
            text(|r| &r.outcome),
            opt(|r| r.step.as_deref()),
            opt(|r| r.error.as_deref()),
            opt(|r| r.error_description.as_deref()),
            opt(|r| r.jti.as_deref()),
            opt(|r| r.iss.as_deref()),
            opt(|r| r.ticket_type.as_deref()),
            opt(|r| r.client_id.as_deref()),
            opt(|r| r.requester.as_deref()),
            opt(|r| r.binding.as_deref()),
            opt(|r| r.patient.as_deref()),
            opt(|r| r.scopes.as_deref()),
            text(|r| &r.details),
            (Box::new(self.seq.as_slice()), Type::INT8_ARRAY),
            (Box::new(self.version.as_slice()), Type::INT8_ARRAY),
            (Box::new(self.prev.as_slice()), Type::BYTEA_ARRAY),
            (Box::new(self.hash.as_slice()), Type::BYTEA_ARRAY),
        ]
    }
}

fn read_head(c: &mut Client, sql: &str) -> Result<Option<ChainHead>, PgError> {
    let Some(row) = c.query_typed_opt(sql, &[])? else {
        return Ok(None);
    };
    let hash: Vec<u8> = row.try_get(2)?;
    Ok(Some(ChainHead {
        seq: row.try_get(0)?,
        row_id: row.try_get(1)?,
        hash: audit_chain::as_hash(&hash)
            .ok_or_else(|| PgError::Corrupt("audit chain head: malformed hash".into()))?,
    }))
}

/// One row as found; chain columns read leniently (a tampered value is a fault, not an error).
fn stored_row(row: &Row) -> Result<StoredRow, ChainFault> {
    let n = 16;
    let record = audit_from(row).map_err(|e| ChainFault {
        row_id: row.try_get::<_, i64>(0).ok(),
        kind: FaultKind::Altered,
        detail: format!("unreadable: {e}"),
    })?;
    Ok(StoredRow {
        record,
        seq: row.try_get::<_, Option<i64>>(n).ok().flatten(),
        version: row.try_get::<_, Option<i64>>(n + 1).ok().flatten(),
        prev_hash: row.try_get::<_, Option<Vec<u8>>>(n + 2).ok().flatten(),
        hash: row.try_get::<_, Option<Vec<u8>>>(n + 3).ok().flatten(),
    })
}

fn verify(c: &mut Client, anchor: Option<Hash>) -> Result<AuditChainReport, PgError> {
    // One snapshot: the head and the rows agree, and rows appended during the walk neither
    // show nor count as a cut end.
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let head = {
        let row = tx.query_opt("SELECT seq, row_id, hash FROM audit_chain_head", &[])?;
        match row {
            None => None,
            Some(row) => {
                let hash: Vec<u8> = row.try_get(2)?;
                Some(ChainHead {
                    seq: row.try_get(0)?,
                    row_id: row.try_get(1)?,
                    hash: audit_chain::as_hash(&hash).ok_or_else(|| {
                        PgError::Corrupt("audit chain head: malformed hash".into())
                    })?,
                })
            }
        }
    };
    let portal = tx.bind(
        &format!(
            "SELECT {AUDIT_COLUMNS}, chain_seq, chain_version, prev_hash, chain_hash \
             FROM redemption_audit ORDER BY id"
        ),
        &[],
    )?;
    let mut verifier = ChainVerifier::new(anchor);
    let mut fault = None;
    'walk: loop {
        let rows = tx.query_portal(&portal, VERIFY_STEP)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Err(f) = stored_row(row).and_then(|s| verifier.push(&s)) {
                fault = Some(f);
                break 'walk;
            }
        }
    }
    let legacy: i64 = tx
        .query_opt("SELECT legacy_rows FROM audit_chain_origin", &[])?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0);
    tx.commit()?;
    Ok(AuditChainReport {
        outcome: match fault {
            Some(f) => Err(f),
            None => verifier.finish(head),
        },
        legacy_rows: u64::try_from(legacy).unwrap_or(0),
    })
}

impl AuditChainStore for PgTokenStore {
    fn audit_head(&self) -> Result<Option<ChainHead>, TokenDbError> {
        run(|| {
            read_head(
                &mut *self.pool.get()?,
                "SELECT seq, row_id, hash FROM audit_chain_head",
            )
        })
        .map_err(Into::into)
    }

    fn verify_audit_chain(&self, anchor: Option<Hash>) -> Result<AuditChainReport, TokenDbError> {
        run(|| verify(&mut *self.pool.get()?, anchor)).map_err(Into::into)
    }
}
