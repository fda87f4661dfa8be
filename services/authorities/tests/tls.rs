//! The authority API over HTTPS: with a certificate and key it answers over TLS only.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;

use authorities::{App, ServeArgs};
use kafka::KafkaArgs;
use runtime::{AdminArgs, HttpArgs, Service as _, Shutdown};
use store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authority_api_is_served_over_tls() {
    let certificate = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certificate.cert.pem()).unwrap();
    std::fs::write(&key, certificate.key_pair.serialize_pem()).unwrap();

    let store = Store::connect(&store::testing::fresh_postgres_url().await.unwrap(), 2)
        .await
        .unwrap();
    let brokers = kafka::testing::brokers();
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let args = ServeArgs {
        http_addr: any_port,
        admin_token: Some("operator-token-0123456789".into()),
        http: HttpArgs {
            tls_cert: Some(cert.clone()),
            tls_key: Some(key.clone()),
            ..HttpArgs::default()
        },
        stream_poll_ms: 100,
        admin: AdminArgs {
            admin_addr: Some(any_port),
        },
        kafka: KafkaArgs::new(brokers),
        consumer_group: "authorities-tls-test".into(),
    };
    let app = App::build(args.clone(), store.clone()).await.unwrap();
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
        .get(format!("https://localhost:{port}/admin/v1/authorities"))
        .bearer_auth("operator-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .get(format!("https://localhost:{port}/v1/alerts"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "TLS, then the key is still required"
    );
    // Plain HTTP gets no answer.
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/v1/alerts"))
        .await
        .map_or(true, |response| !response.status().is_success()
            && response.status() != 401));

    // A certificate without its key is refused at start, naming the setting.
    let half = ServeArgs {
        http: HttpArgs {
            tls_key: None,
            ..args.http.clone()
        },
        ..args
    };
    let error = App::build(half, store).await.err().unwrap();
    assert!(
        format!("{error:#}").contains("--tls-cert needs --tls-key"),
        "{error:#}"
    );
    shutdown.token().cancel();
}
