//! `tessera federation resolve`: resolve an OpenID Federation entity's trust chain to an anchor
//! and print the chain, the policy-applied metadata and the verified trust marks as JSON (or
//! the exact check that failed). The work is `tessera_client::Client::resolve_trust_chain`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use tessera_client::Client;
use tessera_federation::TrustAnchor;
use tessera_holder::config::{Config, TrustFrameworkKind};
use tessera_jose::JwkSet;

use crate::clock::SystemClock;
use crate::cmd_redeem::runtime;

/// `tessera federation …`.
#[derive(Debug, clap::Subcommand)]
pub enum FederationCommand {
    /// Resolve ENTITY's trust chain to an anchor; print chain, metadata and trust marks.
    Resolve(ResolveArgs),
}

/// Arguments of `tessera federation resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The entity ID to resolve.
    #[arg(value_name = "ENTITY_ID")]
    pub entity: String,
    /// The trust anchor's entity ID.
    #[arg(long, value_name = "ID")]
    pub anchor: String,
    /// The anchor's JWK Set file (alternatively taken from `--config`).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub anchor_jwks: Option<PathBuf>,
    /// A Data Holder configuration whose `[[trust_framework]]` (oidf, id = ANCHOR) gives the
    /// anchor keys and required trust marks.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A trust mark type the entity must carry (repeatable; adds to the configured ones).
    #[arg(long = "trust-mark", value_name = "TYPE")]
    pub trust_marks: Vec<String>,
    /// Also write the chain (leaf first, a JSON array) here: `tessera redeem --trust-chain`.
    #[arg(long, value_name = "FILE")]
    pub chain_out: Option<PathBuf>,
}

/// Runs `tessera federation …`.
pub fn run(cmd: FederationCommand) -> anyhow::Result<()> {
    match cmd {
        FederationCommand::Resolve(args) => resolve(args),
    }
}

/// The anchor keys and required marks, from `--anchor-jwks` or the configuration.
fn anchor_material(args: &ResolveArgs) -> anyhow::Result<(JwkSet, Vec<String>)> {
    let read_jwks = |p: &std::path::Path| -> anyhow::Result<JwkSet> {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        JwkSet::from_json(&bytes).with_context(|| format!("anchor JWK Set {}", p.display()))
    };
    let mut marks = args.trust_marks.clone();
    let jwks = match (&args.anchor_jwks, &args.config) {
        (Some(p), _) => read_jwks(p)?,
        (None, Some(c)) => {
            let cfg = Config::load(c).with_context(|| format!("config {}", c.display()))?;
            let oidf = cfg
                .trust_framework_configs
                .iter()
                .find_map(|tf| match &tf.kind {
                    TrustFrameworkKind::Oidf(o) if tf.id == args.anchor => Some(o),
                    _ => None,
                })
                .with_context(|| {
                    format!(
                        "{} has no oidf [[trust_framework]] with id {}",
                        c.display(),
                        args.anchor
                    )
                })?;
            marks.extend(oidf.required_trust_marks.iter().cloned());
            read_jwks(&oidf.anchor_jwks_file)?
        }
        (None, None) => anyhow::bail!("--anchor-jwks or --config is required"),
    };
    Ok((jwks, marks))
}

fn resolve(args: ResolveArgs) -> anyhow::Result<()> {
    let (jwks, marks) = anchor_material(&args)?;
    let anchor = TrustAnchor {
        entity_id: args.anchor.clone(),
        jwks,
    };
    let client = Client::new(Arc::new(SystemClock))?;
    let chain = runtime()?
        .block_on(client.resolve_trust_chain(&args.entity, anchor, &marks))
        .map_err(|e| anyhow::anyhow!("trust chain of {} rejected: {e}", args.entity))?;
    // Leaf first, ending with the anchor's configuration: the `trust_chain` header's shape.
    let all: Vec<&str> = chain
        .statements
        .iter()
        .map(|s| s.compact.as_str())
        .collect();
    if let Some(path) = &args.chain_out {
        std::fs::write(path, serde_json::to_string_pretty(&all)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let statements: Vec<Value> = chain
        .statements
        .iter()
        .map(|s| json!({"iss": s.iss, "sub": s.sub, "exp": s.exp}))
        .collect();
    let marks: Vec<Value> = chain
        .trust_marks
        .iter()
        .map(|m| json!({"trust_mark_type": m.trust_mark_type, "iss": m.iss, "exp": m.exp}))
        .collect();
    let out = json!({
        "entity_id": chain.entity_id,
        "trust_anchor": chain.anchor_id,
        "expires_at": chain.exp,
        "statements": statements,
        "metadata": Value::Object(chain.metadata.clone()),
        "trust_marks": marks,
        "trust_chain": all,
    });
    crate::out::line(serde_json::to_string_pretty(&out)?)?;
    Ok(())
}
