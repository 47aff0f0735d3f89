//! [`RegistrationStore`] on PostgreSQL: every node reads the registrations any node wrote.
//! The registration endpoint writes through its request's write set; these direct writes
//! (operator tools, tests) are each one durable transaction of their own.

use postgres::types::Type;
use tessera_store::registrations::{ClientRegistration, RegistrationStore};
use tessera_store::token_db::TokenDbError;

use crate::blocking::run;

use super::PgTokenStore;
use super::rows::{self, REGISTRATION_COLUMNS};

impl RegistrationStore for PgTokenStore {
    fn put_registration(&self, r: &ClientRegistration) -> Result<(), TokenDbError> {
        run(|| {
            super::tx::durable(&self.pool, self.sync_commit, |c| {
                rows::put_registration(c, r)
            })
        })
        .map_err(Into::into)
    }

    fn registration(&self, client_id: &str) -> Result<Option<ClientRegistration>, TokenDbError> {
        run(|| {
            let row = self.pool.get()?.query_typed_opt(
                &format!(
                    "SELECT {REGISTRATION_COLUMNS} FROM client_registration WHERE client_id = $1"
                ),
                &[(&client_id, Type::TEXT)],
            )?;
            row.as_ref().map(rows::registration_from).transpose()
        })
        .map_err(Into::into)
    }

    fn registration_by_san(
        &self,
        trust_framework: &str,
        san: &str,
    ) -> Result<Option<ClientRegistration>, TokenDbError> {
        run(|| {
            let row = self.pool.get()?.query_typed_opt(
                &format!(
                    "SELECT {REGISTRATION_COLUMNS} FROM client_registration \
                     WHERE trust_framework = $1 AND san = $2"
                ),
                &[(&trust_framework, Type::TEXT), (&san, Type::TEXT)],
            )?;
            row.as_ref().map(rows::registration_from).transpose()
        })
        .map_err(Into::into)
    }

    fn delete_registration(&self, client_id: &str) -> Result<bool, TokenDbError> {
        run(|| {
            super::tx::durable(&self.pool, self.sync_commit, |c| {
                rows::delete_registration(c, client_id)
            })
        })
        .map_err(Into::into)
    }
}
