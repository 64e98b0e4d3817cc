//! A large stream written and read back through buffdb.v1.Streams with flat
//! memory: 256 MiB by default, 1 GiB with BUFFDB_SERVER_SOAK=1.

mod common;

use buffdb_server::proto::v1::streams_client::StreamsClient;
use buffdb_server::proto::v1::{ReadRequest, WriteChunk};
use common::{anon_rss_bytes, options, start_full, PeakSampler};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_stream_round_trips_with_flat_memory() {
    let size: u64 = if std::env::var_os("BUFFDB_SERVER_SOAK").is_some() { 1 << 30 } else { 256 << 20 };
    // A small SQLite page cache (the default 64 MiB would count here too): what
    // remains is the server's own memory.
    let srv = start_full(|_| {}, false, buffdb::OpenOptions { cache_size: 8 << 20, ..options() }).await;
    let mut c = StreamsClient::new(srv.channel.clone());
    let piece: Bytes = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect::<Vec<u8>>().into();
    let pieces = size >> 20;
    let mut want = crc32fast::Hasher::new();
    for _ in 0..pieces {
        want.update(&piece);
    }
    let want = want.finalize();
    let before = anon_rss_bytes();
    let sampler = PeakSampler::start();

    let p = piece.clone();
    let upload = tokio_stream::iter(0..pieces).map(move |i| WriteChunk {
        path: if i == 0 { "/big".into() } else { String::new() },
        data: p.clone(),
        compress: None,
        abort: false,
        metadata: None,
    });
    let t = std::time::Instant::now();
    let info = c.write(upload).await.unwrap().into_inner();
    let write_secs = t.elapsed().as_secs_f64();
    assert_eq!((info.size, info.crc32), (size, want));

    let t = std::time::Instant::now();
    let mut s =
        c.read(ReadRequest { path: "/big".into(), version: None, offset: 0, length: None }).await.unwrap().into_inner();
    let mut got = crc32fast::Hasher::new();
    let mut n = 0u64;
    while let Some(m) = s.next().await {
        let m = m.unwrap();
        n += m.data.len() as u64;
        got.update(&m.data);
    }
    let read_secs = t.elapsed().as_secs_f64();
    assert_eq!((n, got.finalize()), (size, want));
    let grown = sampler.peak().saturating_sub(before);
    eprintln!(
        "{} MiB: write {:.0} MB/s, read {:.0} MB/s, peak heap grew {} MiB",
        size >> 20,
        size as f64 / write_secs / 1e6,
        size as f64 / read_secs / 1e6,
        grown >> 20
    );
    // Client and server share this process: together they hold a few pieces in flight,
    // HTTP/2 windows and SQLite's page caches, never the document.
    assert!(grown < 96 << 20, "peak heap grew {} MiB for a {} MiB stream", grown >> 20, size >> 20);
}
