//! The server under test: `tessera serve` as a child process (so its CPU time and RSS are its
//! own, read from `/proc/<pid>`), on the address it reports (`listen=127.0.0.1:PORT`). It is
//! killed when the handle drops.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::BenchError;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;

/// The running server.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `host:port` it listens on (loopback).
    pub addr: String,
    /// From spawning the process to its "listening" line.
    pub boot: Duration,
}

/// Resource use of the server process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Resident set size now, KiB.
    pub rss_kib: u64,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

impl Usage {
    /// The sum over several processes (CPU and memory add up); `None` if any is unknown.
    pub fn total(each: impl Iterator<Item = Option<Usage>>) -> Option<Usage> {
        let mut total = Usage {
            cpu_seconds: 0.0,
            rss_kib: 0,
            peak_rss_kib: 0,
        };
        for u in each {
            let u = u?;
            total.cpu_seconds += u.cpu_seconds;
            total.rss_kib += u.rss_kib;
            total.peak_rss_kib += u.peak_rss_kib;
        }
        Some(total)
    }
}

impl Server {
    /// Starts `binary serve --config config` and waits until it reports its address.
    pub fn start(binary: &Path, config: &Path) -> Result<Server, BenchError> {
        let spawned = std::time::Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn,tessera_holder::serve=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BenchError::of("starting the server", e))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| BenchError("no server stderr".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains stderr for the server's whole life, so its logging never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Data Holder listening")
                    && let Some(rest) = line.split("listen=").nth(1)
                {
                    let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(Ok(addr));
                } else if line.contains("ERROR") || line.starts_with("error") {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
            boot: Duration::ZERO,
        };
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(Ok(addr)) if addr.starts_with("127.0.0.1:") => {
                server.boot = spawned.elapsed();
                server.addr = addr;
            }
            Ok(Ok(addr)) => return Err(BenchError(format!("server not on loopback: {addr}"))),
            Ok(Err(line)) => return Err(BenchError(format!("server failed: {line}"))),
            Err(_) => return Err(BenchError("server did not report its address".into())),
        }
        Ok(server)
    }

    /// CPU and memory of the server process (`None` where `/proc` is unavailable).
    pub fn usage(&self) -> Option<Usage> {
        usage_of(self.child.id())
    }
}

/// CPU and memory of process `pid` (`None` where `/proc` is unavailable or it is gone).
pub fn usage_of(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let cpu = (ticks(11)? + ticks(12)?) as f64 / USER_HZ;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Usage {
        cpu_seconds: cpu,
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
