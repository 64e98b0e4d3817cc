//! Two processes on one file: the read cache of one sees the other's commits.

mod common;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buffdb::{Db, OpenOptions};

const CHILD_ENV: &str = "BUFFDB_WRITER_CHILD";
const ROUNDS: u64 = 400;
/// The child stops at this count until the reader has seen it, so the reader is sure
/// to see the counter move while the other process writes (not only its end).
const HALF: u64 = ROUNDS / 2;

fn half_file(path: &str) -> String {
    format!("{path}.seen-half")
}

/// The child: counts up one key, one commit at a time, with other writes between.
#[test]
fn writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    for i in 1..=ROUNDS {
        db.put(b"counter", i.to_string().as_bytes()).unwrap();
        if i % 50 == 0 {
            db.stream_write("/child/doc", &[i as u8; 5000]).unwrap();
        }
        if i == HALF {
            let start = Instant::now();
            while !std::path::Path::new(&half_file(&path)).exists() {
                assert!(start.elapsed() < Duration::from_secs(60), "the reader never saw {HALF}");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[test]
fn reads_follow_another_process_commits() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let (_d, path) = common::temp();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    db.put(b"counter", b"0").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer_child", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut last = 0u64;
    let mut distinct = 0;
    loop {
        let v: u64 = String::from_utf8(db.get(b"counter").unwrap().unwrap()).unwrap().parse().unwrap();
        assert!(v >= last, "a read went back from {last} to {v}");
        if v != last {
            distinct += 1;
        }
        last = v;
        if v == HALF {
            std::fs::write(half_file(&path.to_string_lossy()), b"").unwrap();
        }
        if v == ROUNDS {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "stuck at {v}");
    }
    assert!(child.wait().unwrap().success());
    assert!(distinct > 1, "the reader saw {distinct} values");
    // A cached value is never served after the other process changed it.
    assert_eq!(db.get(b"counter").unwrap().unwrap(), ROUNDS.to_string().as_bytes());
    assert_eq!(db.stream_read("/child/doc").unwrap(), vec![(ROUNDS % 256) as u8; 5000]);
}
