//! `tessera synth`: generate deterministic synthetic FHIR R4 data to a directory.
//!
//! Output is byte-identical for the same `--seed`, `--patients`, `--sites`,
//! `--reference-date`, `--years`, `--format` and `--pretty`; the wall clock is never read.
//! Progress goes to stderr every `--progress-every` patients.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::Value;
use tessera_synth::manifest::{Header, Summary};
use tessera_synth::write::DirSink;
use tessera_synth::{CATALOG_SITES, Config, Date, Layout, PatientOutput, Sink, generate};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One FHIR collection Bundle per (patient, site) under `bundles/`.
    Bundles,
    /// One NDJSON file per resource type, for bulk loading.
    Ndjson,
}

/// Arguments of `tessera synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of patients.
    #[arg(long, default_value_t = 100)]
    pub patients: u64,
    /// PRNG seed; the same seed reproduces the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of catalog sites to use (the first two are in Texas).
    #[arg(long, default_value_t = CATALOG_SITES)]
    pub sites: usize,
    /// Reference date (YYYY-MM-DD); all dates fall in the years before it.
    #[arg(long, default_value = tessera_synth::DEFAULT_REFERENCE_DATE)]
    pub reference_date: String,
    /// Years of clinical history before the reference date.
    #[arg(long, default_value_t = 6)]
    pub years: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Bundles)]
    pub format: Format,
    /// Indent bundle files (larger; easier to read).
    #[arg(long)]
    pub pretty: bool,
    /// Report progress to stderr every N patients (0 = never).
    #[arg(long, default_value_t = 10_000)]
    pub progress_every: u64,
}

/// Run `tessera synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let reference_date = Date::parse(&args.reference_date).context("--reference-date")?;
    let layout = match args.format {
        Format::Bundles => Layout::Bundles,
        Format::Ndjson => Layout::Ndjson,
    };
    let config = Config {
        sites: args.sites,
        reference_date,
        years: args.years,
        layout,
        ..Config::new(args.seed, args.patients)
    };
    let mut sink = Progress {
        inner: DirSink::new(&args.out, layout, args.pretty),
        every: args.progress_every,
        done: 0,
        total: args.patients,
    };
    let summary = generate(&config, &mut sink).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "synth: {} patients, {} bundles, {} resources, {} claims -> {}",
        summary.totals.patients,
        summary.totals.bundles,
        summary.totals.resources,
        summary.totals.claims,
        args.out.join("manifest.json").display()
    );
    Ok(())
}

/// Wraps a sink to report progress on stderr.
struct Progress<S> {
    inner: S,
    every: u64,
    done: u64,
    total: u64,
}

impl<S: Sink> Sink for Progress<S> {
    type Error = S::Error;

    fn begin(&mut self, header: &Header, shared: &[Value]) -> Result<(), S::Error> {
        self.inner.begin(header, shared)
    }

    fn patient(&mut self, patient: PatientOutput) -> Result<(), S::Error> {
        self.inner.patient(patient)?;
        self.done += 1;
        if self.every > 0 && self.done.is_multiple_of(self.every) {
            eprintln!("synth: {}/{} patients", self.done, self.total);
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), S::Error> {
        self.inner.finish(summary)
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Harness {
        #[command(flatten)]
        args: SynthArgs,
    }

    #[test]
    fn help_and_defaults() {
        Harness::command().debug_assert();
        let help = Harness::try_parse_from(["synth", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("--reference-date"));
        let parsed = Harness::try_parse_from(["synth", "--out", "x"])
            .unwrap()
            .args;
        assert_eq!(
            (parsed.patients, parsed.seed, parsed.sites, parsed.years),
            (100, 42, CATALOG_SITES, 6)
        );
        assert_eq!(parsed.reference_date, "2026-01-01");
        assert!(
            Harness::try_parse_from(["synth"]).is_err(),
            "--out is required"
        );
    }

    #[test]
    fn writes_a_small_dataset_and_rejects_bad_dates() {
        let dir = tempfile::tempdir().unwrap();
        let args = Harness::try_parse_from([
            "synth",
            "--patients",
            "3",
            "--sites",
            "2",
            "--format",
            "ndjson",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .unwrap()
        .args;
        run(args).unwrap();
        assert!(dir.path().join("manifest.json").is_file());
        assert!(dir.path().join("Patient.ndjson").is_file());
        let bad =
            Harness::try_parse_from(["synth", "--reference-date", "2026-02-30", "--out", "x"])
                .unwrap()
                .args;
        assert!(
            run(bad)
                .unwrap_err()
                .to_string()
                .contains("--reference-date")
        );
    }
}
