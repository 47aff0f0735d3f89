//! The pool's connections: statements prepared once per connection, in `plan_cache_mode =
//! auto` whatever the server's default.

use postgres::types::Type;
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

/// The asynchronous connections FHIR reads use follow the blocking pool's rules: the same
/// session settings, statements kept per connection, at most `max` checked out with a bounded
/// wait, and a connection the server ended replaced at the next checkout.
#[test]
fn asynchronous_read_connections_keep_statements_wait_bounded_and_reconnect() {
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
        let pid: i32 = c.query_typed("SELECT pg_backend_pid()", &[]).await.unwrap()[0].get(0);
        drop(c);
        let c = reads.get().await.unwrap();
        assert_eq!(c.prepared_count(), 1, "back in the pool, statements kept");
        // Both permits out: a third checkout waits its timeout and says so.
        let second = reads.get().await.unwrap();
        assert_eq!(reads.usage(), (2, 2));
        match reads.get().await {
            Err(tessera_store_pg::PgError::PoolTimeout(200)) => {}
            Err(e) => panic!("expected a pool timeout, got {e}"),
            Ok(_) => panic!("a third connection beyond max = 2"),
        }
        drop(second);
        drop(c);
        // The server ends the first connection: the next checkout replaces it.
        let (admin, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        admin
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .unwrap();
        drop(admin);
        let mut ended = true;
        for _ in 0..50 {
            // Two idle connections; both may be handed out before the ended one is seen.
            let mut a = reads.get().await.unwrap();
            let mut b = reads.get().await.unwrap();
            let ra = a.query_typed("SELECT 1", &[]).await;
            let rb = b.query_typed("SELECT 1", &[]).await;
            if ra.is_ok() && rb.is_ok() {
                ended = false;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(!ended, "a fresh connection replaces the ended one");
        assert!(reads.usage().0 <= 2, "never more than max open");
    });
}
