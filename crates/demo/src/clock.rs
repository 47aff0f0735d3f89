//! The caller's clock, adapted to the clock traits of the issuer, Data Holder and client
//! crates (each crate owns its trait so none depends on another for it).

use std::sync::Arc;

/// Now, in unix seconds. The binary passes the system clock; tests a fixed or stepped one.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The Data Holder's clock trait wants `Debug`; closures are not.
pub(crate) struct HolderClock(pub Now);

impl std::fmt::Debug for HolderClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderClock")
    }
}

impl tessera_holder::Clock for HolderClock {
    fn now(&self) -> i64 {
        (self.0)()
    }
}

/// The issuer's clock.
pub(crate) fn issuer_clock(now: &Now) -> Arc<dyn tessera_issuer::Clock> {
    let now = now.clone();
    Arc::new(move || now())
}

/// The client's clock.
pub(crate) fn client_clock(now: &Now) -> Arc<dyn tessera_client::Clock> {
    let now = now.clone();
    Arc::new(move || now())
}
