//! The console finds every instance of a `dns://` service and adds their figures up: two fake
//! admin servers on 127.0.0.1 and 127.0.0.2 at the same port, one name resolving to both.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use web_console::{Health, Monitor, Resolver, Target};

/// An admin server answering `/readyz` with `ready` and `/metrics` with a screened counter.
async fn fake_instance(addr: SocketAddr, ready: bool, screened: Arc<AtomicU64>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let bound = listener.local_addr().unwrap();
    let router = Router::new()
        .route(
            "/readyz",
            get(move || async move {
                if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let screened = screened.clone();
                async move {
                    format!(
                        "# TYPE pw_matcher_reports_screened_total counter\n\
                         pw_matcher_reports_screened_total{{outcome=\"clear\"}} {}\n\
                         # TYPE pw_matcher_consumer_lag gauge\n\
                         pw_matcher_consumer_lag{{partition=\"0\",topic=\"orders.submitted\"}} 2\n",
                        screened.load(Ordering::Relaxed)
                    )
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    bound
}

#[tokio::test]
async fn every_instance_a_name_resolves_to_is_watched() {
    let (first, second) = (Arc::new(AtomicU64::new(10)), Arc::new(AtomicU64::new(20)));
    let one = fake_instance("127.0.0.1:0".parse().unwrap(), true, first.clone()).await;
    let two = fake_instance(
        SocketAddr::new([127, 0, 0, 2].into(), one.port()),
        false,
        second.clone(),
    )
    .await;
    let name = format!("pods.test:{}", one.port());
    let resolver: Resolver = {
        let name = name.clone();
        Arc::new(move |address: String| {
            let found = if address == name {
                Ok(vec![two, one, one])
            } else {
                Err(std::io::Error::other("unknown name"))
            };
            Box::pin(async move { found })
        })
    };
    let monitor = Monitor::with_resolver(
        vec![
            format!("matcher=dns://{name}").parse().unwrap(),
            "router=dns://nowhere.test:9103".parse().unwrap(),
        ],
        resolver,
    );
    let client = reqwest::Client::new();
    monitor.check(&client).await;
    first.fetch_add(3, Ordering::Relaxed);
    second.fetch_add(4, Ordering::Relaxed);
    monitor.check(&client).await;

    let services = monitor.services();
    let matcher = &services[0];
    assert_eq!((matcher.instances, matcher.ready_instances), (2, 1));
    assert_eq!(matcher.health, Health::NotReady, "one of two is not ready");
    assert_eq!(matcher.lag, Some(4.0), "2 from each");
    let history = monitor.history();
    assert_eq!(history.last().unwrap().screened, 7.0, "3 + 4");
    let router = &services[1];
    assert_eq!((router.health, router.instances), (Health::Down, 0));
}

#[tokio::test]
async fn the_system_resolver_finds_a_local_instance() {
    let counter = Arc::new(AtomicU64::new(1));
    let local = fake_instance("127.0.0.1:0".parse().unwrap(), true, counter).await;
    let target: Target = format!("matcher=dns://localhost:{}", local.port())
        .parse()
        .unwrap();
    let monitor = Monitor::new(vec![target]);
    monitor.check(&reqwest::Client::new()).await;
    let matcher = &monitor.services()[0];
    // localhost may resolve to ::1 as well, where nothing listens.
    assert!(matcher.instances >= 1, "{matcher:?}");
    assert_eq!(matcher.ready_instances, 1, "{matcher:?}");
}
