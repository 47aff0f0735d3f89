//! The terminal report: per section, one line per ID (PASS / FAIL / SKIP), each failing case
//! with its reason and the requests and responses that show it. Colour only on a TTY.

use super::{Report, Status, id_status};

/// Whether to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ANSI colours (a terminal).
    Colour,
    /// Plain text (a pipe, a file, CI logs).
    Plain,
}

fn paint(style: Style, status: Status) -> String {
    let label = status.label();
    match style {
        Style::Plain => label.to_owned(),
        Style::Colour => {
            let code = match status {
                Status::Pass => "32",
                Status::Fail => "31;1",
                Status::Skip => "33",
            };
            format!("\x1b[{code}m{label}\x1b[0m")
        }
    }
}

/// Renders the report.
pub fn terminal(report: &Report, style: Style) -> String {
    let mut s = format!("Permission Tickets conformance kit: {}\n", report.target);
    for (section, ids) in report.by_section() {
        s.push_str(&format!("\n{section}\n"));
        for (id, cases) in ids {
            let status = id_status(&cases);
            let names: Vec<&str> = cases.iter().map(|o| o.case.as_str()).collect();
            s.push_str(&format!(
                "  {} {id:<12} {}\n",
                paint(style, status),
                names.join(", ")
            ));
            for o in cases.iter().filter(|o| o.status != Status::Pass) {
                if o.status == Status::Skip && status != Status::Skip && o.detail.is_empty() {
                    continue;
                }
                s.push_str(&format!(
                    "       {} {}: {}\n",
                    paint(style, o.status),
                    o.case,
                    o.detail
                ));
                for ex in &o.exchanges {
                    s.push_str(&ex.render());
                }
            }
        }
    }
    if !report.not_tested.is_empty() {
        s.push_str(&format!(
            "\nNot testable black-box ({} requirements, see the skip list)\n",
            report.not_tested.len()
        ));
        for n in &report.not_tested {
            s.push_str(&format!("  {:<12} {}\n", n.id, n.reason));
        }
    }
    let (p, f, k) = report.counts();
    s.push_str(&format!(
        "\n{p} passed, {f} failed, {k} skipped: {}\n",
        if f == 0 {
            "conformant on every selected, applicable test"
        } else {
            "NOT conformant"
        }
    ));
    if f > 0 {
        s.push_str(&format!("failing: {}\n", report.failing_ids().join(", ")));
    }
    s
}
