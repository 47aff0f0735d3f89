//! The demo's UDAP community: a payers' community PKI generated for the run (root and
//! intermediate CA, the Data Holder's own certificate, the payer quality program's client
//! certificate), the Data Holder's `[[trust_framework]]` and `[registration]` configuration, and
//! the payer's UDAP dynamic registration. The quality-gap scenario is then presented by a
//! client whose framework identity the Data Holder *verifies* (the certificate's URI SAN under
//! the community anchor, at registration and at every redemption) instead of one asserted by
//! configuration.
//!
//! Files (under `udap/` in the run directory): `community-root.pem`, `holder-chain.pem`,
//! `holder-key.pem`, `payer-chain.pem`, `payer-key.pem`.

use std::path::{Path, PathBuf};

use tessera_client::{
    Client, StatementRequest, TOKEN_EXCHANGE_GRANT, UdapCredentials, Url, udap_registration,
};
use tessera_udap::pki::{LeafSpec, Pki};

use crate::env::QUALITY_ENTITY;
use crate::error::DemoError;

/// The UDAP community of payers the Data Holder and the payer belong to.
pub const UDAP_COMMUNITY: &str = "https://udap.tessera.example/community/payers";
/// The scenario label of the UDAP-registered payer (its `client_id` is issued at registration).
pub const UDAP_PAYER: &str = "udap:payer-quality";

/// Certificates are valid this long around the run.
const VALIDITY: i64 = 30 * 86_400;

/// The run's UDAP material.
pub struct UdapWorld {
    /// Where the PEM files are.
    pub dir: PathBuf,
    /// The payer quality program's certificate chain and key.
    pub payer: UdapCredentials,
    /// The `client_id` the Data Holder issued to the payer (set by [`UdapWorld::register`]).
    pub payer_client_id: String,
}

impl std::fmt::Debug for UdapWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdapWorld")
            .field("dir", &self.dir)
            .field("payer_client_id", &self.payer_client_id)
            .finish_non_exhaustive()
    }
}

fn fail(e: impl std::fmt::Display) -> DemoError {
    DemoError::Keys(format!("UDAP community: {e}"))
}

impl UdapWorld {
    /// Generates the community PKI; the Data Holder's certificate names `base_url`.
    pub fn generate(run_dir: &Path, base_url: &str, now: i64) -> Result<UdapWorld, DemoError> {
        let dir = run_dir.join("udap");
        std::fs::create_dir_all(&dir)?;
        let (from, until) = (now - 3600, now + VALIDITY);
        let pki = Pki::new("Tessera Payers Community", from, until, None).map_err(fail)?;
        let holder = pki
            .leaf(&LeafSpec::server(base_url, from, until))
            .map_err(fail)?;
        let payer = pki
            .leaf(&LeafSpec::client(QUALITY_ENTITY, from, until))
            .map_err(fail)?;
        for (name, text) in [
            ("community-root.pem", pki.root_pem()),
            ("holder-chain.pem", holder.chain_pem),
            ("holder-key.pem", holder.key_pem),
            ("payer-chain.pem", payer.chain_pem.clone()),
            ("payer-key.pem", payer.key_pem.clone()),
        ] {
            std::fs::write(dir.join(name), text)?;
        }
        let payer =
            UdapCredentials::from_pem(payer.chain_pem.as_bytes(), payer.key_pem.as_bytes())?;
        Ok(UdapWorld {
            dir,
            payer,
            payer_client_id: String::new(),
        })
    }

    /// A file of the community material.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The Data Holder's configuration for the community (appended to `holder.toml`).
    pub fn holder_toml(&self) -> String {
        let path = |n: &str| toml_str(&self.file(n).display().to_string());
        format!(
            "\n# UDAP: the payers' community. Membership is verified from our certificate; \
             clients register\n# at [base]/register with a software statement.\n\
             [registration]\nenabled = true\n\n\
             [[trust_framework]]\nid = {id}\nframework_type = \"udap\"\n\
             anchors_file = {root}\ncertificate_file = {chain}\nkey_file = {key}\n",
            id = toml_str(UDAP_COMMUNITY),
            root = path("community-root.pem"),
            chain = path("holder-chain.pem"),
            key = path("holder-key.pem"),
        )
    }

    /// The payer registers by UDAP DCR (a software statement signed with its certificate key,
    /// `iss` = its URI SAN), and keeps the issued `client_id`.
    pub async fn register(
        &mut self,
        client: &Client,
        base_url: &str,
        now: i64,
    ) -> Result<(), DemoError> {
        let endpoint = Url::parse(&format!("{base_url}/register"))
            .map_err(|e| DemoError::Holder(format!("registration endpoint: {e}")))?;
        let statement = self.payer.software_statement(
            &StatementRequest {
                iss: QUALITY_ENTITY,
                registration_endpoint: endpoint.as_str(),
                client_name: "Payer quality program",
                scope: Some("patient/*.rs"),
                grant_types: &[TOKEN_EXCHANGE_GRANT.to_owned()],
            },
            now,
            &uuid::Uuid::new_v4().to_string(),
        )?;
        let reg = client
            .register(&endpoint, &udap_registration(&statement), None)
            .await?;
        self.payer_client_id = reg.client_id;
        Ok(())
    }
}

fn toml_str(v: &str) -> String {
    serde_json::Value::String(v.to_owned()).to_string()
}
