//! `cargo xtask tidy`: every `.rs` file starts with a `//!` module doc, and no test is skipped
//! or inverted (`#[ignore]`, `#[should_panic]`), as the house style requires.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Directories never scanned (build output, VCS, vendored fixtures).
const SKIP_DIRS: [&str; 3] = ["target", ".git", "node_modules"];

/// Runs the checks over the workspace; fails listing every violation.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        println!("tidy: ok");
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    bail!("{} tidy violation(s)", problems.len())
}

/// All violations under `root`.
pub fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    collect(root, &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        problems.extend(check_file(&rel, &text));
    }
    Ok(problems)
}

/// Violations in one file.
pub fn check_file(rel: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Crate-level attributes (`#![allow(...)]` in test roots) may precede the module doc.
    let first = text
        .lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with("#!["));
    if !first.is_some_and(|l| l.starts_with("//!")) {
        problems.push(format!("{rel}: does not start with a `//!` module doc"));
    }
    // Built by concatenation so this file does not flag itself.
    let banned = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    for (i, line) in text.lines().enumerate() {
        for b in banned {
            if line.trim_start().starts_with(b) {
                problems.push(format!("{rel}:{}: `{b}]` is not allowed", i + 1));
            }
        }
    }
    problems
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !SKIP_DIRS.contains(&name.as_ref())
                && !name.starts_with("target")
                && !name.starts_with('.')
            {
                collect(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_missing_docs_and_banned_attributes() {
        assert!(check_file("a.rs", "//! Doc.\nfn f() {}\n").is_empty());
        assert_eq!(check_file("a.rs", "fn f() {}\n").len(), 1);
        assert!(check_file("a.rs", "#![allow(clippy::panic)]\n//! Doc.\n").is_empty());
        assert_eq!(check_file("a.rs", "").len(), 1);
        let ignored = format!("//! Doc.\n{}]\nfn t() {{}}\n", concat!("#[", "ignore"));
        assert_eq!(
            check_file("a.rs", &ignored),
            vec!["a.rs:2: `#[ignore]` is not allowed"]
        );
    }

    /// The whole workspace passes tidy (this is how CI runs it: `cargo test -p xtask`).
    #[test]
    fn workspace_is_tidy() {
        let problems = check(&crate::workspace_root()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
