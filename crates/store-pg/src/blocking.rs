//! Running a blocking PostgreSQL call from wherever the caller is.
//!
//! The `postgres` client blocks on a runtime of its own, which tokio refuses to start on a
//! thread that is already driving async tasks. The Data Holder calls some store methods from
//! its handlers directly (the advisory replay read, registration lookups during client
//! authentication), as it may with SQLite; this keeps that legal on PostgreSQL too: on a
//! multi-threaded runtime the worker hands its other tasks off first (`block_in_place`), on a
//! current-thread runtime the call runs on a scoped thread, and anywhere else it just runs.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which blocks on PostgreSQL, in a way the current thread allows.
pub fn run<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}
