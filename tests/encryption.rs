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

fn raw_key(p: &str) -> EncryptionKey {
    EncryptionKey::passphrase(p).unwrap()
}

/// Every part: KV, a blob with metadata, stream versions with metadata, an index.
fn fill(db: &Db) -> u64 {
    write_secrets(db);
    for i in 0..50u32 {
        db.put(format!("n{i:03}").as_bytes(), format!(r#"{{"i":{i}}}"#).as_bytes()).unwrap();
    }
    db.create_index("by_i", "kv", "$.i", true, Some(b"n")).unwrap();
    db.stream_write("/v", b"one").unwrap();
    db.stream_write("/v", &pattern(200_000, 3)).unwrap();
    db.blob_put(&pattern(70_000, 4), None).unwrap()
}

/// What `fill` wrote, read back through the API.
fn assert_filled(db: &Db, blob: u64) {
    assert_eq!(db.get(SECRETS[0].as_bytes()).unwrap().unwrap(), SECRETS[1].as_bytes());
    assert_eq!(db.count(b"n").unwrap(), 50);
    let found: Vec<_> = db.find("by_i", &buffdb::JsonValue::from(7)).unwrap().map(|e| e.unwrap().record).collect();
    assert_eq!(found, [buffdb::Record::Key(b"n007".to_vec())]);
    assert_eq!(db.stream_read("/v").unwrap(), pattern(200_000, 3));
    assert_eq!(db.stream_versions("/v").unwrap().len(), 2);
    assert_eq!(db.stream_read(SECRETS[5]).unwrap(), SECRETS[4].repeat(1000).as_bytes());
    assert_eq!(db.blob_get(blob).unwrap().unwrap(), pattern(70_000, 4));
    assert_eq!(db.blob_metadata(1).unwrap().as_deref(), Some(SECRETS[2]));
    // AUTOINCREMENT carried over: a new blob never reuses an id.
    assert!(db.blob_put(b"new", None).unwrap() > blob);
    assert!(db.check().unwrap().ok);
}

#[test]
fn rekey_changes_the_key_and_the_old_one_then_fails() {
    let (_d, path) = temp();
    let db = Db::open(&path, key("old")).unwrap();
    let blob = fill(&db);
    db.close().unwrap();
    let report = buffdb::rekey(&path, &raw_key("old"), &raw_key("new")).unwrap();
    assert!(report.ok && report.records_checked > 0);
    let err = Db::open(&path, key("old")).unwrap_err();
    assert!(err.message().contains("wrong encryption key"), "{err}");
    let db = Db::open(&path, key("new")).unwrap();
    assert_filled(&db, blob);
    db.close().unwrap();
    // Back in WAL mode: a write goes to the WAL.
    let db = Db::open(&path, key("new")).unwrap();
    db.put(b"x", b"y").unwrap();
    let wal = std::fs::metadata(format!("{}-wal", path.display())).map(|m| m.len()).unwrap_or(0);
    assert!(wal > 0, "no WAL after the rekey");
    db.close().unwrap();
    // To a raw key and back to a passphrase.
    let raw = EncryptionKey::raw(&[5u8; 32]).unwrap();
    buffdb::rekey(&path, &raw_key("new"), &raw).unwrap();
    assert_eq!(code(Db::open(&path, key("new"))), ErrorCode::NotADatabase);
    buffdb::rekey(&path, &raw, &raw_key("third")).unwrap();
    assert_eq!(Db::open(&path, key("third")).unwrap().count(b"n").unwrap(), 50);
}

#[test]
fn rekey_refuses_an_open_file_a_wrong_key_and_a_plaintext_file_changing_nothing() {
    let (_d, path) = temp();
    let db = Db::open(&path, key("k")).unwrap();
    db.put(b"a", b"1").unwrap();
    db.checkpoint().unwrap();
    let err = buffdb::rekey(&path, &raw_key("k"), &raw_key("k2")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Busy, "{err}");
    db.put(b"b", b"2").unwrap(); // the open handle still works
    db.close().unwrap();
    assert_eq!(Db::open(&path, key("k")).unwrap().get(b"b").unwrap().unwrap(), b"2");
    let main = std::fs::read(&path).unwrap();
    let err = buffdb::rekey(&path, &raw_key("wrong"), &raw_key("k2")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotADatabase);
    assert!(err.message().contains("wrong encryption key"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), main);

    let (_d2, plain) = temp();
    Db::open(&plain, OpenOptions::default()).unwrap().put(b"a", b"1").unwrap();
    let main = std::fs::read(&plain).unwrap();
    assert_eq!(buffdb::rekey(&plain, &raw_key("a"), &raw_key("b")).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(std::fs::read(&plain).unwrap(), main);
}

#[test]
fn encrypt_and_decrypt_make_checked_copies_that_open() {
    let (d, plain) = temp();
    let db = Db::open(&plain, OpenOptions::default()).unwrap();
    let blob = fill(&db);
    db.close().unwrap();
    let enc = d.path().join("enc.db");
    let report = buffdb::encrypt(&plain, &enc, &raw_key("pw")).unwrap();
    assert!(report.ok && report.records_checked > 0 && report.chunks_checked > 0);
    assert!(!common::is_plaintext_sqlite(&enc));
    for (name, bytes) in files(&enc) {
        for s in SECRETS {
            assert!(!contains(&bytes, s.as_bytes()), "{s} found in {name}");
        }
    }
    let db = Db::open(&enc, key("pw")).unwrap();
    assert_eq!(db.stats().unwrap().page_size, 16384);
    assert_filled(&db, blob);
    db.close().unwrap();
    assert_eq!(code(Db::open(&enc, OpenOptions::default())), ErrorCode::NotADatabase);

    let back = d.path().join("back.db");
    assert!(buffdb::decrypt(&enc, &back, &raw_key("pw")).unwrap().ok);
    assert!(common::is_plaintext_sqlite(&back));
    let db = Db::open(&back, OpenOptions::default()).unwrap();
    assert_eq!(db.stats().unwrap().page_size, 16384);
    assert_filled(&db, blob);
    // No temporary file left beside the copies.
    let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".copy")), "{names:?}");
}

#[test]
fn an_encrypted_file_of_another_page_size_opens_with_the_default_options() {
    let (d, plain) = temp();
    let db = Db::open(&plain, OpenOptions::default().page_size(4096)).unwrap();
    db.put(b"k", b"v").unwrap();
    db.close().unwrap();
    let enc = d.path().join("enc.db");
    buffdb::encrypt(&plain, &enc, &raw_key("pw")).unwrap();
    let db = Db::open(&enc, key("pw")).unwrap();
    assert_eq!(db.stats().unwrap().page_size, 4096);
    assert_eq!(db.get(b"k").unwrap().unwrap(), b"v");
    db.put(b"k2", b"v2").unwrap();
    db.close().unwrap();
    let ro = Db::open(&enc, key("pw").read_only(true)).unwrap();
    assert_eq!(ro.get(b"k2").unwrap().unwrap(), b"v2");
    assert_eq!(code(Db::open(&enc, key("other"))), ErrorCode::NotADatabase);
}

#[test]
fn copies_refuse_bad_input_and_change_nothing() {
    let (d, plain) = temp();
    Db::open(&plain, OpenOptions::default()).unwrap().put(b"a", b"1").unwrap();
    let enc = d.path().join("enc.db");
    buffdb::encrypt(&plain, &enc, &raw_key("pw")).unwrap();
    let (plain_bytes, enc_bytes) = (std::fs::read(&plain).unwrap(), std::fs::read(&enc).unwrap());
    // An existing destination is never overwritten.
    assert_eq!(buffdb::encrypt(&plain, &enc, &raw_key("x")).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(buffdb::decrypt(&enc, &plain, &raw_key("pw")).unwrap_err().code(), ErrorCode::InvalidArgument);
    // Encrypting an encrypted file, decrypting a plaintext one.
    let out = d.path().join("out.db");
    assert_eq!(buffdb::encrypt(&enc, &out, &raw_key("pw")).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(buffdb::decrypt(&plain, &out, &raw_key("pw")).unwrap_err().code(), ErrorCode::InvalidArgument);
    // The wrong key.
    let err = buffdb::decrypt(&enc, &out, &raw_key("wrong")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotADatabase);
    assert!(err.message().contains("wrong encryption key"), "{err}");
    // A missing source.
    assert_eq!(buffdb::encrypt(d.path().join("none.db"), &out, &raw_key("pw")).unwrap_err().code(), ErrorCode::NotFound);
    assert!(!out.exists());
    assert_eq!(std::fs::read(&plain).unwrap(), plain_bytes);
    assert_eq!(std::fs::read(&enc).unwrap(), enc_bytes);
}

#[test]
fn keys_never_show_in_debug_output() {
    let opts = key("hunter2-secret");
    assert!(!format!("{opts:?}").contains("hunter2"), "{opts:?}");
    let (_d, path) = temp();
    let db = Db::open(&path, opts).unwrap();
    assert!(!format!("{:?} {:?}", db, db.options()).contains("hunter2"));
    let raw = EncryptionKey::raw(&[0xab; 32]).unwrap();
    assert!(!format!("{raw:?}").to_lowercase().contains("abab"));
}
