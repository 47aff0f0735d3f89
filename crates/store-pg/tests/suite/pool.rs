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
