//! `cargo xtask vectors [--check]`: the ticket test-vector generator.
//!
//! Cases are data built in `cases.rs` from a valid baseline of each ticket type, corrupted one
//! way each. Every case is written as `test-vectors/tickets/{ok,err}/NNN_name.jwt` plus
//! `NNN_name.json` (`now`, `leeway`, key file, options, expected outcome), and a README lists
//! them. Before writing, the generator runs the product verifier on each case and refuses to
//! emit a vector whose outcome differs from the declared expectation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tessera_jose::{JwkSet, PrivateJwk};
use tessera_ticket::{AccessOptions, VerifyOptions};

mod cases;
mod signer;

pub use signer::DeterministicEs256;

/// Our fixed test keys (private JWKs, committed), by file stem.
pub const KEY_STEMS: [&str; 3] = ["test-issuer-es256", "test-issuer-rs256", "test-other-es256"];

/// One generated vector.
pub struct Case {
    /// `ok` or `err` is derived from `expected`.
    pub name: &'static str,
    /// One line for the README.
    pub description: &'static str,
    /// Conformance requirement IDs the case exercises.
    pub requirements: &'static [&'static str],
    /// The compact token.
    pub token: String,
    /// Key file (relative to `test-vectors/`) to verify with.
    pub keys: &'static str,
    /// Verification time.
    pub now: i64,
    /// Clock leeway.
    pub leeway: i64,
    /// `legacy_access_shapes`.
    pub legacy: bool,
    /// `None` = verifies; `Some(description)` = `invalid_grant` with that description.
    pub expected: Option<&'static str>,
}

impl Case {
    fn expected_json(&self) -> Value {
        match self.expected {
            None => json!({"ok": true}),
            Some(d) => json!({"error": "invalid_grant", "error_description": d}),
        }
    }

    fn meta(&self) -> Value {
        json!({
            "description": self.description,
            "requirements": self.requirements,
            "now": self.now,
            "leeway": self.leeway,
            "keys": self.keys,
            "legacy_access_shapes": self.legacy,
            "expected": self.expected_json(),
        })
    }
}

/// Runs the generator: writes files, or with `check` compares them and fails on any difference.
pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let vectors = root.join("test-vectors");
    let keys = load_keys(&vectors)?;
    let cases = cases::all(&keys)?;
    let files = render(&keys, &cases)?;
    for case in &cases {
        self_check(&vectors, &files, case)?;
    }
    if check {
        compare(&vectors, &files)
    } else {
        write(&vectors, &files)
    }
}

/// Creates any missing fixed test key (`test-vectors/keys/<stem>.private.jwk.json`). Existing
/// keys are never replaced: every vector depends on them.
pub fn generate_missing_keys(root: &Path) -> anyhow::Result<()> {
    for stem in KEY_STEMS {
        let path = root
            .join("test-vectors/keys")
            .join(format!("{stem}.private.jwk.json"));
        if path.exists() {
            continue;
        }
        let alg = if stem.contains("rs256") {
            tessera_jose::Alg::Rs256
        } else {
            tessera_jose::Alg::Es256
        };
        let key = PrivateJwk::generate(alg)?;
        std::fs::write(&path, pretty(&key.to_value())?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The fixed private keys.
pub struct Keys {
    /// ES256 issuer (deterministic signer).
    pub es: DeterministicEs256,
    /// RS256 issuer.
    pub rs: tessera_jose::JwkSigner,
    /// An unrelated ES256 key.
    pub other: DeterministicEs256,
    /// The private JWKs, by stem.
    pub private: BTreeMap<&'static str, PrivateJwk>,
}

fn load_keys(vectors: &Path) -> anyhow::Result<Keys> {
    let mut private = BTreeMap::new();
    for stem in KEY_STEMS {
        let path = vectors
            .join("keys")
            .join(format!("{stem}.private.jwk.json"));
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        private.insert(stem, PrivateJwk::from_json(&bytes).context(stem)?);
    }
    let get = |stem: &str| private.get(stem).context("key");
    Ok(Keys {
        es: DeterministicEs256::from_jwk(get("test-issuer-es256")?)?,
        rs: get("test-issuer-rs256")?.signer()?,
        other: DeterministicEs256::from_jwk(get("test-other-es256")?)?,
        private,
    })
}

/// Refuses to emit a case whose real outcome differs from its declaration.
fn self_check(
    vectors: &Path,
    files: &BTreeMap<PathBuf, Vec<u8>>,
    case: &Case,
) -> anyhow::Result<()> {
    // Our public key sets are generated alongside; the spec's come from disk.
    let bytes = match files.get(Path::new(case.keys)) {
        Some(b) => b.clone(),
        None => std::fs::read(vectors.join(case.keys))
            .with_context(|| format!("reading {}", case.keys))?,
    };
    let keys = JwkSet::from_json_set_or_key(&bytes)?;
    let opts = VerifyOptions {
        leeway: case.leeway,
        access: AccessOptions {
            legacy_access_shapes: case.legacy,
            ..AccessOptions::default()
        },
        ..VerifyOptions::default()
    };
    let actual = match tessera_ticket::verify(&case.token, &keys, case.now, &opts) {
        Ok(_) => json!({"ok": true}),
        Err(e) => {
            let (code, d) = e.oauth_error();
            json!({"error": code, "error_description": d})
        }
    };
    if actual != case.expected_json() {
        bail!(
            "case {}: declared {} but the verifier says {}",
            case.name,
            case.expected_json(),
            actual
        );
    }
    Ok(())
}

fn pretty(v: &Value) -> anyhow::Result<Vec<u8>> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s.into_bytes())
}

/// Every generated file, by path relative to `test-vectors/`.
fn render(keys: &Keys, cases: &[Case]) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for (stem, key) in &keys.private {
        let set = JwkSet::new(vec![key.public().clone()]);
        files.insert(
            PathBuf::from(format!("keys/{stem}.public.jwks.json")),
            pretty(&set.to_value())?,
        );
    }
    let mut counters = BTreeMap::new();
    let mut readme = String::from(README_HEAD);
    for dir in ["ok", "err"] {
        readme.push_str(&format!(
            "\n## {dir}/\n\n| case | expected | keys | description | requirements |\n|---|---|---|---|---|\n"
        ));
        for case in cases
            .iter()
            .filter(|c| (c.expected.is_none()) == (dir == "ok"))
        {
            let n = counters.entry(dir).or_insert(0u32);
            *n += 1;
            let stem = format!("{n:03}_{}", case.name);
            files.insert(
                PathBuf::from(format!("tickets/{dir}/{stem}.jwt")),
                format!("{}\n", case.token).into_bytes(),
            );
            files.insert(
                PathBuf::from(format!("tickets/{dir}/{stem}.json")),
                pretty(&case.meta())?,
            );
            let mut expected = case
                .expected
                .map_or("ok".to_owned(), |d| format!("`invalid_grant`: {d}"));
            if case.legacy {
                expected.push_str(" (legacy shapes on)");
            }
            readme.push_str(&format!(
                "| `{stem}` | {expected} | `{}` | {} | {} |\n",
                case.keys.trim_start_matches("keys/"),
                case.description,
                case.requirements.join(", ")
            ));
        }
    }
    files.insert(PathBuf::from("tickets/README.md"), readme.into_bytes());
    Ok(files)
}

const README_HEAD: &str = "# Ticket test vectors (generated — do not edit)

Written by `cargo xtask vectors` from `xtask/src/vectors/cases.rs`; `cargo xtask vectors --check`
(run by `.ci/run`) fails if these files differ from what the generator produces. Each case is
`NNN_name.jwt` (the token) plus `NNN_name.json` (`now`, `leeway`, the key file under
`test-vectors/`, `legacy_access_shapes`, and the expected outcome). All keys are TEST-ONLY
(`../keys/README.md`). Unless noted, `now` is `iat + 60` and the leeway is 30 s.
";

fn generated_dirs(vectors: &Path) -> [PathBuf; 2] {
    [vectors.join("tickets/ok"), vectors.join("tickets/err")]
}

fn write(vectors: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> anyhow::Result<()> {
    for dir in generated_dirs(vectors) {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    for (rel, bytes) in files {
        std::fs::write(vectors.join(rel), bytes)?;
    }
    println!("vectors: wrote {} files", files.len());
    Ok(())
}

fn compare(vectors: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (rel, bytes) in files {
        match std::fs::read(vectors.join(rel)) {
            Ok(on_disk) if &on_disk == bytes => {}
            Ok(_) => problems.push(format!("differs: {}", rel.display())),
            Err(_) => problems.push(format!("missing: {}", rel.display())),
        }
    }
    for dir in generated_dirs(vectors) {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            let rel = path.strip_prefix(vectors).unwrap_or(&path).to_path_buf();
            if !files.contains_key(&rel) {
                problems.push(format!("stale: {}", rel.display()));
            }
        }
    }
    if problems.is_empty() {
        println!("vectors: {} files up to date", files.len());
        Ok(())
    } else {
        bail!(
            "test vectors out of date (run `cargo xtask vectors`):\n  {}",
            problems.join("\n  ")
        )
    }
}
