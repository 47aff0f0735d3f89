//! The kit's UDAP community: a root (the anchor the target trusts), an intermediate, and a
//! client leaf whose URI SAN is the kit's UDAP entity, and a ticket issuer leaf. Generated once by `init` and kept in the
//! key file, because the target's configuration names the anchor file and must keep trusting
//! it across kit runs. The CA's own key is not kept: checks that need an untrusted chain make
//! a throwaway community at run time.

use serde_json::{Map, Value, json};
use tessera_jose::{Jwk, b64};
use tessera_udap::Pkcs8Signer;
use tessera_udap::metadata::{MetadataClaims, sign_metadata};
use tessera_udap::pki::{Leaf, LeafSpec, Pki};

/// Path of the kit's UDAP client entity (the leaf's URI SAN) under the issuer URL.
pub const UDAP_CLIENT_PATH: &str = "/udap-client";
/// Path of the kit's UDAP ticket issuer (its `iss`, the leaf's URI SAN) under the issuer URL.
pub const UDAP_ISSUER_PATH: &str = "/udap-issuer";

const DAY: i64 = 86_400;

/// A leaf certificate chain (leaf first, DER) and its PKCS#8 key.
#[derive(Debug, Clone)]
pub struct LeafKeys {
    /// The URI SAN.
    pub san: String,
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 private key, PEM.
    pub key_pem: String,
}

/// The community material the kit keeps.
#[derive(Debug, Clone)]
pub struct UdapKeys {
    /// The root certificate (the trust anchor to register), PEM.
    pub anchor_pem: String,
    /// The client leaf.
    pub client: LeafKeys,
    /// The ticket issuer's leaf (signs `signed_metadata` and tickets).
    pub issuer: LeafKeys,
}

impl UdapKeys {
    /// A fresh community valid from a day before `now` for two years, with a client leaf for
    /// `{issuer_url}/udap-client` and an issuer leaf for `{issuer_url}/udap-issuer`, each
    /// valid one year.
    pub fn generate(issuer_url: &str, now: i64) -> Result<UdapKeys, String> {
        let pki = Pki::new("Tessera conformance kit", now - DAY, now + 730 * DAY, None)?;
        let san = format!("{issuer_url}{UDAP_CLIENT_PATH}");
        let leaf = pki.leaf(&LeafSpec::client(&san, now - DAY, now + 365 * DAY))?;
        let iss = format!("{issuer_url}{UDAP_ISSUER_PATH}");
        let issuer = pki.leaf(&LeafSpec::server(&iss, now - DAY, now + 365 * DAY))?;
        Ok(UdapKeys {
            anchor_pem: pki.root_pem(),
            client: LeafKeys::from_leaf(&san, leaf),
            issuer: LeafKeys::from_leaf(&iss, issuer),
        })
    }

    /// The key file's `udap` member.
    pub fn to_value(&self) -> Value {
        json!({"anchor_pem": self.anchor_pem, "client": self.client.to_value(),
               "issuer": self.issuer.to_value()})
    }

    /// Reads the key file's `udap` member.
    pub fn from_value(v: &Value) -> Result<UdapKeys, String> {
        Ok(UdapKeys {
            anchor_pem: text(v, "anchor_pem")?,
            client: LeafKeys::from_value(&v["client"]).map_err(|e| format!("client: {e}"))?,
            issuer: LeafKeys::from_value(&v["issuer"]).map_err(|e| format!("issuer: {e}"))?,
        })
    }
}

impl LeafKeys {
    /// From a generated leaf.
    pub fn from_leaf(san: &str, leaf: Leaf) -> LeafKeys {
        LeafKeys {
            san: san.to_owned(),
            chain: leaf.chain,
            key_pem: leaf.key_pem,
        }
    }

    fn to_value(&self) -> Value {
        let chain: Vec<String> = self.chain.iter().map(b64::encode).collect();
        json!({"san": self.san, "chain": chain, "key_pem": self.key_pem})
    }

    fn from_value(v: &Value) -> Result<LeafKeys, String> {
        let chain = v["chain"]
            .as_array()
            .ok_or("chain must be an array")?
            .iter()
            .map(|c| {
                c.as_str()
                    .and_then(|s| b64::decode(s).ok())
                    .ok_or_else(|| "chain entries must be base64url DER".to_owned())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LeafKeys {
            san: text(v, "san")?,
            chain,
            key_pem: text(v, "key_pem")?,
        })
    }
}

impl LeafKeys {
    /// The leaf's public key, `kid` its RFC 7638 thumbprint (how a UDAP-trusted issuer's
    /// tickets name it).
    pub fn public_jwk(&self) -> Result<Jwk, String> {
        let leaf = self.chain.first().ok_or("empty chain")?;
        let mut key = tessera_udap::inspect(leaf)
            .map_err(|e| e.to_string())?
            .public_key
            .ok_or("the leaf has no usable public key")?;
        key.kid = Some(key.thumbprint());
        Ok(key)
    }

    /// The signed `/.well-known/udap` document of an issuer holding this leaf (`iss` = `sub`
    /// = the SAN), valid a day from `now`.
    pub fn udap_metadata(&self, now: i64) -> Result<Value, String> {
        let signer = self.signer()?;
        let jwt = sign_metadata(
            &MetadataClaims {
                base_url: &self.san,
                document: &Map::new(),
                now,
                lifetime: DAY,
                jti: &uuid::Uuid::new_v4().to_string(),
            },
            &self.chain,
            &signer,
        )
        .map_err(|e| e.to_string())?;
        Ok(json!({"udap_versions_supported": [tessera_udap::UDAP_VERSION], "signed_metadata": jwt}))
    }

    /// A signer for the leaf's key.
    pub fn signer(&self) -> Result<Pkcs8Signer, String> {
        Pkcs8Signer::from_pem(self.key_pem.as_bytes()).map_err(|e| e.to_string())
    }
}

fn text(v: &Value, name: &str) -> Result<String, String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("{name} must be a string"))
}
