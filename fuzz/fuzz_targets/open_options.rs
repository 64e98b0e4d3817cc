//! Open options as a binding passes them (numbers of any size, a durability string, a
//! file name): each is accepted and works, or is refused with INVALID_ARGUMENT (or an
//! error of the file system), never a panic.
#![no_main]

use arbitrary::Arbitrary;
use buffdb::{Db, ErrorCode, OpenOptions};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    durability: String,
    file_name: Vec<u8>,
    create: bool,
    read_only: bool,
    compression: bool,
    verify_checksums: bool,
    chunk_size: usize,
    versions_to_keep: u32,
    cache_size: usize,
    max_document_size: u64,
    busy_timeout_ms: u64,
    page_size: u32,
    wal_max_bytes: u64,
}

fuzz_target!(|i: Input| {
    let durability = match i.durability.parse() {
        Ok(d) => d,
        Err(e) => {
            let e: buffdb::Error = e;
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
            return;
        }
    };
    // Small caches only: the fuzzer must not allocate gigabytes for a valid size.
    let opts = OpenOptions {
        create: i.create,
        read_only: i.read_only,
        durability,
        compression: i.compression,
        verify_checksums: i.verify_checksums,
        chunk_size: i.chunk_size % (128 << 20),
        versions_to_keep: i.versions_to_keep,
        cache_size: i.cache_size % (8 << 20),
        max_document_size: i.max_document_size,
        busy_timeout_ms: i.busy_timeout_ms,
        page_size: i.page_size,
        wal_max_bytes: i.wal_max_bytes,
        ..OpenOptions::default()
    };
    let dir = std::env::temp_dir().join(format!("buffdb-fuzz-opts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A name inside the scratch folder: no separators, so it cannot leave it.
    use std::os::unix::ffi::OsStrExt;
    let name: Vec<u8> = i.file_name.iter().copied().filter(|b| *b != b'/').take(200).collect();
    let path = dir.join(std::ffi::OsStr::from_bytes(&name));
    match Db::open(&path, opts) {
        Ok(db) => {
            if !i.read_only {
                let data = vec![3u8; 10_000];
                match db.stream_write("/x", &data) {
                    Ok(_) => assert_eq!(db.stream_read("/x").unwrap(), data),
                    Err(e) => assert_eq!(e.code(), ErrorCode::TooLarge, "{e}"),
                }
                db.put(b"k", b"v").unwrap();
                assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
            }
            db.close().unwrap();
        }
        Err(e) => assert!(
            matches!(e.code(), ErrorCode::InvalidArgument | ErrorCode::NotFound | ErrorCode::Io),
            "open failed with an unexpected code: {e}"
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
});
