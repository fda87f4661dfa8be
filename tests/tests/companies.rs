//! Operators register reporting companies and manage their keys from the admin API and the web
//! console, over the real services: each change is audited with who made it, a new key works
//! for submissions at once and a revoked one is refused at once, and wrong input names its field.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::{Duration, Instant};

use reqwest::Method;
use system_tests::{console_page, console_session, sample_report, Pipeline};

/// The status of a submission of a new report with `key`.
async fn submit_with(pipeline: &Pipeline, client: &reqwest::Client, key: &str, tag: &str) -> u16 {
    client
        .post(format!("{}/v1/reports", pipeline.ingest_url))
        .bearer_auth(key)
        .json(&sample_report(&format!("{}-{tag}", pipeline.run)))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits, at most two seconds, until a submission with `key` answers `expected`; how long it
/// took.
async fn answers_within(
    pipeline: &Pipeline,
    client: &reqwest::Client,
    key: &str,
    expected: u16,
) -> Duration {
    let started = Instant::now();
    let attempt = std::sync::atomic::AtomicUsize::new(0);
    system_tests::poll_until(
        &format!("a submission answered {expected}"),
        Duration::from_secs(2),
        || async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match submit_with(pipeline, client, key, &format!("poll-{n}")).await {
                status if status == expected => Ok(started.elapsed()),
                status => Err(status.to_string()),
            }
        },
    )
    .await
    .unwrap()
}

/// The anti-forgery token in a console page's forms.
fn form_token(html: &str) -> String {
    html.split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token in the page")
        .to_owned()
}

/// The text of the element with `id` in `html` (an element whose content is plain text).
fn element_text(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_companies_and_keys_from_the_admin_api() {
    let pipeline = Pipeline::start().await.expect("pipeline starts");
    let client = reqwest::Client::new();
    let company =
        serde_json::json!({"id": "beta-chemicals", "name": "Beta Chemicals B.V.", "country": "nl"});

    // Without the operators' token nothing is shown or changed.
    let anonymous = client
        .post(format!("{}/admin/v1/companies", pipeline.authority_url))
        .json(&company)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Registered: its first key is shown once, never cached, and submits at once.
    let created = client
        .post(format!("{}/admin/v1/companies", pipeline.authority_url))
        .bearer_auth(&pipeline.admin_token)
        .json(&company)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers().get("cache-control").unwrap(),
        "no-store",
        "a secret no cache may keep"
    );
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["company_id"], "beta-chemicals");
    let first_key = created["api_key"].as_str().unwrap().to_owned();
    let first_id = created["key_id"].as_str().unwrap().to_owned();
    assert_eq!(
        submit_with(&pipeline, &client, &first_key, "first").await,
        202
    );

    // Refused with the field and the reason, or as a conflict.
    let (status, body) = pipeline
        .admin(
            &client,
            Method::POST,
            "/admin/v1/companies",
            Some(company.clone()),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    for (field, wrong) in [
        (
            "id",
            serde_json::json!({"id": "beta chemicals", "name": "Beta", "country": "NL"}),
        ),
        (
            "name",
            serde_json::json!({"id": "gamma", "name": "Gamma\r\nX-Forged: 1", "country": "NL"}),
        ),
        (
            "country",
            serde_json::json!({"id": "gamma", "name": "Gamma", "country": "Netherlands"}),
        ),
    ] {
        let (status, body) = pipeline
            .admin(&client, Method::POST, "/admin/v1/companies", Some(wrong))
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}: ")),
            "{field}: {body}"
        );
    }
    let missing = serde_json::json!({"id": "gamma", "country": "NL"});
    let (status, body) = pipeline
        .admin(&client, Method::POST, "/admin/v1/companies", Some(missing))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    let (status, _) = pipeline
        .admin(
            &client,
            Method::GET,
            "/admin/v1/companies/nobody/keys",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = pipeline
        .admin(
            &client,
            Method::POST,
            "/admin/v1/companies/nobody/keys",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Rotation: a second key, then the first revoked; ingest refuses it at once.
    let (status, second) = pipeline
        .admin(
            &client,
            Method::POST,
            "/admin/v1/companies/beta-chemicals/keys",
            None,
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second_key = second["api_key"].as_str().unwrap().to_owned();
    let (status, listed) = pipeline
        .admin(&client, Method::GET, "/admin/v1/companies", None)
        .await;
    assert_eq!(status, 200);
    let beta = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|company| company["id"] == "beta-chemicals")
        .unwrap();
    assert_eq!(
        (&beta["name"], &beta["country"], &beta["active_keys"]),
        (&"Beta Chemicals B.V.".into(), &"NL".into(), &2.into())
    );
    let path = format!("/admin/v1/companies/beta-chemicals/keys/{first_id}");
    let (status, _) = pipeline.admin(&client, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let refused_after = answers_within(&pipeline, &client, &first_key, 401).await;
    assert_eq!(
        submit_with(&pipeline, &client, &second_key, "second").await,
        202
    );
    let (status, _) = pipeline.admin(&client, Method::DELETE, &path, None).await;
    assert_eq!(status, 404, "a key revoked already");
    let (status, keys) = pipeline
        .admin(
            &client,
            Method::GET,
            "/admin/v1/companies/beta-chemicals/keys",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let states: Vec<bool> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["revoked_at"].is_null())
        .collect();
    assert_eq!(states.iter().filter(|active| **active).count(), 1, "{keys}");
    assert!(
        !keys.to_string().contains(&second_key),
        "a secret listed: {keys}"
    );

    // Each change is in the audit log with its actor, and no secret is.
    let (_, audit) = pipeline
        .admin(&client, Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    let actions: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["target"] == "beta-chemicals")
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap().to_owned(),
                entry["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        "company.create",
        "company.key.issue",
        "company.key.issue",
        "company.key.revoke",
    ]
    .map(|action| ("admin-api".to_owned(), action.to_owned()));
    assert_eq!(actions, expected);
    for key in [&first_key, &second_key] {
        let secret = keys::split(key).unwrap().1;
        assert!(
            !audit.to_string().contains(secret),
            "a secret in the audit log"
        );
    }
    println!("admin API: a revoked company key refused after {refused_after:?}");
    pipeline.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_companies_and_keys_in_the_console() {
    let mut pipeline = Pipeline::start().await.expect("pipeline starts");
    let console = pipeline.start_console().await.unwrap();
    let client = reqwest::Client::new();
    let (browser, cookie) = console_session(&console, &pipeline.admin_token)
        .await
        .unwrap();
    let listing = console_page(&browser, &console, &cookie, "/companies")
        .await
        .unwrap();
    assert!(listing.contains("acme-chemicals"), "{listing}");
    assert!(listing.contains("id=\"nav-companies\""));
    let token = form_token(&listing);
    let register = |fields: Vec<(&'static str, String)>, origin: Option<String>| {
        let mut request = browser
            .post(format!("{console}/companies"))
            .header("cookie", &cookie)
            .form(&fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let fields = |token: &str, id: &str| {
        vec![
            ("form_token", token.to_owned()),
            ("id", id.to_owned()),
            ("name", "Gamma Química S.A.".to_owned()),
            ("country", "ES".to_owned()),
        ]
    };

    // Forged: from another site, without the session's token, or with no origin at all.
    let own = Some(console.clone());
    for (why, form, origin) in [
        (
            "another site",
            fields(&token, "gamma"),
            Some("https://evil.example".to_owned()),
        ),
        ("no token", fields("", "gamma"), own.clone()),
        (
            "a made-up token",
            fields(&"0".repeat(64), "gamma"),
            own.clone(),
        ),
        ("no origin", fields(&token, "gamma"), None),
    ] {
        let (status, _) = register(form, origin).await;
        assert_eq!(status, 403, "{why}");
    }
    let listing = console_page(&browser, &console, &cookie, "/companies")
        .await
        .unwrap();
    assert!(
        !listing.contains("gamma"),
        "a forged post registered a company"
    );

    // Registered from the form: the key is shown once and submits at once.
    let (status, shown) = register(fields(&token, "gamma"), own.clone()).await;
    assert_eq!(status, 201, "{shown}");
    let key = element_text(&shown, "new-key").expect("the new key on the page");
    assert_eq!(submit_with(&pipeline, &client, &key, "console").await, 202);
    let (status, again) = register(fields(&token, "gamma"), own.clone()).await;
    assert_eq!(status, 409);
    assert!(element_text(&again, "company-error")
        .unwrap()
        .contains("exists already"));
    let mut wrong = fields(&token, "delta");
    wrong[3].1 = "Spain".to_owned();
    let (status, page) = register(wrong, own.clone()).await;
    assert_eq!(status, 400);
    let error = element_text(&page, "company-error").unwrap();
    assert!(error.starts_with("country: "), "{error}");
    assert!(
        page.contains("value=\"delta\""),
        "the form keeps what was typed"
    );

    // The company's page lists its key without the secret; revoking it refuses it at once.
    let company = console_page(&browser, &console, &cookie, "/companies/gamma")
        .await
        .unwrap();
    let (key_id, secret) = keys::split(&key).unwrap();
    assert!(company.contains(key_id) && !company.contains(secret));
    let revoke = |token: String, origin: Option<String>| {
        let mut request = browser
            .post(format!("{console}/companies/gamma/keys/{key_id}/revoke"))
            .header("cookie", &cookie)
            .form(&[("form_token", token)]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(revoke(String::new(), own.clone()).await, 403);
    assert_eq!(submit_with(&pipeline, &client, &key, "still").await, 202);
    assert_eq!(revoke(token.clone(), own.clone()).await, 303);
    answers_within(&pipeline, &client, &key, 401).await;

    // An authority signed in to the console sees none of it.
    let (status, body) = pipeline
        .admin(
            &client,
            Method::PUT,
            "/admin/v1/authorities/ES",
            Some(serde_json::json!({"name": "Aduanas", "contact": "aduanas@example.es"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, authority_key) = pipeline
        .admin(&client, Method::POST, "/admin/v1/authorities/ES/keys", None)
        .await;
    let (authority, authority_cookie) =
        console_session(&console, authority_key["api_key"].as_str().unwrap())
            .await
            .unwrap();
    for path in ["/companies", "/companies/gamma"] {
        let response = authority
            .get(format!("{console}{path}"))
            .header("cookie", &authority_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let page = console_page(&authority, &console, &authority_cookie, "/")
        .await
        .unwrap();
    assert!(!page.contains("nav-companies"));

    // Audited with the console as the actor.
    let (_, audit) = pipeline
        .admin(&client, Method::GET, "/admin/v1/audit?limit=1000", None)
        .await;
    let actions: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["target"] == "gamma")
        .map(|entry| {
            format!(
                "{} {}",
                entry["actor"].as_str().unwrap(),
                entry["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "console company.create",
            "console company.key.issue",
            "console company.key.revoke"
        ]
    );
    pipeline.stop().await.unwrap();
}
