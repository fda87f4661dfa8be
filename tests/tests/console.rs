//! The web console in a real headless Chromium (through chromedriver) over the whole pipeline
//! on the real Kafka and PostgreSQL: an operator signs in, sees every service ready, the
//! reports counted, a dead letter, the volumes per authority, a new alert arriving live, opens
//! it and finds its explanation, deliveries and feedback; an authority signs in and sees only its
//! own alerts, and is signed out when its key is revoked. Screenshots are inspected and kept in
//! the run's log folder.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use system_tests::{console_page, console_session, free_addr, sample_report, Pipeline};
use tokio::process::{Child, Command};

/// A headless Chromium driven through chromedriver; both stop when dropped.
struct Browser {
    client: Client,
    _driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        let port = free_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1100", "--force-device-scale-factor=1",
            ]}),
        );
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("chromium starts headless");
        Browser {
            client,
            _driver: driver,
        }
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The rendered texts of what `css` selects, read in one step: the overview replaces its
    /// panels every 10 s, so an element found first and read later may be gone.
    async fn texts(&self, css: &str) -> Vec<String> {
        let found = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => (e.innerText ?? e.textContent ?? \"\").trim())",
                vec![json!(css)],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    async fn text(&self, css: &str) -> String {
        self.texts(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css}"))
    }

    async fn count(&self, css: &str) -> usize {
        self.texts(css).await.len()
    }

    /// The texts of the cells of the rows `css` selects, row by row.
    async fn cells(&self, css: &str) -> Vec<String> {
        self.texts(&format!("{css} td")).await
    }

    /// Clicks what `css` selects and waits until the page it leads to has loaded (the old page
    /// gone, the new one complete).
    async fn click(&self, css: &str) {
        let old_page = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css}: {error}"))
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while old_page.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "clicking {css} led nowhere");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while self
            .client
            .execute("return document.readyState", Vec::new())
            .await
            .unwrap()
            != "complete"
        {
            assert!(
                Instant::now() < deadline,
                "the page after {css} did not load"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits until `check` holds, reloading the page between looks when `reload`.
    async fn until<F, Fut>(&self, what: &str, within: Duration, reload: bool, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(300)).await;
            if reload {
                self.client.refresh().await.unwrap();
            }
        }
    }

    async fn sign_in(&self, console: &str, credential: &str) {
        self.goto(&format!("{console}/")).await;
        assert_eq!(self.path().await, "/login", "signed out: the sign-in page");
        self.client
            .find(Locator::Css("#key"))
            .await
            .unwrap()
            .send_keys(credential)
            .await
            .unwrap();
        self.click("#sign-in").await;
    }

    /// Takes a screenshot, keeps it as `name` in `folder`, and returns its pixels (RGBA).
    async fn screenshot(&self, folder: &Path, name: &str) -> Screenshot {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(folder.join(name), &png).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(frame.buffer_size());
        let channels = frame.color_type.samples();
        Screenshot {
            width: frame.width,
            height: frame.height,
            colors: pixels
                .chunks(channels)
                .map(|pixel| [pixel[0], pixel[1], pixel[2]])
                .collect(),
        }
    }
}

struct Screenshot {
    width: u32,
    height: u32,
    colors: Vec<[u8; 3]>,
}

impl Screenshot {
    /// How many pixels have `color`, give or take rounding.
    fn pixels_near(&self, color: [u8; 3]) -> usize {
        self.colors
            .iter()
            .filter(|pixel| {
                pixel
                    .iter()
                    .zip(color)
                    .all(|(channel, wanted)| channel.abs_diff(wanted) <= 3)
            })
            .count()
    }
}

/// The colours the stylesheet gives a ready service, a down one, and the header.
const READY_BACKGROUND: [u8; 3] = [0xee, 0xf8, 0xf0];
const DOWN_BACKGROUND: [u8; 3] = [0xfd, 0xec, 0xec];
const HEADER: [u8; 3] = [0x14, 0x23, 0x3b];

/// The alert id of a report once the router delivered it, from the authority API.
async fn alert_of(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    key: &str,
    report_id: &str,
) -> String {
    let alert_id = || async {
        let page: serde_json::Value = client
            .get(format!("{}/v1/alerts?limit=500", pipeline.authority_url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["alerts"]
            .as_array()
            .and_then(|alerts| {
                alerts
                    .iter()
                    .find(|entry| entry["alert"]["report_id"] == report_id)
                    .map(|entry| entry["alert"]["alert_id"].as_str().unwrap().to_owned())
            })
            .ok_or_else(|| format!("{} alerts", page["alerts"].as_array().map_or(0, Vec::len)))
    };
    system_tests::poll_until(
        &format!("an alert for {report_id}"),
        Duration::from_secs(60),
        alert_id,
    )
    .await
    .unwrap()
}

async fn operator(
    client: &reqwest::Client,
    pipeline: &Pipeline,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let (status, answer) = pipeline.admin(client, method, path, body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

/// Signs in as `credential` without a browser and reads the first event of the live feed
/// resumed, with `Last-Event-ID`, just before the newest alert.
async fn live_feed_after(console: &str, credential: &str) -> String {
    let (client, cookie) = console_session(console, credential).await.unwrap();
    // The newest alert's number, from the overview's feed.
    let overview = console_page(&client, console, &cookie, "/").await.unwrap();
    let newest: i64 = overview
        .split("data-seq=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .max()
        .unwrap();
    let mut response = client
        .get(format!("{console}/events"))
        .header("cookie", &cookie)
        .header("last-event-id", (newest - 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains(&format!("id: {newest}")), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_and_authorities_use_the_console_in_a_real_browser() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let console = pipeline.start_console().await.expect("console starts");
    let client = reqwest::Client::new();
    let run = pipeline.run.clone();
    let browser = Browser::start().await;
    let shots = pipeline.log_dir.clone();

    // A wrong credential is refused on the page.
    browser.sign_in(&console, "pw_0123456789abcdef_wrong").await;
    assert!(browser.text("#sign-in-error").await.contains("not valid"));

    // The operator sees every service ready before any report is sent (so the console counts
    // them all).
    browser.sign_in(&console, &pipeline.admin_token).await;
    assert_eq!(browser.path().await, "/");
    assert_eq!(browser.text("#who").await, "operator");
    browser
        .until(
            "four services ready",
            Duration::from_secs(30),
            true,
            || async { browser.count("#health li.service.ready").await == 4 },
        )
        .await;
    let services = browser.texts("#health li.service .name").await;
    assert_eq!(services, ["ingest", "matcher", "router", "authorities"]);

    // The directory, and keys for the Dutch and French authorities.
    for (country, name) in [("NL", "Douane"), ("FR", "Douane française")] {
        operator(
            &client,
            &pipeline,
            reqwest::Method::PUT,
            &format!("/admin/v1/authorities/{country}"),
            Some(json!({"name": name, "contact": format!("alerts@{country}.example")})),
        )
        .await;
    }
    let key = |body: serde_json::Value| body["api_key"].as_str().unwrap().to_owned();
    let dutch_key = key(operator(
        &client,
        &pipeline,
        reqwest::Method::POST,
        "/admin/v1/authorities/NL/keys",
        None,
    )
    .await);
    let dutch_key_body = operator(
        &client,
        &pipeline,
        reqwest::Method::POST,
        "/admin/v1/authorities/NL/keys",
        None,
    )
    .await;
    let second_dutch_key = key(dutch_key_body.clone());
    let french_key = key(operator(
        &client,
        &pipeline,
        reqwest::Method::POST,
        "/admin/v1/authorities/FR/keys",
        None,
    )
    .await);

    // Two orders through DE -> BE -> NL, one DE -> FR that the Dutch must never see; the Dutch
    // authority records feedback on the first.
    let first = pipeline
        .submit_accepted(&client, &sample_report(&format!("{run}-1")))
        .await
        .unwrap();
    let second = pipeline
        .submit_accepted(&client, &sample_report(&format!("{run}-2")))
        .await
        .unwrap();
    let mut french_order = sample_report(&format!("{run}-fr"));
    french_order["customer"]["country"] = "FR".into();
    french_order["customer"]["name"] = "Chimie du Sud SARL".into();
    french_order["customer"]["registration_number"] = format!("FR-{run}").into();
    french_order["delivery"] = json!({"country": "FR", "address_type": "forwarder"});
    french_order["transit_countries"] = json!([]);
    let french = pipeline
        .submit_accepted(&client, &french_order)
        .await
        .unwrap();
    // And a harmless one (sodium chloride only): screened clear, no alert.
    let mut harmless_order = sample_report(&format!("{run}-salt"));
    let salt = harmless_order["lines"][1].clone();
    harmless_order["lines"] = json!([salt]);
    harmless_order["lines"][0]["line_number"] = 1.into();
    let harmless = pipeline
        .submit_accepted(&client, &harmless_order)
        .await
        .unwrap();
    let first_alert = alert_of(&client, &pipeline, &dutch_key, &first).await;
    let second_alert = alert_of(&client, &pipeline, &dutch_key, &second).await;
    let french_alert = alert_of(&client, &pipeline, &french_key, &french).await;
    let response = client
        .post(format!(
            "{}/v1/alerts/{first_alert}/feedback",
            pipeline.authority_url
        ))
        .bearer_auth(&dutch_key)
        .json(&json!({"disposition": "CONFIRMED_SUSPICIOUS", "author": "inspector 7", "note": "shipment held at Rotterdam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Something no service can read: a dead letter for the console to show.
    let garbage = format!("not avro {run}");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &pipeline.brokers)
        .create()
        .unwrap();
    let delivered = producer
        .send(
            FutureRecord::to(&pipeline.topic("orders.submitted"))
                .key("console-test")
                .payload(garbage.as_bytes()),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| error)
        .unwrap();
    let garbage_at = format!(
        "orders.submitted/{}@{}",
        delivered.partition, delivered.offset
    );

    // The figures of the last hour, the dead letter, the volumes per authority.
    browser.click("#nav-overview").await;
    browser
        .until(
            "four reports counted",
            Duration::from_secs(30),
            true,
            || async {
                browser.text("#received-hour").await == "4"
                    && browser
                        .text("#screened-hour")
                        .await
                        .parse::<u32>()
                        .unwrap_or(0)
                        >= 4
            },
        )
        .await;
    browser
        .until(
            "the dead letter shown",
            Duration::from_secs(60),
            true,
            || async { browser.text("#dead-letters").await.contains(&garbage_at) },
        )
        .await;
    let dead_letter = browser
        .cells(&format!("#dead-letters tr[data-at='{garbage_at}']"))
        .await;
    assert_eq!(dead_letter[1], "matcher", "{dead_letter:?}");
    assert!(
        dead_letter[5].starts_with("orders.submitted.dlq/"),
        "{dead_letter:?}"
    );
    browser
        .until(
            "the dead letter counted",
            Duration::from_secs(30),
            true,
            || async {
                browser
                    .text("#dead-letters p")
                    .await
                    .starts_with("1 in the last hour")
            },
        )
        .await;
    assert_eq!(
        browser.cells("#volumes tr[data-country='NL']").await[..3],
        ["NL Douane", "2", "2"]
    );
    assert_eq!(
        browser.cells("#volumes tr[data-country='FR']").await[..3],
        ["FR Douane française", "1", "1"]
    );
    // The feed shows each delivery; the newest first.
    let feed = browser.text("#feed-table").await;
    for alert in [&first_alert, &second_alert, &french_alert] {
        assert!(feed.contains(alert.as_str()), "{alert} not in {feed}");
    }

    // Consumer lag, from the services' librdkafka statistics (every 10 s), drawn per service.
    browser
        .until(
            "the consumer lag charted",
            Duration::from_secs(40),
            true,
            || async {
                let key = browser.texts("#lag figcaption").await.concat();
                ["ingest", "matcher", "router"]
                    .iter()
                    .all(|service| key.contains(service))
            },
        )
        .await;
    // (The authorities service reports lag once its group has committed on alerts.feedback.)

    browser
        .until(
            "no service shown down",
            Duration::from_secs(30),
            true,
            || async { browser.count("#health li.service.ready").await == 4 },
        )
        .await;
    let overview = browser.screenshot(&shots, "console-operator.png").await;
    assert_eq!(overview.width, 1400, "the window's width");
    assert!(overview.height >= 600, "{}", overview.height);
    assert!(
        overview.pixels_near(READY_BACKGROUND) > 5_000,
        "the ready services' green is on the screenshot"
    );
    // A card is some 12,000 pixels; a few may come close by anti-aliasing.
    assert!(
        overview.pixels_near(DOWN_BACKGROUND) < 500,
        "no service shown down"
    );
    assert!(overview.pixels_near(HEADER) > 20_000, "the header is drawn");

    // A new alert arrives in the open page without a reload.
    let rows_before = browser.count("#feed-table tbody tr").await;
    let live = pipeline
        .submit_accepted(&client, &sample_report(&format!("{run}-live")))
        .await
        .unwrap();
    let live_alert = alert_of(&client, &pipeline, &dutch_key, &live).await;
    browser
        .until(
            "the live alert in the feed",
            Duration::from_secs(30),
            false,
            || async {
                browser.count("#feed-table tbody tr").await > rows_before
                    && browser
                        .text("#feed-table tbody tr:first-child")
                        .await
                        .contains(live_alert.as_str())
            },
        )
        .await;
    assert_eq!(browser.text("#feed-status").await.to_lowercase(), "live");
    // The panels refresh themselves: the fourth report is counted without a reload.
    browser
        .until(
            "the panels refreshed",
            Duration::from_secs(40),
            false,
            || async { browser.text("#received-hour").await == "5" },
        )
        .await;

    // A feed that reconnects with Last-Event-ID continues after the last alert it had.
    let feed = live_feed_after(&console, &pipeline.admin_token).await;
    assert!(
        feed.contains(&live_alert),
        "the newest alert follows the resumed position: {feed}"
    );

    // Find an alert and open it: its explanation, findings with legal basis, every delivery
    // with where it landed, and the feedback.
    browser.click("#nav-alerts").await;
    browser
        .client
        .find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(&format!("{run}-1"))
        .await
        .unwrap();
    browser.click("#search").await;
    // The transit authority's copy (BE) carries no company reference: two are found.
    let found = browser.cells("#results tbody tr").await;
    let mut countries: Vec<&String> = found.iter().skip(2).step_by(7).collect();
    countries.sort();
    assert_eq!(countries, ["DE", "NL"], "{found:?}");
    browser
        .click(&format!("#results tr a[href='/alerts/{first_alert}']"))
        .await;
    assert_eq!(browser.path().await, format!("/alerts/{first_alert}"));
    assert_eq!(browser.text("#alert-id").await, first_alert);
    assert!(!browser.text("#explanation .explanation").await.is_empty());
    let findings = browser.text("#findings").await;
    assert!(findings.contains("Acetic anhydride"), "{findings}");
    assert!(findings.contains("UN_1988"), "{findings}");
    let deliveries = browser.text("#deliveries").await;
    for country in ["BE", "DE", "NL"] {
        assert!(
            deliveries.contains(&format!("alerts.{country}/")),
            "{deliveries}"
        );
    }
    let feedback = browser.text("#feedback").await;
    assert!(feedback.contains("CONFIRMED_SUSPICIOUS"), "{feedback}");
    assert!(
        feedback.contains("shipment held at Rotterdam"),
        "{feedback}"
    );
    browser.screenshot(&shots, "console-alert.png").await;

    // Any report can be traced by its id, also one that raised no alert.
    browser.goto(&format!("{console}/alerts?q={first}")).await;
    assert!(browser.text("#report-screening").await.contains("alert"));
    assert!(browser
        .text("#report-alert")
        .await
        .contains("delivered to 3 authorities"));
    browser
        .goto(&format!("{console}/alerts?q={harmless}"))
        .await;
    browser
        .until(
            "the harmless report screened",
            Duration::from_secs(30),
            true,
            || async { browser.text("#report-screening").await.contains("clear") },
        )
        .await;
    assert!(browser.text("#report-alert").await.starts_with("none"));
    assert_eq!(browser.count("#no-results").await, 1);

    // The operator registers a company from the form (the browser's own Origin and the form's
    // token let it through); its first key is shown once, and revoked from the company's page.
    browser.click("#nav-companies").await;
    assert_eq!(browser.path().await, "/companies");
    for (field, value) in [
        ("#company-id", "delta-chemie"),
        ("#company-name", "Delta Chemie GmbH"),
        ("#company-country", "de"),
    ] {
        let input = browser.client.find(Locator::Css(field)).await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    browser.click("#register-company").await;
    let new_key = browser.text("#new-key").await;
    assert!(keys::split(&new_key).is_some(), "{new_key}");
    browser.screenshot(&shots, "console-company-key.png").await;
    browser
        .goto(&format!("{console}/companies/delta-chemie"))
        .await;
    assert_eq!(browser.count("#keys button.revoke").await, 1);
    browser.click("#keys button.revoke").await;
    assert_eq!(browser.path().await, "/companies/delta-chemie");
    assert!(browser.text("#keys").await.contains("revoked"));
    assert_eq!(browser.count("#keys button.revoke").await, 0);

    browser.click("#sign-out").await;
    assert_eq!(browser.path().await, "/login");
    browser.goto(&format!("{console}/alerts")).await;
    assert_eq!(
        browser.path().await,
        "/login",
        "signed out means signed out"
    );

    // The Dutch authority: its own alerts only, no pipeline, nothing of France.
    browser.sign_in(&console, &second_dutch_key).await;
    assert_eq!(browser.text("#who").await, "authority NL");
    assert_eq!(browser.count("#panels").await, 0);
    assert_eq!(browser.count("#health").await, 0);
    assert_eq!(browser.text("#own-total").await, "3");
    let countries = browser.texts("#feed-table tbody tr td:nth-child(3)").await;
    assert_eq!(countries, ["NL", "NL", "NL"]);
    let authority_view = browser.screenshot(&shots, "console-authority.png").await;
    assert!(
        authority_view.pixels_near(READY_BACKGROUND) < 500,
        "no pipeline health"
    );
    browser
        .goto(&format!("{console}/alerts/{french_alert}"))
        .await;
    assert!(browser.text("main").await.contains("no such alert"));
    browser.goto(&format!("{console}/alerts?q={french}")).await;
    assert_eq!(browser.count("#no-results").await, 1);
    browser.goto(&format!("{console}/panels")).await;
    assert!(browser.text("main").await.contains("for operators"));
    // Its view of a shared alert: its own delivery only.
    browser
        .goto(&format!("{console}/alerts/{first_alert}"))
        .await;
    assert_eq!(browser.count("#deliveries tbody tr").await, 1);
    assert_eq!(browser.text("#deliveries tbody tr td").await, "NL");

    // Revoking the key ends the session.
    let key_id = dutch_key_body["key_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| keys::split(&second_dutch_key).unwrap().0.to_owned());
    operator(
        &client,
        &pipeline,
        reqwest::Method::DELETE,
        &format!("/admin/v1/keys/{key_id}"),
        None,
    )
    .await;
    browser.goto(&format!("{console}/")).await;
    assert_eq!(browser.path().await, "/login");

    browser.client.close().await.unwrap();
    pipeline.stop().await.unwrap();
}
