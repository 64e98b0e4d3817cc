//! buffdb.kv.Kv through the generated tonic client against the real server.

mod common;

use std::time::Duration;

use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::*;
use common::{start, stream_of};
use tokio_stream::StreamExt;
use tonic::Code;

fn set(key: &str, value: &str, txn: Option<&str>) -> SetRequest {
    SetRequest { key: key.into(), value: value.into(), transaction_id: txn.map(Into::into) }
}
fn get(key: &str, txn: Option<&str>) -> GetRequest {
    GetRequest { key: key.into(), transaction_id: txn.map(Into::into) }
}

async fn get_all(
    c: &mut KvClient<tonic::transport::Channel>,
    reqs: Vec<GetRequest>,
) -> (Vec<String>, Option<tonic::Status>) {
    let mut s = c.get(stream_of(reqs)).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(r) = s.next().await {
        match r {
            Ok(r) => out.push(r.value),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[tokio::test]
async fn set_get_delete_answer_one_for_one_in_order() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let n = 5000;
    let sets: Vec<_> = (0..n).map(|i| set(&format!("k{i:05}"), &format!("v{i}"), None)).collect();
    let keys: Vec<String> = c.set(stream_of(sets)).await.unwrap().into_inner().map(|r| r.unwrap().key).collect().await;
    assert_eq!(keys, (0..n).map(|i| format!("k{i:05}")).collect::<Vec<_>>());
    // Every answered Set is committed: visible straight from the engine.
    assert_eq!(srv.stores.kv.get(b"k04999").unwrap(), Some(b"v4999".to_vec()));
    assert_eq!(srv.stores.kv.count(b"k").unwrap(), n as u64);

    let (values, err) = get_all(&mut c, (0..n).rev().map(|i| get(&format!("k{i:05}"), None)).collect()).await;
    assert!(err.is_none());
    assert_eq!(values, (0..n).rev().map(|i| format!("v{i}")).collect::<Vec<_>>());

    let dels = vec![DeleteRequest { key: "k00001".into(), transaction_id: None }];
    let r: Vec<_> = c.delete(stream_of(dels)).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap().key, "k00001");
    assert_eq!(srv.stores.kv.get(b"k00001").unwrap(), None);
}

#[tokio::test]
async fn missing_keys_are_not_found_after_the_answers_before_them() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    srv.stores.kv.put(b"a", b"1").unwrap();
    let (values, err) = get_all(&mut c, vec![get("a", None), get("nope", None), get("a", None)]).await;
    assert_eq!(values, ["1"]);
    let err = err.expect("an error for the missing key");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.metadata().get("buffdb-error-code").unwrap(), "NOT_FOUND");

    let dels = vec![DeleteRequest { key: "nope".into(), transaction_id: None }];
    let r: Vec<_> = c.delete(stream_of(dels)).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap_err().code(), Code::NotFound);

    // An empty key is a bad argument, and stops the batch after the good Set.
    let r: Vec<_> =
        c.set(stream_of(vec![set("b", "2", None), set("", "x", None)])).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap().key, "b");
    assert_eq!(r[1].as_ref().unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(srv.stores.kv.get(b"b").unwrap(), Some(b"2".to_vec()));
}

#[tokio::test]
async fn eq_and_not_eq() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    srv.stores.kv.put_many(&[("a", "x"), ("b", "x"), ("c", "y")]).unwrap();
    let eq = |keys: &[&str]| keys.iter().map(|k| EqRequest { key: k.to_string() }).collect::<Vec<_>>();
    let neq = |keys: &[&str]| keys.iter().map(|k| NotEqRequest { key: k.to_string() }).collect::<Vec<_>>();
    assert!(c.eq(stream_of(eq(&["a", "b"]))).await.unwrap().into_inner());
    assert!(!c.eq(stream_of(eq(&["a", "b", "c"]))).await.unwrap().into_inner());
    assert!(c.not_eq(stream_of(neq(&["a", "c"]))).await.unwrap().into_inner());
    assert!(!c.not_eq(stream_of(neq(&["a", "b"]))).await.unwrap().into_inner());
    assert_eq!(c.eq(stream_of(eq(&["a", "zz"]))).await.unwrap_err().code(), Code::NotFound);
}

async fn begin(c: &mut KvClient<tonic::transport::Channel>, read_only: bool, timeout_ms: Option<i32>) -> String {
    c.begin_transaction(BeginTransactionRequest { read_only: Some(read_only), timeout_ms })
        .await
        .unwrap()
        .into_inner()
        .transaction_id
}

#[tokio::test]
async fn a_transaction_commits_all_its_writes_at_once() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let id = begin(&mut c, false, None).await;
    let r: Vec<_> = c
        .set(stream_of(vec![set("t1", "a", Some(&id)), set("t2", "b", Some(&id))]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert!(r.iter().all(|r| r.is_ok()));
    // Inside the transaction its writes are visible; outside, not yet.
    let (v, err) = get_all(&mut c, vec![get("t1", Some(&id))]).await;
    assert_eq!((v, err.map(|e| e.code())), (vec!["a".to_string()], None));
    assert_eq!(srv.stores.kv.get(b"t1").unwrap(), None);
    let (_, err) = get_all(&mut c, vec![get("t1", None)]).await;
    assert_eq!(err.unwrap().code(), Code::NotFound);

    let done =
        c.commit_transaction(CommitTransactionRequest { transaction_id: id.clone() }).await.unwrap().into_inner();
    assert!(done.success, "{:?}", done.error_message);
    assert_eq!(srv.stores.kv.get(b"t2").unwrap(), Some(b"b".to_vec()));
    // The id is finished now.
    let again =
        c.commit_transaction(CommitTransactionRequest { transaction_id: id.clone() }).await.unwrap().into_inner();
    assert!(!again.success);
    let (_, err) = get_all(&mut c, vec![get("t1", Some(&id))]).await;
    assert_eq!(err.unwrap().code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    srv.stores.kv.put(b"keep", b"old").unwrap();
    let id = begin(&mut c, false, None).await;
    let _: Vec<_> = c
        .set(stream_of(vec![set("keep", "new", Some(&id)), set("gone", "x", Some(&id))]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    let dels = vec![DeleteRequest { key: "keep".into(), transaction_id: Some(id.clone()) }];
    let _: Vec<_> = c.delete(stream_of(dels)).await.unwrap().into_inner().collect().await;
    let r = c.rollback_transaction(RollbackTransactionRequest { transaction_id: id }).await.unwrap().into_inner();
    assert!(r.success);
    assert_eq!(srv.stores.kv.get(b"keep").unwrap(), Some(b"old".to_vec()));
    assert_eq!(srv.stores.kv.get(b"gone").unwrap(), None);
    // The writer is free again.
    let r: Vec<_> = c.set(stream_of(vec![set("after", "1", None)])).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());
}

#[tokio::test]
async fn a_read_only_transaction_refuses_writes() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    srv.stores.kv.put(b"r", b"1").unwrap();
    let id = begin(&mut c, true, None).await;
    let (v, err) = get_all(&mut c, vec![get("r", Some(&id))]).await;
    assert_eq!(v, ["1"]);
    assert!(err.is_none());
    let r: Vec<_> = c.set(stream_of(vec![set("r", "2", Some(&id))])).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap_err().code(), Code::PermissionDenied);
    assert!(c.commit_transaction(CommitTransactionRequest { transaction_id: id }).await.unwrap().into_inner().success);
    assert_eq!(srv.stores.kv.get(b"r").unwrap(), Some(b"1".to_vec()));
}

#[tokio::test]
async fn an_idle_transaction_rolls_back_after_its_timeout() {
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let id = begin(&mut c, false, Some(300)).await;
    let r: Vec<_> = c.set(stream_of(vec![set("idle", "x", Some(&id))])).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(srv.running.as_ref().unwrap().open_transactions(), 0);
    let done = c.commit_transaction(CommitTransactionRequest { transaction_id: id }).await.unwrap().into_inner();
    assert!(!done.success);
    assert!(done.error_message.unwrap().contains("not open"));
    assert_eq!(srv.stores.kv.get(b"idle").unwrap(), None);
    // Nothing holds the writer: a plain Set goes through at once.
    let r: Vec<_> = c.set(stream_of(vec![set("idle", "y", None)])).await.unwrap().into_inner().collect().await;
    assert!(r[0].is_ok());
    assert!(
        c.begin_transaction(BeginTransactionRequest { read_only: None, timeout_ms: Some(-1) })
            .await
            .unwrap_err()
            .code()
            == Code::InvalidArgument
    );
}

/// The server's accepted sockets have TCP_NODELAY, found among this process's
/// descriptors (the server runs in it). With Nagle's algorithm on, the answers of
/// a stream of Gets waited ~40 ms for the client's delayed ACK: a stream of 100
/// Gets took 44 ms where the earlier BuffDB took 2 (server benchmark).
#[tokio::test]
async fn the_servers_connections_send_without_delay() {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        eprintln!("skipped: no /proc/self/fd to find the server's sockets in");
        return;
    };
    let srv = start().await;
    let mut c = KvClient::new(srv.channel.clone());
    let (answers, err) = get_all(&mut c, vec![get("absent", None)]).await;
    assert!(answers.is_empty() && err.unwrap().code() == Code::NotFound);
    let port = srv.running.as_ref().unwrap().local_addr().port();
    let mut accepted = 0;
    for fd in fds.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()) {
        // SAFETY: the calls only write into the buffers given with their lengths; a
        // descriptor that is not a socket (or closed meanwhile) makes them fail.
        unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            if libc::getsockname(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut len) != 0
                || addr.ss_family != libc::AF_INET as libc::sa_family_t
            {
                continue;
            }
            let local = &*(&addr as *const libc::sockaddr_storage as *const libc::sockaddr_in);
            let mut peer: libc::sockaddr_storage = std::mem::zeroed();
            let mut plen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            // The server's side of a connection: its port, and a peer (the listener has none).
            if u16::from_be(local.sin_port) != port
                || libc::getpeername(fd, &mut peer as *mut _ as *mut libc::sockaddr, &mut plen) != 0
            {
                continue;
            }
            let mut on: libc::c_int = 0;
            let mut olen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            let rc = libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &mut on as *mut libc::c_int as *mut libc::c_void,
                &mut olen,
            );
            assert_eq!(rc, 0);
            assert_eq!(on, 1, "an accepted connection (descriptor {fd}) has Nagle's algorithm on");
            accepted += 1;
        }
    }
    assert!(accepted >= 1, "no accepted connection on port {port} among this process's descriptors");
}
