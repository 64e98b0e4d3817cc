//! KV behaviour beyond the shared cases: borrowed scans and the read cache.

mod common;
use common::*;

#[test]
fn scan_each_borrows_rows_in_order_and_stops_when_asked() {
    let (_d, path) = temp();
    let db = open(&path);
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..500u32).map(|i| (format!("p:{i:04}").into_bytes(), i.to_le_bytes().to_vec())).collect();
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

#[test]
fn pages_and_rows_mix_and_respect_limits() {
    let (_d, path) = temp();
    let db = open(&path);
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        (0..3000u32).map(|i| (format!("r:{i:05}").into_bytes(), vec![i as u8; 3])).collect();
    db.put_many(&pairs).unwrap();
    for limit in [None, Some(0), Some(1), Some(70), Some(2999), Some(5000)] {
        let mut it = db.scan(b"r:", None, limit).unwrap();
        let mut got: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut turn = 0;
        loop {
            turn += 1;
            if turn % 3 == 0 {
                match it.next() {
                    Some(row) => got.push(row.unwrap()),
                    None => break,
                }
            } else {
                match it.next_page() {
                    Some(page) => {
                        let page = page.unwrap();
                        assert!(!page.is_empty());
                        got.extend(page.iter().map(|(k, v)| (k.to_vec(), v.to_vec())));
                    }
                    None => break,
                }
            }
        }
        let want = limit.unwrap_or(usize::MAX).min(pairs.len());
        assert_eq!(got, pairs[..want], "limit {limit:?}");
    }
    let mut keys = db.keys(b"r:0", Some(b"r:00010"), Some(5)).unwrap();
    let page = keys.next_page().unwrap().unwrap();
    let listed: Vec<&[u8]> = page
        .iter()
        .map(|(k, v)| {
            assert!(v.is_empty());
            k
        })
        .collect();
    assert_eq!(listed, [&b"r:00011"[..], b"r:00012", b"r:00013", b"r:00014", b"r:00015"]);
    assert!(keys.next_page().is_none());
}

/// `put_many` writes its pairs in key order: keys alike in their first 16 bytes (or
/// differing only by trailing zero bytes) are all kept, and of two pairs with one key
/// the later wins, within one INSERT group and across groups.
#[test]
fn put_many_keys_alike_in_16_bytes_keep_the_last_duplicate() {
    let (_d, path) = temp();
    let db = open(&path);
    let long = |s: &str| format!("0123456789abcdef{s}").into_bytes();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (long("-b"), b"1".to_vec()),
        (long("-a"), b"2".to_vec()),
        (long(""), b"3".to_vec()),
        (long("-b"), b"4".to_vec()),
        (b"ab".to_vec(), b"5".to_vec()),
        (b"ab\0".to_vec(), b"6".to_vec()),
        (b"ab\0\0".to_vec(), b"7".to_vec()),
        (b"ab".to_vec(), b"8".to_vec()),
        (long("-a"), b"9".to_vec()),
    ];
    // Also in groups of the multi-row INSERT (64 pairs a statement) with duplicates across groups.
    let mut many: Vec<(Vec<u8>, Vec<u8>)> =
        (0..200u32).map(|i| (long(&format!("{:03}", i % 150)), i.to_le_bytes().to_vec())).collect();
    many.extend(pairs.iter().cloned());
    for batch in [&pairs, &many] {
        db.put_many(batch).unwrap();
        for (k, v) in [
            (long("-b"), b"4"),
            (long("-a"), b"9"),
            (long(""), b"3"),
            (b"ab".to_vec(), b"8"),
            (b"ab\0".to_vec(), b"6"),
            (b"ab\0\0".to_vec(), b"7"),
        ] {
            assert_eq!(db.get(&k).unwrap().as_deref(), Some(&v[..]), "{k:?}");
        }
    }
    for i in 0..150u32 {
        let last = if i < 50 { i + 150 } else { i };
        assert_eq!(db.get(&long(&format!("{i:03}"))).unwrap().unwrap(), last.to_le_bytes(), "{i}");
    }
    let keys: Vec<Vec<u8>> = db.keys(b"", None, None).unwrap().map(|k| k.unwrap()).collect();
    assert_eq!(keys.len(), 6 + 150);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
}
