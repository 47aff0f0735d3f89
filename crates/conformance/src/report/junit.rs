//! JUnit XML for CI: one `testsuite` per checklist section, one `testcase` per check
//! (`classname` = ID, `name` = case).

use super::{Report, Status};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// Renders the report.
pub fn junit(report: &Report) -> String {
    let (p, f, k) = report.counts();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tessera-conformance\" tests=\"{}\" failures=\"{f}\" skipped=\"{k}\">\n",
        p + f + k
    );
    for (section, ids) in report.by_section() {
        let cases: Vec<_> = ids.iter().flat_map(|(_, c)| c.iter()).collect();
        let fails = cases.iter().filter(|o| o.status == Status::Fail).count();
        let skips = cases.iter().filter(|o| o.status == Status::Skip).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skips}\">\n",
            esc(section),
            cases.len()
        ));
        for o in cases {
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&o.id),
                esc(&o.case)
            ));
            match o.status {
                Status::Pass => s.push_str("/>\n"),
                Status::Skip => s.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    esc(&o.detail)
                )),
                Status::Fail => {
                    let body: String = o.exchanges.iter().map(|e| e.render()).collect();
                    s.push_str(&format!(
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        esc(&o.detail),
                        esc(&body)
                    ));
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
