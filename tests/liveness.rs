//! Whether an unfinished stream write's owner is alive is decided by a kernel lock,
//! never by a PID: a process in another PID namespace (a container) keeps its
//! in-progress write when this one opens the file, and a killed writer's chunks
//! are collected.

mod common;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use buffdb::{Db, OpenOptions};

const CHILD_ENV: &str = "BUFFDB_LIVENESS_CHILD";
const SIZE: usize = 3 << 20;

fn opts() -> OpenOptions {
    OpenOptions::default().chunk_size(64 << 10)
}

/// The child: starts a stream write (its chunks committed, the version not yet),
/// says "writing", and commits when told "commit".
#[test]
fn liveness_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let db = Db::open(&path, opts()).unwrap();
    let mut w = db.stream_writer("/in-progress").unwrap();
    w.write(&common::pattern(SIZE, 7)).unwrap();
    println!("writing pid {}", std::process::id());
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    if line.trim() == "commit" {
        let info = w.commit().unwrap();
        println!("committed {}", info.size);
    }
}

/// Starts the child, in a new PID namespace when `namespace` (None when that is not
/// possible here), and waits until its write is under way.
fn start(path: &std::path::Path, namespace: bool) -> Option<(Child, BufReader<ChildStdout>, String)> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if namespace {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--kill-child"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let mut child = cmd
        .args(["--exact", "liveness_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.wait();
            return None; // unshare refused (no privilege for namespaces here)
        }
        if let Some(i) = line.find("writing") {
            return Some((child, out, line[i..].trim().to_string()));
        }
    }
}

fn chunks(db: &Db) -> u64 {
    db.stats().unwrap().chunk_count
}

fn another_process_keeps_its_write(namespace: bool) {
    let (_d, path) = common::temp();
    common::open(&path).close().unwrap();
    let Some((mut child, mut out, said)) = start(&path, namespace) else {
        eprintln!("SKIPPED: `unshare --pid --fork` is not available here; the PID-namespace case did not run");
        return;
    };
    if namespace {
        assert!(said.ends_with("pid 1"), "the child is not in its own PID namespace: {said}");
    }
    // Opening the file here runs the collection of abandoned writes: the child is alive.
    let db = Db::open(&path, opts()).unwrap();
    assert!(chunks(&db) >= (SIZE / (64 << 10)) as u64 - 4, "the live writer's chunks were collected");
    writeln!(child.stdin.as_mut().unwrap(), "commit").unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.trim().ends_with(&format!("committed {SIZE}")), "{line}");
    assert!(child.wait().unwrap().success());
    assert_eq!(db.stream_read("/in-progress").unwrap(), common::pattern(SIZE, 7));
    assert!(db.check().unwrap().ok);
}

fn a_killed_writer_is_collected(namespace: bool) {
    let (_d, path) = common::temp();
    common::open(&path).close().unwrap();
    let Some((mut child, _out, _)) = start(&path, namespace) else {
        eprintln!("SKIPPED: `unshare --pid --fork` is not available here; the PID-namespace case did not run");
        return;
    };
    child.kill().unwrap(); // with --kill-child the namespaced writer dies with unshare
    child.wait().unwrap();
    // The kernel dropped the dead writer's lock: its chunks go at the next open.
    let mut db = None;
    for _ in 0..100 {
        let d = Db::open(&path, opts()).unwrap();
        if chunks(&d) == 0 {
            db = Some(d);
            break;
        }
        d.close().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20)); // the child may take a moment to die
    }
    let db = db.expect("a killed writer's chunks were never collected");
    assert!(db.stream_read("/in-progress").is_err());
    assert!(db.check().unwrap().ok);
}

#[test]
fn a_writer_in_another_process_keeps_its_write() {
    if std::env::var(CHILD_ENV).is_err() {
        another_process_keeps_its_write(false);
    }
}

#[test]
fn a_writer_in_another_pid_namespace_keeps_its_write() {
    if std::env::var(CHILD_ENV).is_err() {
        another_process_keeps_its_write(true);
    }
}

#[test]
fn a_killed_writer_in_another_process_is_collected() {
    if std::env::var(CHILD_ENV).is_err() {
        a_killed_writer_is_collected(false);
    }
}

#[test]
fn a_killed_writer_in_another_pid_namespace_is_collected() {
    if std::env::var(CHILD_ENV).is_err() {
        a_killed_writer_is_collected(true);
    }
}
