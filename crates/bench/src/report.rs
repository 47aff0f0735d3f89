//! The report of a run: per operation the count, errors, throughput and latency percentiles
//! (nearest rank), each also as a ratio to the crypto floor measured in the same run; the
//! server's CPU time per request and its memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::floor::Floor;
use crate::load::OpResult;
use crate::server::Usage;

/// A finished run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The operation driven (`mix` for the mix).
    pub operation: &'static str,
    /// Concurrent connections.
    pub connections: usize,
    /// What was driven, in words (the data, nodes and store; or the target's URL).
    pub target: String,
    /// The floor, measured in this run.
    pub floor: Floor,
    /// Results by operation name.
    pub ops: BTreeMap<&'static str, OpResult>,
    /// The server's resource use during the load (local server on Linux).
    pub server: Option<Usage>,
    /// How long our server took to start (not measured for a target started elsewhere).
    pub boot: Option<Boot>,
}

/// Start-up times of our server: spawn to its "listening" line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boot {
    /// The first start of the run.
    pub first: Duration,
    /// Whether that start ingested the data (`load`) rather than finding it in the store.
    pub first_loaded: bool,
    /// A restart on the store the run filled, nothing to load: the warm boot.
    pub warm: Option<Duration>,
    /// Its RSS right after it started, KiB.
    pub warm_rss_kib: Option<u64>,
}

/// Summary figures of one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Answered requests.
    pub count: usize,
    /// Failed requests.
    pub errors: usize,
    /// Answered requests per second of the run's wall time.
    pub throughput: f64,
    /// Latency percentiles.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

/// The nearest-rank percentile `p` (0–100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl OpResult {
    /// Its summary.
    pub fn summary(&self) -> Summary {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        let secs = self.wall.as_secs_f64();
        Summary {
            count: l.len(),
            errors: self.errors,
            throughput: if secs > 0.0 {
                l.len() as f64 / secs
            } else {
                0.0
            },
            p50: percentile(&l, 50.0),
            p90: percentile(&l, 90.0),
            p99: percentile(&l, 99.0),
            max: l.last().copied().unwrap_or_default(),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000_000.0
}

impl Report {
    /// Failed requests over all operations (a run with any is a failed run).
    pub fn errors(&self) -> usize {
        self.ops.values().map(|r| r.errors).sum()
    }

    /// Answered requests over all operations.
    pub fn answered(&self) -> usize {
        self.ops.values().map(|r| r.latencies.len()).sum()
    }

    /// Server CPU seconds per answered request, if measured.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let u = self.server?;
        let n = self.answered();
        (n > 0).then(|| Duration::from_secs_f64(u.cpu_seconds.max(0.0) / n as f64))
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let f = &self.floor;
        let floor = f.total();
        let ratio = |d: Duration| {
            if floor.is_zero() {
                0.0
            } else {
                d.as_secs_f64() / floor.as_secs_f64()
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "tessera bench: {} over {} connection(s) against {}, loopback",
            self.operation, self.connections, self.target
        );
        let _ = writeln!(
            out,
            "crypto floor per redemption: {:.1} µs (ticket verify {:.1} µs + assertion verify {:.1} µs + token work {:.1} µs)",
            us(floor),
            us(f.ticket_verify),
            us(f.assertion_verify),
            us(f.token_work)
        );
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "operation",
            "count",
            "errors",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "p50/floor"
        );
        for (name, r) in &self.ops {
            let s = r.summary();
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>6} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.1}",
                name,
                s.count,
                s.errors,
                s.throughput,
                ms(s.p50),
                ms(s.p90),
                ms(s.p99),
                ms(s.max),
                ratio(s.p50)
            );
            if let Some(e) = &r.first_error {
                let _ = writeln!(out, "  first error: {e}");
            }
        }
        match (self.server, self.cpu_per_request()) {
            (Some(u), Some(cpu)) => {
                let _ = writeln!(
                    out,
                    "server: {:.2} s CPU during the load = {:.1} µs per request ({:.2}× the floor); RSS {:.1} MiB (peak {:.1} MiB)",
                    u.cpu_seconds,
                    us(cpu),
                    ratio(cpu),
                    u.rss_kib as f64 / 1024.0,
                    u.peak_rss_kib as f64 / 1024.0
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "server: resource use not measured (no /proc, or no server_pid for a target)"
                );
            }
        }
        if let Some(b) = self.boot {
            let _ = writeln!(
                out,
                "boot: {:.0} ms to listening{}{}",
                ms(b.first),
                if b.first_loaded {
                    " (ingesting the data)"
                } else {
                    " (data in the store)"
                },
                match (b.warm, b.warm_rss_kib) {
                    (Some(w), Some(r)) => format!(
                        "; restart on the warm store {:.0} ms, RSS {:.1} MiB",
                        ms(w),
                        r as f64 / 1024.0
                    ),
                    (Some(w), None) => format!("; restart on the warm store {:.0} ms", ms(w)),
                    _ => String::new(),
                }
            );
        }
        let _ = writeln!(out, "errors: {}", self.errors());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&s, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&s, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&s, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&s[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
