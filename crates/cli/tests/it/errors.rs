//! What a new user meets first: the `--help` banner says what Tessera is, and a failing
//! command reports its cause once, on one line, except for the TOML parser's multi-line excerpt
//! whose caret must stay under the offending column.

use crate::{fails_with, ok, path_str, tessera};

const MISSING: &str = "/nonexistent-dir/missing.toml";
const NO_FILE: &str = "No such file or directory (os error 2)";

#[test]
fn help_opens_with_what_tessera_is() {
    let banner = "Tessera implements SMART Permission Tickets: an issuer signs a portable grant to \
                  one patient's FHIR data, and a Data Holder redeems it for an access token that \
                  releases exactly what the ticket allows. This binary runs the issuer and the \
                  Data Holder, and is their client.";
    for flag in ["--help", "-h"] {
        let out = ok(&tessera(&[flag], None));
        assert_eq!(
            out.split("\n\n").next(),
            Some(banner),
            "{flag} opens with the banner: {out}"
        );
        assert!(out.contains("\n\nUsage: tessera <COMMAND>\n"), "{out}");
        assert!(!out.contains("The tessera binary"), "{out}");
    }
}

#[test]
fn a_missing_config_file_is_reported_once_by_every_command() {
    let line = format!("error: cannot read config file {MISSING}: {NO_FILE}");
    for args in [
        &["serve", "--config", MISSING][..],
        &["issuer", "serve", "--config", MISSING],
        &["audit", "--config", MISSING],
        &["audit", "verify", "--config", MISSING],
        &["audit", "head", "--config", MISSING],
        &["issuer", "show", "--config", MISSING, "some-jti"],
        &["issuer", "revoke", "--config", MISSING, "some-jti"],
        &[
            "issuer",
            "mint",
            "--config",
            MISSING,
            "--claims",
            "/dev/null",
        ],
    ] {
        let out = tessera(args, None);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{line}\n"),
            "{args:?}"
        );
    }
}

#[test]
fn other_missing_files_are_reported_once() {
    fails_with(
        &tessera(&["jwks", "/nonexistent-dir/key.json"], None),
        &format!("error: reading /nonexistent-dir/key.json: {NO_FILE}"),
    );
    fails_with(
        &tessera(
            &[
                "redeem",
                "--ticket",
                "/nonexistent-dir/t.jwt",
                "--client-id",
                "c",
                "--client-key",
                "/nonexistent-dir/k.json",
                "--token-endpoint",
                "http://127.0.0.1:9/token",
            ],
            None,
        ),
        &format!("error: cannot read /nonexistent-dir/t.jwt: {NO_FILE}"),
    );
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let run_dir = blocker.join("run");
    fails_with(
        &tessera(&["demo", "--dir", path_str(&run_dir)], None),
        &format!(
            "error: cannot create run directory {}: Not a directory (os error 20)",
            run_dir.display()
        ),
    );
}

#[test]
fn a_toml_error_keeps_its_lines_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\nbase_url = 1\n").unwrap();
    let want = format!(
        "error: config file {}: TOML parse error at line 1, column 22\n  |\n1 | listen = \"127.0.0.1:0\n  |                      ^\ninvalid basic string, expected `\"`\n",
        path.display()
    );
    for args in [
        &["serve", "--config", path_str(&path)][..],
        &["issuer", "serve", "--config", path_str(&path)],
        &["audit", "--config", path_str(&path)],
        &["audit", "verify", "--config", path_str(&path)],
    ] {
        let out = tessera(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
}
