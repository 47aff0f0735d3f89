//! The one wall-clock reader of the project. Libraries take `now` (unix seconds) as input; the
//! binary is where real time enters (clippy.toml `disallowed-methods`).

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// Current unix time in whole seconds.
    #[allow(clippy::disallowed_methods)] // The binary is the designated wall-clock reader.
    pub fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}
