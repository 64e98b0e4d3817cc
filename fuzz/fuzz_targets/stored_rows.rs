//! Stored rows: a real database file with bytes changed anywhere (SQLite pages, BuffDB's
//! records, chunk rows), then opened and read through the API and `check`. Every outcome
//! must be data or a documented error: no panic, no hang, no abort.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use buffdb::{Db, OpenOptions};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Damage {
    /// (offset, xor mask): offsets wrap around the file length.
    flips: Vec<(u32, u8)>,
    read_only: bool,
    verify_checksums: bool,
}

/// A small database with every kind of record (small and chunked streams, compressed
/// chunks, several versions, blobs, KV), as file bytes.
fn seed() -> &'static Vec<u8> {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("buffdb-fuzz-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seed.db");
        let opts = OpenOptions { page_size: 4096, chunk_size: 4096, ..OpenOptions::default() };
        let db = Db::open(&path, opts).unwrap();
        for i in 0..40u32 {
            db.put(format!("key/{i}").as_bytes(), format!("value {i}").repeat(3).as_bytes()).unwrap();
        }
        db.blob_put(&[1u8; 9000], Some("meta")).unwrap();
        db.blob_put(b"small", None).unwrap();
        db.stream_write("/a", &(0..20_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<_>>()).unwrap();
        db.stream_write("/a", b"v2").unwrap();
        let mut w = db.stream_writer_with("/z", Some(true)).unwrap();
        std::io::Write::write_all(&mut w, &vec![b'z'; 12_000]).unwrap();
        w.commit().unwrap();
        db.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    })
}

fuzz_target!(|d: Damage| {
    let mut bytes = seed().clone();
    let n = bytes.len();
    for (off, mask) in d.flips.iter().take(64) {
        bytes[*off as usize % n] ^= mask;
    }
    let dir = std::env::temp_dir().join(format!("buffdb-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("damaged.db");
    std::fs::write(&path, &bytes).unwrap();
    let opts = OpenOptions { read_only: d.read_only, verify_checksums: d.verify_checksums, ..OpenOptions::default() };
    // Every call may fail; none may panic (libFuzzer reports a panic as a crash).
    if let Ok(db) = Db::open(&path, opts) {
        if let Ok(it) = db.scan(b"", None, None) {
            for row in it.take(1000) {
                let _ = row;
            }
        }
        let _ = db.get(b"key/7");
        let _ = db.count(b"key/");
        if let Ok(ids) = db.blob_ids(None, Some(100)) {
            for id in ids {
                let _ = db.blob_get(id);
                let _ = db.blob_info(id);
            }
        }
        if let Ok(paths) = db.search("/", None, Some(100)) {
            for p in paths.take(100).flatten() {
                let _ = db.stream_read(&p);
                let _ = db.stream_read_range(&p, 100, 5000);
                if let Ok(vs) = db.stream_versions(&p) {
                    for v in vs {
                        if let Ok(mut r) = db.stream_open(&p, Some(v.version)) {
                            let _ = std::io::copy(&mut r, &mut std::io::sink());
                        }
                    }
                }
            }
        }
        let _ = db.query("SELECT count(*) FROM bdb_kv", &[]);
        let _ = db.check();
        let _ = db.put(b"after", b"write");
        let _ = db.stream_write("/a", b"v3");
        let _ = db.close();
    }
    let _ = std::fs::remove_dir_all(&dir);
});
