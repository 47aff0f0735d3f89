//! The demo's keys, generated fresh for every run (ES256, `kid` = RFC 7638 thumbprint) and
//! written to the run directory so the printed `tessera`/`curl` commands can use them.
//!
//! Roles: the network ticket issuer, the Data Holder's own (self-issuing) issuer, the demo
//! identity provider that signs ID tokens used as identity evidence, the registered clients of
//! the Data Holder, and the minting clients of the two issuers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tessera_client::ClientKey;
use tessera_jose::{Alg, PrivateJwk};

use crate::error::DemoError;

/// The patient's app (self access; DPoP).
pub const PATIENT_APP: &str = "patient-app";
/// The family members' app (delegated access).
pub const FAMILY_APP: &str = "family-app";
/// The payer's claims-review system (unbound tickets; registered as acting for the payer).
pub const PAYER_CLAIMS: &str = "payer-claims-review";
/// The payer's quality program (framework-bound tickets).
pub const PAYER_QUALITY: &str = "payer-quality";
/// The state public health agency's epidemiology unit (framework-bound tickets).
pub const PHA: &str = "state-epi-unit";
/// Minting client of the network issuer.
pub const NETWORK_MINTER: &str = "network-console";
/// Minting client of the Data Holder's own issuer (its billing system).
pub const BILLING_MINTER: &str = "billing-system";

/// Every Data Holder client, in the order they appear in the configuration.
pub const HOLDER_CLIENTS: [&str; 5] = [PATIENT_APP, FAMILY_APP, PAYER_CLAIMS, PAYER_QUALITY, PHA];

/// All keys of one demo run.
#[derive(Debug)]
pub struct DemoKeys {
    /// Signs network tickets.
    pub network_issuer: PrivateJwk,
    /// Signs the Data Holder's self-issued tickets.
    pub holder_issuer: PrivateJwk,
    /// Signs ID tokens (identity evidence).
    pub idp: PrivateJwk,
    /// Client keys by client id (Data Holder clients and issuer minting clients).
    pub clients: BTreeMap<&'static str, ClientKey>,
    /// Where the key files are.
    pub dir: PathBuf,
}

impl DemoKeys {
    /// Generates every key and writes `keys/<name>.jwk.json` (private) and
    /// `keys/<name>.jwks.json` (public set) under `dir`.
    pub fn generate(dir: &Path) -> Result<DemoKeys, DemoError> {
        let dir = dir.join("keys");
        std::fs::create_dir_all(&dir)?;
        let new = || PrivateJwk::generate(Alg::Es256).map_err(|e| DemoError::Keys(e.to_string()));
        let network_issuer = new()?;
        let holder_issuer = new()?;
        let idp = new()?;
        let mut clients = BTreeMap::new();
        for id in HOLDER_CLIENTS
            .into_iter()
            .chain([NETWORK_MINTER, BILLING_MINTER])
        {
            let key = new()?;
            write_pair(&dir, id, &key)?;
            let key = ClientKey::new(key).map_err(|e| DemoError::Keys(e.to_string()))?;
            clients.insert(id, key);
        }
        write_pair(&dir, "network-issuer", &network_issuer)?;
        write_pair(&dir, "holder-issuer", &holder_issuer)?;
        write_pair(&dir, "identity-provider", &idp)?;
        Ok(DemoKeys {
            network_issuer,
            holder_issuer,
            idp,
            clients,
            dir,
        })
    }

    /// A client's key.
    pub fn client(&self, id: &str) -> Result<&ClientKey, DemoError> {
        self.clients
            .get(id)
            .ok_or_else(|| DemoError::Keys(format!("no key for client {id}")))
    }

    /// Path of `<name>.jwk.json` (private key).
    pub fn private_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.jwk.json"))
    }

    /// Path of `<name>.jwks.json` (public JWK Set).
    pub fn public_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.jwks.json"))
    }
}

/// The public JWK Set of one key.
pub fn public_set(key: &PrivateJwk) -> Value {
    json!({ "keys": [key.public().to_value()] })
}

fn write_pair(dir: &Path, name: &str, key: &PrivateJwk) -> Result<(), DemoError> {
    let private = dir.join(format!("{name}.jwk.json"));
    std::fs::write(&private, pretty(&key.to_value()))?;
    restrict(&private)?;
    std::fs::write(
        dir.join(format!("{name}.jwks.json")),
        pretty(&public_set(key)),
    )?;
    Ok(())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Private key files are readable by the owner only.
#[cfg(unix)]
fn restrict(path: &Path) -> Result<(), DemoError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<(), DemoError> {
    Ok(())
}
