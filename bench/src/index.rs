//! `--index [N]`: secondary indexes on N JSON records (default 1,000,000): `find` and a
//! `find_range` of 1,000 rows against a full scan and against the same lookups written
//! by hand on rusqlite with an expression index, in the same run; then `put_many` with
//! 0, 1 and 3 indexes. Medians; ratios are within this run.

use std::time::Instant;

use buffdb::{Db, JsonValue, OpenOptions};
use rand::{Rng, SeedableRng};

fn record(i: usize) -> (String, String) {
    (format!("u:{i:08}"), format!(r#"{{"email":"user{i}@example.com","age":{},"score":{i}}}"#, i % 90))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median seconds of `f` over `reps` calls.
fn each(reps: usize, mut f: impl FnMut(usize)) -> f64 {
    median(
        (0..reps)
            .map(|i| {
                let t = Instant::now();
                f(i);
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

pub fn run(n: usize) {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()))
        .unwrap();
    let records: Vec<(String, String)> = (0..n).map(record).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);

    // BuffDB: the records, then a unique index on $.score.
    let db = Db::open(dir.path().join("idx.db"), OpenOptions::default()).unwrap();
    for batch in records.chunks(100_000) {
        db.put_many(batch).unwrap();
    }
    // Index builds, timed, with the peak anonymous memory above what the process held before.
    let built = |name: &str, path: &str, unique: bool| {
        let idle = crate::rss_anon_kib() as f64 / 1024.0;
        let peak = crate::PeakAnon::start();
        let t = Instant::now();
        db.create_index(name, "kv", path, unique, None).unwrap();
        (t.elapsed().as_secs_f64(), peak.stop() - idle)
    };
    let (build, build_mib) = built("by_score", "$.score", true);
    let (build_age, build_age_mib) = built("by_age", "$.age", false);

    // SQLite by hand: the same rows, an expression index, the same lookups.
    let conn = rusqlite::Connection::open(dir.path().join("sqlite.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE t(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    )
    .unwrap();
    for batch in records.chunks(100_000) {
        let tx = conn.unchecked_transaction().unwrap();
        let mut stmt = tx.prepare_cached("INSERT INTO t VALUES (?1, ?2)").unwrap();
        for (k, v) in batch {
            stmt.execute([k, v]).unwrap();
        }
        drop(stmt);
        tx.commit().unwrap();
    }
    let t = Instant::now();
    conn.execute_batch("CREATE UNIQUE INDEX t_score ON t(json_extract(value, '$.score'))").unwrap();
    let sqlite_build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    conn.execute_batch("CREATE INDEX t_age ON t(json_extract(value, '$.age'))").unwrap();
    let sqlite_build_age = t.elapsed().as_secs_f64();

    let probes: Vec<usize> = (0..20_000).map(|_| rng.random_range(0..n)).collect();
    let find = each(probes.len(), |i| {
        let hits: Vec<_> = db.find("by_score", &JsonValue::from(probes[i])).unwrap().collect();
        assert_eq!(hits.len(), 1);
    });
    let sqlite_find = each(probes.len(), |i| {
        let mut stmt = conn.prepare_cached("SELECT key FROM t WHERE json_extract(value, '$.score') = ?1").unwrap();
        let keys: Vec<String> = stmt.query_map([probes[i] as i64], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(keys.len(), 1);
    });
    let lows: Vec<usize> = (0..500).map(|_| rng.random_range(0..n - 1000)).collect();
    let range = each(lows.len(), |i| {
        let (lo, hi) = (JsonValue::from(lows[i]), JsonValue::from(lows[i] + 999));
        let hits = db.find_range("by_score", Some(&lo), Some(&hi), false, None, None).unwrap().count();
        assert_eq!(hits, 1000);
    });
    let sqlite_range = each(lows.len(), |i| {
        let mut stmt = conn
            .prepare_cached(
                "SELECT key FROM t WHERE json_extract(value, '$.score') BETWEEN ?1 AND ?2
                 ORDER BY json_extract(value, '$.score')",
            )
            .unwrap();
        let n = stmt.query_map([lows[i] as i64, lows[i] as i64 + 999], |r| r.get::<_, String>(0)).unwrap().count();
        assert_eq!(n, 1000);
    });
    let scan = each(3, |i| {
        let want = probes[i];
        let mut found = 0;
        db.scan_each(b"u:", None, None, |_, v| {
            let j: JsonValue = serde_json_from(v);
            if j["score"] == want {
                found += 1;
            }
            true
        })
        .unwrap();
        assert_eq!(found, 1);
    });
    db.close().unwrap();

    // put_many of fresh records with 0, 1 and 3 indexes, each on a new database, beside
    // SQLite with as many expression indexes (one INSERT a row, one transaction a batch);
    // the kinds take turns in each round, and each ratio is the median of the rounds'.
    let m = (n / 5).max(1000);
    let rounds = 5;
    let mut put: [Vec<[f64; 2]>; 3] = Default::default();
    for r in 0..rounds {
        for (j, k) in [0, 1, 3].into_iter().enumerate() {
            let defs = &PATHS[..k];
            let db = Db::open(dir.path().join(format!("put{k}_{r}.db")), OpenOptions::default()).unwrap();
            for (i, p) in defs.iter().enumerate() {
                db.create_index(&format!("i{i}"), "kv", p, false, None).unwrap();
            }
            let t = Instant::now();
            for batch in records[..m].chunks(10_000) {
                db.put_many(batch).unwrap();
            }
            let ours = t.elapsed().as_secs_f64();
            db.close().unwrap();
            let conn = rusqlite::Connection::open(dir.path().join(format!("sput{k}_{r}.db"))).unwrap();
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                 CREATE TABLE t(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
            )
            .unwrap();
            for (i, p) in defs.iter().enumerate() {
                conn.execute_batch(&format!("CREATE INDEX s{i} ON t(json_extract(value, '{p}'))")).unwrap();
            }
            let t = Instant::now();
            for batch in records[..m].chunks(10_000) {
                let tx = conn.unchecked_transaction().unwrap();
                let mut stmt = tx.prepare_cached("INSERT OR REPLACE INTO t VALUES (?1, ?2)").unwrap();
                for (k, v) in batch {
                    stmt.execute([k, v]).unwrap();
                }
                drop(stmt);
                tx.commit().unwrap();
            }
            put[j].push([ours, t.elapsed().as_secs_f64()]);
        }
    }
    let med = |j: usize, side: usize| median(put[j].iter().map(|t| t[side]).collect());
    // Per round: the time with k indexes over the time with none, for each engine.
    let ratio = |j: usize, side: usize| median((0..rounds).map(|r| put[j][r][side] / put[0][r][side]).collect());
    let us = |s: f64| s * 1e6;
    println!("indexes on {n} JSON records (medians; ratios within this run)");
    println!(
        "  build unique index ($.score) buffdb {build:>9.2} s  peak +{build_mib:.0} MiB anon   sqlite expr index {sqlite_build:>7.2} s"
    );
    println!(
        "  build index ($.age, 90 values) buffdb {build_age:>7.2} s  peak +{build_age_mib:.0} MiB anon   sqlite expr index {sqlite_build_age:>7.2} s"
    );
    println!(
        "  find (1 row)                buffdb {:>9.2} us    sqlite {:>9.2} us   ratio {:.2}x",
        us(find),
        us(sqlite_find),
        find / sqlite_find
    );
    println!(
        "  find_range (1,000 rows)     buffdb {:>9.1} us    sqlite {:>9.1} us   ratio {:.2}x",
        us(range),
        us(sqlite_range),
        range / sqlite_range
    );
    println!("  full scan + JSON filter     buffdb {:>9.1} ms    ({:.0}x the find)", scan * 1e3, scan / find);
    println!("  put_many of {m} fresh records in batches of 10,000, median of {rounds} rounds (ratio: to 0 indexes, same round):");
    for (j, k) in [0, 1, 3].into_iter().enumerate() {
        println!(
            "    {k} indexes   buffdb {:.3} s ({:.2}x)    sqlite {:.3} s ({:.2}x)",
            med(j, 0),
            ratio(j, 0),
            med(j, 1),
            ratio(j, 1)
        );
    }
}

/// Index definitions of the put_many rows: the first `k` of these.
const PATHS: [&str; 3] = ["$.score", "$.email", "$.age"];

/// Profiling aid: `--index-loop put_many|put K N` writes N fresh JSON records into a new
/// database with K indexes (put_many in batches of 10,000 as above, or one put each),
/// inside `index_writes`, so `valgrind --tool=callgrind --toggle-collect='*index_writes*'`
/// counts only the writes.
pub fn profile_loop(op: &str, k: usize, n: usize) {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().to_string_lossy().into()))
        .unwrap();
    let records: Vec<(String, String)> = (0..n).map(record).collect();
    let db = Db::open(dir.path().join("loop.db"), OpenOptions::default()).unwrap();
    for (i, p) in PATHS[..k].iter().enumerate() {
        db.create_index(&format!("i{i}"), "kv", p, false, None).unwrap();
    }
    let t = Instant::now();
    index_writes(&db, op, &records);
    println!("{op} with {k} indexes: {:.0} ns per record", t.elapsed().as_secs_f64() * 1e9 / n as f64);
    db.close().unwrap();
}

#[inline(never)]
fn index_writes(db: &Db, op: &str, records: &[(String, String)]) {
    match op {
        "put_many" => {
            for batch in records.chunks(10_000) {
                db.put_many(batch).unwrap();
            }
        }
        "put" => {
            for (k, v) in records {
                db.put(k.as_bytes(), v.as_bytes()).unwrap();
            }
        }
        _ => panic!("--index-loop put_many|put K N"),
    }
}

fn serde_json_from(v: &[u8]) -> JsonValue {
    serde_json::from_slice(v).unwrap()
}
