//! The console's routes: sign-in, the overview (operators: the pipeline; an authority: its own
//! alerts), the alert search and detail, the live feed (server-sent events) and the assets.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::Markup;
use serde::Deserialize;
use store::{AlertSearch, Announcements, AuthorityAlert, Change, Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, session_cookie, SignInError, Viewer, COOKIE};
use crate::companies;
use crate::dead_letters::DeadLetters;
use crate::metrics::Metrics;
use crate::monitor::{per_minute, Monitor};
use crate::pages::{self, FeedItem, PipelineView, SearchForm};
use crate::sign_in::{self, Attempts};
use crate::Sessions;

/// Alerts in the overview's feed, and per page of the search.
const FEED_SIZE: i64 = 20;
const PAGE_SIZE: i64 = 50;
/// Dead letters on the overview.
const DEAD_LETTERS_SHOWN: usize = 20;

/// What the handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    pub store: Store,
    pub sessions: Sessions,
    pub monitor: Monitor,
    pub dead_letters: DeadLetters,
    pub metrics: Metrics,
    /// Whether the console is served over HTTPS (the cookie is then `Secure`).
    pub secure_cookie: bool,
    /// How often an open live feed looks for new alerts.
    pub poll: Duration,
    /// Ends the live feeds at shutdown.
    pub shutdown: CancellationToken,
    /// How long a session lasts.
    pub session_seconds: u64,
    /// Revocations of authority keys, which end the live feeds of their sessions.
    pub announcements: Announcements,
    /// Sign-in attempts per key and per client address.
    pub attempts: Attempts,
}

/// The routes.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/panels", get(panels))
        .route("/alerts", get(search))
        .route("/alerts/{alert_id}", get(alert))
        .route("/events", get(live))
        .route("/companies", get(companies::list).post(companies::create))
        .route("/companies/{company_id}", get(companies::one))
        .route("/companies/{company_id}/keys", post(companies::issue_key))
        .route(
            "/companies/{company_id}/keys/{key_id}/revoke",
            post(companies::revoke_key),
        )
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts every request and sets the security headers on every answer.
async fn observe(State(state): State<ConsoleState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let mut response = next.run(request).await;
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !route.starts_with("/assets/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Why a page cannot be shown.
pub enum PageError {
    /// Nobody is signed in (or the session ended): to the sign-in page.
    SignIn,
    /// Not for this viewer.
    Forbidden(Viewer),
    NotFound(Viewer, &'static str),
    BadRequest(Viewer, String),
    Unavailable,
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "database unavailable");
        PageError::Unavailable
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, viewer, title, message) = match &self {
            PageError::SignIn => return Redirect::to("/login").into_response(),
            PageError::Forbidden(viewer) => (
                StatusCode::FORBIDDEN,
                Some(viewer),
                "Not for you",
                "this page is for operators".to_owned(),
            ),
            PageError::NotFound(viewer, what) => (
                StatusCode::NOT_FOUND,
                Some(viewer),
                "Not found",
                (*what).to_owned(),
            ),
            PageError::BadRequest(viewer, message) => (
                StatusCode::BAD_REQUEST,
                Some(viewer),
                "Cannot do that",
                message.clone(),
            ),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Unavailable",
                "the database is unavailable; try again in a moment".to_owned(),
            ),
        };
        (
            status,
            Html(pages::problem(viewer, title, &message).into_string()),
        )
            .into_response()
    }
}

/// The signed-in viewer of a request.
pub struct Signed(pub Viewer);

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, PageError> {
        let token = session_cookie(&parts.headers).ok_or(PageError::SignIn)?;
        state
            .sessions
            .viewer(&token)
            .await?
            .map(Signed)
            .ok_or(PageError::SignIn)
    }
}

pub(crate) fn page(markup: Markup) -> Html<String> {
    Html(markup.into_string())
}

/// The sign-in form, with a fresh anti-forgery token in a cookie and in the form.
async fn login_page(State(state): State<ConsoleState>) -> Response {
    login_form(&state, StatusCode::OK, None)
}

fn login_form(state: &ConsoleState, status: StatusCode, error: Option<&str>) -> Response {
    let token = sign_in::new_form_token();
    let cookie = format!(
        "{}={token}; Path=/login; HttpOnly; SameSite=Strict{}",
        sign_in::FORM_COOKIE,
        if state.secure_cookie { "; Secure" } else { "" }
    );
    (
        status,
        [(header::SET_COOKIE, cookie)],
        page(pages::login(&token, error)),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    key: String,
    /// The anti-forgery token the form was given.
    #[serde(default)]
    form_token: String,
}

/// Whether a form was posted from the console's own pages. Browsers say so in `Sec-Fetch-Site`;
/// older ones send `Origin`, which must then be this host (as the client or a proxy in front
/// names it). A request with neither is no browser's cross-site post. The session cookie is
/// `SameSite=Strict` besides.
fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    let Some((_, origin_host)) = origin.split_once("://") else {
        return false;
    };
    let origin_host = origin_host.trim_end_matches('/');
    [text("x-forwarded-host"), text("host")]
        .into_iter()
        .flatten()
        .any(|host| origin_host.eq_ignore_ascii_case(host))
}

/// Whether a form post says it comes from the console's own pages, as browsers do: a post that
/// does not say where it comes from is refused as well as one from another site (the forms also
/// carry a token).
pub(crate) fn posted_from_here(headers: &axum::http::HeaderMap) -> bool {
    let declared = headers.contains_key("origin") || headers.contains_key("sec-fetch-site");
    declared && same_origin(headers)
}

pub(crate) fn cross_site() -> Response {
    (
        StatusCode::FORBIDDEN,
        page(pages::problem(
            None,
            "Refused",
            "this form was sent from another site",
        )),
    )
        .into_response()
}

async fn sign_in(
    State(state): State<ConsoleState>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<SignInForm>,
) -> Response {
    let token = auth::cookie(&headers, sign_in::FORM_COOKIE);
    if !posted_from_here(&headers)
        || !sign_in::form_token_matches(token.as_deref(), &form.form_token)
    {
        state.metrics.sign_ins.with_label_values(&["forged"]).inc();
        return cross_site();
    }
    let address = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    if let Err(wait) = state.attempts.check(&form.key, address) {
        state.metrics.sign_ins.with_label_values(&["limited"]).inc();
        tracing::info!(?address, "sign-in refused: too many attempts");
        let seconds = wait.as_secs() + 1;
        let message = format!(
            "Too many sign-in attempts with this key or from this address; wait {seconds} s."
        );
        let mut response = login_form(&state, StatusCode::TOO_MANY_REQUESTS, Some(&message));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let viewer = match state.sessions.authenticate(&form.key).await {
        Ok(viewer) => viewer,
        Err(SignInError::Invalid) => {
            state.metrics.sign_ins.with_label_values(&["refused"]).inc();
            tracing::info!("sign-in refused");
            return login_form(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("That token or key is not valid, or the key was revoked."),
            );
        }
        Err(SignInError::Store(error)) => return PageError::from(error).into_response(),
    };
    let kind = if viewer.is_operator() {
        "operator"
    } else {
        "authority"
    };
    state.metrics.sign_ins.with_label_values(&[kind]).inc();
    tracing::info!(
        viewer = kind,
        country = viewer.country().unwrap_or("-"),
        "signed in"
    );
    let token = state.sessions.open(viewer);
    let cookie = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        state.session_seconds,
        if state.secure_cookie { "; Secure" } else { "" }
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/".to_owned()),
        ],
    )
        .into_response()
}

async fn sign_out(State(state): State<ConsoleState>, headers: axum::http::HeaderMap) -> Response {
    if !same_origin(&headers) {
        return cross_site();
    }
    if let Some(token) = session_cookie(&headers) {
        state.sessions.close(&token);
    }
    let expired = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, expired),
            (header::LOCATION, "/login".to_owned()),
        ],
    )
        .into_response()
}

/// The newest alerts the viewer may see, newest first, as feed rows.
async fn newest(state: &ConsoleState, viewer: &Viewer) -> Result<Vec<FeedItem>, StoreError> {
    let search = AlertSearch {
        country: viewer.country().map(str::to_owned),
        limit: FEED_SIZE,
        ..AlertSearch::default()
    };
    Ok(state
        .store
        .search_alerts(&search)
        .await?
        .iter()
        .map(FeedItem::new)
        .collect())
}

async fn pipeline_panels(state: &ConsoleState) -> Result<Markup, StoreError> {
    let now = events::now_micros();
    let services = state.monitor.services();
    let history = state.monitor.history();
    let minutes = per_minute(&history, now);
    let dead_letters = state.dead_letters.newest(DEAD_LETTERS_SHOWN);
    let volumes = state.store.authority_volumes(now - 86_400_000_000).await?;
    let names: HashMap<String, String> = state
        .store
        .authorities()
        .await?
        .into_iter()
        .map(|authority| (authority.country, authority.name))
        .collect();
    Ok(pages::pipeline_panels(&PipelineView {
        services: &services,
        history: &history,
        minutes: &minutes,
        dead_letters: &dead_letters,
        volumes: &volumes,
        authority_names: &names,
        now,
    }))
}

async fn home(
    State(state): State<ConsoleState>,
    Signed(viewer): Signed,
) -> Result<Html<String>, PageError> {
    let newest = newest(&state, &viewer).await?;
    let Some(country) = viewer.country() else {
        let panels = pipeline_panels(&state).await?;
        return Ok(page(pages::layout(
            Some(&viewer),
            "Pipeline",
            maud::html! {
                h1 { "Pipeline" }
                (panels)
                (pages::live_feed("Live alerts", &newest))
            },
        )));
    };
    let now = events::now_micros();
    let volumes = state.store.authority_volumes(now - 86_400_000_000).await?;
    let own = volumes.iter().find(|volume| volume.country == country);
    Ok(page(pages::authority_home(&viewer, own, &newest)))
}

async fn panels(
    State(state): State<ConsoleState>,
    Signed(viewer): Signed,
) -> Result<Html<String>, PageError> {
    if !viewer.is_operator() {
        return Err(PageError::Forbidden(viewer));
    }
    Ok(page(pipeline_panels(&state).await?))
}

/// A search form's fields, checked: the country an operator may choose (an authority's is its
/// own), a known severity, a page position.
fn checked_search(viewer: &Viewer, form: &SearchForm) -> Result<AlertSearch, String> {
    let filled = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    let country = match viewer.country() {
        Some(own) => Some(own.to_owned()),
        None => match filled(&form.country) {
            Some(country) => {
                let country = country.to_uppercase();
                if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                    return Err(format!(
                        "country: expected an ISO 3166-1 alpha-2 code such as NL, got {country:?}"
                    ));
                }
                Some(country)
            }
            None => None,
        },
    };
    let severity = match filled(&form.severity) {
        Some(severity) => {
            let severity = severity.to_uppercase();
            if !["LOW", "MEDIUM", "HIGH", "CRITICAL"].contains(&severity.as_str()) {
                return Err(format!(
                    "severity: expected LOW, MEDIUM, HIGH or CRITICAL, got {severity:?}"
                ));
            }
            Some(severity)
        }
        None => None,
    };
    let before = match filled(&form.before) {
        Some(before) => Some(
            before
                .parse::<i64>()
                .ok()
                .filter(|before| *before > 0)
                .ok_or_else(|| {
                    format!("before: expected a positive alert number, got {before:?}")
                })?,
        ),
        None => None,
    };
    let text = filled(&form.q);
    if text.as_ref().is_some_and(|text| text.chars().count() > 200) {
        return Err("q: at most 200 characters".to_owned());
    }
    Ok(AlertSearch {
        country,
        severity,
        text,
        before,
        limit: PAGE_SIZE + 1,
    })
}

async fn search(
    State(state): State<ConsoleState>,
    Signed(viewer): Signed,
    Query(form): Query<SearchForm>,
) -> Result<Html<String>, PageError> {
    let query = checked_search(&viewer, &form)
        .map_err(|message| PageError::BadRequest(viewer.clone(), message))?;
    let mut found = state.store.search_alerts(&query).await?;
    let more = found.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    found.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let next_before = more.then(|| found.last().map(|alert| alert.seq)).flatten();
    let items: Vec<FeedItem> = found.iter().map(FeedItem::new).collect();
    // Operators may look up any report or alert by id, also one that reached no authority.
    let trace = match query.text.as_deref() {
        Some(id) if viewer.is_operator() && !id.contains(char::is_whitespace) => {
            state.store.report_trace(id).await?
        }
        _ => None,
    };
    Ok(page(pages::alerts(
        &viewer,
        &form,
        trace.as_ref(),
        &items,
        next_before,
    )))
}

async fn alert(
    State(state): State<ConsoleState>,
    Signed(viewer): Signed,
    Path(alert_id): Path<String>,
) -> Result<Html<String>, PageError> {
    let deliveries: Vec<AuthorityAlert> = match viewer.country() {
        None => state.store.alert_deliveries(&alert_id).await?,
        Some(country) => state
            .store
            .authority_alert(country, &alert_id)
            .await?
            .into_iter()
            .collect(),
    };
    let Some(first) = deliveries.first() else {
        return Err(PageError::NotFound(
            viewer,
            "no such alert among the alerts you may see",
        ));
    };
    let ledger = if viewer.is_operator() {
        state
            .store
            .deliveries_for_report(&first.report_id)
            .await?
            .into_iter()
            .filter(|record| record.alert_id == alert_id)
            .collect()
    } else {
        Vec::new()
    };
    let feedback = state
        .store
        .feedback_for(&alert_id, viewer.country())
        .await?;
    Ok(page(pages::alert(
        &viewer,
        &pages::AlertView {
            deliveries: &deliveries,
            ledger: &ledger,
            feedback: &feedback,
        },
    )))
}

#[derive(Deserialize)]
struct LiveQuery {
    after: Option<i64>,
}

/// Counts an open feed until it is dropped.
struct StreamGuard(Metrics);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams_open.dec();
    }
}

/// How often a live feed checks that its session (and an authority's key) is still valid,
/// besides hearing a key's revocation announced (the only check on SQLite).
const SESSION_RECHECK: Duration = Duration::from_secs(5);

/// One viewer's open live feed.
struct LiveFeed {
    state: ConsoleState,
    viewer: Viewer,
    /// The session's token.
    token: String,
    after: i64,
    pending: VecDeque<AuthorityAlert>,
    subscription: store::Subscription,
    /// When the session was last found valid.
    checked: Instant,
    _open: StreamGuard,
}

impl LiveFeed {
    /// The next alert's event; `None` once the session ends (signed out, its authority key
    /// revoked) or the console shuts down, which ends the feed.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.checked.elapsed() >= SESSION_RECHECK {
                if !self.session_valid().await {
                    return None;
                }
                self.checked = Instant::now();
            }
            if let Some(alert) = self.pending.pop_front() {
                self.after = alert.seq;
                let item = FeedItem::new(&alert);
                let event = Event::default()
                    .id(alert.seq.to_string())
                    .event("alert")
                    .json_data(&item)
                    .unwrap_or_default();
                return Some(event);
            }
            match self
                .state
                .store
                .alert_feed(self.viewer.country(), self.after, 100)
                .await
            {
                Ok(alerts) if !alerts.is_empty() => {
                    self.pending.extend(alerts);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "live feed cannot read the database");
                }
            }
            let revoked = async {
                match &self.viewer {
                    Viewer::Authority { key_id, .. } => {
                        self.subscription
                            .until(Change::AuthorityKeyRevoked, key_id)
                            .await;
                    }
                    Viewer::Operator => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.state.shutdown.cancelled() => return None,
                () = tokio::time::sleep(self.state.poll) => {}
                () = revoked => {
                    if !self.session_valid().await {
                        tracing::info!("live feed ended: its authority key was revoked");
                        return None;
                    }
                }
            }
        }
    }

    async fn session_valid(&self) -> bool {
        matches!(self.state.sessions.viewer(&self.token).await, Ok(Some(_)))
    }
}

/// New alerts the viewer may see, as server-sent events, from `after` (or `Last-Event-ID`).
async fn live(
    State(state): State<ConsoleState>,
    Signed(viewer): Signed,
    headers: axum::http::HeaderMap,
    Query(query): Query<LiveQuery>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let after = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok())
        .or(query.after)
        .unwrap_or(0)
        .max(0);
    let token = session_cookie(&headers).unwrap_or_default();
    state.metrics.streams_open.inc();
    let feed = LiveFeed {
        subscription: state.announcements.subscribe(),
        _open: StreamGuard(state.metrics.clone()),
        state,
        viewer,
        token,
        after,
        pending: VecDeque::new(),
        checked: Instant::now(),
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/console.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/console.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(country: &str, severity: &str, before: &str) -> SearchForm {
        SearchForm {
            q: Some("  acetic ".into()),
            country: Some(country.into()),
            severity: Some(severity.into()),
            before: Some(before.into()),
        }
    }

    #[test]
    fn an_authority_searches_its_own_alerts_whatever_it_asks() {
        let authority = Viewer::Authority {
            country: "NL".into(),
            key_id: "k".into(),
        };
        let search = checked_search(&authority, &form("DE", "", "")).unwrap();
        assert_eq!(search.country.as_deref(), Some("NL"));
        assert_eq!(search.text.as_deref(), Some("acetic"));
        let operator = checked_search(&Viewer::Operator, &form("de", "high", "12")).unwrap();
        assert_eq!(operator.country.as_deref(), Some("DE"));
        assert_eq!(operator.severity.as_deref(), Some("HIGH"));
        assert_eq!(operator.before, Some(12));
    }

    #[test]
    fn forms_are_accepted_from_the_console_itself_only() {
        let headers = |origin: Option<&str>| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::HOST, "console.example:8070".parse().unwrap());
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            headers
        };
        assert!(same_origin(&headers(None)));
        assert!(same_origin(&headers(Some("https://console.example:8070"))));
        assert!(!same_origin(&headers(Some("https://evil.example"))));
        assert!(!same_origin(&headers(Some("null"))));
        // Behind a proxy that names the public host.
        let mut proxied = headers(Some("https://pw.example.org"));
        proxied.insert("x-forwarded-host", "pw.example.org".parse().unwrap());
        assert!(same_origin(&proxied));
        // What a current browser says decides.
        let mut fetched = headers(Some("https://pw.example.org"));
        fetched.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&fetched));
        fetched.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&fetched));
    }

    #[test]
    fn a_bad_search_names_the_field() {
        for (bad, field) in [
            (form("Netherlands", "", ""), "country:"),
            (form("", "urgent", ""), "severity:"),
            (form("", "", "-3"), "before:"),
        ] {
            let error = checked_search(&Viewer::Operator, &bad).unwrap_err();
            assert!(error.starts_with(field), "{error}");
        }
    }
}
