//! `tessera keygen` and `tessera jwks`: key generation and public JWK Set export.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use tessera_jose::{Alg, JwkSet, PrivateJwk};

/// `tessera keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Signature algorithm of the new key.
    #[arg(long, value_enum, default_value = "ES256")]
    alg: KeyAlg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyAlg {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "ES384")]
    Es384,
    #[value(name = "RS256")]
    Rs256,
}

/// `tessera jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// JWK or JWK Set files (public or private; private members are never printed).
    #[arg(required = true)]
    keys: Vec<PathBuf>,
}

/// Prints a fresh private JWK with `kid` = its RFC 7638 thumbprint.
pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let alg = match args.alg {
        KeyAlg::Es256 => Alg::Es256,
        KeyAlg::Es384 => Alg::Es384,
        KeyAlg::Rs256 => Alg::Rs256,
    };
    let key = PrivateJwk::generate(alg).context("key generation")?;
    crate::out::line(serde_json::to_string_pretty(&key.to_value())?)?;
    Ok(())
}

/// Prints the public JWK Set of all given keys.
pub fn jwks(args: JwksArgs) -> anyhow::Result<()> {
    let mut set = JwkSet::default();
    for path in &args.keys {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let keys = JwkSet::from_json_set_or_key(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        set.keys.extend(keys.keys);
    }
    crate::out::line(serde_json::to_string_pretty(&set.to_value())?)?;
    Ok(())
}
