//! Refresh tokens derived from `continuation` tickets (spec-digest §16, OP-26), stored like
//! access tokens: only the SHA-256 hash of the opaque token, never the token itself.
//!
//! A [`RefreshFamily`] is one redemption (the Grant frozen at that moment, the source ticket's
//! revocation pointer, `refresh_until`, the DPoP key if any); every refresh rotates the token.
//! Every write goes through the token endpoint's durable write set
//! ([`crate::durable::WriteSet`]: a new family, a [`crate::durable::RefreshRotation`], a
//! revocation), committed in the request's one transaction. A rotation marks the presented
//! token used with `used_at IS NULL` in that transaction, so two concurrent refreshes with the
//! same token cannot both succeed: the second finds it used and revokes the family (OAuth 2.0
//! Security BCP, RFC 9700 §4.14.2, refresh-token rotation with reuse detection).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::token_db::{TokenDb, TokenDbError};

/// The refresh tables (`CREATE … IF NOT EXISTS`, applied when the token database opens).
pub const SCHEMA: &str = include_str!("../migrations/token_db/refresh.sql");

/// One redemption's refresh lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// Random id (not a secret; the tokens are).
    pub family_id: String,
    /// The client the ticket was redeemed by; only it may refresh.
    pub client_id: String,
    /// The redemption-time Grant (JSON); refreshed grants are never wider.
    pub grant_json: String,
    /// Source ticket `jti`.
    pub ticket_jti: String,
    /// Source ticket `iss`.
    pub ticket_iss: String,
    /// Source ticket type URI.
    pub ticket_type: String,
    /// Resolved local Patient id.
    pub patient: String,
    /// The redemption-time granted scopes.
    pub scope: String,
    /// Source ticket `revocation.url`, re-checked before every refresh.
    pub revocation_url: String,
    /// Source ticket `revocation.index`.
    pub revocation_index: u64,
    /// `continuation.refresh_until` (`None` = indefinite).
    pub refresh_until: Option<i64>,
    /// DPoP key thumbprint when the redemption was DPoP-bound.
    pub cnf_jkt: Option<String>,
    /// Unix seconds of the redemption.
    pub created_at: i64,
    /// When the family was revoked (reuse, source ticket revoked), if it was.
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
}

/// One refresh token of a family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// SHA-256 of the token string.
    pub token_hash: Vec<u8>,
    /// Its family.
    pub family_id: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; never after the family's `refresh_until`.
    pub expires_at: i64,
    /// When it was exchanged for its successor (a second presentation is reuse).
    pub used_at: Option<i64>,
}

impl TokenDb {
    /// The token with this hash (used or not, expired or not: the caller tells the cases
    /// apart) and its family.
    pub fn find_refresh(
        &self,
        hash: &[u8],
    ) -> Result<Option<(RefreshRecord, RefreshFamily)>, TokenDbError> {
        let conn = self.read_conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT t.token_hash, t.family_id, t.issued_at, t.expires_at, t.used_at, {FAMILY_COLUMNS} \
             FROM refresh_token t JOIN refresh_family f ON f.family_id = t.family_id \
             WHERE t.token_hash = ?1"
        ))?;
        let found = stmt
            .query_row(params![hash], |row| {
                Ok((token_from_row(row)?, family_from_row(row, 5)?))
            })
            .optional()?;
        Ok(found)
    }

    /// The family with this id.
    pub fn refresh_family(&self, family_id: &str) -> Result<Option<RefreshFamily>, TokenDbError> {
        let conn = self.read_conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {FAMILY_COLUMNS} FROM refresh_family f WHERE f.family_id = ?1"
        ))?;
        Ok(stmt
            .query_row(params![family_id], |row| family_from_row(row, 0))
            .optional()?)
    }
}

const FAMILY_COLUMNS: &str = "f.family_id, f.client_id, f.grant_json, f.ticket_jti, f.ticket_iss, \
     f.ticket_type, f.patient, f.scope, f.revocation_url, f.revocation_index, f.refresh_until, \
     f.cnf_jkt, f.created_at, f.revoked_at, f.revoked_reason";

/// Inserts a new family row (its first token goes in with [`insert_refresh_row`]).
pub(crate) fn insert_refresh_family_row(
    conn: &Connection,
    family: &RefreshFamily,
) -> Result<(), TokenDbError> {
    let index = i64::try_from(family.revocation_index)
        .map_err(|_| TokenDbError("revocation index out of range".into()))?;
    conn.prepare_cached(
        "INSERT INTO refresh_family (family_id, client_id, grant_json, ticket_jti, ticket_iss, \
         ticket_type, patient, scope, revocation_url, revocation_index, refresh_until, cnf_jkt, \
         created_at, revoked_at, revoked_reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, NULL)",
    )?
    .execute(params![
        family.family_id,
        family.client_id,
        family.grant_json,
        family.ticket_jti,
        family.ticket_iss,
        family.ticket_type,
        family.patient,
        family.scope,
        family.revocation_url,
        index,
        family.refresh_until,
        family.cnf_jkt,
        family.created_at,
    ])?;
    Ok(())
}

/// Marks a refresh token used; `false` if it was used already (or is not stored): the
/// rotation's single-use check, decided inside the caller's transaction.
pub(crate) fn mark_used(conn: &Connection, hash: &[u8], now: i64) -> rusqlite::Result<bool> {
    let marked = conn
        .prepare_cached(
            "UPDATE refresh_token SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        )?
        .execute(params![hash, now])?;
    Ok(marked > 0)
}

/// Revokes a family (no later refresh succeeds); a revoked one keeps its first reason.
pub(crate) fn revoke_family(
    conn: &Connection,
    family_id: &str,
    now: i64,
    reason: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE refresh_family SET revoked_at = ?2, revoked_reason = ?3 \
         WHERE family_id = ?1 AND revoked_at IS NULL",
        params![family_id, now, reason],
    )?;
    Ok(())
}

pub(crate) fn insert_refresh_row(conn: &Connection, r: &RefreshRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_token (token_hash, family_id, issued_at, expires_at, used_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        r.token_hash,
        r.family_id,
        r.issued_at,
        r.expires_at,
        r.used_at
    ])?;
    Ok(())
}

/// Drops tokens past their expiry (a used one cannot be replayed usefully once it would be
/// refused as expired anyway) and families with no token left.
pub(crate) fn purge_refresh(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM refresh_token WHERE expires_at <= ?1",
        params![now],
    )?;
    conn.execute(
        "DELETE FROM refresh_family WHERE NOT EXISTS \
         (SELECT 1 FROM refresh_token t WHERE t.family_id = refresh_family.family_id)",
        [],
    )?;
    Ok(())
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: row.get(0)?,
        family_id: row.get(1)?,
        issued_at: row.get(2)?,
        expires_at: row.get(3)?,
        used_at: row.get(4)?,
    })
}

fn family_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<RefreshFamily> {
    let index: i64 = row.get(at + 9)?;
    Ok(RefreshFamily {
        family_id: row.get(at)?,
        client_id: row.get(at + 1)?,
        grant_json: row.get(at + 2)?,
        ticket_jti: row.get(at + 3)?,
        ticket_iss: row.get(at + 4)?,
        ticket_type: row.get(at + 5)?,
        patient: row.get(at + 6)?,
        scope: row.get(at + 7)?,
        revocation_url: row.get(at + 8)?,
        revocation_index: u64::try_from(index).unwrap_or(u64::MAX),
        refresh_until: row.get(at + 10)?,
        cnf_jkt: row.get(at + 11)?,
        created_at: row.get(at + 12)?,
        revoked_at: row.get(at + 13)?,
        revoked_reason: row.get(at + 14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditRecord;
    use crate::durable::{RefreshRotation, SetOutcome, TokenStore, WriteSet};
    use crate::tokens::TokenRecord;

    fn family() -> RefreshFamily {
        RefreshFamily {
            family_id: "f1".into(),
            client_id: "app1".into(),
            grant_json: "{}".into(),
            ticket_jti: "j1".into(),
            ticket_iss: "https://issuer.example".into(),
            ticket_type: "t".into(),
            patient: "p".into(),
            scope: "patient/Observation.rs".into(),
            revocation_url: "https://issuer.example/status/a".into(),
            revocation_index: 7,
            refresh_until: Some(10_000),
            cnf_jkt: None,
            created_at: 0,
            revoked_at: None,
            revoked_reason: None,
        }
    }

    fn token(hash: u8, expires_at: i64) -> RefreshRecord {
        RefreshRecord {
            token_hash: vec![hash; 32],
            family_id: "f1".into(),
            issued_at: 0,
            expires_at,
            used_at: None,
        }
    }

    fn access(hash: u8) -> TokenRecord {
        TokenRecord {
            token_hash: vec![hash; 32],
            client_id: "app1".into(),
            grant_json: "{}".into(),
            ticket_jti: "j1".into(),
            ticket_iss: "i".into(),
            ticket_type: "t".into(),
            patient: "p".into(),
            scope: "s".into(),
            issued_at: 0,
            expires_at: 300,
            cnf_jkt: None,
        }
    }

    fn audit(outcome: &str) -> AuditRecord {
        AuditRecord {
            event: "refresh".into(),
            outcome: outcome.into(),
            jti: Some("j1".into()),
            ..AuditRecord::default()
        }
    }

    fn new_family(db: &TokenDb, f: RefreshFamily, first: RefreshRecord, now: i64) {
        let set = WriteSet {
            now,
            refresh_families: vec![(f, first)],
            ..WriteSet::default()
        };
        assert_eq!(db.commit_batch(&[set]).unwrap(), [SetOutcome::Committed]);
    }

    fn rotation(next: u8, access_hash: u8, now: i64) -> WriteSet {
        WriteSet {
            now,
            rotation: Some(RefreshRotation {
                old_hash: vec![1; 32],
                next: token(next, 6000),
                on_reuse: audit("rejected"),
            }),
            tokens: vec![access(access_hash)],
            audit: vec![audit("accepted")],
            ..WriteSet::default()
        }
    }

    #[test]
    fn rotation_marks_the_old_token_and_reuse_revokes_the_family() {
        let db = TokenDb::open_in_memory().unwrap();
        new_family(&db, family(), token(1, 5000), 0);
        let (t, f) = db.find_refresh(&[1; 32]).unwrap().unwrap();
        assert_eq!((t, f), (token(1, 5000), family()));
        let out = db.commit_batch(&[rotation(2, 9, 10)]).unwrap();
        assert_eq!(out, [SetOutcome::Committed]);
        assert_eq!(
            db.find_refresh(&[1; 32]).unwrap().unwrap().0.used_at,
            Some(10)
        );
        assert!(db.find_refresh(&[2; 32]).unwrap().is_some());
        assert!(TokenDb::find_token(&db, &[9; 32], 20).unwrap().is_some());
        // The old token again: reuse, the family is revoked, nothing else is stored.
        let out = db.commit_batch(&[rotation(3, 8, 20)]).unwrap();
        assert_eq!(out, [SetOutcome::RefreshReused]);
        assert!(db.find_refresh(&[3; 32]).unwrap().is_none());
        assert!(TokenDb::find_token(&db, &[8; 32], 20).unwrap().is_none());
        let f = db.refresh_family("f1").unwrap().unwrap();
        assert_eq!(f.revoked_at, Some(20));
        assert_eq!(f.revoked_reason.as_deref(), Some("refresh token reuse"));
        let rows = TokenDb::audit_by_jti(&db, "j1").unwrap();
        assert_eq!(
            rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
            ["accepted", "rejected"]
        );
    }

    // Two rotations of one token in one batch (concurrent refreshes): exactly one succeeds.
    #[test]
    fn two_rotations_of_one_token_in_a_batch_one_wins() {
        let db = TokenDb::open_in_memory().unwrap();
        new_family(&db, family(), token(1, 5000), 0);
        let out = db
            .commit_batch(&[rotation(2, 9, 10), rotation(3, 8, 10)])
            .unwrap();
        assert_eq!(out, [SetOutcome::Committed, SetOutcome::RefreshReused]);
        assert!(db.find_refresh(&[2; 32]).unwrap().is_some());
        assert!(db.find_refresh(&[3; 32]).unwrap().is_none());
        assert!(TokenDb::find_token(&db, &[8; 32], 20).unwrap().is_none());
        assert!(
            db.refresh_family("f1")
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
    }

    #[test]
    fn expired_tokens_and_empty_families_are_purged() {
        let db = TokenDb::open_in_memory().unwrap();
        new_family(&db, family(), token(1, 100), 0);
        let mut other = family();
        other.family_id = "f2".into();
        let mut t = token(2, 1000);
        t.family_id = "f2".into();
        new_family(&db, other, t, 100);
        assert!(db.find_refresh(&[1; 32]).unwrap().is_none());
        assert!(db.refresh_family("f1").unwrap().is_none());
        assert!(db.find_refresh(&[2; 32]).unwrap().is_some());
    }
}
