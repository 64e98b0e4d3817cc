//! Queries stream without a row limit and with flat memory, through
//! buffdb.query.Query (a row per message) and buffdb.v1.Database (pages), and a
//! client that goes away mid-query stops it: the server does not stay busy.

mod common;

use std::time::{Duration, Instant};

use buffdb_server::proto::query::query_client::QueryClient;
use buffdb_server::proto::query::{RawQuery, TargetStore};
use buffdb_server::proto::v1::database_client::DatabaseClient;
use buffdb_server::proto::v1::{cell, QueryRequest};
use common::{anon_rss_bytes, start, start_with, stream_of, Killable, PeakSampler};
use tokio_stream::StreamExt;

/// Memory and CPU are measured for the whole process: one test at a time.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `n` rows of (i, a 100-byte text): ~150 MB as the engine's collected rows for 1.2M.
fn numbered(n: u64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         SELECT i, printf('%0100d', i) FROM n"
    )
}

/// Counts without end.
const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)";

const ROWS: u64 = 1_200_000;

fn raw(sql: &str) -> RawQuery {
    RawQuery { query: sql.into(), target: TargetStore::Kv as i32 }
}

fn int64(a: &prost_types::Any) -> i64 {
    <i64 as prost::Message>::decode(&a.value[..]).unwrap()
}

/// CPU time this process used (all threads), from /proc/self/stat, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Waits (up to 5 s) for a 300 ms window in which the process used under a tenth
/// of a core: true once the server has stopped working on an abandoned query.
async fn goes_idle() -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let before = cpu_ticks();
        tokio::time::sleep(Duration::from_millis(300)).await;
        if cpu_ticks() - before < 3 {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_query_streams_over_a_million_rows_in_flat_memory() {
    let _alone = ALONE.lock().await;
    let srv = start().await;
    let mut q = QueryClient::new(srv.channel.clone());
    let before = anon_rss_bytes();
    let sampler = PeakSampler::start();
    let t = Instant::now();
    let mut rows = q.query(stream_of(vec![raw(&numbered(ROWS)), raw("SELECT 'next'")])).await.unwrap().into_inner();
    let mut n = 0u64;
    while n < ROWS {
        let r = rows.next().await.unwrap().unwrap();
        n += 1;
        if n % 100_000 == 1 || n == ROWS {
            assert_eq!(int64(&r.fields[0]), n as i64);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    // The next query on the same stream follows, then the stream ends.
    let next = rows.next().await.unwrap().unwrap();
    assert_eq!(<String as prost::Message>::decode(&next.fields[0].value[..]).unwrap(), "next");
    assert!(rows.next().await.is_none());
    let grown = sampler.peak().saturating_sub(before);
    eprintln!("{ROWS} rows in {secs:.1} s ({:.0} rows/s), peak heap grew {} MiB", ROWS as f64 / secs, grown >> 20);
    assert!(grown < 48 << 20, "peak heap grew {} MiB streaming {ROWS} rows", grown >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_query_streams_over_a_million_rows_in_pages() {
    let _alone = ALONE.lock().await;
    let srv = start().await;
    let mut c = DatabaseClient::new(srv.channel.clone());
    let before = anon_rss_bytes();
    let sampler = PeakSampler::start();
    let mut pages = c.query(QueryRequest { sql: numbered(ROWS), ..Default::default() }).await.unwrap().into_inner();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.columns.len(), 2);
    let mut n = first.rows.len() as u64;
    let mut messages = 1;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.columns.is_empty());
        n += page.rows.len() as u64;
        messages += 1;
        let last = page.rows.last().unwrap();
        assert_eq!(last.cells[0].value, Some(cell::Value::Integer(n as i64)));
    }
    assert_eq!(n, ROWS);
    assert!(messages >= ROWS / 1000, "{messages} messages");
    let grown = sampler.peak().saturating_sub(before);
    assert!(grown < 48 << 20, "peak heap grew {} MiB streaming {ROWS} rows", grown >> 20);

    // No rows: one message with the columns.
    let msgs: Vec<_> = c
        .query(QueryRequest { sql: "SELECT key, value FROM kv".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].as_ref().unwrap().columns, ["key", "value"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_mid_query_stops_it() {
    let _alone = ALONE.lock().await;
    // Far longer than the test waits: a query left running shows as CPU, not as a timeout.
    let srv = start_with(|c| c.query_timeout = Duration::from_secs(30), false).await;

    // Rows flowing: the client reads a few of an endless query and drops the stream.
    let mut q = QueryClient::new(srv.channel.clone());
    let mut rows = q.query(stream_of(vec![raw(&format!("{ENDLESS} SELECT x FROM c"))])).await.unwrap().into_inner();
    for i in 1..=10 {
        assert_eq!(int64(&rows.next().await.unwrap().unwrap().fields[0]), i);
    }
    drop(rows);
    assert!(goes_idle().await, "the server kept running a query whose client dropped the stream");

    // No rows yet (SQLite counting without end): the connection is cut.
    let cut = Killable::connect(srv.running.as_ref().unwrap().local_addr()).await;
    let mut q = QueryClient::new(cut.channel.clone());
    let rows = q.query(stream_of(vec![raw(&format!("{ENDLESS} SELECT x FROM c WHERE x < 0"))])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!goes_idle_within(Duration::from_millis(300)).await, "the query should be running now");
    cut.kill();
    drop(rows);
    assert!(goes_idle().await, "the server kept running a query whose client went away");

    // The same through buffdb.v1 (whose call waits for the first page): the call is
    // given up before any row came.
    let mut c = DatabaseClient::new(srv.channel.clone());
    let sql = format!("{ENDLESS} SELECT x FROM c WHERE x < 0");
    let call =
        tokio::time::timeout(Duration::from_millis(600), c.query(QueryRequest { sql, ..Default::default() })).await;
    assert!(call.is_err(), "no page can come");
    assert!(goes_idle().await, "the server kept running a v1 query whose client gave up the call");

    // The server still answers.
    let mut q = QueryClient::new(srv.channel.clone());
    let rows: Vec<_> = q.query(stream_of(vec![raw("SELECT 7")])).await.unwrap().into_inner().collect().await;
    assert_eq!(int64(&rows[0].as_ref().unwrap().fields[0]), 7);
}

/// Whether one `window` passes with the process under a tenth of a core.
async fn goes_idle_within(window: Duration) -> bool {
    let before = cpu_ticks();
    tokio::time::sleep(window).await;
    cpu_ticks() - before < 3
}
