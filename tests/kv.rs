//! KV behaviour beyond the shared cases: borrowed scans and the read cache.

mod common;
use common::*;

#[test]
fn scan_each_borrows_rows_in_order_and_stops_when_asked() {
    let (_d, path) = temp();
    let db = open(&path);
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..500u32).map(|i| (format!("p:{i:04}").into_bytes(), i.to_le_bytes().to_vec())).collect();
    db.put_many(&pairs).unwrap();
    db.put(b"q", b"other").unwrap();
    let mut seen = Vec::new();
    let n = db.scan_each(b"p:", None, None, |k, v| {
        seen.push((k.to_vec(), v.to_vec()));
        true
    });
    assert_eq!(n.unwrap(), 500);
    assert_eq!(seen, pairs);
    let via_iter: Vec<(Vec<u8>, Vec<u8>)> = db.scan(b"p:", None, None).unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(via_iter, pairs);
    let mut first = Vec::new();
    let n = db.scan_each(b"p:", Some(b"p:0100"), Some(3), |k, _| {
        first.push(k.to_vec());
        true
    });
    assert_eq!(n.unwrap(), 3);
    assert_eq!(first, [b"p:0101".to_vec(), b"p:0102".to_vec(), b"p:0103".to_vec()]);
    let mut count = 0;
    db.scan_each(b"", None, None, |_, _| {
        count += 1;
        count < 10
    })
    .unwrap();
    assert_eq!(count, 10);
    db.close().unwrap();
    assert_eq!(code(db.scan_each(b"", None, None, |_, _| true)), buffdb::ErrorCode::Closed);
}
