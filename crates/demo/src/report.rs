//! What a demo run found: one [`ScenarioOutcome`] per scenario (the ticket's key claims, the
//! token response or refusal, released versus held-back counts with reasons, and whether that
//! is what the scenario expects), and the plain-text trace the CLI prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The Data Holder and issuers that ran.
    pub setup: Setup,
    /// Every scenario, in order.
    pub scenarios: Vec<ScenarioOutcome>,
    /// The network Data Holders part (issue 14).
    pub network: Option<crate::network::NetworkOutcome>,
}

/// The demo world.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// The Data Holder's FHIR base.
    pub base_url: String,
    /// The network issuer.
    pub network_issuer: String,
    /// The Data Holder's own issuer.
    pub holder_issuer: String,
    /// The Data Holder's sites (`name (city, state)`).
    pub sites: Vec<String>,
    /// Resources loaded into the store.
    pub resources: usize,
    /// Patient records loaded.
    pub patients: usize,
}

/// One scenario's trace and verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioOutcome {
    /// Short key (`self-access`, `refusal-expired`, ...).
    pub key: String,
    /// Heading.
    pub title: String,
    /// The story in one sentence.
    pub story: String,
    /// The presented ticket, when one was minted.
    pub ticket: Option<TicketSummary>,
    /// Steps before the final redemption (e.g. the revocation), in order.
    pub notes: Vec<String>,
    /// The final redemption.
    pub result: Option<Redemption>,
    /// What the scenario expects.
    pub expected: String,
    /// Whether it behaved as expected.
    pub passed: bool,
    /// Every deviation from the expectation.
    pub problems: Vec<String>,
}

/// The ticket's key claims.
#[derive(Debug, Clone, Serialize)]
pub struct TicketSummary {
    /// Type short name (`patient-self-access-v1`).
    pub ticket_type: String,
    /// `iss`.
    pub issuer: String,
    /// `jti`.
    pub jti: String,
    /// The subject: name, birth date, identifiers.
    pub subject: String,
    /// The requester, if any.
    pub requester: Option<String>,
    /// The presenter binding.
    pub binding: String,
    /// Access constraints and profile claims, one per line.
    pub access: Vec<String>,
    /// Seconds from minting to `exp`.
    pub lifetime: i64,
}

/// How the Data Holder answered the token request.
#[derive(Debug, Clone, Serialize)]
pub enum Redemption {
    /// An access token, and what it released.
    Granted(Granted),
    /// An OAuth error.
    Refused {
        /// HTTP status.
        status: u16,
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
}

/// A granted redemption and the FHIR reads made with it.
#[derive(Debug, Clone, Serialize)]
pub struct Granted {
    /// `token_type`.
    pub token_type: String,
    /// The first characters of the access token (never the whole token).
    pub token_prefix: String,
    /// `scope`.
    pub scope: String,
    /// `patient`.
    pub patient: String,
    /// `expires_in`.
    pub expires_in: Option<i64>,
    /// FHIR pages read (following `next` links).
    pub pages: usize,
    /// Per resource type: in the store, released, held back and why.
    pub types: Vec<TypeCount>,
}

/// One resource type of a patient.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCount {
    /// Resource type.
    pub resource_type: String,
    /// The patient's resources of this type in the store; `None` for shared resources
    /// (Organization, Practitioner, Location, ...) that belong to no patient.
    pub in_store: Option<usize>,
    /// Released by the FHIR API.
    pub released: usize,
    /// Held back, counted by reason (the Grant's verdict on each held-back resource).
    pub held_back: BTreeMap<String, usize>,
}

impl TypeCount {
    /// Total held back.
    pub fn held_back_total(&self) -> usize {
        self.held_back.values().sum()
    }
}

impl Granted {
    /// Released resources of the patient (shared resources not counted).
    pub fn released_own(&self) -> usize {
        self.types
            .iter()
            .filter(|t| t.in_store.is_some())
            .map(|t| t.released)
            .sum()
    }

    /// The patient's resources in the store.
    pub fn in_store(&self) -> usize {
        self.types.iter().filter_map(|t| t.in_store).sum()
    }

    /// Released count of one type.
    pub fn released(&self, resource_type: &str) -> usize {
        self.types
            .iter()
            .find(|t| t.resource_type == resource_type)
            .map_or(0, |t| t.released)
    }
}

impl DemoReport {
    /// Every scenario behaved as expected.
    pub fn passed(&self) -> bool {
        !self.scenarios.is_empty()
            && self.scenarios.iter().all(|s| s.passed)
            && self.network.as_ref().is_none_or(|n| n.passed())
    }

    /// A scenario by key.
    pub fn scenario(&self, key: &str) -> Option<&ScenarioOutcome> {
        self.scenarios.iter().find(|s| s.key == key)
    }

    /// The plain-text trace.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let s = &self.setup;
        let _ = writeln!(
            out,
            "Tessera demo: every ticket type, end to end, on loopback"
        );
        let _ = writeln!(out, "  Data Holder   {}", s.base_url);
        let _ = writeln!(out, "                {}", s.sites.join("; "));
        let _ = writeln!(
            out,
            "                {} resources of {} patient records loaded into SQLite",
            s.resources, s.patients
        );
        let _ = writeln!(out, "  issuer        {} (network)", s.network_issuer);
        let _ = writeln!(
            out,
            "  own issuer    {} (self-issued payer claims)",
            s.holder_issuer
        );
        for (i, sc) in self.scenarios.iter().enumerate() {
            out.push('\n');
            render_scenario(&mut out, i + 1, sc);
        }
        if let Some(n) = &self.network {
            out.push('\n');
            let _ = writeln!(out, "== Network Data Holders: one person, two sites ==");
            let _ = writeln!(
                out,
                "  A second Data Holder at {} serves the same sites with person linkage on;",
                n.base_url
            );
            let _ = writeln!(
                out,
                "  each site is also a Data Holder of its own at [base]/site/{{site}}."
            );
            for (ok, line) in &n.lines {
                let _ = writeln!(out, "  {} {line}", if *ok { "PASS" } else { "FAIL" });
            }
            if let Some(e) = &n.error {
                let _ = writeln!(out, "  FAIL {e}");
            }
        }
        let passed = self.scenarios.iter().filter(|s| s.passed).count();
        let _ = writeln!(
            out,
            "\n{passed}/{} scenarios behaved as expected{}",
            self.scenarios.len(),
            if self.passed() { "." } else { ": FAILED." }
        );
        out
    }
}

fn render_scenario(out: &mut String, n: usize, sc: &ScenarioOutcome) {
    let _ = writeln!(out, "== {n}. {} ==", sc.title);
    let _ = writeln!(out, "  {}", sc.story);
    if let Some(t) = &sc.ticket {
        let _ = writeln!(out, "  ticket    {}  jti {}", t.ticket_type, t.jti);
        let _ = writeln!(out, "            iss        {}", t.issuer);
        let _ = writeln!(out, "            subject    {}", t.subject);
        let _ = writeln!(
            out,
            "            requester  {}",
            t.requester.as_deref().unwrap_or("(none: the patient)")
        );
        let _ = writeln!(out, "            binding    {}", t.binding);
        for (i, line) in t.access.iter().enumerate() {
            let label = if i == 0 { "access" } else { "" };
            let _ = writeln!(out, "            {label:<10} {line}");
        }
        let _ = writeln!(out, "            lifetime   {}", duration(t.lifetime));
    }
    for note in &sc.notes {
        let _ = writeln!(out, "  step      {note}");
    }
    match &sc.result {
        None => {}
        Some(Redemption::Refused {
            status,
            error,
            description,
        }) => {
            let _ = writeln!(out, "  refused   HTTP {status} {error}: {description}");
        }
        Some(Redemption::Granted(g)) => render_granted(out, g),
    }
    let verdict = if sc.passed { "PASS" } else { "FAIL" };
    let _ = writeln!(out, "  {verdict}      expected: {}", sc.expected);
    for p in &sc.problems {
        let _ = writeln!(out, "            problem: {p}");
    }
}

fn render_granted(out: &mut String, g: &Granted) {
    let _ = writeln!(
        out,
        "  token     {} {}...  expires_in {}  patient {}",
        g.token_type,
        g.token_prefix,
        g.expires_in.map_or("-".to_owned(), |e| e.to_string()),
        g.patient
    );
    let _ = writeln!(out, "            scope {}", abbreviate_scope(&g.scope));
    let _ = writeln!(
        out,
        "  released  {} of the patient's {} resources ({} FHIR pages)",
        g.released_own(),
        g.in_store(),
        g.pages
    );
    for t in &g.types {
        let count = match t.in_store {
            Some(n) => format!("{:>3} of {:>3}", t.released, n),
            None => format!("{:>3} shared", t.released),
        };
        let line = format!("            {:<20} {count}", t.resource_type);
        if t.held_back_total() == 0 {
            let _ = writeln!(out, "{}", line.trim_end());
            continue;
        }
        // One reason per line, aligned under the first.
        let lead = format!("{line}   held back: ");
        let indent = " ".repeat(lead.chars().count());
        for (i, (reason, n)) in t.held_back.iter().enumerate() {
            let head = if i == 0 { &lead } else { &indent };
            let _ = writeln!(out, "{head}{n} {reason}");
        }
    }
}

/// Long wildcard expansions are shortened for the trace (the report keeps the full scope).
pub(crate) fn abbreviate_scope(scope: &str) -> String {
    let parts: Vec<&str> = scope.split(' ').collect();
    if parts.len() <= 4 {
        return scope.to_owned();
    }
    let head: Vec<&str> = parts.iter().take(3).copied().collect();
    format!("{} ... ({} scopes)", head.join(" "), parts.len())
}

fn duration(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{s} s"),
    }
}
