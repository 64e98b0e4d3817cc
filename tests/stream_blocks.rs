//! Chunks in checksummed blocks (format 4): range reads and small reads read only the
//! blocks under them and return exactly the written bytes, with compression on and
//! off; damage in a block or its table entry is `CORRUPT` for every read that touches
//! that block (and `check`), never other bytes; reads that do not touch it are right.

mod common;
use std::io::{Read, Seek, SeekFrom};

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

const BLOCK: usize = 16 << 10;
const CHUNK: usize = 256 << 10;

/// Half compressible text, half random bytes, in runs that do not line up with blocks.
fn mixed(len: usize) -> Vec<u8> {
    let noise = pattern(len, 7);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let at = out.len();
        let run = 5_000 + at % 23_000;
        if (at / 7_000) % 2 == 0 {
            out.extend(format!("{{\"id\": {at}, \"name\": \"asset_{}\"}},\n", at % 977).bytes().cycle().take(run));
        } else {
            out.extend_from_slice(&noise[at..(at + run).min(len)]);
        }
    }
    out.truncate(len);
    out
}

fn opts(compression: bool) -> OpenOptions {
    OpenOptions::default().chunk_size(CHUNK).compression(compression)
}

/// Offsets around every block and chunk boundary of the document, and some others.
fn offsets(len: usize) -> Vec<usize> {
    let mut out = vec![0, 1, len.saturating_sub(1), len];
    for b in (0..len).step_by(BLOCK) {
        out.extend([b.saturating_sub(1), b, b + 1, b + BLOCK / 2]);
    }
    let mut x = 12345usize;
    for _ in 0..200 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.push((x >> 16) % len);
    }
    out.retain(|&o| o <= len);
    out
}

#[test]
fn ranges_and_small_reads_return_the_written_bytes() {
    for compression in [false, true] {
        let (_dir, path) = temp();
        let db = Db::open(&path, opts(compression)).unwrap();
        let data = mixed(3 * CHUNK + 5 * BLOCK + 123);
        db.stream_write("/doc", &data).unwrap();
        for &off in &offsets(data.len()) {
            for len in [1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 64 << 10, CHUNK + 7] {
                let want = &data[off..(off + len).min(data.len())];
                let got = db.stream_read_range("/doc", off as u64, len as u64).unwrap();
                assert!(got == want, "compression {compression}: range {off}+{len}");
            }
        }
        // A reader: small sequential reads, then seeks with reads of every size.
        let mut r = db.stream_open("/doc", None).unwrap();
        let mut all = Vec::new();
        let mut buf = vec![0u8; 1000];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert!(all == data, "compression {compression}: small sequential reads");
        for (i, &off) in offsets(data.len()).iter().enumerate() {
            let len = [3, BLOCK, 3 * BLOCK + 5, CHUNK][i % 4];
            r.seek(SeekFrom::Start(off as u64)).unwrap();
            let mut got = vec![0u8; len];
            let mut n = 0;
            while n < len {
                let k = r.read(&mut got[n..]).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            assert!(got[..n] == data[off..(off + len).min(data.len())], "compression {compression}: seek {off}");
        }
        assert_eq!(db.stream_read("/doc").unwrap(), data);
        assert!(db.check().unwrap().ok);
    }
}

/// The rowid, stored bytes and codec of chunk `seq` of the newest version of `/doc`.
fn chunk_row(path: &std::path::Path, seq: i64) -> (i64, Vec<u8>, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT k.id, k.data, k.codec FROM bdb_chunks k JOIN bdb_versions v ON v.content = k.content
         WHERE v.path = CAST('/doc' AS BLOB) AND k.seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

fn flip(path: &std::path::Path, rowid: i64, at: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut blob = conn.blob_open(rusqlite::MAIN_DB, "bdb_chunks", "data", rowid, false).unwrap();
    let mut b = [0u8; 1];
    blob.read_at_exact(&mut b, at).unwrap();
    blob.write_at(&[b[0] ^ 0x10], at).unwrap();
}

#[test]
fn a_damaged_block_is_corrupt_for_every_read_that_touches_it() {
    for compression in [false, true] {
        // damage in block 3's bytes, then in block 5's table entry (its CRC)
        for damage in ["bytes", "table"] {
            let (_dir, path) = temp();
            let data = mixed(2 * CHUNK);
            {
                let db = Db::open(&path, opts(compression)).unwrap();
                db.stream_write("/doc", &data).unwrap();
                db.close().unwrap();
            }
            let (rowid, stored, codec) = chunk_row(&path, 1);
            assert_eq!(codec, 2, "new chunks are in blocks");
            let entry = |i: usize| u32::from_le_bytes(stored[i * 8..i * 8 + 4].try_into().unwrap()) as usize;
            let blocks = CHUNK / BLOCK;
            let bad = if damage == "bytes" { 3 } else { 5 };
            let at = match damage {
                "bytes" => blocks * 8 + (0..bad).map(entry).sum::<usize>() + entry(bad) / 2,
                _ => bad * 8 + 5,
            };
            flip(&path, rowid, at);
            let db = Db::open(&path, opts(compression)).unwrap();
            let bad_at = CHUNK + bad * BLOCK;
            let case = format!("compression {compression}, damage in the {damage}");
            assert_eq!(code(db.stream_read("/doc")), ErrorCode::Corrupt, "{case}: whole read");
            for (off, len) in [(bad_at, 1), (bad_at + BLOCK - 1, 2), (bad_at - 10, 20), (CHUNK, CHUNK)] {
                assert_eq!(code(db.stream_read_range("/doc", off as u64, len as u64)), ErrorCode::Corrupt, "{case}: {off}");
            }
            for (off, len) in [(0, CHUNK), (bad_at - BLOCK, BLOCK), (bad_at + BLOCK, 3 * BLOCK)] {
                let got = db.stream_read_range("/doc", off as u64, len as u64).unwrap();
                assert!(got == data[off..off + len], "{case}: untouched range {off}");
            }
            let mut r = db.stream_open("/doc", None).unwrap();
            let mut buf = vec![0u8; 1000];
            let err = loop {
                match r.read_into(&mut buf) {
                    Ok(0) => panic!("{case}: a small-read pass ended without an error"),
                    Ok(_) => {}
                    Err(e) => break e,
                }
            };
            assert_eq!(err.code(), ErrorCode::Corrupt, "{case}: small reads");
            assert!(!db.check().unwrap().ok, "{case}: check");
        }
    }
}
