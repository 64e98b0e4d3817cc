//! The bearer token and TLS.

mod common;

use buffdb_server::proto::kv::kv_client::KvClient;
use buffdb_server::proto::kv::{GetRequest, SetRequest};
use buffdb_server::proto::v1::database_client::DatabaseClient;
use buffdb_server::proto::v1::StatsRequest;
use buffdb_server::Tls;
use common::{start_with, stream_of};
use tokio_stream::StreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::{Code, Request, Status};

fn bearer(token: &'static str) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut req: Request<()>| {
        req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        Ok(req)
    }
}

#[tokio::test]
async fn every_call_needs_the_token() {
    let srv = start_with(|c| c.token = Some("s3cret".into()), false).await;
    let ch = srv.channel.clone();
    let set = || stream_of(vec![SetRequest { key: "k".into(), value: "v".into(), transaction_id: None }]);

    let err = KvClient::new(ch.clone()).set(set()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = KvClient::with_interceptor(ch.clone(), bearer("wrong")).set(set()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = DatabaseClient::new(ch.clone()).stats(StatsRequest {}).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(srv.stores.kv.get(b"k").unwrap(), None);

    let mut ok = KvClient::with_interceptor(ch.clone(), bearer("s3cret"));
    let r: Vec<_> = ok.set(set()).await.unwrap().into_inner().collect().await;
    assert_eq!(r[0].as_ref().unwrap().key, "k");
    let got = ok.get(stream_of(vec![GetRequest { key: "k".into(), transaction_id: None }])).await.unwrap();
    assert_eq!(got.into_inner().next().await.unwrap().unwrap().value, "v");
    assert_eq!(
        DatabaseClient::with_interceptor(ch, bearer("s3cret"))
            .stats(StatsRequest {})
            .await
            .unwrap()
            .into_inner()
            .kv_count,
        1
    );
}

#[tokio::test]
async fn tls_with_a_self_signed_certificate() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    let key_pem = ck.key_pair.serialize_pem();
    let tls = Tls { cert_pem: cert_pem.clone().into_bytes(), key_pem: key_pem.into_bytes() };
    let srv = start_with(move |c| c.tls = Some(tls), false).await;
    let addr = srv.running.as_ref().unwrap().local_addr();

    let channel = Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&cert_pem)).domain_name("localhost"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = KvClient::new(channel);
    let r: Vec<_> = c
        .set(stream_of(vec![SetRequest { key: "tls".into(), value: "yes".into(), transaction_id: None }]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert!(r[0].is_ok());
    assert_eq!(srv.stores.kv.get(b"tls").unwrap(), Some(b"yes".to_vec()));

    // Plaintext to a TLS server fails instead of reaching the store.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{}", addr.port())).unwrap().connect().await;
    if let Ok(plain) = plain {
        let err = KvClient::new(plain)
            .set(stream_of(vec![SetRequest { key: "plain".into(), value: "no".into(), transaction_id: None }]))
            .await;
        assert!(err.is_err());
    }
    assert_eq!(srv.stores.kv.get(b"plain").unwrap(), None);
}
