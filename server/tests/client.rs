//! The Rust client (feature `client`) against the real server.

mod common;

use std::io::Read;

use buffdb::ErrorCode;
use buffdb_server::client::Client;
use common::start_with;

/// Yields `good` bytes, then fails.
struct FailingReader {
    good: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.good == 0 {
            return Err(std::io::Error::other("disk went away"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(7);
        self.good -= n;
        Ok(n)
    }
}

#[tokio::test]
async fn the_client_round_trips_and_maps_errors() {
    let srv = start_with(|c| c.token = Some("t0k".into()), false).await;
    let addr = srv.running.as_ref().unwrap().local_addr().to_string();
    assert_eq!(
        Client::connect(&addr, None).await.unwrap().get(b"k").await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    let mut c = Client::connect(&addr, Some("t0k")).await.unwrap();

    c.put(b"k", b"v").await.unwrap();
    assert_eq!(c.get(b"k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(c.get(b"nope").await.unwrap(), None);
    assert_eq!(c.put(b"", b"v").await.unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(c.stream_stat("/nope").await.unwrap_err().code(), ErrorCode::NotFound);

    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
    let info = c.stream_put_from("/c/a", std::io::Cursor::new(data.clone()), None, None).await.unwrap();
    assert_eq!(info.size, data.len() as u64);
    let mut back = Vec::new();
    c.stream_get_to("/c/a", None, &mut back).await.unwrap();
    assert!(back == data);

    // A reader that fails part way: the call is cancelled and nothing is published.
    let err = c.stream_put_from("/c/broken", FailingReader { good: 3 << 20 }, None, None).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    let err = c.blob_put_from(FailingReader { good: 1 << 20 }, None).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!srv.stores.kv.stream_exists("/c/broken").unwrap());
    let ids = srv.stores.kv.blob_ids(None, None).unwrap();
    assert!(
        ids.is_empty(),
        "stored {:?}",
        ids.iter().map(|&i| srv.stores.kv.blob_info(i).unwrap()).collect::<Vec<_>>()
    );

    let mut rows = Vec::new();
    let columns = c
        .query("SELECT key_text FROM kv", &[], |columns, r| {
            assert_eq!(columns, ["key_text"]);
            rows.push(r);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(columns, ["key_text"]);
    assert_eq!(rows, vec![vec![buffdb::Value::Text("k".into())]]);
}
