#![allow(dead_code)]
use buffdb::{Db, ErrorCode, OpenOptions};

pub fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    (dir, path)
}

pub fn open(path: &std::path::Path) -> Db {
    Db::open(path, OpenOptions::default()).unwrap()
}

pub fn code<T: std::fmt::Debug>(r: buffdb::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
