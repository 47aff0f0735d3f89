//! Integration tests of the `tessera` binary: the CLI contract (exit codes, stdout JSON, the
//! exact one-line stderr `<error>: <description>`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit_chain;
mod bench;
mod conformance_double;
mod conformance_kit;
mod demo;
mod errors;
mod federation;
mod ingest;
mod issuer_client;
mod keys;
mod kill9;
mod link;
mod multinode;
mod ops;
mod pg_errors;
mod pg_node;
mod ticket;
mod udap_register;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args`, optionally feeding `stdin`.
pub fn tessera(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Path of a committed test vector.
pub fn vector(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-vectors")
        .join(rel)
}

/// A path as UTF-8 (test paths always are).
pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Asserts exit status 1 with exactly this one stderr line.
pub fn fails_with(out: &Output, line: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), format!("{line}\n"));
}
