//! Project automation: `cargo xtask vectors [--check]`, `conformance [--check]`,
//! `conformance-kit [--check]`, `tidy`.
//!
//! `vectors` regenerates `test-vectors/tickets/**` (and the public halves of our fixed test
//! keys) from code; `--check` regenerates in memory and fails if anything on disk differs.
//! `tidy` checks house rules over every `.rs` file. `gen-test-keys` creates the fixed test
//! keys if they are missing (run once; the keys are committed). `conformance` renders
//! `docs/conformance.md` (requirement IDs and where tests cite them); `--check` fails if it is
//! stale or a requirement is neither cited nor listed in `test-vectors/conformance/skips.toml`.

use std::path::PathBuf;
use std::process::ExitCode;

mod conformance;
mod tidy;
mod vectors;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["vectors"] => vectors::run(&root, false),
        ["vectors", "--check"] => vectors::run(&root, true),
        ["tidy"] => tidy::run(&root),
        ["conformance"] => conformance::run(&root, false),
        ["conformance", "--check"] => conformance::run(&root, true),
        ["conformance-kit"] => conformance_kit(&root, false),
        ["conformance-kit", "--check"] => conformance_kit(&root, true),
        ["gen-test-keys"] => vectors::generate_missing_keys(&root),
        _ => Err(anyhow::anyhow!(
            "usage: cargo xtask vectors [--check] | conformance [--check] | conformance-kit [--check] | tidy | gen-test-keys"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// `conformance-kit`: runs the kit against `tessera serve` (the cli test
/// `the_kit_passes_against_tessera_serve`), regenerating docs/conformance-kit.md unless
/// `--check`, which fails on a stale page.
fn conformance_kit(root: &std::path::Path, check: bool) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(root).args([
        "test",
        "--workspace",
        "--test",
        "it",
        "the_kit_passes_against_tessera_serve",
    ]);
    if !check {
        cmd.env("TESSERA_UPDATE_KIT_REPORT", "1");
    }
    let status = cmd.status()?;
    anyhow::ensure!(status.success(), "the conformance kit run failed");
    Ok(())
}
