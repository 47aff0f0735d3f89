//! `tessera fetch`: read FHIR with an access token (Bearer, or DPoP with a fresh proof per
//! request) and print the resource or Bundle JSON; `--all` follows `next` links, bounded.

use std::sync::Arc;

use tessera_client::{Authorization, Client, DEFAULT_MAX_PAGES, FetchOptions, Url};

use crate::clock::SystemClock;
use crate::cmd_redeem::{load_key, runtime};

/// Arguments of `tessera fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The access token (from `tessera redeem`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TESSERA_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// The private JWK the token is DPoP-bound to; sends `Authorization: DPoP` and a proof.
    #[arg(long, value_name = "JWK")]
    pub dpop_key: Option<std::path::PathBuf>,
    /// Follow `next` links and print every page as one JSON array.
    #[arg(long)]
    pub all: bool,
    /// With `--all`, stop after this many pages.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PAGES, value_parser = page_bound)]
    pub max_pages: usize,
    /// Record location: `URL` is a network base; ask it (`$resolve-record-locations`) which
    /// sites hold releasable data for the token's person and print them (site FHIR base, token
    /// endpoint, organization) — redeem at each with `tessera redeem --fhir-base`.
    #[arg(long, conflicts_with = "all")]
    pub record_locations: bool,
    /// The FHIR URL to read (a resource or a search).
    pub url: Url,
}

fn page_bound(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err("a number of pages from 1 to 10000".into()),
    }
}

/// Runs the command.
pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    let key = args.dpop_key.as_deref().map(load_key).transpose()?;
    let auth = match &key {
        Some(key) => Authorization::Dpop {
            token: &args.token,
            key,
        },
        None => Authorization::Bearer(&args.token),
    };
    let options = FetchOptions {
        all: args.all,
        max_pages: args.max_pages,
    };
    let client = Client::new(Arc::new(SystemClock))?;
    if args.record_locations {
        let located = runtime()?.block_on(client.record_locations(&args.url, auth))?;
        return crate::out::line(serde_json::to_string_pretty(&located)?);
    }
    let fetched = runtime()?.block_on(client.fetch(&args.url, auth, options))?;
    if fetched.truncated {
        eprintln!(
            "warning: stopped after {} pages (--max-pages); more results remain",
            fetched.pages.len()
        );
    }
    let output = if args.all {
        serde_json::Value::Array(fetched.pages)
    } else {
        fetched
            .pages
            .into_iter()
            .next()
            .unwrap_or(serde_json::Value::Null)
    };
    crate::out::line(serde_json::to_string_pretty(&output)?)?;
    Ok(())
}
