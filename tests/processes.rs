//! Two processes on one file: the read cache of one sees the other's commits.

mod common;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use buffdb::{Db, OpenOptions};

const CHILD_ENV: &str = "BUFFDB_WRITER_CHILD";
const ROUNDS: u64 = 400;

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
        if v == ROUNDS {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "stuck at {v}");
    }
    assert!(child.wait().unwrap().success());
    assert!(distinct > 1);
    // A cached value is never served after the other process changed it.
    assert_eq!(db.get(b"counter").unwrap().unwrap(), ROUNDS.to_string().as_bytes());
    assert_eq!(db.stream_read("/child/doc").unwrap(), vec![(ROUNDS % 256) as u8; 5000]);
}
