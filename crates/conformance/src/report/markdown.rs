//! The Markdown report (docs/conformance-kit.md): deterministic — IDs, cases, verdicts and
//! reasons only, no addresses, times or exchanges — so a committed copy can be checked for
//! staleness.

use super::{Report, Status, id_status};

/// Renders the report; `title` and `intro` head the page.
pub fn markdown(report: &Report, title: &str, intro: &str) -> String {
    let (p, f, k) = report.counts();
    let mut s = format!(
        "# {title}\n\n{intro}\n\n**{p} passed, {f} failed, {k} skipped**; {} requirements not testable black-box.\n",
        report.not_tested.len()
    );
    for (section, ids) in report.by_section() {
        s.push_str(&format!(
            "\n## {section}\n\n| ID | Result | Cases |\n|---|---|---|\n"
        ));
        for (id, cases) in ids {
            let list: Vec<String> = cases
                .iter()
                .map(|o| match o.status {
                    Status::Pass => format!("`{}`", o.case),
                    other => format!(
                        "`{}` ({}: {})",
                        o.case,
                        other.label(),
                        o.detail.replace('|', "\\|")
                    ),
                })
                .collect();
            s.push_str(&format!(
                "| {id} | {} | {} |\n",
                id_status(&cases).label(),
                list.join(", ")
            ));
        }
    }
    if !report.not_tested.is_empty() {
        s.push_str("\n## Not testable black-box\n\nFrom the kit's skip list (`crates/conformance/skips.toml`).\n\n| ID | Section | Reason |\n|---|---|---|\n");
        for n in &report.not_tested {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                n.id,
                n.section,
                n.reason.replace('|', "\\|")
            ));
        }
    }
    s
}
