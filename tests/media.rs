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
