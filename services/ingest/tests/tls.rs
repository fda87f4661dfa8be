//! The company API over HTTPS: with a certificate and key it answers over TLS only, and a key is
//! still required.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;

use ingest::{App, LimitArgs, ServeArgs};
use kafka::KafkaArgs;
use runtime::{AdminArgs, HttpArgs, Service as _, Shutdown};
use store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_api_is_served_over_tls() {
    let certificate = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certificate.cert.pem()).unwrap();
    std::fs::write(&key, certificate.key_pair.serialize_pem()).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("tls.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    let brokers = kafka::testing::brokers();
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let args = ServeArgs {
        http_addr: any_port,
        http: HttpArgs {
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..HttpArgs::default()
        },
        admin: AdminArgs {
            admin_addr: Some(any_port),
        },
        kafka: KafkaArgs::new(brokers),
        consumer_group: "ingest-tls-test".into(),
        limits: LimitArgs::default(),
    };
    let app = App::build(args, store).await.unwrap();
    let port = app.http_addr().unwrap().port();
    let shutdown = Shutdown::new();
    app.spawn(&shutdown).unwrap();

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certificate.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let response = client
        .post(format!("https://localhost:{port}/v1/reports"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "TLS, then the key is still required"
    );
    // Plain HTTP gets no answer.
    let plain = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/reports"))
        .send()
        .await;
    assert!(plain.map_or(true, |response| response.status() != 401));
    shutdown.token().cancel();
}
