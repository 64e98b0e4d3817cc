//! Path streams: writers, readers, versions, big documents and corruption.

mod common;
use std::io::{Read, Seek, SeekFrom};

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

fn small_chunks(path: &std::path::Path) -> Db {
    Db::open(path, OpenOptions::default().chunk_size(4096)).unwrap()
}

#[test]
fn writer_is_invisible_until_commit_and_abort_keeps_previous() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    db.stream_write("/doc", b"v1").unwrap();
    let mut w = db.stream_writer("/doc").unwrap();
    for i in 0..50 {
        w.write(&pattern(1000, i)).unwrap();
    }
    assert_eq!(w.written(), 50_000);
    assert_eq!(db.stream_read("/doc").unwrap(), b"v1");
    assert_eq!(db.stream_versions("/doc").unwrap().len(), 1);
    // Other writers go on while a stream writer is open.
    db.put(b"k", b"v").unwrap();
    let info = w.commit().unwrap();
    assert_eq!(info.version, 2);
    assert_eq!(info.size, 50_000);
    let expect: Vec<u8> = (0..50).flat_map(|i| pattern(1000, i)).collect();
    assert_eq!(info.crc32, crc32fast::hash(&expect));
    assert_eq!(db.stream_read("/doc").unwrap(), expect);

    let mut w = db.stream_writer("/doc").unwrap();
    w.write(&[9u8; 20_000]).unwrap();
    w.abort().unwrap();
    let w2 = db.stream_writer("/new").unwrap();
    drop(w2); // dropping aborts too
    assert_eq!(db.stream_read("/doc").unwrap(), expect);
    assert!(!db.stream_exists("/new").unwrap());
    // Aborted chunks are gone: only the two versions' chunks remain.
    let chunks: u64 = db.stream_versions("/doc").unwrap().iter().map(|v| v.chunk_count).sum();
    assert_eq!(db.stats().unwrap().chunk_count, chunks);
}

#[test]
fn versions_to_keep_is_honoured_and_readers_never_mix_versions() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096).versions_to_keep(2)).unwrap();
    let v = |i: u32| pattern(20_000, i);
    db.stream_write("/a", &v(1)).unwrap();
    let mut old = db.stream_open("/a", None).unwrap();
    let mut head = vec![0u8; 100];
    old.read_exact(&mut head).unwrap();
    for i in 2..=5 {
        db.stream_write("/a", &v(i)).unwrap();
    }
    let versions: Vec<u64> = db.stream_versions("/a").unwrap().iter().map(|i| i.version).collect();
    assert_eq!(versions, [4, 5]);
    assert_eq!(code(db.stream_open("/a", Some(1))), ErrorCode::NotFound);
    // The reader opened on version 1 still reads version 1 whole.
    let mut rest = Vec::new();
    old.read_to_end(&mut rest).unwrap();
    head.extend(rest);
    assert_eq!(head, v(1));
    assert_eq!(old.info().unwrap().version, 1);
    drop(old);
    // Once the reader is gone, the next write collects version 1's chunks.
    db.stream_write("/b", b"x").unwrap();
    let chunks: u64 = db.stream_versions("/a").unwrap().iter().map(|v| v.chunk_count).sum::<u64>() + 1;
    assert_eq!(db.stats().unwrap().chunk_count, chunks);
    let mut v4 = Vec::new();
    db.stream_open("/a", Some(4)).unwrap().read_to_end(&mut v4).unwrap();
    assert_eq!(v4, v(4));
}

#[test]
fn reader_seek_tell_read_into_and_chunks() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let data = pattern(4096 * 3 + 100, 7);
    db.stream_write("/r", &data).unwrap();
    let mut r = db.stream_open("/r", None).unwrap();
    assert_eq!(r.size(), data.len() as u64);
    assert_eq!(r.chunk_count(), 4);
    assert_eq!(r.crc32(), crc32fast::hash(&data));
    let mut buf = [0u8; 10];
    assert_eq!(r.read_into(&mut buf).unwrap(), 10);
    assert_eq!(&buf, &data[..10]);
    assert_eq!(r.tell(), 10);
    r.seek(SeekFrom::Start(4090)).unwrap();
    let mut buf = [0u8; 12];
    assert_eq!(r.read_into(&mut buf).unwrap(), 12);
    assert_eq!(&buf, &data[4090..4102]);
    r.seek(SeekFrom::End(-5)).unwrap();
    assert_eq!(r.read_to_vec(100).unwrap(), &data[data.len() - 5..]);
    assert_eq!(r.read_into(&mut buf).unwrap(), 0);
    assert!(r.seek(SeekFrom::Current(-100_000)).is_err());
    r.seek_to(1 << 40).unwrap();
    assert_eq!(r.read_into(&mut buf).unwrap(), 0);
    let mut at = [0u8; 4];
    assert_eq!(r.read_at(8192, &mut at).unwrap(), 4);
    assert_eq!(&at, &data[8192..8196]);
    r.seek_to(100).unwrap();
    let mut joined = data[..100].to_vec();
    let mut pieces = 0;
    while let Some(chunk) = r.next_chunk().unwrap() {
        joined.extend_from_slice(chunk);
        pieces += 1;
    }
    assert_eq!(pieces, 4);
    assert_eq!(joined, data);
    r.close();
    assert_eq!(code(r.read_into(&mut buf)), ErrorCode::Closed);
}

#[test]
fn compression_keeps_incompressible_chunks_raw() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096).compression(true)).unwrap();
    let text = b"the quick brown fox ".repeat(1000);
    let noise = pattern(20_000, 5);
    let t = db.stream_write("/text", &text).unwrap();
    let n = db.stream_write("/noise", &noise).unwrap();
    assert!(t.stored_size < t.size / 4, "{t:?}");
    // Stored: the bytes plus each chunk's block table (8 bytes a block of 16 KiB).
    let table = |i: &buffdb::StreamInfo| 8 * i.size.div_ceil(4096);
    assert_eq!(n.stored_size, n.size + table(&n), "incompressible data stays raw: {n:?}");
    assert_eq!(db.stream_read("/text").unwrap(), text);
    assert_eq!(db.stream_read("/noise").unwrap(), noise);
    // Per-write override.
    let mut w = db.stream_writer_with("/plain", Some(false)).unwrap();
    w.write(&text).unwrap();
    let p = w.commit().unwrap();
    assert_eq!(p.stored_size, p.size + table(&p));
}

/// Flips bytes in the middle of the first stored chunk (past its block table) through
/// a plain SQLite connection.
fn damage(path: &std::path::Path) {
    let conn = rusqlite_conn(path);
    let (id, data): (i64, Vec<u8>) = conn
        .query_row("SELECT id, data FROM bdb_chunks ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let mut data = data;
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    data[mid + 1] ^= 0x55;
    conn.execute("UPDATE bdb_chunks SET data = ?2 WHERE id = ?1", rusqlite::params![id, data]).unwrap();
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn corruption_is_reported_and_quick_mode_skips_it() {
    let (_d, path) = temp();
    let data = pattern(10_000, 9);
    {
        let db = small_chunks(&path);
        db.stream_write("/assets/hero.png", &data).unwrap();
        db.stream_write("/assets/ok.png", &data).unwrap();
        db.close().unwrap();
    }
    damage(&path);
    let db = small_chunks(&path);
    let e = db.stream_read("/assets/hero.png").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Corrupt);
    assert!(e.message().contains("/assets/hero.png"), "{e}");
    let mut r = db.stream_open("/assets/hero.png", None).unwrap();
    let mut buf = vec![0u8; 10_000];
    assert_eq!(code(r.read_into(&mut buf)), ErrorCode::Corrupt);
    assert_eq!(db.stream_read("/assets/ok.png").unwrap(), data);
    let report = db.check().unwrap();
    assert!(!report.ok);
    assert_eq!(report.damaged_streams, ["/assets/hero.png"]);
    assert!(report.problems[0].contains("checksum mismatch"), "{report:?}");
    db.close().unwrap();

    let quick = Db::open(&path, OpenOptions::default().chunk_size(4096).verify_checksums(false)).unwrap();
    let got = quick.stream_read("/assets/hero.png").unwrap();
    assert_eq!(got.len(), data.len());
    assert_ne!(got, data);
}

#[test]
fn a_compressed_chunk_that_fails_to_decompress_is_corrupt() {
    let (_d, path) = temp();
    {
        let db = Db::open(&path, OpenOptions::default().chunk_size(4096).compression(true)).unwrap();
        db.stream_write("/t", &b"abcabcabc".repeat(2000)).unwrap();
        let id = db.blob_put(&b"xyz".repeat(3000), Some("b")).unwrap();
        assert_eq!(id, 1);
        db.close().unwrap();
    }
    damage(&path);
    let conn = rusqlite_conn(&path);
    conn.execute(
        "UPDATE bdb_chunks SET data = x'ffffffff' WHERE content = (SELECT content FROM bdb_blobs WHERE id = 1)",
        [],
    )
    .unwrap();
    drop(conn);
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096)).unwrap();
    assert_eq!(code(db.stream_read("/t")), ErrorCode::Corrupt);
    assert_eq!(code(db.blob_get(1)), ErrorCode::Corrupt);
    let report = db.check().unwrap();
    assert_eq!(report.damaged_blobs, [1]);
    assert_eq!(report.damaged_streams.len(), 1);
}

/// A 300 MiB stream written from a reader and read back in pieces: memory use does
/// not grow with the size (the source is generated, the reader reuses one buffer).
#[test]
fn stream_of_300_mib_round_trips() {
    struct Gen {
        left: u64,
        x: u64,
        crc: crc32fast::Hasher,
    }
    impl Read for Gen {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(self.left) as usize;
            for b in buf[..n].chunks_mut(8) {
                self.x = self.x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let bytes = self.x.to_le_bytes();
                b.copy_from_slice(&bytes[..b.len()]);
            }
            self.crc.update(&buf[..n]);
            self.left -= n as u64;
            Ok(n)
        }
    }
    let (_d, path) = temp();
    let db = open(&path);
    let size = 300u64 << 20;
    let mut gen = Gen { left: size, x: 1, crc: crc32fast::Hasher::new() };
    let info = db.stream_write_from("/big/model.bin", &mut gen).unwrap();
    let want = gen.crc.finalize();
    assert_eq!(info.size, size);
    assert_eq!(info.crc32, want);
    assert_eq!(info.chunk_count, 300);
    let mut r = db.stream_open("/big/model.bin", None).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut crc = crc32fast::Hasher::new();
    let mut total = 0u64;
    loop {
        let n = r.read_into(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, size);
    assert_eq!(crc.finalize(), want);
    let mut check = Gen { left: size, x: 1, crc: crc32fast::Hasher::new() };
    let mut expect = vec![0u8; 4096];
    let mut skip = vec![0u8; (200 << 20) - 4096];
    check.read_exact(&mut skip).unwrap();
    check.read_exact(&mut expect).unwrap();
    assert_eq!(db.stream_read_range("/big/model.bin", (200 << 20) - 4096, 4096).unwrap(), expect);
}

#[test]
fn blobs_of_any_size_and_ids_never_reused() {
    let (_d, path) = temp();
    let db = small_chunks(&path);
    let big = pattern(100_000, 4);
    let a = db.blob_put(&big, Some("big")).unwrap();
    let b = db.blob_put(b"small", None).unwrap();
    assert_eq!((a, b), (1, 2));
    assert!(db.blob_delete(b).unwrap());
    let c = db.blob_put(b"next", None).unwrap();
    assert_eq!(c, 3, "the id of a deleted blob is not reused");
    db.close().unwrap();
    let db = small_chunks(&path);
    assert!(db.blob_delete(c).unwrap());
    assert_eq!(db.blob_put(b"after reopen", None).unwrap(), 4);
    let mut r = db.blob_open(a).unwrap();
    let mut got = Vec::new();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, big);
    let info = db.blob_info(a).unwrap().unwrap();
    assert_eq!((info.size, info.chunk_count, info.crc32), (100_000, 25, crc32fast::hash(&big)));
    let id = db.blob_put_from(&big[..], None).unwrap();
    assert_eq!(db.blob_get(id).unwrap().unwrap(), big);
    assert_eq!(db.blob_ids(None, None).unwrap(), [1, 4, 5]);
    assert_eq!(db.blob_ids(Some(1), Some(1)).unwrap(), [4]);
    assert_eq!(code(db.blob_open(99)), ErrorCode::NotFound);
    assert_eq!(code(db.blob_get(u64::MAX)), ErrorCode::InvalidArgument);
}

/// A write that fails (here BUSY: a transaction holds the write lock) keeps nothing
/// of its call, so the caller can write the same bytes again: the document has no
/// gap and no lost bytes from before the failure.
#[test]
fn a_writer_goes_on_after_a_failed_write() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default().chunk_size(4096).busy_timeout_ms(50)).unwrap();
    let mut w = db.stream_writer("/doc").unwrap();
    let (a, b, c) = (pattern(1000, 1), pattern(20_000, 2), pattern(3000, 3));
    w.write(&a).unwrap(); // held back: less than a batch
    let txn = db.begin().unwrap();
    let err = w.write(&b).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Busy, "{err}");
    assert_eq!(w.written(), a.len() as u64);
    txn.rollback().unwrap();
    w.write(&b).unwrap();
    w.write(&c).unwrap();
    let info = w.commit().unwrap();
    let expect: Vec<u8> = [a, b, c].concat();
    assert_eq!((info.size, info.crc32), (expect.len() as u64, crc32fast::hash(&expect)));
    assert_eq!(db.stream_read("/doc").unwrap(), expect);
    assert!(db.check().unwrap().ok);
}
