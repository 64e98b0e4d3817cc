//! Property test: random sequences of operations give the same answers as a
//! simple in-memory model (KV, blobs, streams, transactions), also after reopen.

mod common;
use std::collections::BTreeMap;

use buffdb::{Db, OpenOptions};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    PutMany(Vec<(u8, Vec<u8>)>),
    /// Puts and deletes in one transaction, committed or rolled back.
    Txn(Vec<(u8, Option<Vec<u8>>)>, bool),
    BlobPut(Vec<u8>),
    BlobDelete(usize),
    StreamWrite(u8, usize, u8),
    StreamDelete(u8),
    Reopen,
}

fn key(k: u8) -> Vec<u8> {
    format!("k{:02}", k % 24).into_bytes()
}

fn path(p: u8) -> String {
    format!("/s/{}", p % 6)
}

fn op() -> impl Strategy<Value = Op> {
    let val = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => (any::<u8>(), val.clone()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => any::<u8>().prop_map(Op::Delete),
        1 => proptest::collection::vec((any::<u8>(), val.clone()), 0..8).prop_map(Op::PutMany),
        2 => (proptest::collection::vec((any::<u8>(), proptest::option::of(val.clone())), 0..6), any::<bool>())
            .prop_map(|(w, c)| Op::Txn(w, c)),
        1 => val.prop_map(Op::BlobPut),
        1 => any::<usize>().prop_map(Op::BlobDelete),
        2 => (any::<u8>(), 0usize..20_000, any::<u8>()).prop_map(|(p, n, b)| Op::StreamWrite(p, n, b)),
        1 => any::<u8>().prop_map(Op::StreamDelete),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default)]
struct Model {
    kv: BTreeMap<Vec<u8>, Vec<u8>>,
    blobs: BTreeMap<u64, Vec<u8>>,
    /// path -> (latest version, bytes)
    streams: BTreeMap<String, (u64, Vec<u8>)>,
    /// Highest version ever given to each path: numbers never repeat.
    versions: BTreeMap<String, u64>,
}

fn opts() -> OpenOptions {
    OpenOptions::default().chunk_size(4096).versions_to_keep(2)
}

fn check(db: &Db, m: &Model) {
    let all: Vec<(Vec<u8>, Vec<u8>)> = db.scan(b"", None, None).unwrap().map(Result::unwrap).collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = m.kv.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(all, want);
    assert_eq!(db.count(b"").unwrap(), m.kv.len() as u64);
    assert_eq!(db.blob_ids(None, None).unwrap(), m.blobs.keys().copied().collect::<Vec<_>>());
    for (id, data) in &m.blobs {
        assert_eq!(db.blob_get(*id).unwrap().as_ref(), Some(data));
    }
    let paths: Vec<String> = db.search("/s/", None, None).unwrap().map(Result::unwrap).collect();
    assert_eq!(paths, m.streams.keys().cloned().collect::<Vec<_>>());
    for (p, (v, data)) in &m.streams {
        assert_eq!(&db.stream_read(p).unwrap(), data);
        assert_eq!(db.stream_stat(p).unwrap().version, *v);
    }
}

fn run(ops: Vec<Op>) {
    let (_d, file) = common::temp();
    let mut db = Db::open(&file, opts()).unwrap();
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::Put(k, v) => {
                db.put(&key(k), &v).unwrap();
                m.kv.insert(key(k), v);
            }
            Op::Delete(k) => {
                assert_eq!(db.delete(&key(k)).unwrap(), m.kv.remove(&key(k)).is_some());
            }
            Op::PutMany(pairs) => {
                let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs.into_iter().map(|(k, v)| (key(k), v)).collect();
                db.put_many(&pairs).unwrap();
                m.kv.extend(pairs);
            }
            Op::Txn(writes, commit) => {
                let mut staged = m.kv.clone();
                let tx = db.begin().unwrap();
                for (k, v) in &writes {
                    match v {
                        Some(v) => {
                            tx.put(&key(*k), v).unwrap();
                            staged.insert(key(*k), v.clone());
                        }
                        None => {
                            assert_eq!(tx.delete(&key(*k)).unwrap(), staged.remove(&key(*k)).is_some());
                        }
                    }
                    // The transaction sees its own writes.
                    assert_eq!(tx.get(&key(*k)).unwrap().as_ref(), staged.get(&key(*k)));
                }
                if commit {
                    tx.commit().unwrap();
                    m.kv = staged;
                } else {
                    tx.rollback().unwrap();
                }
            }
            Op::BlobPut(data) => {
                let id = db.blob_put(&data, None).unwrap();
                assert!(m.blobs.keys().all(|&old| old < id), "blob id {id} reused or not growing");
                m.blobs.insert(id, data);
            }
            Op::BlobDelete(i) => {
                if let Some(&id) = m.blobs.keys().nth(i % (m.blobs.len() + 1)) {
                    assert!(db.blob_delete(id).unwrap());
                    m.blobs.remove(&id);
                }
            }
            Op::StreamWrite(p, n, b) => {
                let data = vec![b; n];
                let info = db.stream_write(&path(p), &data).unwrap();
                let last = m.versions.get(&path(p)).copied().unwrap_or(0);
                assert!(info.version > last, "version {} after {last}", info.version);
                m.versions.insert(path(p), info.version);
                m.streams.insert(path(p), (info.version, data));
            }
            Op::StreamDelete(p) => {
                assert_eq!(db.stream_delete(&path(p)).unwrap(), m.streams.remove(&path(p)).is_some());
            }
            Op::Reopen => {
                db.close().unwrap();
                db = Db::open(&file, opts()).unwrap();
            }
        }
    }
    check(&db, &m);
    assert!(db.check().unwrap().ok);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BUFFDB_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        .. ProptestConfig::default()
    })]
    #[test]
    fn operations_match_a_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
