//! `query` is contained: an authorizer refuses writes, ATTACH, setting PRAGMAs,
//! transactions, the internal tables and dangerous functions; rows, time and memory
//! are limited per call; a query can be cancelled from another thread. Refusals and
//! limits are clear errors, change nothing, and leave the handle usable.

mod common;
use common::*;

use std::time::{Duration, Instant};

use buffdb::{CancelToken, Db, ErrorCode, QueryOptions, Value};

/// Counts without end; nothing in it grows.
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";

/// The memory limit counts SQLite's process-wide heap growth: a test that grows it a
/// lot and a test that expects success under a tight limit do not run at once.
static MEMORY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn memory_lock() -> std::sync::MutexGuard<'static, ()> {
    MEMORY.lock().unwrap_or_else(|e| e.into_inner())
}

fn opts() -> QueryOptions {
    QueryOptions::default()
}

fn seeded() -> (tempfile::TempDir, std::path::PathBuf, Db) {
    let (dir, path) = temp();
    let db = open(&path);
    db.put(b"cfg:a", br#"{"level": 3, "tags": ["x", "y"]}"#).unwrap();
    db.put(b"cfg:b", br#"{"level": 7, "tags": []}"#).unwrap();
    db.put(b"raw", &[0xff, 0x00, 0x10]).unwrap();
    db.blob_put(b"12345", Some("five")).unwrap();
    db.stream_write("/q/doc", b"abc").unwrap();
    db.stream_write("/q/doc", b"abcdef").unwrap();
    (dir, path, db)
}

/// Everything the database holds, through the public API and a plain SQLite look at
/// its schema, to show a refused statement changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    kv: Vec<(Vec<u8>, Vec<u8>)>,
    blob: Option<Vec<u8>>,
    stream: Vec<u8>,
    schema: Vec<String>,
}

fn snapshot(db: &Db, path: &std::path::Path) -> Snapshot {
    let kv: Vec<_> = db.scan(b"", None, None).unwrap().map(|r| r.unwrap()).collect();
    let blob = db.blob_get(1).unwrap();
    let stream = db.stream_read("/q/doc").unwrap();
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt =
        conn.prepare("SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY name").unwrap();
    let schema = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    Snapshot { kv, blob, stream, schema }
}

fn assert_usable(db: &Db) {
    let r = db.query("SELECT count(*) FROM kv", &[]).unwrap();
    assert!(matches!(r.rows[0][0], Value::Integer(n) if n >= 1));
    db.put(b"after", b"ok").unwrap();
    assert_eq!(db.get(b"after").unwrap().as_deref(), Some(&b"ok"[..]));
    assert!(db.delete(b"after").unwrap());
}

#[test]
fn endless_recursive_ctes_stop_with_the_documented_error() {
    let _memory = memory_lock();
    let (_d, _p, db) = seeded();

    // Rows: the default row limit stops it.
    let t = Instant::now();
    let e = db.query(&format!("{ENDLESS} SELECT x FROM c"), &[]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");
    assert!(e.message().contains("1000000 rows"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(30), "took {:?}", t.elapsed());

    // count(*): no rows and no memory, only the time limit stops it.
    let t = Instant::now();
    let e = db
        .query_with(&format!("{ENDLESS} SELECT count(*) FROM c"), &[], &opts().timeout(Duration::from_millis(300)))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Interrupted, "{e}");
    assert!(e.message().contains("time limit"), "{e}");
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "took {took:?}");

    // ORDER BY: the sorter grows until the memory limit stops it (time is not the limit).
    let t = Instant::now();
    let e = db
        .query_with(
            &format!("{ENDLESS} SELECT x FROM c ORDER BY x DESC"),
            &[],
            &opts().max_memory(32 << 20).timeout(Duration::from_secs(120)),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");
    assert!(e.message().contains("memory limit"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());

    // DISTINCT over text: temporary b-tree instead of the sorter.
    let e = db
        .query_with(
            &format!("{ENDLESS} SELECT count(DISTINCT printf('%0100d', x)) FROM c"),
            &[],
            &opts().max_memory(32 << 20).timeout(Duration::from_secs(120)),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");

    // A value that doubles each step: one string past the memory limit.
    let e = db
        .query("WITH RECURSIVE c(s) AS (SELECT 'ab' UNION ALL SELECT s || s FROM c) SELECT max(length(s)) FROM c", &[])
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");

    // One huge allocation in a single function call.
    let e = db.query_with("SELECT length(zeroblob(100000000))", &[], &opts().max_memory(8 << 20)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");

    assert_usable(&db);
}

/// A memory figure of this process from /proc (Linux), in KiB.
fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak resident memory of this process.
fn peak_rss_kib() -> Option<u64> {
    rss_kib("VmHWM:")
}

#[test]
fn an_endless_sort_stays_within_its_memory_limit() {
    const PROBE: &str = "BUFFDB_QUERY_MEMORY_PROBE";
    if std::env::var_os(PROBE).is_some() {
        // In a process of its own, so the peak is this query's.
        let (_d, _p, db) = seeded();
        assert_usable(&db);
        println!("rss_before_kib={}", rss_kib("VmRSS:").unwrap());
        {
            let sql = format!("{ENDLESS} SELECT x FROM c ORDER BY x DESC");
            let t = Instant::now();
            let e =
                db.query_with(&sql, &[], &opts().max_memory(64 << 20).timeout(Duration::from_secs(120))).unwrap_err();
            assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");
            println!("{sql}: stopped after {:?}", t.elapsed());
        }
        assert_usable(&db);
        println!("peak_rss_kib={}", peak_rss_kib().unwrap());
        return;
    }
    if peak_rss_kib().is_none() {
        eprintln!("skipped: no /proc/self/status here to read the peak memory from");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["an_endless_sort_stays_within_its_memory_limit", "--exact", "--nocapture", "--test-threads=1"])
        .env(PROBE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "probe failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let figure = |name: &str| -> u64 {
        stdout
            .split(name)
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in the probe's output: {stdout}"))
    };
    let (before, peak) = (figure("rss_before_kib="), figure("peak_rss_kib="));
    // SQLite's own account stays at the 64 MiB limit; resident memory peaks at about
    // twice that (glibc keeps freed blocks, the sorter's buffer grows by copying).
    assert!(
        peak - before < 160 * 1024,
        "peak resident memory {peak} KiB (from {before} KiB) with a 64 MiB query limit"
    );
}

#[test]
fn attach_and_detach_are_refused() {
    let (dir, path, db) = seeded();
    let other = dir.path().join("other.sqlite");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE secret(x); INSERT INTO secret VALUES ('do not read');").unwrap();
    }
    let before = snapshot(&db, &path);
    let literal = format!("ATTACH '{}' AS o", other.display());
    for (sql, params) in [
        (literal.as_str(), vec![]),
        ("ATTACH ? AS o", vec![Value::Text(other.display().to_string())]),
        ("ATTACH ':memory:' AS m", vec![]),
        ("DETACH o", vec![]),
        ("DETACH main", vec![]),
    ] {
        let e = db.query(sql, &params).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{sql}: {e}");
        assert!(e.message().contains("ATTACH") || e.message().contains("DETACH"), "{sql}: {e}");
    }
    assert_eq!(db.query("SELECT * FROM o.secret", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(snapshot(&db, &path), before);
    assert_usable(&db);
}

#[test]
fn pragmas_that_set_something_are_refused() {
    let (_d, path, db) = seeded();
    let before = snapshot(&db, &path);
    for sql in [
        "PRAGMA query_only = 0",
        "PRAGMA query_only = false",
        "PRAGMA main.query_only = 0",
        "PRAGMA writable_schema = 1",
        "PRAGMA writable_schema = ON",
        "PRAGMA journal_mode = delete",
        "PRAGMA journal_mode",
        "PRAGMA user_version = 5",
        "PRAGMA application_id = 1",
        "PRAGMA cache_size = -1000000",
        "PRAGMA mmap_size = 0",
        "PRAGMA temp_store_directory = '/tmp'",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "PRAGMA integrity_check",
        "PRAGMA database_list",
        "SELECT * FROM pragma_journal_mode",
        "SELECT * FROM pragma_database_list",
    ] {
        let e = db.query(sql, &[]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{sql}: {e}");
        assert!(e.message().contains("PRAGMA"), "{sql}: {e}");
    }
    // Still read-only, still WAL, and nothing changed.
    assert_eq!(db.query("INSERT INTO bdb_kv VALUES (x'01', x'02')", &[]).unwrap_err().code(), ErrorCode::ReadOnly);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    drop(conn);
    assert_eq!(snapshot(&db, &path), before);

    // Reading the schema and the file's figures is allowed.
    let cols = db.query("SELECT name FROM pragma_table_info('kv') ORDER BY cid", &[]).unwrap();
    let names: Vec<Value> = cols.rows.into_iter().map(|mut r| r.remove(0)).collect();
    assert_eq!(names, ["key", "value", "key_text", "value_text"].map(|s| Value::Text(s.into())).to_vec());
    assert_eq!(db.query("PRAGMA table_info(streams)", &[]).unwrap().rows.len(), 8);
    assert_eq!(db.query("PRAGMA user_version", &[]).unwrap().rows, vec![vec![Value::Integer(version)]]);
    assert!(matches!(db.query("PRAGMA page_count", &[]).unwrap().rows[0][0], Value::Integer(n) if n > 0));
    assert_usable(&db);
}

#[test]
fn dangerous_functions_are_refused() {
    let (dir, path, db) = seeded();
    let before = snapshot(&db, &path);
    let lib = dir.path().join("libevil.so");
    std::fs::write(&lib, b"not a library").unwrap();
    for (sql, name) in [
        (format!("SELECT load_extension('{}')", lib.display()), "load_extension"),
        (format!("SELECT load_extension('{}', 'sqlite3_evil_init')", lib.display()), "load_extension"),
        ("SELECT LOAD_EXTENSION('x')".to_string(), "LOAD_EXTENSION"),
        ("SELECT fts3_tokenizer('simple')".to_string(), "fts3_tokenizer"),
        ("SELECT key FROM kv WHERE fts3_tokenizer(key_text) IS NULL".to_string(), "fts3_tokenizer"),
    ] {
        let e = db.query(&sql, &[]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{sql}: {e}");
        assert!(e.message().contains(name), "{sql}: {e}");
    }
    // Tables past the views: the internal tables and raw page access.
    for sql in [
        "SELECT * FROM bdb_kv",
        "SELECT data FROM bdb_chunks",
        "SELECT * FROM kv JOIN bdb_meta",
        "SELECT * FROM dbstat",
        "SELECT * FROM sqlite_dbpage",
    ] {
        assert_eq!(db.query(sql, &[]).unwrap_err().code(), ErrorCode::InvalidArgument, "{sql}");
    }
    assert_eq!(snapshot(&db, &path), before);
    assert_usable(&db);
}

#[test]
fn writes_and_transactions_are_refused_and_change_nothing() {
    let (dir, path, db) = seeded();
    let before = snapshot(&db, &path);
    let copy = dir.path().join("copy.db");
    let vacuum_into = format!("VACUUM INTO '{}'", copy.display());
    for sql in [
        "INSERT INTO bdb_kv VALUES (x'01', x'02')",
        "REPLACE INTO bdb_kv VALUES (x'01', x'02')",
        "UPDATE bdb_kv SET value = x'00'",
        "DELETE FROM bdb_kv",
        "DELETE FROM kv",
        "UPDATE kv SET value = 1",
        "INSERT INTO kv(key, value) VALUES ('k', 'v')",
        "WITH n(x) AS (SELECT 1) INSERT INTO bdb_kv SELECT x, x FROM n",
        "CREATE TABLE t(x)",
        "CREATE TEMP TABLE t(x)",
        "CREATE TEMP VIEW v AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "CREATE INDEX i ON bdb_kv(value)",
        "CREATE TRIGGER tr AFTER INSERT ON bdb_kv BEGIN SELECT 1; END",
        "CREATE VIRTUAL TABLE f USING fts5(x)",
        "DROP VIEW kv",
        "DROP TABLE bdb_kv",
        "ALTER TABLE bdb_kv RENAME TO gone",
        "ANALYZE",
        "REINDEX",
        "VACUUM",
        vacuum_into.as_str(),
    ] {
        let e = db.query(sql, &[]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ReadOnly, "{sql}: {e}");
    }
    assert!(!copy.exists(), "VACUUM INTO wrote a file");
    for sql in ["BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", "SAVEPOINT s", "RELEASE s", "END"] {
        let e = db.query(sql, &[]).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{sql}: {e}");
    }
    assert_eq!(snapshot(&db, &path), before);
    assert_usable(&db);
}

#[test]
fn a_query_is_cancelled_from_another_thread() {
    let (_d, _p, db) = seeded();
    let token = CancelToken::new();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            token.cancel();
        })
    };
    // Meanwhile a query with a token of its own runs to the end on another thread.
    let other = {
        let db = db.clone();
        std::thread::spawn(move || {
            let o = opts().cancel(CancelToken::new());
            db.query_with("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c", &[], &o)
        })
    };
    let t = Instant::now();
    let e = db
        .query_with(
            &format!("{ENDLESS} SELECT count(*) FROM c"),
            &[],
            &opts().timeout(Duration::from_secs(120)).cancel(token.clone()),
        )
        .unwrap_err();
    let took = t.elapsed();
    canceller.join().unwrap();
    assert_eq!(e.code(), ErrorCode::Interrupted, "{e}");
    assert!(e.message().contains("cancelled"), "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(other.join().unwrap().unwrap().rows, vec![vec![Value::Integer(200000)]]);

    // A cancelled token stops a query before it starts.
    let e = db.query_with("SELECT 1", &[], &opts().cancel(token)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Interrupted);
    assert_usable(&db);
}

#[test]
fn queries_over_the_views_work() {
    let (_d, _p, db) = seeded();
    let r = db
        .query(
            "SELECT key_text, json_extract(value_text, '$.level') FROM kv WHERE key_text LIKE ? ORDER BY key",
            &[Value::Text("cfg:%".into())],
        )
        .unwrap();
    assert_eq!(r.columns, ["key_text", "json_extract(value_text, '$.level')"]);
    assert_eq!(
        r.rows,
        vec![
            vec![Value::Text("cfg:a".into()), Value::Integer(3)],
            vec![Value::Text("cfg:b".into()), Value::Integer(7)]
        ]
    );
    let tags = db
        .query(
            "SELECT kv.key_text, j.value FROM kv, json_each(kv.value_text, '$.tags') AS j \
             WHERE json_valid(kv.value_text) ORDER BY kv.key, j.id",
            &[],
        )
        .unwrap();
    assert_eq!(
        tags.rows,
        vec![
            vec![Value::Text("cfg:a".into()), Value::Text("x".into())],
            vec![Value::Text("cfg:a".into()), Value::Text("y".into())]
        ]
    );
    let raw = db.query("SELECT value FROM kv WHERE key = ?", &[Value::Blob(b"raw".to_vec())]).unwrap();
    assert_eq!(raw.rows, vec![vec![Value::Blob(vec![0xff, 0x00, 0x10])]]);
    let blobs = db.query("SELECT id, metadata, size FROM blobs", &[]).unwrap();
    assert_eq!(blobs.rows, vec![vec![Value::Integer(1), Value::Text("five".into()), Value::Integer(5)]]);
    let streams = db.query("SELECT path, version, size FROM streams ORDER BY version", &[]).unwrap();
    assert_eq!(
        streams.rows,
        vec![
            vec![Value::Text("/q/doc".into()), Value::Integer(1), Value::Integer(3)],
            vec![Value::Text("/q/doc".into()), Value::Integer(2), Value::Integer(6)]
        ]
    );
    let grouped = db
        .query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             SELECT i % 3, count(*), sum(i) FROM n GROUP BY i % 3 ORDER BY 1",
            &[],
        )
        .unwrap();
    assert_eq!(
        grouped.rows,
        vec![
            vec![Value::Integer(0), Value::Integer(333), Value::Integer(166833)],
            vec![Value::Integer(1), Value::Integer(334), Value::Integer(167167)],
            vec![Value::Integer(2), Value::Integer(333), Value::Integer(166500)]
        ]
    );
    let names = db.query("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name", &[]).unwrap();
    assert_eq!(names.rows, ["blobs", "index_entries", "indexes", "kv", "streams"].map(|s| vec![Value::Text(s.into())]).to_vec());
    // Mistakes are still the caller's.
    assert_eq!(db.query("SELEKT 1", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(db.query("SELECT ?", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn the_limits_are_configurable() {
    let _memory = memory_lock();
    let (_d, _p, db) = seeded();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i FROM n";
    assert_eq!(db.query_with(sql, &[], &opts().max_rows(50)).unwrap().rows.len(), 50);
    let e = db.query_with(sql, &[], &opts().max_rows(49)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge);
    assert!(e.message().contains("49 rows"), "{e}");

    // Memory counts the rows collected: 32 values of 256 KiB (8 MiB) against 6 MiB.
    let part = vec![5u8; 256 << 10];
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..32u8).map(|i| (vec![b'm', i], part.clone())).collect();
    db.put_many(&pairs).unwrap();
    let sql = "SELECT value FROM kv WHERE key > x'6d' AND key < x'6e' ORDER BY key";
    assert_eq!(db.query(sql, &[]).unwrap().rows.len(), 32);
    assert_eq!(db.query_with(&format!("{sql} LIMIT 4"), &[], &opts().max_memory(6 << 20)).unwrap().rows.len(), 4);
    let e = db.query_with(sql, &[], &opts().max_memory(6 << 20)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");
    assert!(e.message().contains("memory limit"), "{e}");
    // A quarter of the memory limit caps one value.
    let big = vec![7u8; 1 << 20];
    db.put(b"b", &big).unwrap();
    let one = "SELECT value FROM kv WHERE key = x'62'";
    assert_eq!(
        db.query_with(one, &[], &opts().max_memory(8 << 20)).unwrap().rows,
        vec![vec![Value::Blob(big.clone())]]
    );
    assert_eq!(db.query_with(one, &[], &opts().max_memory(3 << 20)).unwrap_err().code(), ErrorCode::TooLarge);
    // The default limits read the largest KV value.
    db.put(b"max", &vec![1u8; buffdb::MAX_VALUE_SIZE]).unwrap();
    let r = db.query("SELECT length(value), substr(value, -2) FROM kv WHERE key_text = 'max'", &[]).unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(buffdb::MAX_VALUE_SIZE as i64), Value::Blob(vec![1, 1])]]);
    let r = db.query("SELECT value FROM kv WHERE key = ?", &[Value::Blob(b"max".to_vec())]).unwrap();
    assert!(matches!(&r.rows[0][0], Value::Blob(v) if v.len() == buffdb::MAX_VALUE_SIZE));
    assert!(db.delete(b"max").unwrap());
    // The tight limits were for those calls only: the same pooled connection reads a
    // 1 MiB value for the engine and for a default query afterwards.
    assert_eq!(db.get(b"b").unwrap().unwrap(), big);
    assert_eq!(db.query(one, &[]).unwrap().rows, vec![vec![Value::Blob(big.clone())]]);
    assert_eq!(db.query(sql, &[]).unwrap().rows.len(), 32);

    // Unlimited is allowed; nonsense is not.
    let unlimited = QueryOptions { max_rows: usize::MAX, timeout: Duration::MAX, max_memory: usize::MAX, cancel: None };
    assert_eq!(db.query_with("SELECT count(*) FROM kv", &[], &unlimited).unwrap().rows.len(), 1);
    for bad in [opts().max_rows(0), opts().timeout(Duration::ZERO), opts().max_memory(1000)] {
        assert_eq!(db.query_with("SELECT 1", &[], &bad).unwrap_err().code(), ErrorCode::InvalidArgument);
    }
    let d = QueryOptions::default();
    assert_eq!((d.max_rows, d.timeout, d.max_memory), (1_000_000, Duration::from_secs(10), 512 << 20));
}

#[test]
fn engine_reads_are_unaffected_by_the_query_guard() {
    // Reader connections are pooled: the engine's own statements run on connections
    // that also ran guarded (and refused) queries.
    let (_d, _p, db) = seeded();
    for round in 0..50 {
        assert!(db.query("SELECT * FROM bdb_kv", &[]).is_err());
        assert!(db.query("PRAGMA query_only = 0", &[]).is_err());
        assert!(db
            .query_with(&format!("{ENDLESS} SELECT count(*) FROM c"), &[], &opts().timeout(Duration::from_millis(1)))
            .is_err());
        let cfg = db.query("SELECT count(*) FROM kv WHERE key_text LIKE 'cfg:%'", &[]).unwrap();
        assert_eq!(cfg.rows[0][0], Value::Integer(2));
        assert_eq!(db.get(b"raw").unwrap().as_deref(), Some(&[0xff, 0x00, 0x10][..]));
        assert_eq!(db.count(b"cfg:").unwrap(), 2);
        assert_eq!(db.stream_read("/q/doc").unwrap(), b"abcdef");
        assert_eq!(db.blob_get(1).unwrap().as_deref(), Some(&b"12345"[..]));
        assert_eq!(db.search("/q/", None, None).unwrap().count(), 1);
        db.put(format!("round:{round}").as_bytes(), b"x").unwrap();
    }
    assert_eq!(db.count(b"round:").unwrap(), 50);
}

#[test]
fn a_read_only_handle_is_guarded_the_same_way() {
    let (_d, path, db) = seeded();
    db.close().unwrap();
    let ro = Db::open(&path, buffdb::OpenOptions::default().read_only(true)).unwrap();
    let r = ro.query("SELECT json_extract(value_text, '$.level') FROM kv WHERE key_text = 'cfg:b'", &[]).unwrap();
    assert_eq!(r.rows, vec![vec![Value::Integer(7)]]);
    assert_eq!(ro.query("ATTACH ':memory:' AS m", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(ro.query("PRAGMA query_only = 0", &[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(ro.query("DELETE FROM kv", &[]).unwrap_err().code(), ErrorCode::ReadOnly);
    let e = ro
        .query_with(&format!("{ENDLESS} SELECT count(*) FROM c"), &[], &opts().timeout(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Interrupted);
    assert!(ro.get(b"cfg:a").unwrap().is_some());
}

// ---- query_each: the cursor form (rows handed over one at a time) ----

/// `n` rows of (i, a 100-byte text).
fn numbered(n: u64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         SELECT i, printf('%0100d', i) AS pad FROM n"
    )
}

#[test]
fn query_each_streams_more_rows_than_collecting_allows_in_flat_memory() {
    let _memory = memory_lock();
    let (_d, _p, db) = seeded();
    let rows = 1_200_000u64;
    // Collected, 1.2M rows of ~150 bytes exceed both the default row limit and 8 MiB.
    let tight = opts().max_rows(usize::MAX).max_memory(8 << 20).timeout(Duration::from_secs(300));
    assert_eq!(db.query(&numbered(rows), &[]).unwrap_err().code(), ErrorCode::TooLarge);
    let e = db.query_with(&numbered(rows), &[], &tight).unwrap_err();
    assert!(e.message().contains("memory limit"), "{e}");
    // Handed over one at a time, they pass under the same 8 MiB, in order.
    let mut seen = 0u64;
    let columns = db
        .query_each(&numbered(rows), &[], &tight, |columns, row| {
            seen += 1;
            assert_eq!(columns, ["i", "pad"]);
            assert_eq!(row[0], Value::Integer(seen as i64));
            assert!(matches!(&row[1], Value::Text(t) if t.len() == 100 && t.ends_with(&seen.to_string())));
            true
        })
        .unwrap();
    assert_eq!(seen, rows);
    assert_eq!(columns, ["i", "pad"]);
    assert_usable(&db);
}

#[test]
fn query_each_stops_early_and_reports_columns_without_rows() {
    let (_d, _p, db) = seeded();
    let mut seen = Vec::new();
    let columns = db
        .query_each(&numbered(1000), &[], &opts(), |_, row| {
            seen.push(row[0].clone());
            seen.len() < 3
        })
        .unwrap();
    assert_eq!(columns, ["i", "pad"]);
    assert_eq!(seen, [Value::Integer(1), Value::Integer(2), Value::Integer(3)]);
    let mut called = false;
    let columns = db
        .query_each("SELECT key, value FROM kv WHERE key_text = ?", &[Value::Text("none".into())], &opts(), |_, _| {
            called = true;
            true
        })
        .unwrap();
    assert_eq!((columns, called), (vec!["key".to_string(), "value".to_string()], false));
    assert_usable(&db);
}

#[test]
fn query_each_keeps_the_guard_and_the_limits() {
    let (_d, path, db) = seeded();
    let before = snapshot(&db, &path);
    let never = |_: &[String], _: Vec<Value>| -> bool { panic!("no row expected") };
    assert_eq!(
        db.query_each("SELECT * FROM bdb_kv", &[], &opts(), never).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(db.query_each("DELETE FROM kv", &[], &opts(), never).unwrap_err().code(), ErrorCode::ReadOnly);
    assert_eq!(
        db.query_each("ATTACH ':memory:' AS m", &[], &opts(), never).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(db.query_each("SELECT ?", &[], &opts(), never).unwrap_err().code(), ErrorCode::InvalidArgument);
    // The row limit applies unless lifted.
    let e = db.query_each(&numbered(100), &[], &opts().max_rows(10), |_, _| true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooLarge, "{e}");
    // The time limit counts the time the handler takes.
    let t = Instant::now();
    let e = db
        .query_each(&numbered(1000), &[], &opts().timeout(Duration::from_millis(200)), |_, _| {
            std::thread::sleep(Duration::from_millis(20));
            true
        })
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Interrupted, "{e}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // A token cancelled while rows flow (here by the handler) stops the walk.
    let token = CancelToken::new();
    let mut seen = 0;
    let e = db
        .query_each(&format!("{ENDLESS} SELECT x FROM c"), &[], &opts().cancel(token.clone()), |_, _| {
            seen += 1;
            if seen == 5 {
                token.cancel();
            }
            true
        })
        .unwrap_err();
    assert_eq!((e.code(), seen), (ErrorCode::Interrupted, 5), "{e}");
    // Cancelled from another thread while SQLite works without producing a row.
    let token = CancelToken::new();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            token.cancel();
        })
    };
    let e = db
        .query_each(
            &format!("{ENDLESS} SELECT x FROM c WHERE x < 0"),
            &[],
            &opts().timeout(Duration::from_secs(120)).cancel(token),
            never,
        )
        .unwrap_err();
    canceller.join().unwrap();
    assert!(e.message().contains("cancelled"), "{e}");
    assert_eq!(snapshot(&db, &path), before);
    assert_usable(&db);
}

#[test]
fn query_each_handlers_may_use_the_database() {
    // The handler runs outside the query: its own engine calls (reads, writes, a
    // nested query) are neither refused by the authorizer nor stopped by the limits.
    let (_d, _p, db) = seeded();
    let mut copied = 0;
    db.query_each("SELECT key, value FROM kv WHERE key_text LIKE 'cfg:%' ORDER BY key", &[], &opts(), |_, row| {
        let (Value::Blob(k), Value::Blob(v)) = (&row[0], &row[1]) else { panic!("{row:?}") };
        assert_eq!(db.get(k).unwrap().as_ref(), Some(v));
        db.put(&[b"copy:".as_slice(), k].concat(), v).unwrap();
        let nested = db.query("SELECT count(*) FROM kv WHERE key_text LIKE 'cfg:%'", &[]).unwrap();
        assert_eq!(nested.rows, vec![vec![Value::Integer(2)]]);
        copied += 1;
        true
    })
    .unwrap();
    assert_eq!((copied, db.count(b"copy:").unwrap()), (2, 2));

    // In a transaction: the walk sees the transaction's writes.
    let txn = db.begin().unwrap();
    txn.put(b"cfg:c", b"{}").unwrap();
    let mut keys = Vec::new();
    txn.query_each("SELECT key_text FROM kv WHERE key_text LIKE 'cfg:%' ORDER BY key", &[], &opts(), |_, row| {
        keys.push(row[0].clone());
        true
    })
    .unwrap();
    assert_eq!(keys, ["cfg:a", "cfg:b", "cfg:c"].map(|k| Value::Text(k.into())));
    txn.rollback().unwrap();
}
