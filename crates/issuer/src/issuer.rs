//! The [`Issuer`]: the library API for minting, lookup, revocation, status lists and key
//! publication. The HTTP layer (`http.rs`) and the CLI are thin wrappers over it.

use serde_json::{Map, Value};
use tessera_jose::JwkSet;
use tessera_ticket::{TicketError, TicketType, mint_payload};

use crate::audience::{AudTypeOutcome, settle_aud_type};
use crate::config::Config;
use crate::db::{Db, DbError, IssuanceRecord};
use crate::error::IssueError;
use crate::evidence::check_evidence;
use crate::mint::{prepare, requested_type, requester_summary, set_revocation, subject_summary};
use crate::status::{StatusListBody, bitstring, encode_bits};
use crate::store::{IssuerStore, StoreLocation};
use crate::verification;

/// Who is asking. Authenticated minting clients see and revoke only their own tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A registered minting client, by id.
    Client(String),
    /// An unauthenticated caller in demo mode.
    Demo,
    /// The local operator (CLI, embedding code): sees everything.
    Operator,
}

impl Caller {
    /// The name recorded as `requested_by` / `revoked_by`.
    pub fn name(&self) -> &str {
        match self {
            Caller::Client(id) => id,
            Caller::Demo => "demo",
            Caller::Operator => "operator",
        }
    }

    fn may_see(&self, record: &IssuanceRecord) -> bool {
        match self {
            Caller::Operator => true,
            _ => record.requested_by == self.name(),
        }
    }
}

/// A freshly minted ticket and what was recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Minted {
    /// The compact JWS.
    pub token: String,
    /// The issuance record (already durable).
    pub record: IssuanceRecord,
}

/// A request that passed every check, ready to sign.
struct Checked<'a> {
    ticket_type: TicketType,
    verification: Value,
    list: &'a crate::config::StatusListConfig,
    status_url: String,
    prepared: crate::mint::Prepared,
}

/// An issuer: configuration, keys and the issuance database.
#[derive(Debug)]
pub struct Issuer {
    pub(crate) config: Config,
    pub(crate) db: Box<dyn IssuerStore>,
}

impl Issuer {
    /// Opens the issuer with the SQLite database the configuration names. A `postgres://`
    /// store is opened by the binary (`tessera_store_pg::issuer`) and passed to
    /// [`Issuer::with_store`].
    pub fn open(config: Config) -> Result<Issuer, IssueError> {
        let db = match &config.store {
            StoreLocation::Sqlite(path) => Db::open(path)?,
            StoreLocation::Postgres(_) => {
                return Err(IssueError::Db(DbError(
                    "config key `store`: a postgres:// store is opened through \
                     tessera_store_pg::issuer and Issuer::with_store"
                        .into(),
                )));
            }
        };
        Ok(Issuer::with_db(config, db))
    }

    /// An issuer over an already opened SQLite database.
    pub fn with_db(config: Config, db: Db) -> Issuer {
        Issuer::with_store(config, Box::new(db))
    }

    /// An issuer over any storage backend.
    pub fn with_store(config: Config, db: Box<dyn IssuerStore>) -> Issuer {
        Issuer { config, db }
    }

    /// Appends a refused request to the refusal log (durable on return).
    pub fn record_refusal(&self, refusal: &crate::RefusalRecord) -> Result<(), crate::DbError> {
        self.db.record_refusal(refusal)
    }

    /// The latest `limit` refusals, oldest first (`tessera issuer refusals`).
    pub fn refusals(&self, limit: usize) -> Result<Vec<crate::RefusalRecord>, crate::DbError> {
        self.db.refusals(limit)
    }

    /// Whether the store answers and its schema is current (`GET /readyz`).
    pub fn ready(&self) -> Result<(), crate::DbError> {
        self.db.ready()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `[iss]/tickets`: the minting URL, and the `aud` of API client assertions.
    pub fn mint_url(&self) -> String {
        format!("{}/tickets", self.config.issuer)
    }

    /// `[iss]/status/{list}`.
    pub fn status_url(&self, list: &str) -> String {
        format!("{}/status/{list}", self.config.issuer)
    }

    /// `[iss]/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.config.issuer)
    }

    /// Mints a ticket as the operator (see [`Issuer::mint_as`]).
    pub fn mint(&self, claims: &Value, now: i64) -> Result<Minted, IssueError> {
        self.mint_as(&Caller::Operator, claims, now)
    }

    /// Mints a ticket from a request: the ticket claims plus the reserved member
    /// `verification` (what the caller verified, [`verification::check`]; never signed into
    /// the ticket). Completes or refuses `aud_type` for framework audiences, embeds identity
    /// evidence only when its audience shows who obtained it, fills `iss`, `iat`, `jti`, `exp`
    /// (bounded by the type's lifetimes) and `revocation`, refuses claims our own verifier
    /// would reject, signs with the active key and records the issuance (with the verification
    /// record) durably before returning.
    pub fn mint_as(
        &self,
        caller: &Caller,
        request: &Value,
        now: i64,
    ) -> Result<Minted, IssueError> {
        let jti = uuid::Uuid::new_v4().to_string();
        let Checked {
            ticket_type,
            verification,
            list,
            status_url,
            prepared,
        } = self.prepare_request(caller, request, now, &jti)?;
        let signer = self.config.keys.signer();
        let kid = self.config.keys.active_kid().to_owned();
        let issued =
            self.db.issue(
                &list.name,
                list.size,
                &mut random_u64,
                Box::new(|index| -> Result<(IssuanceRecord, String), IssueError> {
                    let mut payload: Map<String, Value> = prepared.payload;
                    set_revocation(&mut payload, &status_url, index);
                    let token = mint_payload(&payload, signer, &crate::mint::mint_options())
                        .map_err(|e| match e {
                            TicketError::Mint(_) => IssueError::Signing(e),
                            other => IssueError::Refused(other),
                        })?;
                    let claims = &prepared.claims;
                    let record = IssuanceRecord {
                        jti: jti.clone(),
                        ticket_type: ticket_type.uri().to_owned(),
                        subject: subject_summary(&claims.subject.patient),
                        requester: claims.requester.as_ref().map(requester_summary),
                        requested_by: caller.name().to_owned(),
                        issued_at: now,
                        expires_at: claims.exp,
                        kid,
                        status_list: list.name.clone(),
                        status_index: index,
                        status_url: status_url.clone(),
                        revoked_at: None,
                        revoked_by: None,
                        claims: Value::Object(payload),
                        verification: Some(verification),
                        revocation_management: self.management_url(&jti),
                    };
                    Ok((record, token))
                }),
            )?;
        let (record, token) = issued.ok_or_else(|| IssueError::ListFull(list.name.clone()))?;
        tracing::info!(
            jti = %record.jti,
            ticket_type = %record.ticket_type,
            requested_by = %record.requested_by,
            status_list = %record.status_list,
            status_index = record.status_index,
            "ticket issued"
        );
        Ok(Minted { token, record })
    }

    /// Everything minting checks, without signing or recording anything: the claims as they
    /// would be signed (with a placeholder status index), or the refusal `mint_as` would give.
    /// The workbench runs it as the user edits, so its verdicts are the issuer's own.
    pub fn check_as(
        &self,
        caller: &Caller,
        request: &Value,
        now: i64,
    ) -> Result<Map<String, Value>, IssueError> {
        let checked = self.prepare_request(caller, request, now, "(assigned at minting)")?;
        Ok(checked.prepared.payload)
    }

    fn prepare_request(
        &self,
        caller: &Caller,
        request: &Value,
        now: i64,
        jti: &str,
    ) -> Result<Checked<'_>, IssueError> {
        let Value::Object(request) = request else {
            return Err(IssueError::Request(
                "the claims must be a JSON object".into(),
            ));
        };
        let mut payload = request.clone();
        let verification_request = payload.remove("verification");
        let payload = &mut payload;
        let ticket_type = requested_type(payload)?;
        self.check_type_allowed(caller, ticket_type)?;
        if settle_aud_type(payload, &self.config.trust_frameworks)? == AudTypeOutcome::Added {
            tracing::info!("aud names a trust framework: aud_type set to trust_framework");
        }
        let extra_facts = check_evidence(
            payload,
            caller,
            &self.config.issuer,
            &self.config.evidence_client_ids,
        )?;
        let verification =
            verification::check(verification_request, ticket_type, &extra_facts, now)?;
        let verification =
            serde_json::to_value(&verification).map_err(|e| IssueError::Request(e.to_string()))?;
        let list = self
            .config
            .list_for(ticket_type)
            .ok_or_else(|| IssueError::Request(format!("no status list for {ticket_type}")))?;
        let status_url = self.status_url(&list.name);
        let prepared = prepare(
            payload.clone(),
            &self.config.issuer,
            self.config.lifetimes.get(ticket_type),
            &status_url,
            now,
            jti,
        )?;
        Ok(Checked {
            ticket_type,
            verification,
            list,
            status_url,
            prepared,
        })
    }

    fn check_type_allowed(&self, caller: &Caller, t: TicketType) -> Result<(), IssueError> {
        let Caller::Client(id) = caller else {
            return Ok(());
        };
        let allowed = self
            .config
            .clients
            .iter()
            .find(|c| &c.client_id == id)
            .is_some_and(|c| c.ticket_types.contains(&t));
        if allowed {
            Ok(())
        } else {
            Err(IssueError::TypeNotAllowed {
                client: id.clone(),
                ticket_type: t.uri().to_owned(),
            })
        }
    }

    /// The issuance record of a ticket, as the operator.
    pub fn record(&self, jti: &str) -> Result<IssuanceRecord, IssueError> {
        self.record_as(&Caller::Operator, jti)
    }

    /// The issuance record of a ticket the caller may see (otherwise `NotFound`, so a client
    /// cannot probe for other clients' tickets), with its verification record.
    pub fn record_as(&self, caller: &Caller, jti: &str) -> Result<IssuanceRecord, IssueError> {
        let mut record = self
            .db
            .get(jti)?
            .filter(|r| caller.may_see(r))
            .ok_or_else(|| IssueError::NotFound(jti.to_owned()))?;
        record.revocation_management = self.management_url(jti);
        Ok(record)
    }

    /// The revocation-management URL of a ticket, when configured (PT-ISS-09).
    pub fn management_url(&self, jti: &str) -> Option<String> {
        self.config
            .revocation_management_url
            .as_ref()
            .map(|t| t.replace("{jti}", jti))
    }

    /// Revokes a ticket as the operator (see [`Issuer::revoke_as`]).
    pub fn revoke(&self, jti: &str, now: i64) -> Result<IssuanceRecord, IssueError> {
        self.revoke_as(&Caller::Operator, jti, now)
    }

    /// Sets the ticket's bit on its status list (durably; idempotent). The served list shows it
    /// on the next fetch.
    pub fn revoke_as(
        &self,
        caller: &Caller,
        jti: &str,
        now: i64,
    ) -> Result<IssuanceRecord, IssueError> {
        self.record_as(caller, jti)?;
        if !self.db.revoke(jti, caller.name(), now)? {
            return Err(IssueError::NotFound(jti.to_owned()));
        }
        let record = self.record(jti)?;
        tracing::info!(
            jti = %record.jti,
            revoked_by = caller.name(),
            status_list = %record.status_list,
            status_index = record.status_index,
            "ticket revoked; status list changed"
        );
        Ok(record)
    }

    /// The body of a status list, or `None` for an unknown list name.
    pub fn status_list(&self, name: &str) -> Result<Option<StatusListBody>, IssueError> {
        let Some(list) = self.config.status_lists.iter().find(|l| l.name == name) else {
            return Ok(None);
        };
        let revoked = self.db.revoked_indexes(&list.name)?;
        Ok(Some(StatusListBody {
            kid: self.config.keys.active_kid().to_owned(),
            bits: encode_bits(&bitstring(list.size, &revoked)),
        }))
    }

    /// The JWK Set to publish at `now`: the active key plus retired keys whose tickets may
    /// still be valid. A database failure keeps a retired key published (removing a key
    /// wrongly breaks valid tickets; keeping it a little longer does not).
    pub fn jwks(&self, now: i64) -> JwkSet {
        self.config
            .keys
            .published(now, |kid| self.db.has_unexpired(kid, now).unwrap_or(true))
    }
}

/// Random bits for status-list indexes, from the same source as UUID v4.
fn random_u64() -> u64 {
    let bits = uuid::Uuid::new_v4().as_u128();
    // Fold both halves: the version/variant bits of a v4 UUID are fixed.
    (bits as u64) ^ ((bits >> 64) as u64).rotate_left(17)
}
