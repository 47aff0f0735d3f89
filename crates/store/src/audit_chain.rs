//! The audit trail's hash chain, pure (no I/O): the canonical encoding of a row, the link a new
//! row gets from the chain's head, and a streaming verifier any backend feeds row by row.
//!
//! `hash = SHA-256(prev_hash || canonical(row))`, where `canonical` is a versioned,
//! length-prefixed encoding of every stored field including the row id and the chain position
//! `seq`, so an altered field, a swapped or renumbered row and a deleted row all change what
//! the verifier recomputes. Rows also store `prev_hash`: each row is then checkable on its own
//! (altered) and against its predecessor (deleted, reordered), which is what lets the verifier
//! say *why* the chain broke. The head (last `seq`, row id, hash) is kept in a one-row table
//! beside the rows, so deleting the newest rows is caught too; exporting it
//! ([`ChainHead::to_json`]) anchors the trail outside the database.
//!
//! A backend appends by reading the head under its write lock, calling [`link`] with the new
//! row's id, inserting the row with the link, and moving the head — all in the transaction
//! that inserts the row (docs/design/003-audit-chain.md).

use aws_lc_rs::digest::{Context, SHA256};
use serde_json::{Value, json};

use crate::audit::AuditRecord;

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first row.
pub const GENESIS: Hash = [0; 32];

/// The encoding version new rows are written with (stored per row as `chain_version`).
pub const CHAIN_VERSION: i64 = 1;

/// The newest row of a chain (`seq` 0, row id 0 and [`GENESIS`] for an empty one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Chain position of the newest row (1 for the first row).
    pub seq: i64,
    /// Its row id.
    pub row_id: i64,
    /// Its hash.
    pub hash: Hash,
}

impl ChainHead {
    /// The head of an empty chain.
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        row_id: 0,
        hash: GENESIS,
    };

    /// `{"seq": …, "id": …, "hash": "<hex>"}`: what an operator anchors externally.
    pub fn to_json(&self) -> Value {
        json!({"seq": self.seq, "id": self.row_id, "hash": to_hex(&self.hash)})
    }
}

/// The chain columns of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    /// Chain position (contiguous from 1; row ids need not be).
    pub seq: i64,
    /// Encoding version.
    pub version: i64,
    /// Hash of the previous row ([`GENESIS`] for the first).
    pub prev_hash: Hash,
    /// This row's hash.
    pub hash: Hash,
}

impl ChainLink {
    /// The head once this row, stored with id `row_id`, is appended.
    pub fn head(&self, row_id: i64) -> ChainHead {
        ChainHead {
            seq: self.seq,
            row_id,
            hash: self.hash,
        }
    }
}

/// The link of a row with id `row_id` and content `record` appended after `head`. `record`
/// must hold exactly what is stored (its `details` as written, its `id` ignored).
pub fn link(head: &ChainHead, row_id: i64, record: &AuditRecord) -> ChainLink {
    let seq = head.seq + 1;
    ChainLink {
        seq,
        version: CHAIN_VERSION,
        prev_hash: head.hash,
        hash: row_hash(&head.hash, &canonical(row_id, seq, record)),
    }
}

/// `SHA-256(prev || canonical)`.
fn row_hash(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(prev);
    ctx.update(canonical);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Version 1 encoding: the version byte, then `id`, `seq`, `at` as 8-byte big-endian, then
/// each text field in a fixed order — required ones as an 8-byte big-endian length and the
/// UTF-8 bytes, optional ones prefixed by 0 (absent) or 1 (present). Every field's extent is
/// explicit, so no two different rows encode alike.
pub fn canonical(row_id: i64, seq: i64, r: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + r.details.len());
    out.push(1u8);
    out.extend_from_slice(&row_id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&r.at.to_be_bytes());
    put(&mut out, &r.event);
    put(&mut out, &r.outcome);
    for field in [
        &r.step,
        &r.error,
        &r.error_description,
        &r.jti,
        &r.iss,
        &r.ticket_type,
        &r.client_id,
        &r.requester,
        &r.binding,
        &r.patient,
        &r.scopes,
    ] {
        match field {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                put(&mut out, s);
            }
        }
    }
    put(&mut out, &r.details);
    out
}

fn put(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A stored row as the verifier reads it: its content and its chain columns as found (any of
/// them may be missing or malformed in a tampered database).
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// The row (its `id` is the stored row id).
    pub record: AuditRecord,
    /// `chain_seq`.
    pub seq: Option<i64>,
    /// `chain_version`.
    pub version: Option<i64>,
    /// `prev_hash` bytes.
    pub prev_hash: Option<Vec<u8>>,
    /// `chain_hash` bytes.
    pub hash: Option<Vec<u8>>,
}

/// Why the chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The row's content (or chain columns) no longer hash to its stored hash.
    Altered,
    /// The row sits at another position than its content says (moved or swapped).
    Reordered,
    /// Rows before this one are missing.
    Deleted,
    /// The row does not continue its predecessor although its position fits (a rewritten
    /// stretch of the chain).
    Broken,
    /// The row has no chain columns, or ones this binary cannot read.
    Unchained,
    /// The trail ends before the recorded head, or the head is missing or disagrees.
    BrokenAtEnd,
    /// The anchored hash is not in the chain.
    AnchorMissing,
}

impl FaultKind {
    /// The word the CLI prints.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Altered => "altered",
            FaultKind::Reordered => "reordered",
            FaultKind::Deleted => "deleted",
            FaultKind::Broken => "broken",
            FaultKind::Unchained => "unchained",
            FaultKind::BrokenAtEnd => "broken_at_end",
            FaultKind::AnchorMissing => "anchor_missing",
        }
    }
}

/// The first fault found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFault {
    /// The row the fault shows at (`None` for faults of the head or the anchor).
    pub row_id: Option<i64>,
    /// What is wrong.
    pub kind: FaultKind,
    /// The specifics (positions, ids).
    pub detail: String,
}

impl std::fmt::Display for ChainFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row_id {
            Some(id) => write!(f, "row {id}: {}: {}", self.kind.as_str(), self.detail),
            None => write!(f, "{}: {}", self.kind.as_str(), self.detail),
        }
    }
}

/// A verified chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Rows walked.
    pub rows: u64,
    /// The head (the last row's link, equal to the recorded head).
    pub head: ChainHead,
    /// Whether the anchor (when one was given) was found.
    pub anchor_found: Option<bool>,
}

/// Checks a chain row by row in row-id order with constant memory: feed every row to
/// [`ChainVerifier::push`], then call [`ChainVerifier::finish`] with the recorded head.
#[derive(Debug)]
pub struct ChainVerifier {
    last: ChainHead,
    rows: u64,
    anchor: Option<Hash>,
    anchor_found: bool,
}

impl ChainVerifier {
    /// A verifier; with `anchor`, the chain must also contain a row with that hash.
    pub fn new(anchor: Option<Hash>) -> ChainVerifier {
        ChainVerifier {
            last: ChainHead::EMPTY,
            rows: 0,
            anchor_found: anchor == Some(GENESIS),
            anchor,
        }
    }

    /// Checks the next row. The first error is the chain's first fault; stop there.
    pub fn push(&mut self, row: &StoredRow) -> Result<(), ChainFault> {
        let id = row.record.id;
        let fault = |kind, detail: String| ChainFault {
            row_id: Some(id),
            kind,
            detail,
        };
        let (Some(seq), Some(version), Some(prev), Some(hash)) = (
            row.seq,
            row.version,
            row.prev_hash.as_deref().and_then(as_hash),
            row.hash.as_deref().and_then(as_hash),
        ) else {
            return Err(fault(
                FaultKind::Unchained,
                "missing or malformed chain columns".into(),
            ));
        };
        if version != CHAIN_VERSION {
            return Err(fault(
                FaultKind::Unchained,
                format!("unknown chain version {version}"),
            ));
        }
        let expected = self.last.seq + 1;
        let intact = row_hash(&prev, &canonical(id, seq, &row.record)) == hash;
        let continues = prev == self.last.hash;
        match (seq.cmp(&expected), intact, continues) {
            (std::cmp::Ordering::Equal, true, true) => {}
            (std::cmp::Ordering::Equal, false, _) => {
                return Err(fault(
                    FaultKind::Altered,
                    format!("content does not match its hash (position {seq})"),
                ));
            }
            (std::cmp::Ordering::Equal, true, false) => {
                return Err(fault(
                    FaultKind::Broken,
                    format!(
                        "position {seq} does not continue row {} (a rewritten stretch)",
                        self.last.row_id
                    ),
                ));
            }
            (std::cmp::Ordering::Greater, true, _) => {
                return Err(fault(
                    FaultKind::Deleted,
                    format!(
                        "positions {expected}..{} missing before it (after row {})",
                        seq - 1,
                        self.last.row_id
                    ),
                ));
            }
            _ => {
                return Err(fault(
                    FaultKind::Reordered,
                    format!("holds position {seq} where position {expected} belongs"),
                ));
            }
        }
        self.last = ChainHead {
            seq,
            row_id: id,
            hash,
        };
        self.rows += 1;
        if self.anchor == Some(hash) {
            self.anchor_found = true;
        }
        Ok(())
    }

    /// Ends the walk: the last row must be the recorded `head` (`None`: no head recorded).
    pub fn finish(self, head: Option<ChainHead>) -> Result<ChainSummary, ChainFault> {
        let end = |detail: String| ChainFault {
            row_id: None,
            kind: FaultKind::BrokenAtEnd,
            detail,
        };
        let Some(head) = head else {
            return Err(end("no chain head is recorded".into()));
        };
        if head.seq > self.last.seq {
            return Err(end(format!(
                "the head records position {} (row {}) but the trail ends at position {} (row \
                 {}): its newest rows were deleted",
                head.seq, head.row_id, self.last.seq, self.last.row_id
            )));
        }
        if head != self.last {
            return Err(end(format!(
                "the recorded head (position {}, row {}, {}) is not the last row (position {}, \
                 row {}, {})",
                head.seq,
                head.row_id,
                to_hex(&head.hash),
                self.last.seq,
                self.last.row_id,
                to_hex(&self.last.hash)
            )));
        }
        if let Some(anchor) = self.anchor
            && !self.anchor_found
        {
            return Err(ChainFault {
                row_id: None,
                kind: FaultKind::AnchorMissing,
                detail: format!(
                    "no row has the anchored hash {}: the chain was rewritten or cut since it \
                     was anchored",
                    to_hex(&anchor)
                ),
            });
        }
        Ok(ChainSummary {
            rows: self.rows,
            head: self.last,
            anchor_found: self.anchor.map(|_| self.anchor_found),
        })
    }
}

/// A 32-byte slice as a [`Hash`].
pub fn as_hash(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// A hash from 64 hex digits (either case).
pub fn parse_hash(hex: &str) -> Option<Hash> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: i64, jti: &str) -> AuditRecord {
        AuditRecord {
            at,
            event: "token_exchange".into(),
            outcome: "accepted".into(),
            jti: Some(jti.into()),
            details: "{}".into(),
            ..AuditRecord::default()
        }
    }

    /// A chain of `n` rows with ids 10, 20, … as a backend would store it.
    fn chain(n: i64) -> (Vec<StoredRow>, ChainHead) {
        let mut head = ChainHead::EMPTY;
        let mut rows = Vec::new();
        for i in 1..=n {
            let id = i * 10;
            let r = rec(100 + i, &format!("t{i}"));
            let l = link(&head, id, &r);
            head = l.head(id);
            rows.push(StoredRow {
                record: AuditRecord { id, ..r },
                seq: Some(l.seq),
                version: Some(l.version),
                prev_hash: Some(l.prev_hash.to_vec()),
                hash: Some(l.hash.to_vec()),
            });
        }
        (rows, head)
    }

    fn verify(
        rows: &[StoredRow],
        head: Option<ChainHead>,
        anchor: Option<Hash>,
    ) -> Result<ChainSummary, ChainFault> {
        let mut v = ChainVerifier::new(anchor);
        for r in rows {
            v.push(r)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies_and_an_empty_one_too() {
        let (rows, head) = chain(4);
        let s = verify(&rows, Some(head), None).unwrap();
        assert_eq!((s.rows, s.head, s.anchor_found), (4, head, None));
        let empty = verify(&[], Some(ChainHead::EMPTY), None).unwrap();
        assert_eq!(empty.rows, 0);
    }

    #[test]
    fn optional_fields_are_unambiguous() {
        // `step: None, error: Some("")` and `step: Some(""), error: None` encode apart, and so
        // do text boundaries moved between neighbouring fields.
        let a = AuditRecord {
            error: Some(String::new()),
            ..rec(1, "x")
        };
        let b = AuditRecord {
            step: Some(String::new()),
            ..rec(1, "x")
        };
        assert_ne!(canonical(1, 1, &a), canonical(1, 1, &b));
        let c = AuditRecord {
            event: "ab".into(),
            outcome: "c".into(),
            ..rec(1, "x")
        };
        let d = AuditRecord {
            event: "a".into(),
            outcome: "bc".into(),
            ..rec(1, "x")
        };
        assert_ne!(canonical(1, 1, &c), canonical(1, 1, &d));
        assert_ne!(
            canonical(1, 1, &c),
            canonical(2, 1, &c),
            "the row id is hashed"
        );
    }

    #[test]
    fn an_altered_field_names_its_row() {
        let (mut rows, head) = chain(4);
        rows[1].record.outcome = "rejected".into();
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (Some(20), FaultKind::Altered));
    }

    #[test]
    fn a_deleted_middle_row_names_the_next_row() {
        let (mut rows, head) = chain(4);
        rows.remove(1);
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (Some(30), FaultKind::Deleted));
        assert_eq!(f.detail, "positions 2..2 missing before it (after row 10)");
    }

    #[test]
    fn swapped_contents_are_reordered() {
        let (mut rows, head) = chain(4);
        // Everything but the row id moves: the row at id 20 now claims position 3.
        let (a, b) = (rows[1].clone(), rows[2].clone());
        rows[1] = StoredRow {
            record: AuditRecord { id: 20, ..b.record },
            ..b
        };
        rows[2] = StoredRow {
            record: AuditRecord { id: 30, ..a.record },
            ..a
        };
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (Some(20), FaultKind::Reordered));
    }

    #[test]
    fn a_rechained_stretch_is_broken_and_a_cut_end_is_caught() {
        let (mut rows, head) = chain(3);
        // Row 20 rewritten and re-hashed consistently on a fake predecessor hash.
        let fake = ChainHead {
            seq: 1,
            row_id: 10,
            hash: [7; 32],
        };
        let l = link(&fake, 20, &rows[1].record);
        rows[1].prev_hash = Some(l.prev_hash.to_vec());
        rows[1].hash = Some(l.hash.to_vec());
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (Some(20), FaultKind::Broken));

        let (mut rows, head) = chain(3);
        rows.pop();
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (None, FaultKind::BrokenAtEnd));
        let f = verify(&rows, None, None).unwrap_err();
        assert_eq!(f.detail, "no chain head is recorded");
    }

    #[test]
    fn unchained_and_unknown_versions_are_refused() {
        let (mut rows, head) = chain(2);
        rows[0].hash = Some(vec![1, 2, 3]);
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!((f.row_id, f.kind), (Some(10), FaultKind::Unchained));
        let (mut rows, head) = chain(2);
        rows[1].version = Some(2);
        let f = verify(&rows, Some(head), None).unwrap_err();
        assert_eq!(f.detail, "unknown chain version 2");
    }

    #[test]
    fn anchors_are_found_or_reported_missing() {
        let (rows, head) = chain(3);
        let mid = as_hash(rows[1].hash.as_deref().unwrap()).unwrap();
        let s = verify(&rows, Some(head), Some(mid)).unwrap();
        assert_eq!(s.anchor_found, Some(true));
        let f = verify(&rows, Some(head), Some([9; 32])).unwrap_err();
        assert_eq!((f.row_id, f.kind), (None, FaultKind::AnchorMissing));
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let h = [0xab; 32];
        assert_eq!(parse_hash(&to_hex(&h)), Some(h));
        assert_eq!(parse_hash(&to_hex(&h).to_uppercase()), Some(h));
        assert_eq!(parse_hash("ab"), None);
        assert_eq!(parse_hash(&"g".repeat(64)), None);
        assert_eq!(parse_hash(&"é".repeat(32)), None);
    }
}
