//! `cargo xtask conformance [--check]`: makes conformance coverage visible and checked.
//!
//! Reads the requirement table of `test-vectors/conformance/checklist.md` (a copy of the
//! acceptance test plan), finds where each requirement ID is cited in the Rust sources under
//! `crates/` and `xtask/` and the JSON under `test-vectors/` (test names `pt_val_07_…` and
//! comments `PT-VAL-07` alike), and renders `docs/conformance.md`. A requirement nobody cites
//! must be listed in the hand-written `test-vectors/conformance/skips.toml` with a reason, in
//! the spirit of rustls's written skip lists, so every gap is a visible, reviewed decision.
//! `--check` regenerates in memory and fails if the committed page is stale or a gap is
//! unexplained.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The requirement table (copied from the shared spec so tools need nothing outside the repo).
pub const CHECKLIST: &str = "test-vectors/conformance/checklist.md";
/// Hand-written reasons for requirements deliberately not covered.
pub const SKIPS: &str = "test-vectors/conformance/skips.toml";
/// The generated coverage page.
pub const OUTPUT: &str = "docs/conformance.md";
/// This file names IDs in its own tests; scanning it would count them as citations.
const SELF_PATH: &str = "xtask/src/conformance.rs";
/// Longest summary rendered in the table; the checklist holds the full text.
const SUMMARY_MAX: usize = 140;
/// Widest `PT-X-01..NN` range accepted as a citation (guards against typos like `01..99`).
const RANGE_MAX: u32 = 20;

/// The reason classes a skip may give; each reason starts with one of these and a colon:
/// a gap in Tessera, an obligation that is not ours, or behaviour built but pinned by no test.
pub const SKIP_CLASSES: [&str; 3] = ["not implemented", "not applicable", "untested"];

/// One row of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Canonical ID, e.g. `PT-VAL-07`.
    pub id: String,
    /// The section heading it sits under, e.g. `4. Ticket parsing, … (PT-VAL)`.
    pub section: String,
    /// `SHALL`, `REJ`, `REC`, `MAY (P001)`, … as the checklist states it.
    pub level: String,
    /// The requirement text, shortened to one table line.
    pub summary: String,
}

/// Where an ID is cited: workspace-relative path and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Citation {
    /// Path relative to the workspace root, `/`-separated.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// In test code (a `tests` directory or file, an `xtask` generator, a vector, or after
    /// `#[cfg(test)]`) rather than in a product doc comment, which claims but does not test.
    pub in_test: bool,
}

/// Runs the command: writes `docs/conformance.md`, or with `check` compares it.
pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let checklist = read(root, CHECKLIST)?;
    let requirements = parse_checklist(&checklist)?;
    let skips = parse_skips(&read(root, SKIPS)?)?;
    let citations = scan(root)?;
    let report = Report::build(&requirements, &skips, &citations);
    let rendered = report.render();
    let out = root.join(OUTPUT);
    let mut problems = report.problems();
    if check {
        let on_disk = std::fs::read_to_string(&out).unwrap_or_default();
        if on_disk != rendered {
            problems.push(format!(
                "{OUTPUT} is stale: run `cargo xtask conformance` and commit the result"
            ));
        }
    } else {
        std::fs::write(&out, &rendered).with_context(|| format!("writing {}", out.display()))?;
        println!("conformance: wrote {OUTPUT}");
    }
    if problems.is_empty() {
        println!("conformance: {}", report.totals_line());
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    bail!("{} conformance problem(s)", problems.len())
}

fn read(root: &Path, rel: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))
}

/// Parses the checklist's requirement rows (`| PT-… | level | requirement | source | test |`).
pub fn parse_checklist(text: &str) -> anyhow::Result<Vec<Requirement>> {
    let mut section = String::new();
    let mut out: Vec<Requirement> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_owned();
            continue;
        }
        if !line.starts_with("| PT-") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // Leading and trailing pipes give empty first and last cells.
        let [_, id, level, requirement, ..] = cells.as_slice() else {
            bail!("{CHECKLIST}:{}: too few columns", i + 1);
        };
        let Some(canonical) = canonical_id(id) else {
            bail!("{CHECKLIST}:{}: malformed requirement ID `{id}`", i + 1);
        };
        if canonical != *id {
            bail!("{CHECKLIST}:{}: write the ID as `{canonical}`", i + 1);
        }
        if !seen.insert(canonical.clone()) {
            bail!("{CHECKLIST}:{}: duplicate ID {canonical}", i + 1);
        }
        out.push(Requirement {
            id: canonical,
            section: section.clone(),
            level: (*level).to_owned(),
            summary: summarize(requirement),
        });
    }
    if out.is_empty() {
        bail!("{CHECKLIST}: no requirement rows found");
    }
    Ok(out)
}

/// `PT-VAL-07` for an exact, well-formed ID; `None` otherwise.
fn canonical_id(id: &str) -> Option<String> {
    let rest = id.strip_prefix("PT-")?;
    let (letters, digits) = rest.split_once('-')?;
    let ok = !letters.is_empty()
        && letters.bytes().all(|b| b.is_ascii_uppercase())
        && !digits.is_empty()
        && digits.len() <= 3
        && digits.bytes().all(|b| b.is_ascii_digit());
    let n: u32 = digits.parse().ok()?;
    ok.then(|| format_id(letters, n))
}

fn format_id(letters: &str, n: u32) -> String {
    format!("PT-{}-{n:02}", letters.to_ascii_uppercase())
}

/// One table line: the requirement text cut at a word boundary, code spans kept balanced.
fn summarize(text: &str) -> String {
    if text.chars().count() <= SUMMARY_MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(SUMMARY_MAX).collect();
    let mut short = match cut.rfind(' ') {
        Some(space) => cut[..space].trim_end().to_owned(),
        None => cut,
    };
    if short.matches('`').count() % 2 == 1 {
        short.push('`');
    }
    short.push('…');
    short
}

/// Parses `skips.toml`: `"PT-XXX-NN" = "<class>: reason"`.
pub fn parse_skips(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let raw: BTreeMap<String, String> = toml::from_str(text).with_context(|| SKIPS.to_owned())?;
    let mut out = BTreeMap::new();
    for (id, reason) in raw {
        let Some(canonical) = canonical_id(&id).filter(|c| *c == id) else {
            bail!("{SKIPS}: key `{id}` is not a requirement ID written like `PT-VAL-07`");
        };
        if skip_class(&reason).is_none() {
            bail!(
                "{SKIPS}: reason for {id} must start with one of {:?} and a colon",
                SKIP_CLASSES
            );
        }
        out.insert(canonical, reason);
    }
    Ok(out)
}

/// The class a skip reason declares (its prefix before the colon).
fn skip_class(reason: &str) -> Option<&'static str> {
    let (prefix, rest) = reason.split_once(':')?;
    let class = SKIP_CLASSES.into_iter().find(|c| *c == prefix.trim())?;
    (!rest.trim().is_empty()).then_some(class)
}

/// Every citation in the scanned files, by canonical ID (including IDs not in the checklist).
pub fn scan(root: &Path) -> anyhow::Result<BTreeMap<String, Vec<Citation>>> {
    let mut files = Vec::new();
    collect(&root.join("crates"), "rs", &mut files)?;
    collect(&root.join("xtask"), "rs", &mut files)?;
    collect(&root.join("test-vectors"), "json", &mut files)?;
    let mut rels: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            (rel, p)
        })
        .filter(|(rel, _)| rel != SELF_PATH)
        .collect();
    rels.sort();
    let mut out: BTreeMap<String, Vec<Citation>> = BTreeMap::new();
    for (rel, path) in rels {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {rel}"))?;
        let test_file = is_test_path(&rel);
        let mut in_test = test_file;
        for (i, line) in text.lines().enumerate() {
            in_test = in_test || line.trim_start().starts_with("#[cfg(test)]");
            for id in ids_in_line(line) {
                let cites = out.entry(id).or_default();
                let c = Citation {
                    file: rel.clone(),
                    line: i + 1,
                    in_test,
                };
                if cites.last() != Some(&c) {
                    cites.push(c);
                }
            }
        }
    }
    Ok(out)
}

/// Whether a whole file is test material: vectors, the vector generator, test directories and
/// `tests.rs` modules.
fn is_test_path(rel: &str) -> bool {
    rel.starts_with("test-vectors/")
        || rel.starts_with("xtask/")
        || rel.split('/').any(|c| c == "tests" || c == "tests.rs")
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !name.starts_with("target") && !name.starts_with('.') {
                collect(&path, ext, out)?;
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

/// Requirement IDs cited on one line, canonicalized. Case and `_`/`-` are normalized, so
/// `pt_val_07_rejects_…` and `PT-VAL-07` both cite `PT-VAL-07`; grouped forms cite each member:
/// `pt_type_02_03`, `PT-VAL-01/02/05`, `PT-AUD-01..05`.
pub fn ids_in_line(line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        let starts = b[i].eq_ignore_ascii_case(&b'p')
            && b[i + 1].eq_ignore_ascii_case(&b't')
            && is_sep(b[i + 2])
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        match parse_group(b, i + 3) {
            Some((letters, numbers, end)) => {
                out.extend(numbers.into_iter().map(|n| format_id(&letters, n)));
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

fn is_sep(c: u8) -> bool {
    c == b'-' || c == b'_'
}

/// After `pt-`: `letters-NN` and any `_NN`, `/NN`, `-NN` or `..NN` continuations.
fn parse_group(b: &[u8], start: usize) -> Option<(String, Vec<u32>, usize)> {
    let mut j = start;
    while j < b.len() && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    if j == start || j >= b.len() || !is_sep(b[j]) {
        return None;
    }
    let letters = String::from_utf8_lossy(&b[start..j]).into_owned();
    let (first, mut end) = number_at(b, j + 1, 1)?;
    let mut numbers = vec![first];
    loop {
        let last = numbers.last().copied().unwrap_or(first);
        if b.get(end) == Some(&b'.') && b.get(end + 1) == Some(&b'.') {
            match number_at(b, end + 2, 2) {
                Some((to, e)) if to > last && to - last <= RANGE_MAX => {
                    numbers.extend(last + 1..=to);
                    end = e;
                    continue;
                }
                _ => break,
            }
        }
        if matches!(b.get(end), Some(b'_' | b'/' | b'-')) {
            // Continuations are exactly two digits, so `pt_val_07_60s_skew` cites only 07.
            if let Some((n, e)) = number_at(b, end + 1, 2).filter(|&(_, e)| e - end == 3) {
                numbers.push(n);
                end = e;
                continue;
            }
        }
        break;
    }
    Some((letters, numbers, end))
}

/// A run of at least `min` (at most 3) digits at `at`, ending on a non-alphanumeric boundary.
fn number_at(b: &[u8], at: usize, min: usize) -> Option<(u32, usize)> {
    let mut e = at;
    while e < b.len() && b[e].is_ascii_digit() {
        e += 1;
    }
    let len = e - at;
    if len < min || len > 3 || b.get(e).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let digits = std::str::from_utf8(&b[at..e]).ok()?;
    Some((digits.parse().ok()?, e))
}

/// Coverage of one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Tested(Vec<Citation>),
    Skipped(&'static str, String),
    /// Named only in product comments (listed, but not a test).
    CodeOnly(Vec<Citation>),
    NotCited,
}

/// The joined view the page and the checks are made from.
struct Report<'a> {
    rows: Vec<(&'a Requirement, Status)>,
    /// Skip entries for IDs the checklist does not have.
    stray_skips: Vec<String>,
    /// Skip entries for IDs that are in fact cited.
    stale_skips: Vec<String>,
    /// Cited IDs the checklist does not have (typos), with where.
    unknown: Vec<(String, Vec<Citation>)>,
}

impl<'a> Report<'a> {
    fn build(
        requirements: &'a [Requirement],
        skips: &BTreeMap<String, String>,
        citations: &BTreeMap<String, Vec<Citation>>,
    ) -> Self {
        let known: BTreeSet<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
        let rows = requirements
            .iter()
            .map(|r| {
                let cites = citations.get(&r.id);
                let tested = cites.is_some_and(|c| c.iter().any(|c| c.in_test));
                let status = match (cites, skips.get(&r.id).map(|s| (skip_class(s), s))) {
                    (Some(c), _) if tested => Status::Tested(c.clone()),
                    (_, Some((Some(class), reason))) => Status::Skipped(class, reason.clone()),
                    (Some(c), _) => Status::CodeOnly(c.clone()),
                    (None, _) => Status::NotCited,
                };
                (r, status)
            })
            .collect();
        Report {
            rows,
            stray_skips: skips
                .keys()
                .filter(|id| !known.contains(id.as_str()))
                .cloned()
                .collect(),
            stale_skips: skips
                .keys()
                .filter(|id| {
                    citations
                        .get(*id)
                        .is_some_and(|c| c.iter().any(|c| c.in_test))
                })
                .cloned()
                .collect(),
            unknown: citations
                .iter()
                .filter(|(id, _)| !known.contains(id.as_str()))
                .map(|(id, c)| (id.clone(), c.clone()))
                .collect(),
        }
    }

    /// Everything `--check` (and generation) refuses.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (r, s) in &self.rows {
            if matches!(s, Status::NotCited | Status::CodeOnly(_)) {
                out.push(format!(
                    "{}: neither cited by a test/vector nor listed in {SKIPS}",
                    r.id
                ));
            }
        }
        for id in &self.stray_skips {
            out.push(format!("{SKIPS}: {id} is not in {CHECKLIST}"));
        }
        for id in &self.stale_skips {
            out.push(format!(
                "{SKIPS}: {id} is cited by a test now; remove its skip entry"
            ));
        }
        for (id, cites) in &self.unknown {
            out.push(format!(
                "{id} is cited at {} but is not in {CHECKLIST}",
                where_cited(cites)
            ));
        }
        out
    }

    /// Requirements, tested, one count per skip class, not cited (in that order).
    fn counts<'r>(rows: impl Iterator<Item = &'r Status>) -> [usize; 6] {
        let mut c = [0; 6];
        for s in rows {
            c[0] += 1;
            let slot = match s {
                Status::Tested(_) => 1,
                Status::Skipped(class, _) => {
                    2 + SKIP_CLASSES.iter().position(|k| k == class).unwrap_or(0)
                }
                Status::CodeOnly(_) | Status::NotCited => 5,
            };
            c[slot] += 1;
        }
        c
    }

    fn totals_line(&self) -> String {
        let [n, t, ni, na, nt, nc] = Self::counts(self.rows.iter().map(|(_, s)| s));
        format!(
            "{n} requirements: {t} tested, {ni} not implemented, {na} not applicable, \
             {nt} untested, {nc} not cited"
        )
    }

    fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(
            "# Conformance coverage\n\n\
             <!-- Generated by `cargo xtask conformance`; do not edit. \
             `cargo xtask conformance --check` (in .ci/run) fails when this page is stale. -->\n\n",
        );
        let _ = writeln!(
            s,
            "Every requirement of the acceptance checklist \
             ([`{CHECKLIST}`](../{CHECKLIST})), with the places that cite its ID: test names \
             (`pt_val_07_…`), comments (`PT-VAL-07`) and test-vector JSON under `test-vectors/`. \
             A requirement no test cites must be listed, with a reason, in \
             [`{SKIPS}`](../{SKIPS}); a reason is *not implemented* (a known gap), *not \
             applicable* (an obligation of others, not of Tessera) or *untested* (built, but no \
             test pins it). `tested` means cited by test code (a `tests` directory or module, \
             the vector generator, or a vector); a product doc comment naming an ID is listed \
             but does not count. The citation is the test author's claim, reviewed like any \
             other code.\n"
        );
        let _ = writeln!(s, "**Totals:** {}.\n", self.totals_line());
        s.push_str("## Summary by section\n\n");
        s.push_str(
            "| Section | Requirements | Tested | Not implemented | Not applicable | Untested | Not cited |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        for section in self.sections() {
            let [n, t, ni, na, nt, nc] = Self::counts(
                self.rows
                    .iter()
                    .filter(|(r, _)| r.section == section)
                    .map(|(_, s)| s),
            );
            let _ = writeln!(s, "| {section} | {n} | {t} | {ni} | {na} | {nt} | {nc} |");
        }
        let [n, t, ni, na, nt, nc] = Self::counts(self.rows.iter().map(|(_, s)| s));
        let _ = writeln!(
            s,
            "| **Total** | **{n}** | **{t}** | **{ni}** | **{na}** | **{nt}** | **{nc}** |"
        );
        for section in self.sections() {
            let _ = writeln!(s, "\n## {section}\n");
            s.push_str("| ID | Level | Requirement | Status | Cited at / reason |\n");
            s.push_str("|---|---|---|---|---|\n");
            for (r, status) in self.rows.iter().filter(|(r, _)| r.section == section) {
                let (label, detail) = match status {
                    Status::Tested(c) => ("tested".to_owned(), where_cited(c)),
                    Status::Skipped(class, reason) => {
                        (format!("skipped ({class})"), escape_cell(reason))
                    }
                    Status::CodeOnly(c) => ("**cited in code only**".to_owned(), where_cited(c)),
                    Status::NotCited => ("**not cited**".to_owned(), String::new()),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {label} | {detail} |",
                    r.id, r.level, r.summary
                );
            }
        }
        s
    }

    /// Section headings in checklist order.
    fn sections(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (r, _) in &self.rows {
            if out.last() != Some(&r.section.as_str()) {
                out.push(&r.section);
            }
        }
        out
    }
}

/// `a.rs (2); b.rs` — the files citing an ID, in scan order, with the number of citations
/// when more than one. No line numbers: the page must not go stale whenever a test file
/// gains a line (`--check` compares it byte for byte).
fn where_cited(cites: &[Citation]) -> String {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for c in cites {
        match groups.iter_mut().find(|(file, _)| *file == c.file) {
            Some((_, n)) => *n += 1,
            None => groups.push((&c.file, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(f, n)| match n {
            1 => format!("`{f}`"),
            n => format!("`{f}` ({n})"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_normalized_from_names_comments_and_groups() {
        assert_eq!(ids_in_line("fn pt_val_07_expired() {}"), ["PT-VAL-07"]);
        assert_eq!(
            ids_in_line("// PT-VAL-07 and pt-aud-3"),
            ["PT-VAL-07", "PT-AUD-03"]
        );
        assert_eq!(
            ids_in_line("fn pt_type_12_13_14_x()"),
            ["PT-TYPE-12", "PT-TYPE-13", "PT-TYPE-14"]
        );
        assert_eq!(
            ids_in_line("// PT-VAL-01/02/13."),
            ["PT-VAL-01", "PT-VAL-02", "PT-VAL-13"]
        );
        assert_eq!(
            ids_in_line("(PT-AUD-01..04)"),
            ["PT-AUD-01", "PT-AUD-02", "PT-AUD-03", "PT-AUD-04"]
        );
        assert_eq!(ids_in_line(r#""note": "PT-REV-02""#), ["PT-REV-02"]);
    }

    #[test]
    fn look_alikes_are_not_citations() {
        assert!(ids_in_line("let opt_val_07 = 1; fn pt_val_x()").is_empty());
        assert!(ids_in_line("pt_val_07x pt-val pt_").is_empty());
        // A continuation must be exactly two digits; a range must be short and increasing.
        assert_eq!(ids_in_line("fn pt_val_07_60s_skew()"), ["PT-VAL-07"]);
        assert_eq!(ids_in_line("PT-VAL-05..01"), ["PT-VAL-05"]);
        assert_eq!(ids_in_line("PT-VAL-01..99"), ["PT-VAL-01"]);
    }

    const CHECKLIST_SAMPLE: &str = "# T\n\n## 1. One (PT-A)\n\n| ID | Level | Requirement | Source | Test |\n|---|---|---|---|---|\n| PT-A-01 | SHALL | Do `x`. | s | t |\n| PT-A-02 | REC | Do y. | s | t |\n\n## 2. Two (PT-B)\n\n| PT-B-01 | MAY | Do z. | s | t |\n";

    #[test]
    fn checklist_rows_carry_section_level_and_summary() {
        let reqs = parse_checklist(CHECKLIST_SAMPLE).unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].id, "PT-A-01");
        assert_eq!(reqs[0].section, "1. One (PT-A)");
        assert_eq!(reqs[0].level, "SHALL");
        assert_eq!(reqs[0].summary, "Do `x`.");
        assert_eq!(reqs[2].section, "2. Two (PT-B)");
        assert!(parse_checklist("| PT-a-1 | SHALL | x | s | t |\n").is_err());
        assert!(parse_checklist("no table\n").is_err());
        let dup = "| PT-A-01 | SHALL | x | s | t |\n| PT-A-01 | SHALL | x | s | t |\n";
        assert!(parse_checklist(dup).is_err());
    }

    #[test]
    fn long_summaries_are_cut_with_balanced_code_spans() {
        let long = format!(
            "{} `code span that runs past the limit`",
            "word ".repeat(26)
        );
        let s = summarize(&long);
        assert!(s.ends_with('…'));
        assert!(s.chars().count() <= SUMMARY_MAX + 2);
        assert_eq!(s.matches('`').count() % 2, 0);
    }

    #[test]
    fn skips_need_a_known_class_and_a_reason() {
        let ok = parse_skips("\"PT-A-02\" = \"not implemented: later\"\n").unwrap();
        assert_eq!(ok["PT-A-02"], "not implemented: later");
        assert!(parse_skips("\"PT-A-02\" = \"later\"\n").is_err());
        assert!(parse_skips("\"PT-A-02\" = \"not applicable:  \"\n").is_err());
        assert!(parse_skips("\"pt_a_02\" = \"not applicable: x\"\n").is_err());
    }

    #[test]
    fn report_flags_gaps_stale_and_unknown_ids() {
        let reqs = parse_checklist(CHECKLIST_SAMPLE).unwrap();
        let cite = |line, in_test| Citation {
            file: "t.rs".into(),
            line,
            in_test,
        };
        let mut citations = BTreeMap::new();
        citations.insert("PT-A-01".to_owned(), vec![cite(3, false), cite(9, true)]);
        citations.insert("PT-B-01".to_owned(), vec![cite(5, false)]);
        citations.insert("PT-Z-01".to_owned(), vec![cite(4, true)]);
        let mut skips = BTreeMap::new();
        skips.insert("PT-A-01".to_owned(), "not applicable: x".to_owned());
        skips.insert("PT-A-02".to_owned(), "not implemented: y".to_owned());
        skips.insert("PT-Q-01".to_owned(), "untested: z".to_owned());
        let report = Report::build(&reqs, &skips, &citations);
        let problems = report.problems();
        assert_eq!(problems.len(), 4, "{problems:?}");
        // A product comment alone does not make a requirement tested.
        assert!(problems[0].starts_with("PT-B-01: neither cited"));
        assert!(problems[1].contains("PT-Q-01 is not in"));
        assert!(problems[2].contains("PT-A-01 is cited by a test now"));
        assert!(problems[3].starts_with("PT-Z-01 is cited at `t.rs`"));
        let page = report.render();
        assert!(page.contains("| PT-A-01 | SHALL | Do `x`. | tested | `t.rs` (2) |"));
        assert!(page.contains(
            "| PT-A-02 | REC | Do y. | skipped (not implemented) | not implemented: y |"
        ));
        assert!(page.contains("| PT-B-01 | MAY | Do z. | **cited in code only** | `t.rs` |"));
        assert!(page.contains("| 1. One (PT-A) | 2 | 1 | 1 | 0 | 0 | 0 |"));
        assert!(page.contains("| **Total** | **3** | **1** | **1** | **0** | **0** | **1** |"));
        // Skipping a code-only ID is allowed (the comment is not a test).
        skips.remove("PT-A-01");
        skips.remove("PT-Q-01");
        skips.insert("PT-B-01".to_owned(), "untested: w".to_owned());
        citations.remove("PT-Z-01");
        assert!(
            Report::build(&reqs, &skips, &citations)
                .problems()
                .is_empty()
        );
    }

    #[test]
    fn test_material_is_told_from_product_code() {
        assert!(is_test_path("crates/holder/tests/it/token.rs"));
        assert!(is_test_path("crates/holder/src/subject/tests.rs"));
        assert!(is_test_path("test-vectors/tickets/err/001.json"));
        assert!(is_test_path("xtask/src/vectors/cases.rs"));
        assert!(!is_test_path("crates/holder/src/evidence.rs"));
    }

    /// The committed checklist parses into the full table.
    #[test]
    fn committed_checklist_parses() {
        let root = crate::workspace_root();
        let reqs = parse_checklist(&read(&root, CHECKLIST).unwrap()).unwrap();
        assert!(reqs.len() >= 200, "{}", reqs.len());
        assert!(reqs.iter().all(|r| r.section.contains("(PT-")));
    }
}
