//! The durable write contract of the token endpoint (docs/design/002-durable-writes.md): every
//! backend (SQLite today, PostgreSQL per the scale-out issue) implements [`TokenStore`].
//!
//! A [`WriteSet`] is everything one request makes durable — the single-use keys it spends
//! (client-assertion `jti`, DPoP proof `jti`, software-statement `jti`, a rotated refresh
//! token), the access and refresh tokens it issues, the refresh families it revokes, the
//! client registrations it changes, and its audit rows. A backend commits a batch of write sets in ONE transaction with
//! full durability, each set isolated by a savepoint: a set whose single-use key is already
//! spent (by an earlier transaction, another process, or an earlier set of the same batch) is
//! rolled back alone and only its `on_conflict` audit row is written. Any other failure fails
//! the whole batch and writes nothing. The uniqueness is the backend's constraint inside the
//! transaction, never a read-then-write.

use crate::audit::AuditRecord;
use crate::refresh::{RefreshFamily, RefreshRecord};
use crate::registrations::{ClientRegistration, RegistrationStore};
use crate::token_db::TokenDbError;
use crate::tokens::TokenRecord;

/// A key that may be spent once, kept until `keep_until` (after which the credential that
/// carried it is expired anyway, so the row can be purged).
#[derive(Debug, Clone, PartialEq)]
pub struct OnceKey {
    /// Namespace: the client id for assertions, `dpop:<jkt>` for proofs, etc.
    pub namespace: String,
    /// The `jti` (or other single-use value).
    pub key: String,
    /// Unix seconds until which the key must be remembered.
    pub keep_until: i64,
    /// The audit row written instead of the set's own rows when this key was already spent
    /// (`None`: the refusal is not audited, e.g. a FHIR request's DPoP proof).
    pub on_conflict: Option<AuditRecord>,
}

/// A refresh-token rotation (RFC 9700 §4.14.2): the presented token is single-use, like a
/// [`OnceKey`], but its "spent" mark is the `used_at` of its own row.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshRotation {
    /// Hash of the presented refresh token; it must be stored and not used yet.
    pub old_hash: Vec<u8>,
    /// Its successor (same family).
    pub next: RefreshRecord,
    /// Written instead of the set's own rows when the old token was already used; the family
    /// is revoked with it (reuse detection).
    pub on_reuse: AuditRecord,
}

/// The revocation reason a family gets when a rotated token turns out to be used already.
pub const REUSE_REASON: &str = "refresh token reuse";

/// A refresh family revoked by the set (source ticket revoked, reuse seen at read time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRevocation {
    /// The family.
    pub family_id: String,
    /// Why (kept on the family row).
    pub reason: String,
}

/// A change to the registered clients (RFC 7591 / UDAP DCR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationChange {
    /// Insert or replace ([`RegistrationStore::put_registration`] semantics).
    Put(ClientRegistration),
    /// Delete this `client_id`'s registration.
    Delete(String),
}

/// Everything one request makes durable, committed atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteSet {
    /// Unix seconds of the request (expired keys and tokens are purged relative to it).
    pub now: i64,
    /// Keys that must be fresh; spent in order. The first already spent one aborts the set.
    pub once: Vec<OnceKey>,
    /// A refresh rotation, checked after `once`: an already used token aborts the set.
    pub rotation: Option<RefreshRotation>,
    /// Access tokens to store.
    pub tokens: Vec<TokenRecord>,
    /// New refresh families, each with its first token (a `continuation` redemption).
    pub refresh_families: Vec<(RefreshFamily, RefreshRecord)>,
    /// Refresh families to revoke.
    pub revocations: Vec<FamilyRevocation>,
    /// Registration changes.
    pub registrations: Vec<RegistrationChange>,
    /// Audit rows to append (when every key was fresh).
    pub audit: Vec<AuditRecord>,
}

impl WriteSet {
    /// A set holding only one audit row.
    pub fn audit_only(now: i64, record: AuditRecord) -> WriteSet {
        WriteSet {
            now,
            audit: vec![record],
            ..WriteSet::default()
        }
    }
}

/// What happened to one write set of a committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// All of the set is durable.
    Committed,
    /// `once[i]` was already spent: nothing of the set but its `on_conflict` row was written.
    Conflict(usize),
    /// The rotated refresh token was already used (or is gone): nothing of the set was
    /// written but the family's revocation and the rotation's `on_reuse` row.
    RefreshReused,
}

/// A token-endpoint storage backend: the group-commit write and the reads beside it. The
/// registration reads come with it ([`RegistrationStore`]): UDAP client authentication reads
/// registrations on the same backend its registration writes commit to.
pub trait TokenStore: RegistrationStore + Send + Sync + std::fmt::Debug {
    /// Commits `sets` in one durable transaction (see the module doc). `Ok` only once the
    /// transaction is durable; `Err` means nothing of any set was written.
    fn commit_batch(&self, sets: &[WriteSet]) -> Result<Vec<SetOutcome>, TokenDbError>;

    /// Whether `(namespace, key)` is spent and still remembered at `now`. An early, advisory
    /// check (it keeps error precedence: a replayed assertion fails at client authentication);
    /// the authoritative check is the constraint in [`TokenStore::commit_batch`].
    fn is_spent(&self, namespace: &str, key: &str, now: i64) -> Result<bool, TokenDbError>;

    /// Whether the store can take writes now: its database answers and its schema is this
    /// binary's (`/readyz`). Cheap: one round trip.
    fn ready(&self) -> Result<(), TokenDbError>;

    /// The connection pool's use, where the backend has a pool (metrics only).
    fn pool_use(&self) -> Option<crate::PoolUse> {
        None
    }

    /// The token with this hash, if stored and not expired at `now`.
    fn find_token(&self, hash: &[u8], now: i64) -> Result<Option<TokenRecord>, TokenDbError>;

    /// The refresh token with this hash (used or not, expired or not) and its family.
    fn find_refresh(
        &self,
        hash: &[u8],
    ) -> Result<Option<(RefreshRecord, RefreshFamily)>, TokenDbError>;

    /// The refresh family with this id.
    fn refresh_family(&self, family_id: &str) -> Result<Option<RefreshFamily>, TokenDbError>;

    /// Audit records for a ticket `jti`, oldest first (bounded).
    fn audit_by_jti(&self, jti: &str) -> Result<Vec<AuditRecord>, TokenDbError>;

    /// The most recent audit records, oldest first (bounded).
    fn audit_recent(&self) -> Result<Vec<AuditRecord>, TokenDbError>;
}
