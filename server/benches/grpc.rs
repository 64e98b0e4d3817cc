//! One command, loopback, one run: BuffDB's server and (when installed at
//! target/tools/bin/buffdb) the earlier BuffDB side by side.
//!
//!   cargo bench -p buffdb-server --bench grpc [-- --n 100000 --old-n 2000 --stream-mib 1024]
//!
//! Set and Get with 100-byte values over one stream and over 8 concurrent streams
//! (buffdb.kv.Kv, the compatible service both servers speak), and one large path
//! stream written and read through buffdb.v1.Streams (the earlier server has none).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buffdb::{Db, OpenOptions};
use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::{GetRequest, SetRequest};
use buffdb_server::proto::v1::streams_client::StreamsClient;
use buffdb_server::proto::v1::{ReadRequest, WriteChunk};
use buffdb_server::{Config, Stores};
use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn channel(addr: SocketAddr) -> Channel {
    for _ in 0..100 {
        // The windows and frame size the Rust client uses (for both servers).
        let endpoint = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .initial_stream_window_size(buffdb_server::server::STREAM_WINDOW)
            .initial_connection_window_size(buffdb_server::server::CONNECTION_WINDOW)
            .max_frame_size(buffdb_server::server::MAX_FRAME);
        if let Ok(c) = endpoint.connect().await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to {addr}");
}

/// Sets (or gets) keys `from..to` over one stream, checking every answer; ops/s.
/// Gets read key `i % keyspace` (the keys the Sets wrote).
async fn one_stream(ch: Channel, tag: &str, from: u64, to: u64, keyspace: u64, set: bool) -> Result<u64, String> {
    let mut c = KvClient::new(ch);
    let tag = tag.to_string();
    let value = "v".repeat(100);
    if set {
        let t2 = tag.clone();
        let reqs = tokio_stream::iter(from..to).map(move |i| SetRequest {
            key: format!("{t2}:{i:09}"),
            value: value.clone(),
            transaction_id: None,
        });
        let mut s = c.set(reqs).await.map_err(|e| e.message().to_string())?.into_inner();
        let mut n = 0;
        while let Some(r) = s.next().await {
            r.map_err(|e| e.message().to_string())?;
            n += 1;
        }
        Ok(n)
    } else {
        let reqs = tokio_stream::iter(from..to)
            .map(move |i| GetRequest { key: format!("{tag}:{:09}", i % keyspace), transaction_id: None });
        let mut s = c.get(reqs).await.map_err(|e| e.message().to_string())?.into_inner();
        let mut n = 0;
        while let Some(r) = s.next().await {
            assert_eq!(r.map_err(|e| e.message().to_string())?.value.len(), 100);
            n += 1;
        }
        Ok(n)
    }
}

async fn kv_rate(addr: SocketAddr, tag: &str, n: u64, keyspace: u64, streams: u64, set: bool) -> Result<f64, String> {
    let mut chans = Vec::new();
    for _ in 0..streams {
        chans.push(channel(addr).await);
    }
    let t = Instant::now();
    let per = n / streams;
    let mut tasks = Vec::new();
    for (s, ch) in chans.into_iter().enumerate() {
        let tag = tag.to_string();
        let s = s as u64;
        tasks.push(tokio::spawn(async move { one_stream(ch, &tag, s * per, (s + 1) * per, keyspace, set).await }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap()?;
    }
    assert_eq!(done, per * streams);
    Ok(done as f64 / t.elapsed().as_secs_f64())
}

async fn stream_rates(addr: SocketAddr, mib: u64) -> (f64, f64) {
    let mut c = StreamsClient::new(channel(addr).await);
    let piece: Bytes = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect::<Vec<u8>>().into();
    let p = piece.clone();
    let reqs = tokio_stream::iter(0..mib).map(move |i| WriteChunk {
        path: if i == 0 { "/bench/big".into() } else { String::new() },
        data: p.clone(),
        compress: None,
        abort: false,
        metadata: None,
    });
    let t = Instant::now();
    let info = c.write(reqs).await.unwrap().into_inner();
    let write = (mib << 20) as f64 / t.elapsed().as_secs_f64() / 1e6;
    assert_eq!(info.size, mib << 20);
    let t = Instant::now();
    let mut s = c
        .read(ReadRequest { path: "/bench/big".into(), version: None, offset: 0, length: None })
        .await
        .unwrap()
        .into_inner();
    let mut n = 0u64;
    while let Some(m) = s.next().await {
        n += m.unwrap().data.len() as u64;
    }
    assert_eq!(n, mib << 20);
    (write, (mib << 20) as f64 / t.elapsed().as_secs_f64() / 1e6)
}

/// Time from opening a compat Get stream of `gets` requests to its last answer, the
/// median of `n` streams on one connection, in milliseconds: what a client that
/// opens a short stream per group of Gets waits.
async fn short_stream_ms(addr: SocketAddr, key: &str, gets: usize, n: usize) -> Result<f64, String> {
    let mut c = KvClient::new(channel(addr).await);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let reqs: Vec<GetRequest> =
            (0..gets).map(|_| GetRequest { key: key.to_string(), transaction_id: None }).collect();
        let mut s = c.get(tokio_stream::iter(reqs)).await.map_err(|e| e.message().to_string())?.into_inner();
        let mut answers = 0;
        while let Some(r) = s.next().await {
            r.map_err(|e| e.message().to_string())?;
            answers += 1;
        }
        if answers != gets {
            return Err(format!("{answers} answers to {gets} Gets"));
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[n / 2])
}

/// The same document written and read in 1 MiB pieces straight through the engine,
/// in this process: what the server's stream rates are measured against.
fn engine_stream_rates(path: &std::path::Path, mib: u64) -> (f64, f64) {
    let db = Db::open(path, OpenOptions::default()).unwrap();
    let piece: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let t = Instant::now();
    let mut w = db.stream_writer("/bench/big").unwrap();
    for _ in 0..mib {
        w.write(&piece).unwrap();
    }
    assert_eq!(w.commit().unwrap().size, mib << 20);
    let write = (mib << 20) as f64 / t.elapsed().as_secs_f64() / 1e6;
    let t = Instant::now();
    let mut r = db.stream_open("/bench/big", None).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read_into(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    assert_eq!(n, mib << 20);
    let read = (mib << 20) as f64 / t.elapsed().as_secs_f64() / 1e6;
    drop(r);
    db.close().unwrap();
    drop(db);
    // Its gigabyte leaves the page cache: a large cached file left behind here made
    // the server's write that follows 30-45% slower (measured), so both writes start
    // from the same state.
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    for e in std::fs::read_dir(path.parent().unwrap()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&name)) {
            std::fs::remove_file(p).unwrap();
        }
    }
    (write, read)
}

struct Row {
    what: String,
    ours: f64,
    old: Option<Result<f64, String>>,
}

impl Row {
    /// How many times better BuffDB is: rates divide by the earlier one's, times
    /// (the rows in ms) the other way round.
    fn ratio(&self, old: f64) -> f64 {
        if self.what.contains("(ms") {
            old / self.ours
        } else {
            self.ours / old
        }
    }
}

fn figure(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

fn start_old(dir: &std::path::Path) -> Option<(Child, SocketAddr)> {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/bin/buffdb");
    if !bin.exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(bin)
        .current_dir(dir)
        .args(["run", &addr.to_string(), "--kv-store", "old-kv.db", "--blob-store", "old-blob.db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some((child, addr))
}

#[tokio::main]
async fn main() {
    let n = arg("--n", 100_000);
    let old_n = arg("--old-n", 2_000);
    let mib = arg("--stream-mib", 1024);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("bench.db"), OpenOptions::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let engine = db.clone();
    let running = buffdb_server::start(Config::new(Stores::shared(db)), listener).await.unwrap();
    let ours = running.local_addr();
    let mut old = start_old(dir.path());
    let old_addr = old.as_ref().map(|(_, a)| *a);

    let mut rows = Vec::new();
    for (streams, label) in [(1u64, "one stream"), (8, "8 concurrent streams")] {
        let tag = format!("s{streams}");
        let written = n / streams * streams;
        let set_ours = kv_rate(ours, &tag, n, n, streams, true).await.unwrap();
        // Both servers get the same Gets: n of them, cycling over the first `old_n`
        // keys (the earlier server commits each Set with an fsync, so it stores only
        // `old_n`). BuffDB also reads each of its n keys once: nothing cached.
        let cycled = old_n.min(written) / streams * streams;
        let get_ours = kv_rate(ours, &tag, n, cycled, streams, false).await.unwrap();
        let cold_ours = kv_rate(ours, &tag, n, written, streams, false).await.unwrap();
        let (set_old, get_old) = match old_addr {
            Some(a) => {
                let set = kv_rate(a, &tag, old_n, old_n, streams, true).await;
                (Some(set), Some(kv_rate(a, &tag, n, cycled, streams, false).await))
            }
            None => (None, None),
        };
        rows.push(Row { what: format!("Set, 100 B values, {label} (ops/s)"), ours: set_ours, old: set_old });
        rows.push(Row {
            what: format!("Get, 100 B values, {label}, cycling over {cycled} keys (ops/s)"),
            ours: get_ours,
            old: get_old,
        });
        rows.push(Row {
            what: format!("Get, 100 B values, {label}, each of {written} keys once (ops/s)"),
            ours: cold_ours,
            old: None,
        });
    }
    let key = format!("s1:{:09}", 0);
    rows.push(Row {
        what: "a new stream of 100 Gets, until its last answer, median of 20 (ms)".into(),
        ours: short_stream_ms(ours, &key, 100, 20).await.unwrap(),
        old: match old_addr {
            Some(a) => Some(short_stream_ms(a, &key, 100, 20).await),
            None => None,
        },
    });
    // The same Gets straight through the engine on one thread: the server's ceiling.
    let t = Instant::now();
    for i in 0..n {
        assert_eq!(engine.get(format!("s1:{i:09}").as_bytes()).unwrap().map(|v| v.len()), Some(100));
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        what: "Get, 100 B values, engine alone, one thread, no server (ops/s)".into(),
        ours: rate,
        old: None,
    });
    let (ew, er) = engine_stream_rates(&dir.path().join("engine.db"), mib);
    rows.push(Row {
        what: format!("path stream write, {mib} MiB, engine alone, no server (MB/s)"),
        ours: ew,
        old: None,
    });
    rows.push(Row {
        what: format!("path stream read, {mib} MiB, engine alone, no server (MB/s)"),
        ours: er,
        old: None,
    });
    let (w, r) = stream_rates(ours, mib).await;
    rows.push(Row { what: format!("path stream write, {mib} MiB (MB/s)"), ours: w, old: None });
    rows.push(Row { what: format!("path stream read, {mib} MiB (MB/s)"), ours: r, old: None });

    println!("BuffDB server benchmark, loopback, {} Sets/Gets ({} Sets on the earlier server)", n, old_n);
    println!("| operation | BuffDB {} | earlier BuffDB 0.5 | ratio |", buffdb::version());
    println!("|---|---:|---:|---:|");
    for row in rows {
        let (old, ratio) = match &row.old {
            Some(Ok(o)) => (figure(*o), format!("{:.1}x", row.ratio(*o))),
            Some(Err(e)) => (format!("failed: {e}"), String::new()),
            None => ("n/a".into(), String::new()),
        };
        println!("| {} | {} | {} | {} |", row.what, figure(row.ours), old, ratio);
    }
    if let Some((mut child, _)) = old.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    running.shutdown().await.unwrap();
}
