//! Group commit: one writer thread drains a queue of pending [`WriteSet`]s and commits
//! whatever has queued up as one batch ([`TokenStore::commit_batch`]), so concurrent requests
//! share one fsync. Each submitter waits for its own outcome, which is sent only after the
//! batch transaction is durable; a failed batch fails every set in it.
//!
//! A thread rather than a tokio task: the backend call blocks (SQLite, fsync), and one
//! long-lived thread costs no `spawn_blocking` hop per request. It ends when the last
//! [`GroupCommit`] handle is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::durable::{SetOutcome, TokenStore, WriteSet};
use crate::token_db::TokenDbError;

/// Most write sets committed in one transaction (bounds one batch's latency and memory).
pub const MAX_BATCH: usize = 256;
/// Most write sets waiting for the writer; submitters beyond it wait for room (backpressure).
pub const QUEUE_DEPTH: usize = 4096;

struct Job {
    set: WriteSet,
    reply: oneshot::Sender<Result<SetOutcome, TokenDbError>>,
}

/// Counters of the writer (for `tessera bench` and operators).
#[derive(Debug, Default)]
pub struct CommitStats {
    batches: AtomicU64,
    sets: AtomicU64,
    failed_batches: AtomicU64,
}

impl CommitStats {
    /// (batches committed, write sets in them, batches failed).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.sets.load(Ordering::Relaxed),
            self.failed_batches.load(Ordering::Relaxed),
        )
    }
}

/// Sees every batch the writer commits (metrics). Called on the writer thread after the
/// outcome is known and before the submitters are answered: keep it cheap.
pub trait CommitObserver: Send + Sync {
    /// A batch committed: its sets, their outcomes, and how long `commit_batch` took
    /// (transaction and fsync).
    fn committed(&self, sets: &[WriteSet], outcomes: &[SetOutcome], took: Duration);
    /// A batch of `sets` write sets failed after `took`; nothing of it was written.
    fn failed(&self, sets: usize, took: Duration);
}

/// Handle to the writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
    stats: Arc<CommitStats>,
}

impl GroupCommit {
    /// Starts the writer thread over `store`.
    pub fn start(store: Arc<dyn TokenStore>) -> Result<GroupCommit, TokenDbError> {
        GroupCommit::start_observed(store, None)
    }

    /// [`GroupCommit::start`], reporting every batch to `observer`.
    pub fn start_observed(
        store: Arc<dyn TokenStore>,
        observer: Option<Arc<dyn CommitObserver>>,
    ) -> Result<GroupCommit, TokenDbError> {
        let (queue, rx) = mpsc::channel(QUEUE_DEPTH);
        let stats = Arc::new(CommitStats::default());
        let s = stats.clone();
        std::thread::Builder::new()
            .name("tessera-group-commit".into())
            .spawn(move || writer_loop(store.as_ref(), rx, &s, observer.as_deref()))
            .map_err(|e| TokenDbError(format!("cannot start the writer thread: {e}")))?;
        Ok(GroupCommit { queue, stats })
    }

    /// Commits `set` with whatever else is pending; resolves once it is durable.
    pub async fn commit(&self, set: WriteSet) -> Result<SetOutcome, TokenDbError> {
        let (reply, wait) = oneshot::channel();
        self.queue
            .send(Job { set, reply })
            .await
            .map_err(|_| TokenDbError("the writer has stopped".into()))?;
        wait.await
            .map_err(|_| TokenDbError("the writer has stopped".into()))?
    }

    /// The writer's counters.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// Whether the writer thread is still taking sets (`/readyz`): false once it has ended.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }
}

fn writer_loop(
    store: &dyn TokenStore,
    mut rx: mpsc::Receiver<Job>,
    stats: &CommitStats,
    observer: Option<&dyn CommitObserver>,
) {
    let mut sets = Vec::with_capacity(MAX_BATCH);
    let mut replies = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(job) = next {
            sets.push(job.set);
            replies.push(job.reply);
            next = if sets.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let started = Instant::now();
        match store.commit_batch(&sets) {
            Ok(outcomes) if outcomes.len() == replies.len() => {
                if let Some(o) = observer {
                    o.committed(&sets, &outcomes, started.elapsed());
                }
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.sets.fetch_add(sets.len() as u64, Ordering::Relaxed);
                for (reply, outcome) in replies.drain(..).zip(outcomes) {
                    // A submitter that went away (client disconnected) still had its set
                    // committed; there is no one left to tell.
                    let _ = reply.send(Ok(outcome));
                }
            }
            other => {
                let err = match other {
                    Err(e) => e,
                    Ok(_) => TokenDbError("backend returned a wrong number of outcomes".into()),
                };
                if let Some(o) = observer {
                    o.failed(sets.len(), started.elapsed());
                }
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %err, sets = sets.len(), "group commit failed");
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
        sets.clear();
    }
}
