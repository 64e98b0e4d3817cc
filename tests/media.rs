//! The file system as users meet it: odd path bytes, read-only media, a full disk.

mod common;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use buffdb::{Db, ErrorCode, OpenOptions};
use common::*;

/// A tmpfs mounted for one test and unmounted when dropped; `None` (with a
/// message) where this process may not mount.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); this case did not run");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, opts: &str) {
        let st = Command::new("mount").args(["-o", &format!("remount,{opts}")]).arg(self.path()).status().unwrap();
        assert!(st.success(), "remount {opts} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[test]
fn a_path_that_is_not_utf8_is_opened_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"store-\xff\xfe.db");
    let path = dir.path().join(name);
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    let names: Vec<Vec<u8>> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().as_bytes().to_vec()).collect();
    assert!(names.contains(&b"store-\xff\xfe.db".to_vec()), "{names:?}");
    // Only the database and its companions (-lock, -wal, -shm), all under the exact bytes.
    assert!(names.iter().all(|n| n.starts_with(b"store-\xff\xfe.db")), "a file was made under another name: {names:?}");
    let db = Db::open(&path, OpenOptions::default().create(false)).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
}

#[test]
fn an_empty_path_is_invalid_and_makes_nothing() {
    let before: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(code(Db::open("", OpenOptions::default())), ErrorCode::InvalidArgument);
    let after: Vec<_> = std::fs::read_dir(".").unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before, after);
}

#[test]
fn a_database_on_read_only_media_opens_read_only() {
    let Some(fs) = Tmpfs::mount("16m") else { return };
    let path = fs.path().join("ro.db");
    {
        let db = Db::open(&path, OpenOptions::default()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.stream_write("/doc", &pattern(100_000, 1)).unwrap();
        db.close().unwrap();
    }
    fs.remount("ro");
    let db = Db::open(&path, OpenOptions::default().read_only(true)).unwrap();
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
    assert_eq!(db.stream_read("/doc").unwrap(), pattern(100_000, 1));
    assert!(db.check().unwrap().ok);
    assert_eq!(code(db.put(b"k", b"w")), ErrorCode::ReadOnly);
    db.close().unwrap();
    // A writable open is refused with a clear error, and nothing is changed.
    let err = Db::open(&path, OpenOptions::default()).unwrap_err();
    assert!(matches!(err.code(), ErrorCode::ReadOnly | ErrorCode::Io), "{err:?}");
    fs.remount("rw");
}

#[test]
fn a_full_disk_refuses_writes_and_loses_nothing() {
    let Some(fs) = Tmpfs::mount("12m") else { return };
    let path: PathBuf = fs.path().join("full.db");
    let db = Db::open(&path, OpenOptions::default().chunk_size(64 << 10).wal_max_bytes(1 << 20)).unwrap();
    let mut acked = Vec::new();
    let mut full = None;
    for i in 0..200u32 {
        match db.stream_write(&format!("/f/{i:03}"), &pattern(256 << 10, i)) {
            Ok(_) => acked.push(i),
            Err(e) => {
                full = Some(e);
                break;
            }
        }
    }
    let err = full.expect("the disk never filled");
    assert_eq!(err.code(), ErrorCode::Full, "{err:?}");
    assert!(acked.len() > 4, "only {} writes fit", acked.len());
    // Small writes may still fail; nothing acknowledged is lost.
    let _ = db.put(b"small", b"x");
    for &i in &acked {
        assert_eq!(db.stream_read(&format!("/f/{i:03}")).unwrap(), pattern(256 << 10, i));
    }
    assert!(db.check().unwrap().ok);
    // Deleting data makes room again.
    for &i in acked.iter().take(acked.len() / 2) {
        assert!(db.stream_delete(&format!("/f/{i:03}")).unwrap());
    }
    db.stream_write("/after", &pattern(256 << 10, 999)).unwrap();
    db.put(b"after", b"yes").unwrap();
    db.close().unwrap();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    assert_eq!(db.stream_read("/after").unwrap(), pattern(256 << 10, 999));
    for &i in acked.iter().skip(acked.len() / 2) {
        assert_eq!(db.stream_read(&format!("/f/{i:03}")).unwrap(), pattern(256 << 10, i));
    }
    assert!(db.check().unwrap().ok);
}

/// A stream writer that fills the disk mid-document goes on once there is room: the
/// failed batch leaves nothing behind, in the file or in the writer (its chunk
/// sequence and checksum), so the caller writes the same bytes again and the
/// document holds each byte once.
#[test]
fn a_writer_that_fills_the_disk_goes_on_after_room_is_made() {
    let Some(fs) = Tmpfs::mount("12m") else { return };
    let path: PathBuf = fs.path().join("full.db");
    // The default WAL bound (past the disk's size): the disk fills while a commit
    // appends to the WAL, after the batch's chunks went in.
    let db = Db::open(&path, OpenOptions::default().chunk_size(64 << 10)).unwrap();
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 4 << 20]).unwrap();
    let mut w = db.stream_writer("/doc").unwrap();
    let mut expect = Vec::new();
    let mut full = None;
    // 100 KiB pieces: batches of 4 chunks end inside a chunk, so the writer also
    // holds a partial chunk across a failure.
    for i in 0..400u32 {
        let piece = pattern(100 << 10, i);
        match w.write(&piece) {
            Ok(()) => expect.extend_from_slice(&piece),
            Err(e) => {
                full = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = full.expect("the disk never filled");
    assert_eq!(err.code(), ErrorCode::Full, "{err:?}");
    assert!(expect.len() > 1 << 20, "only {} bytes fit", expect.len());
    assert_eq!(w.written(), expect.len() as u64);
    std::fs::remove_file(&filler).unwrap();
    for piece in [pattern(100 << 10, i), pattern(50 << 10, 7777)] {
        w.write(&piece).unwrap();
        expect.extend_from_slice(&piece);
    }
    let info = w.commit().unwrap();
    assert_eq!((info.size, info.crc32), (expect.len() as u64, crc32fast::hash(&expect)));
    assert_eq!(db.stream_read("/doc").unwrap(), expect);
    assert!(db.check().unwrap().ok);
}

/// What fills the disk in [`a_full_disk_is_recovered_by_deletes`].
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// 16 KiB puts with a 512 KiB stream every 8th (the report).
    PutsAndStreams,
    Blobs,
    Streams,
    /// Transactions of 8 puts of 16 KiB.
    Transactions,
}

/// One record written by a fill: the key (or path, or blob id) and its seed.
#[derive(Clone, Debug)]
enum Item {
    Kv(String, u32),
    Blob(u64, u32),
    Stream(String, u32),
}

const SMALL: usize = 16 << 10;
const LARGE: usize = 512 << 10;

fn write_item(db: &Db, fill: Fill, i: u32) -> buffdb::Result<Vec<Item>> {
    // Names alternate between two prefixes: half the data is deleted by prefix.
    let half = if i % 2 == 0 { "a" } else { "b" };
    match fill {
        Fill::PutsAndStreams if i % 8 == 7 => {
            let p = format!("/{half}/s{i}");
            db.stream_write(&p, &pattern(LARGE, i)).map(|_| vec![Item::Stream(p, i)])
        }
        Fill::PutsAndStreams => {
            let k = format!("{half}/k{i}");
            db.put(k.as_bytes(), &pattern(SMALL, i)).map(|_| vec![Item::Kv(k, i)])
        }
        Fill::Blobs => db.blob_put(&pattern(LARGE / 2, i), Some(half)).map(|id| vec![Item::Blob(id, i)]),
        Fill::Streams => {
            let p = format!("/{half}/s{i}");
            db.stream_write(&p, &pattern(LARGE, i)).map(|_| vec![Item::Stream(p, i)])
        }
        Fill::Transactions => db.transaction(|t| {
            (0..8)
                .map(|j| {
                    let k = format!("{half}/t{i}-{j}");
                    t.put(k.as_bytes(), &pattern(SMALL, i * 8 + j))?;
                    Ok(Item::Kv(k, i * 8 + j))
                })
                .collect()
        }),
    }
}

fn item_is_intact(db: &Db, item: &Item) {
    match item {
        Item::Kv(k, seed) => {
            assert_eq!(db.get(k.as_bytes()).unwrap().as_deref(), Some(&pattern(SMALL, *seed)[..]), "{k}")
        }
        Item::Blob(id, seed) => assert_eq!(db.blob_get(*id).unwrap(), Some(pattern(LARGE / 2, *seed)), "blob {id}"),
        Item::Stream(p, seed) => assert_eq!(db.stream_read(p).unwrap(), pattern(LARGE, *seed), "{p}"),
    }
}

fn in_first_half(item: &Item, db: &Db) -> bool {
    match item {
        Item::Kv(k, _) => k.starts_with("a/"),
        Item::Stream(p, _) => p.starts_with("/a/"),
        Item::Blob(id, _) => db.blob_info(*id).unwrap().unwrap().metadata.as_deref() == Some("a"),
    }
}

/// The files of `dir` with their allocated sizes, and the file system's use, for messages.
fn listing(dir: &Path) -> String {
    let ls = Command::new("ls").arg("-ls").arg(dir).output().unwrap();
    let df = Command::new("df").arg("-k").arg(dir).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&ls.stdout), String::from_utf8_lossy(&df.stdout))
}

/// Fills the disk until `FULL`, then deletes half of what was written (whole
/// prefixes, in one transaction for KV) and writes again; nothing acknowledged is
/// lost, and `check` stays clean, before and after a reopen.
fn fill_delete_write(size: &str, fill: Fill) {
    let Some(fs) = Tmpfs::mount(size) else { return };
    let path: PathBuf = fs.path().join("full.db");
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    let mut acked = Vec::new();
    let mut i = 0u32;
    let err = loop {
        match write_item(&db, fill, i) {
            Ok(items) => acked.extend(items),
            Err(e) => break e,
        }
        i += 1;
        assert!(i < 100_000, "{size} {fill:?}: the disk never filled");
    };
    assert_eq!(err.code(), ErrorCode::Full, "{size} {fill:?}: {err:?}");
    if std::env::var_os("BUFFDB_TEST_VERBOSE").is_some() {
        eprintln!("{size} {fill:?}: {} records, then {err:?}\n{}", acked.len(), listing(fs.path()));
    }
    assert!(acked.len() >= 2, "{size} {fill:?}: only {} records fit", acked.len());
    for item in &acked {
        item_is_intact(&db, item);
    }
    assert!(db.check().unwrap().ok, "{size} {fill:?}: check after the fill");
    // Delete half: KV by prefix in one transaction, streams by search, blobs by id.
    let (gone, kept): (Vec<Item>, Vec<Item>) = acked.into_iter().partition(|it| in_first_half(it, &db));
    db.transaction(|t| {
        let keys: Vec<Vec<u8>> =
            t.scan(b"a/", None, None)?.map(|kv| kv.map(|(k, _)| k)).collect::<buffdb::Result<_>>()?;
        for k in keys {
            assert!(t.delete(&k)?);
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{size} {fill:?}: deleting the KV prefix: {e:?}"));
    let paths: Vec<String> = db.search("/a/", None, None).unwrap().collect::<buffdb::Result<_>>().unwrap();
    for p in &paths {
        assert!(db.stream_delete(p).unwrap_or_else(|e| panic!("{size} {fill:?}: deleting {p}: {e:?}")));
    }
    for item in &gone {
        if let Item::Blob(id, _) = item {
            assert!(db.blob_delete(*id).unwrap_or_else(|e| panic!("{size} {fill:?}: deleting blob {id}: {e:?}")));
        }
    }
    // Write again: a third of what was deleted fits in the room it left.
    let mut again = Vec::new();
    for j in 0.. {
        if again.len() >= (gone.len() / 3).max(1) {
            break;
        }
        let items = write_item(&db, fill, 200_000 + 2 * j + 1).unwrap_or_else(|e| {
            panic!("{size} {fill:?}: writing again ({j}) after deleting {}: {e:?}\n{}", gone.len(), listing(fs.path()))
        });
        again.extend(items);
    }
    for item in kept.iter().chain(&again) {
        item_is_intact(&db, item);
    }
    assert!(db.check().unwrap().ok, "{size} {fill:?}: check after deleting and writing again");
    db.close().unwrap();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    for item in kept.iter().chain(&again) {
        item_is_intact(&db, item);
    }
    for item in &gone {
        match item {
            Item::Kv(k, _) => assert_eq!(db.get(k.as_bytes()).unwrap(), None),
            Item::Blob(id, _) => assert_eq!(db.blob_get(*id).unwrap(), None),
            Item::Stream(p, _) => assert!(!db.stream_exists(p).unwrap()),
        }
    }
    assert!(db.check().unwrap().ok, "{size} {fill:?}: check after reopening");
}

#[test]
fn a_full_disk_is_recovered_by_deletes() {
    for size in ["8m", "24m", "64m"] {
        for fill in [Fill::PutsAndStreams, Fill::Blobs, Fill::Streams, Fill::Transactions] {
            fill_delete_write(size, fill);
        }
    }
}
