//! The audit hash chain on SQLite: the chain columns' migration, the append step every audit
//! insert runs inside its transaction, and the streaming walk behind `tessera audit verify`.
//!
//! Appends are serialized by the transaction's write lock (`BEGIN IMMEDIATE`, across
//! processes sharing the file), so reading the head, inserting the row and moving the head can
//! never interleave with another writer's.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::audit::{AuditChainReport, AuditChainStore, AuditRecord};
use crate::audit_chain::{self, ChainHead, ChainVerifier, Hash, StoredRow};
use crate::token_db::{TokenDb, TokenDbError};

const CHAIN_SCHEMA: &str = include_str!("../migrations/token_db/audit_chain.sql");

/// Rows chained per step when migrating an older database (bounds memory).
const MIGRATION_STEP: usize = 512;

/// The chain columns, in the order [`stored_row`] reads them after the record's own columns.
const CHAIN_COLUMNS: &str = "chain_seq, chain_version, prev_hash, chain_hash";

/// Brings the chain up to date, in one `BEGIN IMMEDIATE` transaction: a database from before
/// the chain gets its columns and its existing rows chained (and how many is recorded), then
/// the head, the triggers and the index; an empty new one gets the empty head.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), TokenDbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let chained = tx
        .prepare("SELECT 1 FROM pragma_table_info('redemption_audit') WHERE name = 'chain_hash'")?
        .exists([])?;
    let legacy = if chained {
        None
    } else {
        tx.execute_batch(
            "ALTER TABLE redemption_audit ADD COLUMN chain_seq INTEGER;
             ALTER TABLE redemption_audit ADD COLUMN chain_version INTEGER;
             ALTER TABLE redemption_audit ADD COLUMN prev_hash BLOB;
             ALTER TABLE redemption_audit ADD COLUMN chain_hash BLOB;",
        )?;
        Some(chain_existing(&tx)?)
    };
    // After the legacy rows are chained: the triggers refuse UPDATE from here on.
    tx.execute_batch(CHAIN_SCHEMA)?;
    let head_exists = tx.prepare("SELECT 1 FROM audit_chain_head")?.exists([])?;
    match legacy {
        Some((rows, head)) => {
            write_head(&tx, &head)?;
            tx.execute(
                "INSERT INTO audit_chain_origin (only, legacy_rows, head_seq, head_hash) \
                 VALUES (1, ?1, ?2, ?3)",
                params![
                    i64::try_from(rows).unwrap_or(i64::MAX),
                    head.seq,
                    head.hash.as_slice()
                ],
            )?;
            tracing::info!(
                rows,
                head = %audit_chain::to_hex(&head.hash),
                "audit trail: existing rows chained"
            );
        }
        None if !head_exists => {
            // A missing head over existing rows is tampering: left missing, so appends fail
            // and `audit verify` reports it, rather than re-anchored here.
            let any_row = tx
                .prepare("SELECT 1 FROM redemption_audit LIMIT 1")?
                .exists([])?;
            if !any_row {
                write_head(&tx, &ChainHead::EMPTY)?;
            }
        }
        None => {}
    }
    tx.commit()?;
    Ok(())
}

fn write_head(conn: &Connection, head: &ChainHead) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_chain_head (only, seq, row_id, hash) VALUES (1, ?1, ?2, ?3)",
        params![head.seq, head.row_id, head.hash.as_slice()],
    )?;
    Ok(())
}

/// Chains the rows of a database from before the chain, oldest first; returns how many and
/// the head.
fn chain_existing(conn: &Connection) -> Result<(u64, ChainHead), TokenDbError> {
    let mut head = ChainHead::EMPTY;
    let mut rows = 0u64;
    loop {
        let step: Vec<AuditRecord> = conn
            .prepare(&format!(
                "SELECT {} FROM redemption_audit WHERE id > ?1 ORDER BY id LIMIT {MIGRATION_STEP}",
                crate::audit::RECORD_COLUMNS
            ))?
            .query_map(params![head.row_id], crate::audit::from_row)?
            .collect::<Result<_, _>>()?;
        if step.is_empty() {
            return Ok((rows, head));
        }
        for r in &step {
            let l = audit_chain::link(&head, r.id, r);
            conn.prepare_cached(
                "UPDATE redemption_audit SET chain_seq = ?2, chain_version = ?3, prev_hash = ?4, \
                 chain_hash = ?5 WHERE id = ?1",
            )?
            .execute(params![
                r.id,
                l.seq,
                l.version,
                l.prev_hash.as_slice(),
                l.hash.as_slice()
            ])?;
            head = l.head(r.id);
            rows += 1;
        }
    }
}

/// The recorded head, read on `conn` (inside the caller's transaction when appending).
fn read_head(conn: &Connection) -> Result<Option<ChainHead>, TokenDbError> {
    let row = conn
        .prepare_cached("SELECT seq, row_id, hash FROM audit_chain_head WHERE only = 1")?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((seq, row_id, hash)) => {
            let hash = audit_chain::as_hash(&hash)
                .ok_or_else(|| TokenDbError("audit chain head: malformed hash".into()))?;
            Ok(Some(ChainHead { seq, row_id, hash }))
        }
    }
}

/// Inserts `r` as the chain's next row on `conn`, which must be inside a write transaction
/// (the lock is what serializes appends); returns the row id.
pub(crate) fn append(conn: &Connection, r: &AuditRecord) -> Result<i64, TokenDbError> {
    let head = read_head(conn)?.ok_or_else(|| {
        TokenDbError(
            "audit chain head missing: refusing to append (run `tessera audit verify`)".into(),
        )
    })?;
    // The id AUTOINCREMENT would give, taken first because the hash covers it.
    let id: i64 = conn
        .prepare_cached(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'redemption_audit'), 0), \
             COALESCE((SELECT MAX(id) FROM redemption_audit), 0)) + 1",
        )?
        .query_row([], |row| row.get(0))?;
    let l = audit_chain::link(&head, id, r);
    conn.prepare_cached(
        "INSERT INTO redemption_audit (id, at, event, outcome, step, error, error_description, \
         jti, iss, ticket_type, client_id, requester, binding, patient, scopes, details, \
         chain_seq, chain_version, prev_hash, chain_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20)",
    )?
    .execute(params![
        id,
        r.at,
        r.event,
        r.outcome,
        r.step,
        r.error,
        r.error_description,
        r.jti,
        r.iss,
        r.ticket_type,
        r.client_id,
        r.requester,
        r.binding,
        r.patient,
        r.scopes,
        r.details,
        l.seq,
        l.version,
        l.prev_hash.as_slice(),
        l.hash.as_slice(),
    ])?;
    conn.prepare_cached(
        "UPDATE audit_chain_head SET seq = ?1, row_id = ?2, hash = ?3 WHERE only = 1",
    )?
    .execute(params![l.seq, id, l.hash.as_slice()])?;
    Ok(id)
}

/// One row as found, chain columns read leniently (a tampered type is a fault, not an error).
fn stored_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredRow, (i64, String)>> {
    let id: i64 = row.get(0)?;
    let n = crate::audit::RECORD_COLUMN_COUNT;
    let record = match crate::audit::from_row(row) {
        Ok(r) => r,
        Err(e) => return Ok(Err((id, e.to_string()))),
    };
    Ok(Ok(StoredRow {
        record,
        seq: row.get::<_, Option<i64>>(n).ok().flatten(),
        version: row.get::<_, Option<i64>>(n + 1).ok().flatten(),
        prev_hash: row.get::<_, Option<Vec<u8>>>(n + 2).ok().flatten(),
        hash: row.get::<_, Option<Vec<u8>>>(n + 3).ok().flatten(),
    }))
}

impl AuditChainStore for TokenDb {
    fn audit_head(&self) -> Result<Option<ChainHead>, TokenDbError> {
        read_head(&self.read_conn())
    }

    fn verify_audit_chain(&self, anchor: Option<Hash>) -> Result<AuditChainReport, TokenDbError> {
        let mut conn = self.read_conn();
        // One read transaction: the head and the rows come from the same snapshot, so rows
        // appended during the walk neither show nor count as a cut end.
        let tx = conn.transaction()?;
        let head = read_head(&tx)?;
        let legacy_rows: u64 = tx
            .prepare("SELECT legacy_rows FROM audit_chain_origin WHERE only = 1")?
            .query_row([], |r| r.get::<_, i64>(0))
            .optional()?
            .map_or(0, |n| u64::try_from(n).unwrap_or(0));
        let mut verifier = ChainVerifier::new(anchor);
        let outcome = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {}, {CHAIN_COLUMNS} FROM redemption_audit ORDER BY id",
                crate::audit::RECORD_COLUMNS
            ))?;
            let mut rows = stmt.query([])?;
            let mut fault = None;
            while let Some(row) = rows.next()? {
                let pushed = match stored_row(row)? {
                    Ok(stored) => verifier.push(&stored),
                    Err((id, why)) => Err(audit_chain::ChainFault {
                        row_id: Some(id),
                        kind: audit_chain::FaultKind::Altered,
                        detail: format!("unreadable: {why}"),
                    }),
                };
                if let Err(f) = pushed {
                    fault = Some(f);
                    break;
                }
            }
            match fault {
                Some(f) => Err(f),
                None => verifier.finish(head),
            }
        };
        tx.finish()?;
        Ok(AuditChainReport {
            outcome,
            legacy_rows,
        })
    }
}
