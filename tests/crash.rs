//! Kill a writing process with SIGKILL: every acknowledged commit survives,
//! nothing half-written is visible, and the file passes the check (every index in
//! step with its records, also one killed mid-build).

mod common;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buffdb::{Db, Durability, ErrorCode, JsonValue, OpenOptions, Record};

const CHILD_ENV: &str = "BUFFDB_CRASH_CHILD";
/// Rounds of kill -9 (each a new child, killed at a random moment): a few by
/// default; `BUFFDB_CRASH_ROUNDS=300` for the long run.
const ROUNDS_ENV: &str = "BUFFDB_CRASH_ROUNDS";

fn opts() -> OpenOptions {
    common::keyed(OpenOptions::default().durability(Durability::Full).chunk_size(4096))
}

/// The child: writes forever, printing each acknowledged step.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Db::open(&path, opts()).unwrap();
    // The indexes (an interrupted build is finished by creating it again).
    let create = |name: &str, source: &str, json_path: &str, unique: bool, prefix: Option<&[u8]>| {
        match db.create_index(name, source, json_path, unique, prefix) {
            Err(e) if e.code() == ErrorCode::Conflict && e.message().contains("exists") => {}
            other => {
                other.unwrap();
            }
        }
    };
    create("by_i", "kv", "$.i", true, Some(b"j"));
    create("by_m", "kv", "$.m", false, None);
    create("stream_i", "stream", "$.i", true, Some(b"/crash/"));
    let start = db.count(b"a").unwrap();
    let mut out = std::io::stdout().lock();
    for i in start.. {
        // A transaction writing a pair that must appear together, and a JSON record
        // (indexed) that moves the previous one's value.
        db.transaction(|tx| {
            tx.put(format!("a{i:08}").as_bytes(), &i.to_le_bytes())?;
            tx.put(format!("b{i:08}").as_bytes(), &i.to_le_bytes())?;
            tx.put(format!("j{i:08}").as_bytes(), format!(r#"{{"i":{i},"m":{}}}"#, i % 7).as_bytes())?;
            if i > 0 {
                tx.put(format!("j{:08}", i - 1).as_bytes(), format!(r#"{{"i":{},"m":"moved"}}"#, i - 1).as_bytes())?;
            }
            Ok(())
        })
        .unwrap();
        if i % 10 == 5 {
            // Rebuilt now and then: a kill may land in the middle of a build.
            db.drop_index("by_m").unwrap();
            create("by_m", "kv", "$.m", false, None);
        }
        // A multi-chunk stream written through a writer (several commits inside).
        let mut w = db.stream_writer(&format!("/crash/{i:08}")).unwrap();
        w.set_metadata(Some(&format!(r#"{{"i":{i}}}"#))).unwrap();
        for _ in 0..5 {
            w.write(&[i as u8; 7000]).unwrap();
        }
        w.commit().unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_during_writes_loses_nothing_acknowledged() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (_d, path) = common::temp();
    let rounds: usize = std::env::var(ROUNDS_ENV).ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    eprintln!("crash rounds {rounds}, seed {seed}");
    let mut total_acked = 0;
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // (the first may follow libtest's "test crash_child ... " on its line)
                    if let Some(i) = line.find("ack ") {
                        lines.lock().unwrap().push(line[i + 4..].trim().parse().unwrap());
                    }
                }
            })
        };
        let start = Instant::now();
        // Kill at a random moment, once some writes are acknowledged.
        let want = 1 + (next() % 20) as usize;
        while lines.lock().unwrap().len() < want && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(next() % 30_000));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = lines.lock().unwrap().clone();
        assert!(!acked.is_empty(), "the child acknowledged nothing (round {round}, seed {seed})");
        total_acked += acked.len();

        let db = Db::open(&path, opts()).unwrap();
        let found = |name: &str, v: u64| -> Vec<Record> {
            db.find(name, &JsonValue::from(v)).unwrap().map(|e| e.unwrap().record).collect()
        };
        for &i in &acked {
            assert_eq!(db.get(format!("a{i:08}").as_bytes()).unwrap().unwrap(), i.to_le_bytes());
            assert_eq!(db.stream_read(&format!("/crash/{i:08}")).unwrap(), vec![i as u8; 35_000]);
            assert_eq!(found("by_i", i), [Record::Key(format!("j{i:08}").into_bytes())]);
            assert_eq!(found("stream_i", i), [Record::Path(format!("/crash/{i:08}"))]);
        }
        // Pairs are whole; streams are whole versions or absent.
        assert_eq!(db.count(b"a").unwrap(), db.count(b"b").unwrap());
        for p in db.search("/crash/", None, None).unwrap() {
            let p = p.unwrap();
            assert_eq!(db.stream_stat(&p).unwrap().size, 35_000);
        }
        let report = db.check().unwrap();
        assert!(report.ok, "{report:?}");
        // Chunks of the writer that was killed mid-stream were collected at open.
        let s = db.stats().unwrap();
        let mut expect_chunks = 0;
        for p in db.search("/crash/", None, None).unwrap() {
            expect_chunks += db.stream_versions(&p.unwrap()).unwrap().iter().map(|v| v.chunk_count).sum::<u64>();
        }
        assert_eq!(s.chunk_count, expect_chunks, "abandoned chunks left behind");
        db.close().unwrap();
    }
    eprintln!("crash: {rounds} rounds, {total_acked} acknowledged commits checked, none lost or torn");
}
