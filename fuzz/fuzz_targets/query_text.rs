//! Query text: any SQL a remote client could send. `query` must stay read-only and
//! bounded: every answer is rows or a documented error, never a panic, a hang or a
//! change to the database.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use buffdb::{Db, ErrorCode, OpenOptions, QueryOptions};
use libfuzzer_sys::fuzz_target;

fn db() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| {
        let db = Db::open(":memory:", OpenOptions::default()).expect("open");
        for i in 0..64u32 {
            db.put(format!("k{i:03}").as_bytes(), &i.to_le_bytes()).unwrap();
        }
        db.blob_put(b"blob bytes", Some("{\"kind\":\"x\"}")).unwrap();
        db.stream_write("/docs/a", &vec![7u8; 70_000]).unwrap();
        db.stream_write("/docs/a", b"second version").unwrap();
        db
    })
}

fuzz_target!(|sql: &str| {
    let db = db();
    let opts = QueryOptions::new().timeout(Duration::from_millis(200)).max_rows(10_000).max_memory(16 << 20);
    match db.query_with(sql, &[], &opts) {
        Ok(_) => {}
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::InvalidArgument | ErrorCode::ReadOnly | ErrorCode::Interrupted | ErrorCode::TooLarge
            ),
            "query {sql:?} failed with an unexpected code: {e}"
        ),
    }
    // Still the same database.
    assert_eq!(db.count(b"k").unwrap(), 64, "query {sql:?} changed the KV data");
    assert_eq!(db.get(b"k007").unwrap().as_deref(), Some(&7u32.to_le_bytes()[..]));
    assert_eq!(db.stream_read("/docs/a").unwrap(), b"second version");
});
