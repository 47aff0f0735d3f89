//! The pool's connections: statements prepared once per connection, in `plan_cache_mode =
//! auto` whatever the server's default.

use postgres::types::Type;
use tessera_store_pg::async_pool::PIPELINE_DEPTH;
use tessera_store_pg::pool::MAX_PREPARED;
use tessera_store_pg::testing::TestDb;
use tessera_store_pg::{Pool, PoolOptions};

#[test]
fn pooled_connections_reuse_prepared_statements() {
    let Some(db) = TestDb::new() else {
        return;
    };
    let pool = Pool::connect(db.url(), PoolOptions::default()).unwrap();
    let mut c = pool.get().unwrap();
    let mode: String = c.query_one("SHOW plan_cache_mode", &[]).unwrap().get(0);
    assert_eq!(mode, "auto");
    let text = "SELECT $1::int8 + 1";
    let first = c.prepared(text, &[Type::INT8]).unwrap();
    let again = c.prepared(text, &[Type::INT8]).unwrap();
    assert_eq!(first.columns().len(), 1);
    assert_eq!(
        c.prepared_count(),
        1,
        "the same text and types: one statement"
    );
    // Other parameter types make another statement.
    let text_param = c.prepared(text, &[Type::TEXT]).unwrap();
    assert_eq!(text_param.params(), [Type::TEXT]);
    assert_eq!(c.prepared_count(), 2);
    let n: i64 = c.query_one(&again, &[&41_i64]).unwrap().get(0);
    assert_eq!(n, 42);
    // Back in the pool and out again: the same connection keeps its statements.
    drop(c);
    let mut c = pool.get().unwrap();
    assert_eq!(c.prepared_count(), 2);
    // Bounded: past MAX_PREPARED the cache starts over.
    for i in 0..MAX_PREPARED {
        c.prepared(&format!("SELECT {i}"), &[]).unwrap();
    }
    // 2 + 254 fill it; the 255th clears it and goes in, the 256th joins it.
    assert_eq!(c.prepared_count(), 2);
}

/// The asynchronous connections FHIR reads use: the same session settings and kept
/// statements as the blocking pool; a connection carries up to `PIPELINE_DEPTH` statements at
/// once (pipelined, each answered right) before another is opened; at most `max` connections
/// and `max × PIPELINE_DEPTH` statements in flight, with a bounded wait past that; a
/// connection the server ended is replaced.
#[test]
fn asynchronous_read_connections_pipeline_keep_statements_wait_bounded_and_reconnect() {
    let Some(db) = TestDb::new() else {
        return;
    };
    let options = PoolOptions {
        max: 2,
        checkout_timeout: std::time::Duration::from_millis(200),
        ..PoolOptions::default()
    };
    let pool = Pool::connect(db.url(), options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reads = pool.reads();
        assert_eq!(
            reads.usage(),
            (0, 0),
            "nothing opened before the first read"
        );
        let mut c = reads.get().await.unwrap();
        let mode = c.query_typed("SHOW plan_cache_mode", &[]).await.unwrap();
        assert_eq!(mode[0].get::<_, String>(0), "auto");
        let one = [(&41_i64 as &(dyn postgres::types::ToSql + Sync), Type::INT8)];
        let n = c.query_kept("SELECT $1::int8 + 1", &one).await.unwrap();
        assert_eq!(n[0].get::<_, i64>(0), 42);
        c.query_kept("SELECT $1::int8 + 1", &one).await.unwrap();
        assert_eq!(
            c.prepared_count(),
            1,
            "the same text and types: one statement"
        );
        drop(c);
        // A connection fills its pipeline before a second one is opened.
        let mut held = Vec::new();
        for _ in 0..PIPELINE_DEPTH {
            held.push(reads.get().await.unwrap());
        }
        assert_eq!(
            reads.usage(),
            (1, 1),
            "one connection carries {PIPELINE_DEPTH}"
        );
        assert_eq!(
            held[0].prepared_count(),
            1,
            "statements kept on the connection"
        );
        // Statements in flight together on that one connection each get their own answer.
        let values: Vec<i64> = (0..PIPELINE_DEPTH as i64).map(|i| i * 100).collect();
        let answers = futures_join(held.iter_mut().zip(&values).map(|(c, v)| async move {
            let p = [(v as &(dyn postgres::types::ToSql + Sync), Type::INT8)];
            let rows = c.query_kept("SELECT $1::int8 + 1", &p).await.unwrap();
            rows[0].get::<_, i64>(0)
        }))
        .await;
        let want: Vec<i64> = values.iter().map(|v| v + 1).collect();
        assert_eq!(answers, want);
        for _ in 0..PIPELINE_DEPTH {
            held.push(reads.get().await.unwrap());
        }
        assert_eq!(reads.usage(), (2, 2), "the second connection, and no third");
        match reads.get().await {
            Err(tessera_store_pg::PgError::PoolTimeout(200)) => {}
            Err(e) => panic!("expected a pool timeout, got {e}"),
            Ok(_) => panic!("a statement beyond max × PIPELINE_DEPTH"),
        }
        let mut first = held.remove(0);
        let pid: i32 = first
            .query_typed("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()[0]
            .get(0);
        drop(first);
        held.clear();
        assert_eq!(
            reads.usage().1,
            0,
            "nothing in flight once every client is dropped"
        );
        // The server ends a connection: it is dropped and a fresh one answers.
        let (admin, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        drop(admin);
        let mut recovered = false;
        for _ in 0..50 {
            let mut c = reads.get().await.unwrap();
            if c.query_typed("SELECT 1", &[]).await.is_ok() {
                let now: i32 =
                    c.query_typed("SELECT pg_backend_pid()", &[]).await.unwrap()[0].get(0);
                if now != pid {
                    recovered = true;
                    break;
                }
            }
            drop(c);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            recovered,
            "a live connection answers after the server ended one"
        );
        assert!(reads.usage().0 <= 2, "never more than max open");
    });
}

/// A burst of checkouts on a pool that has opened nothing yet: the first `max` open the
/// connections, the others wait for them (never a connection beyond `max`).
#[test]
fn a_burst_of_first_reads_opens_at_most_max_connections() {
    let Some(db) = TestDb::new() else {
        return;
    };
    let options = PoolOptions {
        max: 2,
        ..PoolOptions::default()
    };
    let pool = Pool::connect(db.url(), options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reads = pool.reads();
        let answers = futures_join((0..8_i64).map(|i| async move {
            let mut c = reads.get().await.unwrap();
            let p = [(&i as &(dyn postgres::types::ToSql + Sync), Type::INT8)];
            let rows = c.query_kept("SELECT $1::int8 * 2", &p).await.unwrap();
            rows[0].get::<_, i64>(0)
        }))
        .await;
        assert_eq!(answers, (0..8).map(|i| i * 2).collect::<Vec<i64>>());
        assert_eq!(reads.usage(), (2, 0), "two connections, nothing in flight");
    });
}

/// Awaits every future of `futs` concurrently on this task, in order.
async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (f, o) in pending.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
