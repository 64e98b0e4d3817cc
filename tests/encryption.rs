//! Encryption at rest (cargo feature `encryption`): an encrypted database keeps no
//! plaintext in its main file, WAL or lock file; a wrong, empty or missing key, a key
//! on a plaintext file and a plaintext open of an encrypted file each give one clear
//! error and leave the file unchanged.
#![cfg(feature = "encryption")]

mod common;
use std::path::Path;

use buffdb::{Db, EncryptionKey, ErrorCode, OpenOptions};
use common::{code, pattern, temp};

fn key(p: &str) -> OpenOptions {
    OpenOptions::default().encryption_key(EncryptionKey::passphrase(p).unwrap())
}

fn files(path: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-lock", "-shm"]
        .iter()
        .filter_map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            std::fs::read(&p).ok().map(|b| (format!("{}{s}", path.display()), b))
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const SECRETS: [&str; 6] = [
    "kv-key-PLAINTEXT-8f3a",
    "kv-value-PLAINTEXT-19bc",
    "blob-meta-PLAINTEXT-77d1",
    "blob-data-PLAINTEXT-c0de",
    "stream-PLAINTEXT-5e11",
    "/path-PLAINTEXT-a1b2",
];

fn write_secrets(db: &Db) {
    db.put(SECRETS[0].as_bytes(), SECRETS[1].as_bytes()).unwrap();
    db.blob_put(SECRETS[3].repeat(100).as_bytes(), Some(SECRETS[2])).unwrap();
    db.stream_write(SECRETS[5], SECRETS[4].repeat(1000).as_bytes()).unwrap();
}

#[test]
fn an_encrypted_database_holds_no_plaintext_and_reads_back() {
    let (_d, path) = temp();
    let db = Db::open(&path, key("correct horse")).unwrap();
    write_secrets(&db);
    db.stream_write("/big", &pattern(3 << 20, 9)).unwrap();
    // While open (the WAL holds the writes) and after close (checkpointed).
    for when in ["open", "closed"] {
        for (name, bytes) in files(&path) {
            for s in SECRETS {
                assert!(!contains(&bytes, s.as_bytes()), "{when}: {s} found in {name}");
            }
        }
        if when == "open" {
            db.close().unwrap();
        }
    }
    let db = Db::open(&path, key("correct horse")).unwrap();
    assert_eq!(db.get(SECRETS[0].as_bytes()).unwrap().unwrap(), SECRETS[1].as_bytes());
    assert_eq!(db.stream_read(SECRETS[5]).unwrap(), SECRETS[4].repeat(1000).as_bytes());
    assert_eq!(db.stream_read("/big").unwrap(), pattern(3 << 20, 9));
    assert!(db.check().unwrap().ok);
}

#[test]
fn a_raw_key_opens_what_it_made() {
    let (_d, path) = temp();
    let raw = OpenOptions::default().encryption_key(EncryptionKey::raw(&[7u8; 32]).unwrap());
    let db = Db::open(&path, raw.clone()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    assert_eq!(Db::open(&path, raw).unwrap().get(b"k").unwrap().unwrap(), b"v");
    let other = OpenOptions::default().encryption_key(EncryptionKey::raw(&[8u8; 32]).unwrap());
    assert_eq!(code(Db::open(&path, other)), ErrorCode::NotADatabase);
    assert_eq!(EncryptionKey::raw(&[1; 31]).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn wrong_empty_and_missing_keys_are_clear_errors_and_change_nothing() {
    let (_d, path) = temp();
    let db = Db::open(&path, key("right")).unwrap();
    write_secrets(&db);
    db.close().unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Db::open(&path, key("wrong")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotADatabase);
    assert!(err.message().contains("wrong encryption key"), "{err}");
    let err = Db::open(&path, key("wrong").read_only(true)).unwrap_err();
    assert!(err.message().contains("wrong encryption key"), "{err}");
    assert_eq!(EncryptionKey::passphrase("").unwrap_err().code(), ErrorCode::InvalidArgument);
    let err = Db::open(&path, OpenOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotADatabase);
    assert!(err.message().contains("encryption key"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "a failed open changed the file");
    assert!(Db::open(&path, key("right")).unwrap().check().unwrap().ok);
}

#[test]
fn a_key_on_a_plaintext_file_is_refused() {
    let (_d, path) = temp();
    let db = Db::open(&path, OpenOptions::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Db::open(&path, key("k")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.message().contains("not encrypted"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn every_handle_and_reader_of_an_encrypted_file_is_keyed() {
    let (_d, path) = temp();
    let db = Db::open(&path, key("p")).unwrap();
    for i in 0..200u32 {
        db.put(format!("k{i}").as_bytes(), &pattern(1000, i)).unwrap();
    }
    // Readers on several threads (new pooled connections), a second handle, a transaction.
    std::thread::scope(|s| {
        for t in 0..4 {
            let db = db.clone();
            s.spawn(move || {
                for i in (t..200).step_by(4) {
                    assert_eq!(db.get(format!("k{i}").as_bytes()).unwrap().unwrap(), pattern(1000, i));
                }
            });
        }
    });
    let other = Db::open(&path, key("p")).unwrap();
    other.transaction(|t| t.put(b"from-other", b"yes")).unwrap();
    assert_eq!(db.get(b"from-other").unwrap().unwrap(), b"yes");
    assert_eq!(db.scan(b"k", None, None).unwrap().count(), 200);
}
