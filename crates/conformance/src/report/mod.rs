//! A run's results, and their renderings: terminal, JSON, JUnit XML, Markdown.

use serde::Serialize;

use crate::probe::Exchange;

mod junit;
mod markdown;
mod terminal;

pub use junit::junit;
pub use markdown::markdown;
pub use terminal::{Style, terminal};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Behaved as required.
    Pass,
    /// Did not.
    Fail,
    /// Not run (skip list, configuration, optional feature).
    Skip,
}

impl Status {
    /// `PASS` / `FAIL` / `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Checklist ID.
    pub id: String,
    /// Case name.
    pub case: String,
    /// Checklist section.
    pub section: String,
    /// Verdict.
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// For failures, the last requests and responses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
}

/// A requirement the kit does not test, with the reason (from the skip list).
#[derive(Debug, Clone, Serialize)]
pub struct NotTested {
    /// Checklist ID.
    pub id: String,
    /// Checklist section.
    pub section: String,
    /// Why.
    pub reason: String,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The FHIR base tested.
    pub target: String,
    /// Every selected check, in running order.
    pub outcomes: Vec<Outcome>,
    /// Selected requirements the kit cannot test black-box.
    pub not_tested: Vec<NotTested>,
}

impl Report {
    /// Counts of pass, fail, skip.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s| self.outcomes.iter().filter(|o| o.status == s).count();
        (n(Status::Pass), n(Status::Fail), n(Status::Skip))
    }

    /// Every selected, applicable check passed.
    pub fn passed(&self) -> bool {
        self.counts().1 == 0
    }

    /// IDs with at least one failing case, sorted, deduplicated.
    pub fn failing_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Fail)
            .map(|o| o.id.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The JSON report.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Outcomes grouped by section, sections in first-seen order, then per ID.
    pub fn by_section(&self) -> Vec<Section<'_>> {
        let mut out: Vec<Section<'_>> = Vec::new();
        for o in &self.outcomes {
            let si = match out.iter().position(|(s, _)| *s == o.section) {
                Some(i) => i,
                None => {
                    out.push((&o.section, Vec::new()));
                    out.len() - 1
                }
            };
            let ids = &mut out[si].1;
            match ids.iter_mut().find(|(id, _)| *id == o.id) {
                Some((_, v)) => v.push(o),
                None => ids.push((&o.id, vec![o])),
            }
        }
        // Checklist order: sections are numbered ("4. Ticket parsing …").
        out.sort_by_key(|(s, _)| {
            s.split('.')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        });
        out
    }
}

/// A section title and its IDs, each with its cases.
pub type Section<'a> = (&'a str, Vec<(&'a str, Vec<&'a Outcome>)>);

/// The verdict of an ID over its cases: fail if any fails, skip if all skip, else pass.
pub fn id_status(cases: &[&Outcome]) -> Status {
    if cases.iter().any(|o| o.status == Status::Fail) {
        Status::Fail
    } else if cases.iter().all(|o| o.status == Status::Skip) {
        Status::Skip
    } else {
        Status::Pass
    }
}
