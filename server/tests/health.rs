//! gRPC health and reflection are served next to the BuffDB services.

mod common;

use common::start;
use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

#[tokio::test]
async fn health_and_reflection() {
    let srv = start().await;
    let mut h = HealthClient::new(srv.channel.clone());
    for service in ["buffdb.kv.Kv", "buffdb.blob.Blob", "buffdb.query.Query", ""] {
        let r = h.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service}");
    }
    assert_eq!(h.check(HealthCheckRequest { service: "nope".into() }).await.unwrap_err().code(), tonic::Code::NotFound);

    let mut r = ServerReflectionClient::new(srv.channel.clone());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let resp = r
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else { panic!("{resp:?}") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "buffdb.kv.Kv",
        "buffdb.blob.Blob",
        "buffdb.query.Query",
        "buffdb.v1.Kv",
        "buffdb.v1.Streams",
        "buffdb.v1.Transactions",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
}
