//! Running the `buffdb` binary as a user would, for every test file here.
#![allow(dead_code)] // each test file uses its own share

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `buffdb --store STORE ARGS`, with `stdin` fed to it when given.
pub fn buffdb(store: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buffdb"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        // A command refused before it reads its input (a write under --read-only)
        // has closed the pipe: what matters is its exit code.
        if let Err(e) = input.write_all(data) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// A command that must succeed: its standard output.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let out = buffdb(store, args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A command's exit code.
pub fn exit(store: &Path, args: &[&str]) -> i32 {
    buffdb(store, args, None).status.code().unwrap()
}
