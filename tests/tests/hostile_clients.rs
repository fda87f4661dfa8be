//! Clients that stall, send what the API refuses or trip on details, over the real services:
//! what a black-box review of the company API found, each refused or accepted as it should be.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::{Duration, Instant};

use system_tests::{create_company, sample_report, Pipeline};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Opens a connection and sends the headers of a submission of `length` bytes with `key`, then
/// one byte of the body: an upload that stalls.
async fn stalled_upload(addr: &str, key: &str, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The status line's code of the answer on `stream`, or `None` when the server closed the
/// connection without one; waits at most `within`.
async fn answer(stream: &mut TcpStream, within: Duration) -> Option<u16> {
    let mut buffer = vec![0; 4096];
    let read = tokio::time::timeout(within, stream.read(&mut buffer))
        .await
        .expect("an answer or a closed connection in time")
        .ok()?;
    let text = String::from_utf8_lossy(&buffer[..read]);
    text.split(' ').nth(1).and_then(|code| code.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_company_stalling_uploads_never_refuses_another() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let addr = pipeline.ingest_addr().to_owned();
    pipeline.stop_service("ingest").await.unwrap();
    // Eight in flight in all, two per company; a client has 3 s to send headers and body.
    let serve = [
        "serve",
        "--http-addr",
        &addr,
        "--max-in-flight",
        "8",
        "--read-timeout-seconds",
        "3",
    ];
    pipeline.start_service("ingest", &serve).await.unwrap();
    let other = create_company(&pipeline.database_url, "beta-chemicals")
        .await
        .unwrap();

    // Company A opens more stalled uploads than the whole server's limit.
    let mut stalled = Vec::new();
    for _ in 0..10 {
        stalled.push(stalled_upload(&addr, &pipeline.api_key, 1_000).await);
    }
    // Its uploads past its share are refused at once; two stay open.
    let mut refused = 0;
    let mut open = Vec::new();
    for mut stream in stalled {
        match tokio::time::timeout(
            Duration::from_millis(500),
            answer(&mut stream, Duration::from_secs(1)),
        )
        .await
        {
            Ok(Some(429)) => refused += 1,
            Ok(other) => panic!("a stalled upload answered {other:?}"),
            Err(_) => open.push(stream),
        }
    }
    assert_eq!((refused, open.len()), (8, 2), "A holds its share, no more");

    // Company B's report is accepted at once.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(format!("{}/v1/reports", pipeline.ingest_url))
        .bearer_auth(&other)
        .json(&sample_report(&format!("{}-b", pipeline.run)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "B waited {:?} behind A's uploads",
        started.elapsed()
    );

    // A's stalled uploads are answered 408 once the read timeout passes, and a client that
    // never finishes its headers is disconnected.
    let mut slow_headers = TcpStream::connect(&addr).await.unwrap();
    slow_headers
        .write_all(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    for mut stream in open {
        assert_eq!(
            answer(&mut stream, Duration::from_secs(10)).await,
            Some(408)
        );
    }
    let started = Instant::now();
    let closed = answer(&mut slow_headers, Duration::from_secs(10)).await;
    assert!(
        closed.is_none() || closed == Some(408),
        "headers never finished: {closed:?}"
    );
    println!(
        "stalled uploads: A refused 8 of 10 with 429, B accepted at once, stalled bodies 408, \
         unfinished headers closed after {:?} more",
        started.elapsed()
    );
    let metrics = pipeline.metrics("ingest").await.unwrap();
    assert!(
        metrics.contains("pw_ingest_reports_total{result=\"too_many_in_flight\"} 8"),
        "{metrics}"
    );
    pipeline.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careless_and_hostile_input_is_answered_as_the_readme_says() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let url = format!("{}/v1/reports", pipeline.ingest_url);
    let post = |body: Vec<u8>, content_type: Option<&str>, scheme: &str| {
        let mut request = client
            .post(&url)
            .header("authorization", format!("{scheme} {}", pipeline.api_key))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }
    };
    let json = Some("application/json");
    let report = |reference: &str| sample_report(&format!("{}-{reference}", pipeline.run));

    // Refused: control characters, absurd quantities, dates no reader can take, non-JSON.
    let mut broken = report("crlf");
    broken["company_reference"] = format!("{}-cr\r\nX-Forged: 1", pipeline.run).into();
    let (status, body) = post(serde_json::to_vec(&broken).unwrap(), json, "Bearer").await;
    assert_eq!(
        (status, body["problems"][0]["code"].as_str()),
        (400, Some("invalid_characters")),
        "{body}"
    );
    let mut huge = report("huge");
    huge["lines"][0]["quantity"] = 1e308.into();
    huge["lines"][0]["unit"] = "t".into();
    let (status, body) = post(serde_json::to_vec(&huge).unwrap(), json, "Bearer").await;
    assert_eq!(
        (status, body["problems"][0]["field"].as_str()),
        (400, Some("lines[0].quantity")),
        "{body}"
    );
    for date in ["0000-01-01", "9999-12-31"] {
        let mut dated = report(date);
        dated["order_date"] = date.into();
        let (status, body) = post(serde_json::to_vec(&dated).unwrap(), json, "Bearer").await;
        assert_eq!(
            (status, body["problems"][0]["code"].as_str()),
            (400, Some("invalid_date")),
            "{date}: {body}"
        );
    }
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, body) = post(
            serde_json::to_vec(&report("typed")).unwrap(),
            content_type,
            "Bearer",
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (415, Some("unsupported_media_type")),
            "{content_type:?}: {body}"
        );
    }

    // Accepted: a byte-order mark, the scheme in lower case, the same report re-sent with other
    // whitespace and field order (a duplicate, not a conflict).
    let first = report("erp");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(serde_json::to_vec(&first).unwrap());
    let (status, receipt) = post(with_bom, Some("application/json; charset=utf-8"), "bearer").await;
    assert_eq!(status, 202, "{receipt}");
    let pretty = serde_json::to_string_pretty(&first)
        .unwrap()
        .replace("\n", "\r\n    ");
    let (status, again) = post(pretty.into_bytes(), json, "BEARER").await;
    assert_eq!(
        (status, &again["duplicate"]),
        (200, &serde_json::Value::Bool(true)),
        "{again}"
    );
    assert_eq!(again["report_id"], receipt["report_id"]);
    let mut changed = first.clone();
    changed["lines"][0]["quantity"] = 7.into();
    let (status, body) = post(serde_json::to_vec(&changed).unwrap(), json, "Bearer").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("reference_reused")),
        "{body}"
    );

    // An authority's note with a NUL is refused before anything is looked up or stored.
    let authority = serde_json::json!({"name": "Douane", "contact": "douane@example.nl"});
    let (status, body) = pipeline
        .admin(
            &client,
            reqwest::Method::PUT,
            "/admin/v1/authorities/NL",
            Some(authority),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, key) = pipeline
        .admin(
            &client,
            reqwest::Method::POST,
            "/admin/v1/authorities/NL/keys",
            None,
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let response = client
        .post(format!("{}/v1/alerts/any/feedback", pipeline.authority_url))
        .bearer_auth(key["api_key"].as_str().unwrap())
        .json(&serde_json::json!({"disposition": "UNDER_REVIEW", "author": "J. Smit", "note": "seen\u{0}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("note: contains the control character U+0000"),
        "{body}"
    );
    pipeline.stop().await.unwrap();
}

/// Reads `response`'s body until the server ends it; when that was, or `None` when it was
/// still open after `within`.
async fn ended_within(mut response: reqwest::Response, within: Duration) -> Option<Instant> {
    tokio::time::timeout(within, async {
        while let Ok(Some(_)) = response.chunk().await {}
    })
    .await
    .ok()?;
    Some(Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_authority_key_ends_the_streams_opened_with_it() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let console = pipeline.start_console().await.unwrap();
    let client = reqwest::Client::new();
    let authority = serde_json::json!({"name": "Douane", "contact": "douane@example.nl"});
    let (status, body) = pipeline
        .admin(
            &client,
            reqwest::Method::PUT,
            "/admin/v1/authorities/NL",
            Some(authority),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let issue = || {
        pipeline.admin(
            &client,
            reqwest::Method::POST,
            "/admin/v1/authorities/NL/keys",
            None,
        )
    };
    let (revoked_key, kept_key) = (issue().await.1, issue().await.1);
    let revoked_key = revoked_key["api_key"].as_str().unwrap().to_owned();
    let kept_key = kept_key["api_key"].as_str().unwrap().to_owned();

    // Streams open with the key to revoke (the API and the console's live feed) and with
    // another key of the same authority.
    let api_stream = |key: String| {
        let request = client
            .get(format!("{}/v1/alerts/stream", pipeline.authority_url))
            .bearer_auth(key);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response
        }
    };
    let doomed = api_stream(revoked_key.clone()).await;
    let kept = api_stream(kept_key).await;
    let (browser, cookie) = system_tests::console_session(&console, &revoked_key)
        .await
        .unwrap();
    let live = browser
        .get(format!("{console}/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    // Let the streams settle into waiting for alerts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let key_id = revoked_key.split('_').nth(1).unwrap().to_owned();
    let revoked_at = Instant::now();
    let (status, _) = pipeline
        .admin(
            &client,
            reqwest::Method::DELETE,
            &format!("/admin/v1/keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (api, console_feed, other) = tokio::join!(
        ended_within(doomed, Duration::from_secs(4)),
        ended_within(live, Duration::from_secs(4)),
        ended_within(kept, Duration::from_secs(2)),
    );
    let api = api.expect("the API stream ends once its key is revoked") - revoked_at;
    let console_feed =
        console_feed.expect("the console's live feed ends once its key is revoked") - revoked_at;
    // Both are told at once (announced by the database), not at their next periodic check.
    assert!(
        api < Duration::from_secs(1),
        "the API stream ended after {api:?}"
    );
    assert!(
        console_feed < Duration::from_secs(1),
        "the live feed ended after {console_feed:?}"
    );
    assert_eq!(other, None, "a stream of another key stays open");
    println!("revocation: API stream ended after {api:?}, console feed after {console_feed:?}");
    pipeline.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sign_in_refuses_forged_posts_and_limits_guessing() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let console = pipeline.start_console().await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authority = serde_json::json!({"name": "Douane", "contact": "douane@example.nl"});
    let (status, _) = pipeline
        .admin(
            &client,
            reqwest::Method::PUT,
            "/admin/v1/authorities/NL",
            Some(authority),
        )
        .await;
    assert_eq!(status, 200);
    let (_, key) = pipeline
        .admin(
            &client,
            reqwest::Method::POST,
            "/admin/v1/authorities/NL/keys",
            None,
        )
        .await;
    let key = key["api_key"].as_str().unwrap().to_owned();
    let login = format!("{console}/login");

    // A post that says nothing of where it comes from, or carries no token of a form this
    // browser loaded, is refused before the key is looked at.
    let bare = client
        .post(&login)
        .form(&[("key", key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403, "no Origin, no token");
    let (form_cookie, token) = system_tests::sign_in_form(&client, &console).await.unwrap();
    let untokened = client
        .post(&login)
        .header("origin", &console)
        .header("cookie", &form_cookie)
        .form(&[("key", key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(untokened.status(), 403, "no token");
    let (_, other_token) = system_tests::sign_in_form(&client, &console).await.unwrap();
    let mismatched = client
        .post(&login)
        .header("origin", &console)
        .header("cookie", &form_cookie)
        .form(&[("key", key.as_str()), ("form_token", other_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatched.status(), 403, "another form's token");

    // Guessing the secret of a known key: five tries a minute, then 429 with Retry-After.
    let (key_id, _) = key.trim_start_matches("pw_").split_once('_').unwrap();
    let guess = format!("pw_{key_id}_{}", "0".repeat(32));
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let response = client
            .post(&login)
            .header("origin", &console)
            .header("cookie", &form_cookie)
            .form(&[("key", guess.as_str()), ("form_token", token.as_str())])
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429, 429],
        "{statuses:?}"
    );
    // The right key now waits out the same limit; the operators' token does not.
    let refused = system_tests::console_session(&console, &key)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("429"), "{refused}");
    system_tests::console_session(&console, &pipeline.admin_token)
        .await
        .unwrap();
    pipeline.stop().await.unwrap();
}
