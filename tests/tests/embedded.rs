//! The README's first command: the whole pipeline in one process on the in-process broker and
//! SQLite, from the sample report to the authority topic and into the web console, where the
//! operator and the demo authority find its alert.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::process::Stdio;
use std::time::Duration;

use system_tests::{binary, console_page, console_session, free_addr, sample_report, AlertReader};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_pipeline_delivers_the_sample_alert() {
    let http = free_addr().unwrap();
    let (authority_http, console_http) = (free_addr().unwrap(), free_addr().unwrap());
    let mut child = Command::new(binary("precursor-watch").unwrap())
        .args(["--http-addr", &http.to_string()])
        .args(["--authority-addr", &authority_http.to_string()])
        .args(["--console-addr", &console_http.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut api_key, mut brokers, mut curl) = (None, None, None);
    let (mut console, mut operator_token, mut authority_key) = (None, None, None);
    while api_key.is_none() || brokers.is_none() || curl.is_none() {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the demo prints its instructions")
            .unwrap()
            .expect("the demo keeps running");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["its", "API", "key", key] => api_key = Some(key.to_string()),
            ["kafka", "(mock)", address] => brokers = Some(address.to_string()),
            ["curl", ..] => curl = Some(line.clone()),
            ["web", "console", url] => console = Some(url.to_string()),
            ["operator", "token", token] => operator_token = Some(token.to_string()),
            ["authority", "NL", "key", key] => authority_key = Some(key.to_string()),
            _ => {}
        }
    }
    let (api_key, brokers, curl) = (api_key.unwrap(), brokers.unwrap(), curl.unwrap());
    assert!(
        curl.contains(&api_key) && curl.contains("sample-report.json"),
        "{curl}"
    );

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{http}/v1/reports"))
        .bearer_auth(&api_key)
        .json(&sample_report("embedded-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let report_id = response.json::<serde_json::Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let reader = AlertReader::new(&brokers, &["alerts.NL"]).unwrap();
    let alerts = reader
        .read_until(Duration::from_secs(60), |seen| {
            seen.values().flatten().any(|a| a.report_id == report_id)
        })
        .await
        .unwrap();
    let alert = alerts
        .values()
        .flatten()
        .find(|a| a.report_id == report_id)
        .expect("alert on alerts.NL");
    assert_eq!(alert.findings[0].substance_id, "acetic_anhydride");

    // The operator and the demo authority find it in the console.
    let console = console.expect("the console's address printed");
    assert_eq!(console, format!("http://{console_http}"));
    for credential in [
        operator_token.expect("the operator token printed"),
        authority_key.expect("the authority key printed"),
    ] {
        let (browser, cookie) = console_session(&console, &credential).await.unwrap();
        // The router records the delivery right after sending it: allow a moment.
        system_tests::poll_until(
            "the alert in the console",
            Duration::from_secs(30),
            || async {
                let page = console_page(&browser, &console, &cookie, "/")
                    .await
                    .unwrap();
                if page.contains(&alert.alert_id) {
                    Ok(())
                } else {
                    Err(page)
                }
            },
        )
        .await
        .unwrap();
    }

    let pid = child.id().unwrap().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
