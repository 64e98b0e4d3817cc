//! Corruption: a flipped bit anywhere in the file is harmless, or reported as
//! `CORRUPT` by the read that touches it or by `check`; never other bytes with OK,
//! never a panic. Plus impossible stored values, CONFLICT against damage, the
//! format 1 migration and stream version numbers that never repeat.
//!
//! The suite flips a few offsets of every page by default; `BUFFDB_CORRUPTION_FULL=1`
//! flips many more per page (slow).

mod common;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Read;
use std::path::Path;

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

const PAGE: usize = 4096;

fn options() -> OpenOptions {
    OpenOptions::default().page_size(PAGE as u32).chunk_size(4096).versions_to_keep(2).compression(true)
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
    seen.judge("get_many", db.get_many(&keys), &values, |g, w| {
        g.iter().zip(w).all(|(g, w)| g.is_none() || g == w)
    });
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
    seen.judge("search", db.search("/", None, None).and_then(|it| it.collect::<buffdb::Result<Vec<_>>>()), &paths, subset);
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

fn flip_and_run(dir: &Path, original: &[u8], offset: usize, bit: u8, m: &Model, tally: &mut Tally) {
    let path = dir.join("damaged.db");
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("damaged.db{ext}")));
    }
    let mut bytes = original.to_vec();
    bytes[offset] ^= 1 << bit;
    std::fs::write(&path, &bytes).unwrap();
    let at = format!("page {} offset {} bit {bit}", offset / PAGE + 1, offset % PAGE);
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
    assert!(!dir.path().join("test.db-wal").exists() || std::fs::metadata(dir.path().join("test.db-wal")).unwrap().len() == 0);
    assert_eq!(original.len() % PAGE, 0);
    let pages = original.len() / PAGE;
    let full = std::env::var("BUFFDB_CORRUPTION_FULL").is_ok_and(|v| v == "1");
    let offsets: Vec<usize> = if full { (0..PAGE).step_by(37).collect() } else { vec![3, 40, PAGE / 2 + 1, PAGE - 7] };
    let mut tally = Tally::default();
    let started = std::time::Instant::now();
    for page in 0..pages {
        for (i, &off) in offsets.iter().enumerate() {
            let bit = ((page + i) % 8) as u8;
            flip_and_run(dir.path(), &original, page * PAGE + off, bit, &m, &mut tally);
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
