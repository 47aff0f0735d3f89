//! A run: bind the issuer host, run the selected checks in order (each bounded in time), turn
//! each result into an [`Outcome`] with the exchanges that show a failure.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tessera_client::Clock;
use tokio::net::TcpListener;

use crate::checklist::{parse_skips, requirements, section_of};
use crate::checks::{self, Check};
use crate::config::KitConfig;
use crate::ctx::{Ctx, Stop};
use crate::federation::Federation;
use crate::host::{Host, Published};
use crate::keys::KitKeys;
use crate::report::{NotTested, Outcome, Report, Status};

/// Exchanges kept per failure.
const KEPT_EXCHANGES: usize = 3;

/// How to run.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// `--only`: IDs (`PT-VAL-12`) or ID prefixes (`PT-VAL`); empty = all.
    pub only: Vec<String>,
    /// Write a progress line to stderr (a TTY).
    pub progress: bool,
}

/// Whether `id` is selected by `only`.
pub fn selected(only: &[String], id: &str) -> bool {
    only.is_empty()
        || only.iter().any(|s| {
            id == s
                || id
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with('-'))
        })
}

/// Runs the kit. `listener`, when given, is the issuer host's socket (tests bind port 0);
/// otherwise the kit binds `issuer.listen`.
pub async fn run(
    config: KitConfig,
    keys: KitKeys,
    listener: Option<TcpListener>,
    clock: Arc<dyn Clock>,
    opts: &RunOptions,
) -> Result<Report, String> {
    let skips = match &config.skips {
        Some(path) => parse_skips(
            &std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )?,
        None => parse_skips(crate::checklist::DEFAULT_SKIPS)?,
    };
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(config.issuer.listen).await.map_err(|e| {
            format!(
                "cannot bind the kit's issuer host on {}: {e}",
                config.issuer.listen
            )
        })?,
    };
    let federation = match &keys.federation_anchor {
        Some(anchor) => Some(Federation::build(
            &config.issuer.url,
            anchor,
            keys.client.jwk().public(),
            keys.issuer_es256.public(),
            clock.now(),
        )?),
        None => None,
    };
    let udap_issuer = match &keys.udap {
        Some(u) => Some(u.issuer.udap_metadata(clock.now())?),
        None => None,
    };
    let host = Host::start(
        listener,
        &config.issuer.url,
        Published {
            issuer: keys.issuer_jwks().to_value(),
            client: keys.client_jwks().to_value(),
            idp: keys.idp_jwks().to_value(),
            federation: federation
                .as_ref()
                .map(|f| f.docs.clone())
                .unwrap_or_default(),
            udap_issuer,
        },
    );
    let per_check = Duration::from_secs(config.timeout_seconds.saturating_mul(8));
    let target = config.fhir_base.clone();
    let mut ctx = Ctx::new(config, keys, host, clock)?;
    ctx.federation = federation;
    let selection: Vec<Check> = checks::all()
        .into_iter()
        .filter(|c| selected(&opts.only, c.id))
        .collect();
    let mut outcomes = Vec::with_capacity(selection.len());
    for (i, check) in selection.iter().enumerate() {
        if opts.progress {
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r\x1b[2K[{}/{}] {} {}",
                i + 1,
                selection.len(),
                check.id,
                check.case
            );
            let _ = err.flush();
        }
        outcomes.push(run_one(&ctx, check, &skips, per_check).await);
    }
    if opts.progress {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    let tested: Vec<&str> = checks::all().iter().map(|c| c.id).collect();
    let not_tested = requirements()
        .into_iter()
        .filter(|(id, _)| selected(&opts.only, id) && !tested.contains(&id.as_str()))
        .map(|(id, section)| NotTested {
            reason: skips
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "not in the skip list: no kit test and no reason given".into()),
            id,
            section,
        })
        .collect();
    ctx.host.stop().await;
    Ok(Report {
        target,
        outcomes,
        not_tested,
    })
}

async fn run_one(
    ctx: &Ctx,
    check: &Check,
    skips: &BTreeMap<String, String>,
    bound: Duration,
) -> Outcome {
    let mut o = Outcome {
        id: check.id.to_owned(),
        case: check.case.to_owned(),
        section: section_of(check.id),
        status: Status::Pass,
        detail: String::new(),
        exchanges: Vec::new(),
    };
    if let Some(reason) = skips.get(check.id) {
        o.status = Status::Skip;
        o.detail = format!("skip list: {reason}");
        return o;
    }
    ctx.probe.take_log();
    let result = match tokio::time::timeout(bound, checks::run(ctx, check)).await {
        Ok(r) => r,
        Err(_) => Err(Stop::Fail(format!(
            "the check did not finish within {} s",
            bound.as_secs()
        ))),
    };
    let log = ctx.probe.take_log();
    match result {
        Ok(()) => {}
        Err(Stop::Skip(why)) => {
            o.status = Status::Skip;
            o.detail = why;
        }
        Err(Stop::Fail(why)) => {
            o.status = Status::Fail;
            o.detail = why;
            let start = log.len().saturating_sub(KEPT_EXCHANGES);
            o.exchanges = log[start..].to_vec();
        }
    }
    o
}
