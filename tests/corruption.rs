//! Corruption: a flipped bit anywhere in the file is harmless, or reported as
//! `CORRUPT` by the read that touches it or by `check`; never other bytes with OK,
//! never a panic. Plus impossible stored values, CONFLICT against damage, the
//! format 1 migration and stream version numbers that never repeat.
//!
//! The suite flips 12 offsets of every page by default (about 6 s); with
//! `BUFFDB_CORRUPTION_FULL=1` it flips a bit of, and inverts, every 37th byte of every page
//! (a few minutes).

mod common;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Read;
use std::path::Path;

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

const PAGE: usize = 4096;

fn options() -> OpenOptions {
    keyed(OpenOptions::default().page_size(PAGE as u32).chunk_size(4096).versions_to_keep(2).compression(true))
}

/// Compressible text.
fn text(len: usize, seed: u32) -> Vec<u8> {
    let words = ["alpha ", "beta ", "gamma ", "delta ", "epsilon "];
    let mut out = Vec::with_capacity(len);
    let mut i = seed as usize;
    while out.len() < len {
        out.extend_from_slice(words[i % words.len()].as_bytes());
        i = (i * 7 + 3) % 1009;
    }
    out.truncate(len);
    out
}

/// What was written: what every read must give back.
#[derive(Default)]
struct Model {
    kv: BTreeMap<Vec<u8>, Vec<u8>>,
    blobs: BTreeMap<u64, (Vec<u8>, Option<String>)>,
    /// Kept versions, oldest first.
    streams: BTreeMap<String, Vec<(u64, Vec<u8>)>>,
}

/// KV, blobs and streams: raw and compressed chunks, several versions, a deleted
/// and re-created path, an updated and a deleted blob, an empty stream.
fn build(path: &Path) -> Model {
    let db = Db::open(path, options()).unwrap();
    let mut m = Model::default();
    let sizes = [0usize, 7, 100, 700, 5000];
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..60u32).map(|i| (format!("key:{i:03}").into_bytes(), pattern(sizes[i as usize % 5], i))).collect();
    db.put_many(&pairs[..30]).unwrap();
    for (k, v) in &pairs[30..] {
        db.put(k, v).unwrap();
    }
    m.kv.extend(pairs);

    let mut blob = |data: Vec<u8>, meta: Option<&str>| {
        let id = db.blob_put(&data, meta).unwrap();
        m.blobs.insert(id, (data, meta.map(str::to_string)));
        id
    };
    blob(pattern(10_000, 1), Some("random")); // raw chunks: random bytes do not compress
    blob(text(9000, 2), None); // snappy chunks
    let updated = blob(b"small".to_vec(), Some("meta"));
    let deleted = blob(pattern(3000, 4), None);
    db.blob_update(updated, Some(&pattern(5000, 3)), Some(Some("updated"))).unwrap();
    m.blobs.insert(updated, (pattern(5000, 3), Some("updated".into())));
    db.blob_delete(deleted).unwrap();
    m.blobs.remove(&deleted);

    let stream = |m: &mut Model, path: &str, data: Vec<u8>, compress: bool| {
        let mut w = db.stream_writer_with(path, Some(compress)).unwrap();
        w.write(&data).unwrap();
        let info = w.commit().unwrap();
        let kept = m.streams.entry(path.to_string()).or_default();
        kept.push((info.version, data));
        if kept.len() > 2 {
            kept.remove(0);
        }
    };
    for i in 0..3 {
        stream(&mut m, "/s/raw", pattern(12_000, 10 + i), false);
    }
    for i in 0..2 {
        stream(&mut m, "/s/packed", text(11_000, 20 + i), true);
    }
    let mut mixed = text(6000, 30);
    mixed.extend(pattern(6000, 31));
    stream(&mut m, "/s/mixed", mixed, true);
    stream(&mut m, "/s/gone", pattern(2000, 40), false);
    db.stream_delete("/s/gone").unwrap();
    m.streams.remove("/s/gone");
    stream(&mut m, "/s/gone", pattern(2500, 41), true);
    stream(&mut m, "/s/empty", Vec::new(), false);
    assert_eq!(m.streams["/s/gone"][0].0, 2, "a re-created path continues its version numbers");
    assert!(db.check().unwrap().ok);
    db.close().unwrap();
    m
}

/// What the reads of one damaged copy saw.
#[derive(Default)]
struct Seen {
    corrupt: Vec<String>,
    /// Errors other than CORRUPT: findings.
    other: Vec<String>,
    /// OK with other bytes than written: never allowed.
    wrong: Vec<String>,
    /// OK without something that was written (a lost row looks like this): allowed
    /// only when `check` reports the damage.
    missing: Vec<String>,
}

impl Seen {
    /// Judges one read. `lost` tells whether an OK result only lacks things (a
    /// missing row) rather than holding other bytes.
    fn judge<T: PartialEq + Debug>(
        &mut self,
        what: &str,
        got: buffdb::Result<T>,
        want: &T,
        lost: impl FnOnce(&T, &T) -> bool,
    ) {
        match got {
            Ok(v) if v == *want => {}
            Ok(v) if lost(&v, want) => self.missing.push(what.to_string()),
            Ok(v) => self.wrong.push(format!("{what}: {}", short(&v))),
            Err(e) if e.code() == ErrorCode::Corrupt => self.corrupt.push(format!("{what}: {e}")),
            Err(e) if e.code() == ErrorCode::NotFound => self.missing.push(format!("{what}: {e}")),
            Err(e) => self.other.push(format!("{what}: {e}")),
        }
    }
}

fn short<T: Debug>(v: &T) -> String {
    let s = format!("{v:?}");
    s.chars().take(200).collect()
}

fn never<T>(_: &T, _: &T) -> bool {
    false
}

fn none_is_lost<T>(got: &Option<T>, _: &Option<T>) -> bool {
    got.is_none()
}

/// A listing that lacks entries but holds nothing else.
#[allow(clippy::ptr_arg)] // passed where `judge` wants `FnOnce(&T, &T)` with `T = Vec<_>`
fn subset<T: PartialEq>(got: &Vec<T>, want: &Vec<T>) -> bool {
    got.len() < want.len() && got.iter().all(|g| want.contains(g))
}

fn read_to_end(db: &Db, path: Option<&str>, version: Option<u64>, blob: Option<u64>) -> buffdb::Result<Vec<u8>> {
    let mut r = match (path, blob) {
        (Some(p), _) => db.stream_open(p, version)?,
        (_, Some(id)) => db.blob_open(id)?,
        _ => unreachable!(),
    };
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

/// Reads everything back through the API.
fn read_all(db: &Db, m: &Model, seen: &mut Seen) {
    for (k, v) in &m.kv {
        let name = String::from_utf8_lossy(k);
        seen.judge(&format!("get {name}"), db.get(k), &Some(v.clone()), none_is_lost);
        seen.judge(&format!("contains {name}"), db.contains(k), &true, |g, _| !g);
    }
    let keys: Vec<Vec<u8>> = m.kv.keys().cloned().collect();
    let values: Vec<Option<Vec<u8>>> = m.kv.values().cloned().map(Some).collect();
    seen.judge("get_many", db.get_many(&keys), &values, |g, w| g.iter().zip(w).all(|(g, w)| g.is_none() || g == w));
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = m.kv.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    seen.judge("scan", db.scan(b"", None, None).and_then(|it| it.collect::<buffdb::Result<Vec<_>>>()), &pairs, subset);
    seen.judge("keys", db.keys(b"", None, None).and_then(|it| it.collect::<buffdb::Result<Vec<_>>>()), &keys, subset);
    seen.judge("count", db.count(b""), &(keys.len() as u64), |g, w| g < w);
    let mut each = Vec::new();
    let walked = db.scan_each(b"key:02", None, None, |k, v| {
        each.push((k.to_vec(), v.to_vec()));
        true
    });
    let want: Vec<_> = pairs.iter().filter(|(k, _)| k.starts_with(b"key:02")).cloned().collect();
    seen.judge("scan_each", walked.map(|_| each), &want, subset);

    let ids: Vec<u64> = m.blobs.keys().copied().collect();
    seen.judge("blob_ids", db.blob_ids(None, None), &ids, subset);
    for (&id, (data, meta)) in &m.blobs {
        seen.judge(&format!("blob_get {id}"), db.blob_get(id), &Some(data.clone()), none_is_lost);
        seen.judge(&format!("blob_metadata {id}"), db.blob_metadata(id), &meta.clone(), never);
        let info = db.blob_info(id).map(|i| i.map(|i| (i.size, i.crc32, i.metadata)));
        let want = Some((data.len() as u64, crc32fast::hash(data), meta.clone()));
        seen.judge(&format!("blob_info {id}"), info, &want, none_is_lost);
        seen.judge(&format!("blob_open {id}"), read_to_end(db, None, None, Some(id)), data, never);
    }

    let paths: Vec<String> = m.streams.keys().cloned().collect();
    seen.judge(
        "search",
        db.search("/", None, None).and_then(|it| it.collect::<buffdb::Result<Vec<_>>>()),
        &paths,
        subset,
    );
    seen.judge("search_count", db.search_count("/"), &(paths.len() as u64), |g, w| g < w);
    for (path, kept) in &m.streams {
        let (latest, data) = kept.last().unwrap();
        seen.judge(&format!("stream_exists {path}"), db.stream_exists(path), &true, |g, _| !g);
        seen.judge(&format!("stream_read {path}"), db.stream_read(path), data, never);
        let stat = db.stream_stat(path).map(|i| (i.version, i.size, i.crc32));
        seen.judge(&format!("stream_stat {path}"), stat, &(*latest, data.len() as u64, crc32fast::hash(data)), never);
        let versions = db.stream_versions(path).map(|v| v.iter().map(|i| (i.version, i.size, i.crc32)).collect());
        let want: Vec<_> = kept.iter().map(|(v, d)| (*v, d.len() as u64, crc32fast::hash(d))).collect();
        seen.judge(&format!("stream_versions {path}"), versions, &want, subset);
        for (v, d) in kept {
            seen.judge(&format!("stream_open {path} v{v}"), read_to_end(db, Some(path), Some(*v), None), d, never);
        }
        let range = data.get(1000..4000.min(data.len())).unwrap_or_default().to_vec();
        seen.judge(&format!("stream_read_range {path}"), db.stream_read_range(path, 1000, 3000), &range, never);
    }
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    harmless: usize,
    detected_on_read: usize,
    detected_by_check: usize,
    silent: Vec<String>,
    wrong: Vec<String>,
    other_errors: Vec<String>,
    panics: Vec<String>,
}

/// Opens a damaged copy, reads everything, runs check; returns what happened.
fn run_case(path: &Path, m: &Model) -> (Seen, Option<bool>) {
    let mut seen = Seen::default();
    let db = match Db::open(path, options()) {
        Ok(db) => db,
        Err(e) if matches!(e.code(), ErrorCode::Corrupt | ErrorCode::NotADatabase) => {
            seen.corrupt.push(format!("open: {e}"));
            return (seen, None);
        }
        Err(e) => {
            seen.other.push(format!("open: {e}"));
            return (seen, None);
        }
    };
    read_all(&db, m, &mut seen);
    let check_found = match db.check() {
        Ok(r) => !r.ok,
        Err(e) if e.code() == ErrorCode::Corrupt => true,
        Err(e) => {
            seen.other.push(format!("check: {e}"));
            false
        }
    };
    let _ = db.close();
    (seen, Some(check_found))
}

fn flip_and_run(dir: &Path, original: &[u8], offset: usize, mask: u8, m: &Model, tally: &mut Tally) {
    let path = dir.join("damaged.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("damaged.db{ext}")));
    }
    let mut bytes = original.to_vec();
    bytes[offset] ^= mask;
    std::fs::write(&path, &bytes).unwrap();
    let at = format!("page {} offset {} xor {mask:#04x}", offset / PAGE + 1, offset % PAGE);
    tally.cases += 1;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(&path, m)));
    let (seen, check_found) = match outcome {
        Ok(o) => o,
        Err(_) => {
            tally.panics.push(at);
            return;
        }
    };
    let check_found = check_found.unwrap_or(false);
    for w in &seen.wrong {
        tally.wrong.push(format!("{at}: {w}"));
    }
    for o in &seen.other {
        tally.other_errors.push(format!("{at}: {o}"));
    }
    if !seen.corrupt.is_empty() {
        tally.detected_on_read += 1;
    } else if check_found {
        tally.detected_by_check += 1;
    } else if seen.missing.is_empty() && seen.other.is_empty() && seen.wrong.is_empty() {
        tally.harmless += 1;
    } else {
        tally.silent.push(format!("{at}: {:?}", seen.missing));
    }
}

#[test]
fn every_flipped_bit_is_harmless_or_reported() {
    let (dir, path) = temp();
    let m = build(&path);
    let original = std::fs::read(&path).unwrap();
    assert!(
        !dir.path().join("test.db-wal").exists()
            || std::fs::metadata(dir.path().join("test.db-wal")).unwrap().len() == 0
    );
    assert_eq!(original.len() % PAGE, 0);
    let pages = original.len() / PAGE;
    let full = std::env::var("BUFFDB_CORRUPTION_FULL").is_ok_and(|v| v == "1");
    // The page header (3: cell count), near the start (cell pointers, the file header
    // on page 1), then spread to the end: about 6 s in a debug build by default.
    let offsets: Vec<usize> = if full {
        (0..PAGE).step_by(37).collect()
    } else {
        [3, 40].into_iter().chain((1..=10).map(|i| i * (PAGE - 8) / 10 + i % 7)).collect()
    };
    let mut tally = Tally::default();
    let started = std::time::Instant::now();
    for page in 0..pages {
        for (i, &off) in offsets.iter().enumerate() {
            // One bit, a different one each time; the full run also inverts the byte.
            let bit = 1u8 << ((page + i) % 8);
            let masks: &[u8] = if full { &[bit, 0xff] } else { &[bit] };
            for &mask in masks {
                flip_and_run(dir.path(), &original, page * PAGE + off, mask, &m, &mut tally);
            }
        }
    }
    println!(
        "corruption suite: {pages} pages of {PAGE} bytes, {} flips in {:.1?}: harmless {}, detected on read {}, \
         detected by check {}, silent {}, wrong bytes with OK {}, other errors {}, panics {}",
        tally.cases,
        started.elapsed(),
        tally.harmless,
        tally.detected_on_read,
        tally.detected_by_check,
        tally.silent.len(),
        tally.wrong.len(),
        tally.other_errors.len(),
        tally.panics.len()
    );
    for line in tally.wrong.iter().chain(&tally.silent).chain(&tally.other_errors).chain(&tally.panics).take(40) {
        println!("  {line}");
    }
    assert!(tally.wrong.is_empty(), "reads returned other bytes with OK: {:#?}", tally.wrong);
    assert!(tally.panics.is_empty(), "panics: {:#?}", tally.panics);
    assert!(tally.silent.is_empty(), "damage neither read as CORRUPT nor found by check: {:#?}", tally.silent);
    assert!(tally.other_errors.is_empty(), "damage reported with another code than CORRUPT: {:#?}", tally.other_errors);
    assert_eq!(tally.harmless + tally.detected_on_read + tally.detected_by_check, tally.cases);
}

/// A value in a record checksum, as the format defines it (see `schema::RowCrc`):
/// a type tag, then the value (integers as 8 bytes little-endian, bytes with their
/// length first). Written out here so the test pins the on-disk format.
enum V<'a> {
    I(i64),
    B(&'a [u8]),
}

fn row_crc(values: &[V<'_>]) -> i64 {
    let mut h = crc32fast::Hasher::new();
    for v in values {
        match v {
            V::I(i) => {
                h.update(&[1]);
                h.update(&i.to_le_bytes());
            }
            V::B(b) => {
                h.update(&[2]);
                h.update(&(b.len() as u64).to_le_bytes());
                h.update(b);
            }
        }
    }
    h.finalize() as i64
}

fn sql(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// Rewrites content `id`'s header with `f` applied to (size, crc32, chunk_size,
/// chunk_count, stored_size), with a matching record checksum: only the values
/// are impossible.
fn craft_content(path: &Path, id: i64, f: impl FnOnce(&mut [i64; 5])) {
    let conn = sql(path);
    let mut v: [i64; 5] = conn
        .query_row(
            "SELECT size, crc32, chunk_size, chunk_count, stored_size FROM bdb_contents WHERE id = ?1",
            [id],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
        )
        .unwrap();
    f(&mut v);
    let crc = row_crc(&[V::I(id), V::I(v[0]), V::I(v[1]), V::I(v[2]), V::I(v[3]), V::I(v[4]), V::I(0)]);
    conn.execute(
        "UPDATE bdb_contents SET size = ?2, crc32 = ?3, chunk_size = ?4, chunk_count = ?5, stored_size = ?6, row_crc = ?7
         WHERE id = ?1",
        rusqlite::params![id, v[0], v[1], v[2], v[3], v[4], crc],
    )
    .unwrap();
}

/// Rewrites chunk `seq` of content `id` with `f` applied to (raw_len, crc32, codec),
/// with a matching record checksum.
fn craft_chunk(path: &Path, id: i64, seq: i64, f: impl FnOnce(&mut [i64; 3])) {
    let conn = sql(path);
    let (mut v, len): ([i64; 3], i64) = conn
        .query_row(
            "SELECT raw_len, crc32, codec, length(data) FROM bdb_chunks WHERE content = ?1 AND seq = ?2",
            [id, seq],
            |r| Ok(([r.get(0)?, r.get(1)?, r.get(2)?], r.get(3)?)),
        )
        .unwrap();
    f(&mut v);
    let crc = row_crc(&[V::I(id), V::I(seq), V::I(v[0]), V::I(v[1]), V::I(v[2]), V::I(len)]);
    conn.execute(
        "UPDATE bdb_chunks SET raw_len = ?3, crc32 = ?4, codec = ?5, row_crc = ?6 WHERE content = ?1 AND seq = ?2",
        rusqlite::params![id, seq, v[0], v[1], v[2], crc],
    )
    .unwrap();
}

fn stream_content(path: &Path, stream: &str) -> i64 {
    sql(path)
        .query_row(
            "SELECT content FROM bdb_versions WHERE path = ?1 ORDER BY version DESC LIMIT 1",
            [stream.as_bytes()],
            |r| r.get(0),
        )
        .unwrap()
}

/// Every way to read the stream gives CORRUPT (and no panic), and check finds it.
fn assert_stream_corrupt(path: &Path, stream: &str, case: &str) {
    let db = Db::open(path, OpenOptions::default()).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(code(db.stream_read(stream)), ErrorCode::Corrupt, "{case}: stream_read");
        assert_eq!(code(read_to_end(&db, Some(stream), None, None)), ErrorCode::Corrupt, "{case}: reader");
        assert_eq!(code(db.stream_read_range(stream, 4096, 10)), ErrorCode::Corrupt, "{case}: range");
        assert!(!db.check().unwrap().ok, "{case}: check");
    }));
    assert!(outcome.is_ok(), "{case}: panicked");
}

#[test]
fn impossible_stored_values_are_corrupt_never_a_panic() {
    let (dir, path) = temp();
    {
        let db = Db::open(&path, OpenOptions::default().chunk_size(4096)).unwrap();
        db.stream_write("/s", &pattern(10_000, 1)).unwrap();
        db.close().unwrap();
    }
    let original = std::fs::read(&path).unwrap();
    let id = stream_content(&path, "/s");
    type Craft = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Craft)> = vec![
        ("chunk_size 0", Box::new(move |p: &Path| craft_content(p, id, |v| v[2] = 0))),
        ("negative chunk_size", Box::new(move |p: &Path| craft_content(p, id, |v| v[2] = -4096))),
        ("chunk_count too high", Box::new(move |p: &Path| craft_content(p, id, |v| v[3] = 7))),
        ("chunk_count 0", Box::new(move |p: &Path| craft_content(p, id, |v| v[3] = 0))),
        ("negative size", Box::new(move |p: &Path| craft_content(p, id, |v| v[0] = -5))),
        ("size past the chunks", Box::new(move |p: &Path| craft_content(p, id, |v| v[0] = 12_000))),
        ("checksum out of range", Box::new(move |p: &Path| craft_content(p, id, |v| v[1] = -1))),
        ("chunk longer than chunk_size", Box::new(move |p: &Path| craft_chunk(p, id, 1, |v| v[0] = 99_999))),
        ("chunk length negative", Box::new(move |p: &Path| craft_chunk(p, id, 1, |v| v[0] = -1))),
        ("unknown codec", Box::new(move |p: &Path| craft_chunk(p, id, 1, |v| v[2] = 9))),
        ("raw chunk marked snappy", Box::new(move |p: &Path| craft_chunk(p, id, 1, |v| v[2] = 1))),
    ];
    // A whole-document CRC that does not match its (intact) chunks: whole reads
    // see it, a range read does not need it.
    craft_content(&path, id, |v| v[1] ^= 1);
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    assert_eq!(code(db.stream_read("/s")), ErrorCode::Corrupt);
    assert_eq!(code(read_to_end(&db, Some("/s"), None, None)), ErrorCode::Corrupt);
    assert_eq!(db.stream_read_range("/s", 4096, 10).unwrap(), pattern(10_000, 1)[4096..4106]);
    assert!(db.check().unwrap().problems.iter().any(|p| p.contains("whole-document checksum")));
    db.close().unwrap();
    for (case, craft) in cases {
        std::fs::write(&path, &original).unwrap();
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("test.db{ext}")));
        }
        craft(&path);
        assert_stream_corrupt(&path, "/s", case);
    }
}

#[test]
fn damage_is_corrupt_and_a_removal_by_another_handle_is_conflict() {
    let (_dir, path) = temp();
    {
        let db = Db::open(&path, OpenOptions::default().chunk_size(4096)).unwrap();
        db.put(b"k1", b"value one").unwrap();
        db.put(b"k2", b"value two").unwrap();
        db.stream_write("/s", &pattern(40_000, 1)).unwrap();
        db.stream_write("/t", &pattern(40_000, 2)).unwrap();
        db.close().unwrap();
    }
    let conn = sql(&path);
    // A KV row stores the value, then its record checksum (4 bytes, little-endian).
    let stored: Vec<u8> = conn.query_row("SELECT value FROM bdb_kv WHERE key = x'6b32'", [], |r| r.get(0)).unwrap();
    let mut want = b"value two".to_vec();
    want.extend_from_slice(&(row_crc(&[V::B(b"k2"), V::B(b"value two")]) as u32).to_le_bytes());
    assert_eq!(stored, want, "the KV record format");
    let shown: Vec<u8> = conn.query_row("SELECT value FROM kv WHERE key = x'6b32'", [], |r| r.get(0)).unwrap();
    assert_eq!(shown, b"value two", "the kv view shows the value alone");
    // A KV value changed under its record checksum.
    conn.execute("UPDATE bdb_kv SET value = x'76616c7565206f6e66' WHERE key = x'6b31'", []).unwrap();
    // A chunk row of a live stream gone, another's bytes turned into an integer.
    let s = stream_content(&path, "/s");
    conn.execute("DELETE FROM bdb_chunks WHERE content = ?1 AND seq = 9", [s]).unwrap();
    let t = stream_content(&path, "/t");
    conn.execute("UPDATE bdb_chunks SET data = 5 WHERE content = ?1 AND seq = 2", [t]).unwrap();
    drop(conn);

    let db = Db::open(&path, OpenOptions::default().chunk_size(4096)).unwrap();
    assert_eq!(code(db.get(b"k1")), ErrorCode::Corrupt);
    assert_eq!(db.get(b"k2").unwrap().unwrap(), b"value two");
    assert_eq!(code(db.get_many(&[b"k2", b"k1"])), ErrorCode::Corrupt);
    assert_eq!(code(db.contains(b"k1")), ErrorCode::Corrupt);
    assert_eq!(code(db.scan(b"", None, None).unwrap().collect::<buffdb::Result<Vec<_>>>()), ErrorCode::Corrupt);
    assert_eq!(code(db.keys(b"", None, None).unwrap().collect::<buffdb::Result<Vec<_>>>()), ErrorCode::Corrupt);
    assert_eq!(code(db.transaction(|t| t.get(b"k1"))), ErrorCode::Corrupt);
    assert_eq!(
        code(db.transaction(|t| t.scan(b"k", None, None)?.collect::<buffdb::Result<Vec<_>>>())),
        ErrorCode::Corrupt
    );
    for stream in ["/s", "/t"] {
        assert_eq!(code(db.stream_read(stream)), ErrorCode::Corrupt, "{stream}");
        // The damage is found when the reader opens (chunk rows) or reads (chunk bytes).
        let mut buf = vec![0u8; 40_000];
        let e = db.stream_open(stream, None).and_then(|mut r| r.read_into(&mut buf)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Corrupt, "{stream}: {e}");
    }
    let report = db.check().unwrap();
    assert!(!report.ok);
    assert!(report.damaged_records.iter().any(|l| l.contains("KV key X'6B31'")), "{report:#?}");
    assert!(report.reference_problems.iter().any(|l| l.contains("chunks missing")), "{report:#?}");
    assert_eq!(report.damaged_streams, ["/s", "/t"], "{report:#?}");
    db.close().unwrap();

    // A version removed by another handle (no pin there) while a reader reads it.
    let (_dir2, path) = temp();
    let opts = OpenOptions::default().chunk_size(4096).versions_to_keep(1);
    let reader_db = Db::open(&path, opts.clone()).unwrap();
    reader_db.stream_write("/a", &pattern(200_000, 3)).unwrap();
    let mut r = reader_db.stream_open("/a", None).unwrap();
    let mut buf = vec![0u8; 4096];
    r.read_into(&mut buf).unwrap();
    let other = Db::open(&path, opts).unwrap();
    other.stream_write("/a", b"second").unwrap(); // releases the first version
    other.stream_write("/b", b"x").unwrap(); // collects it: the other handle holds no pin
    let mut rest = vec![0u8; 200_000];
    assert_eq!(code(r.read_into(&mut rest)), ErrorCode::Conflict);
    assert_eq!(reader_db.stream_read("/a").unwrap(), b"second");
}

#[test]
fn version_numbers_never_repeat() {
    let (_d, path) = temp();
    let db = open(&path);
    let version = |info: buffdb::StreamInfo| info.version;
    assert_eq!(version(db.stream_write("/p", b"1").unwrap()), 1);
    assert_eq!(version(db.stream_write("/p", b"2").unwrap()), 2);
    assert!(db.stream_delete("/p").unwrap());
    assert!(!db.stream_exists("/p").unwrap());
    assert_eq!(db.search("/", None, None).unwrap().count(), 0);
    assert_eq!(db.search_count("/").unwrap(), 0);
    assert_eq!(code(db.stream_read("/p")), ErrorCode::NotFound);
    assert_eq!(version(db.stream_write("/p", b"3").unwrap()), 3);
    assert_eq!(db.stream_versions("/p").unwrap().iter().map(|i| i.version).collect::<Vec<_>>(), [3]);
    // In a transaction, and across a reopen.
    db.transaction(|t| {
        t.stream_delete("/p")?;
        assert_eq!(t.stream_write("/p", b"4")?.version, 4);
        Ok(())
    })
    .unwrap();
    assert!(db.stream_delete("/p").unwrap());
    assert!(!db.stream_delete("/p").unwrap());
    db.close().unwrap();
    let db = open(&path);
    assert_eq!(version(db.stream_write("/p", b"5").unwrap()), 5);
    assert_eq!(db.stream_read("/p").unwrap(), b"5");
    assert_eq!(version(db.stream_write("/other", b"x").unwrap()), 1);
    assert_eq!(db.search("/", None, None).unwrap().collect::<buffdb::Result<Vec<_>>>().unwrap(), ["/other", "/p"]);
    assert!(db.check().unwrap().ok);
}

#[test]
fn format_1_files_are_migrated_by_a_writer_and_read_as_they_are_read_only() {
    let (_d, path) = temp();
    let data = pattern(30_000, 5);
    {
        let db = Db::open(&path, OpenOptions::default().chunk_size(4096).compression(true)).unwrap();
        db.put(b"a", b"1").unwrap();
        db.put(b"b", &pattern(6000, 2)).unwrap();
        db.blob_put(&text(9000, 1), Some("m")).unwrap();
        db.stream_write("/s", b"old").unwrap();
        db.stream_write("/s", &data).unwrap();
        db.close().unwrap();
    }
    // Turn it into a format 1 file: no record checksums, no deleted-streams table.
    downgrade_to_format_2(&path);
    let conn = sql(&path);
    for table in ["bdb_contents", "bdb_chunks", "bdb_blobs", "bdb_streams", "bdb_versions"] {
        conn.execute_batch(&format!("ALTER TABLE {table} DROP COLUMN row_crc")).unwrap();
    }
    conn.execute_batch(
        "UPDATE bdb_kv SET value = substr(value, 1, length(value) - 4); DROP VIEW kv;
         CREATE VIEW kv AS SELECT key, value, CAST(key AS TEXT) AS key_text, CAST(value AS TEXT) AS value_text FROM bdb_kv;
         DROP TABLE bdb_deleted_streams; DELETE FROM bdb_meta WHERE key = 'schema_crc';
         UPDATE bdb_meta SET value = '1' WHERE key = 'format_version'; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();

    let read_back = |db: &Db| {
        assert_eq!(db.get(b"a").unwrap().unwrap(), b"1");
        assert_eq!(db.scan(b"", None, None).unwrap().count(), 2);
        assert_eq!(db.get(b"b").unwrap().unwrap(), pattern(6000, 2));
        assert_eq!(db.blob_get(1).unwrap().unwrap(), text(9000, 1));
        assert_eq!(db.blob_metadata(1).unwrap().as_deref(), Some("m"));
        assert_eq!(db.stream_read("/s").unwrap(), data);
        assert_eq!(read_to_end(db, Some("/s"), Some(1), None).unwrap(), b"old");
        assert_eq!(db.stream_versions("/s").unwrap().len(), 2);
        assert_eq!(db.search("/", None, None).unwrap().count(), 1);
        let q = db.query("SELECT value FROM kv WHERE key = x'61'", &[]).unwrap();
        assert_eq!(q.rows, [[buffdb::Value::Blob(b"1".to_vec())]]);
        let report = db.check().unwrap();
        assert!(report.ok, "{report:#?}");
    };
    let ro = Db::open(&path, OpenOptions::default().read_only(true)).unwrap();
    assert_eq!(ro.stats().unwrap().format_version, 1);
    read_back(&ro);
    ro.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only handle changed the file");

    let db = open(&path);
    assert_eq!(db.stats().unwrap().format_version, buffdb::FORMAT_VERSION as u32);
    read_back(&db);
    assert_eq!(db.stream_write("/s", b"new").unwrap().version, 3);
    db.put(b"c", b"3").unwrap();
    db.close().unwrap();
    // The migrated records carry checksums now: damage is caught.
    sql(&path).execute("UPDATE bdb_kv SET value = x'32' WHERE key = x'61'", []).unwrap();
    let db = open(&path);
    assert_eq!(code(db.get(b"a")), ErrorCode::Corrupt);
    assert_eq!(db.get(b"c").unwrap().unwrap(), b"3");
    assert!(!db.check().unwrap().ok);
}
