//! The authority API (`/v1/...`, one key per authority) and the operators' admin API
//! (`/admin/v1/...`, the operator token).

use runtime::{ExposeSecret as _, SecretString};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use events::Disposition;
use serde::{Deserialize, Serialize};
use store::{Announcements, AuthorityAlert, Change, FeedbackRecord, Store};
use subtle::ConstantTimeEq as _;

use crate::metrics::Metrics;
use admin::authorities::{self as directory, AuthorityArgs};
use admin::companies::{self, CompanyArgs, NewKey};
pub use api::ApiError;

/// Most alerts one page returns.
const MAX_PAGE: i64 = 500;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub metrics: Metrics,
    /// The operators' token for the admin API; the admin API is off without one.
    pub admin_token: Option<SecretString>,
    /// How often an open stream looks for new alerts.
    pub poll: Duration,
    /// Remembers verified API keys (Argon2 runs once per key and process).
    pub verifier: keys::Verifier,
    /// Revocations of authority keys, which end the streams opened with them.
    pub announcements: Announcements,
}

/// The routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/alerts", get(list_alerts))
        .route("/v1/alerts/stream", get(stream_alerts))
        .route("/v1/alerts/{alert_id}", get(one_alert))
        .route(
            "/v1/alerts/{alert_id}/feedback",
            post(add_feedback).get(list_feedback),
        )
        .route("/admin/v1/authorities", get(admin_authorities))
        .route("/admin/v1/authorities/{country}", put(admin_put_authority))
        .route(
            "/admin/v1/authorities/{country}/keys",
            post(admin_issue_key),
        )
        .route("/admin/v1/alerts/{alert_id}/feedback", get(admin_feedback))
        .route("/admin/v1/keys/{key_id}", delete(admin_revoke_key))
        .route("/admin/v1/audit", get(admin_audit))
        .route(
            "/admin/v1/companies",
            get(admin_companies).post(admin_create_company),
        )
        .route(
            "/admin/v1/companies/{company_id}/keys",
            get(admin_company_keys).post(admin_issue_company_key),
        )
        .route(
            "/admin/v1/companies/{company_id}/keys/{key_id}",
            delete(admin_revoke_company_key),
        )
        .with_state(state)
}

/// What an authority is told of an alert that is not among its own (or does not exist): the
/// same either way.
const NO_SUCH_ALERT: &str = "no such alert among this authority's alerts";

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(keys::bearer)
}

/// The authority calling, from its key.
pub struct Caller {
    pub country: String,
    pub key_id: String,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::unauthorized("send the authority's API key as Authorization: Bearer pw_...")
        };
        let token = bearer(parts).ok_or_else(unauthorized)?;
        let (key_id, secret) = keys::split(token).ok_or_else(unauthorized)?;
        let key = state
            .store
            .authority_key(key_id)
            .await?
            .ok_or_else(unauthorized)?;
        if key.revoked
            || !state
                .verifier
                .verify(key_id, secret, &key.secret_hash)
                .await
        {
            return Err(unauthorized());
        }
        Ok(Caller {
            country: key.country,
            key_id: key_id.to_owned(),
        })
    }
}

/// An operator, from the admin token.
pub struct Operator;

impl FromRequestParts<ApiState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Some(expected) = &state.admin_token else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "admin_disabled",
                "the admin API is off: start the service with --admin-token",
            ));
        };
        let given = bearer(parts).unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
            Ok(Operator)
        } else {
            Err(ApiError::unauthorized(
                "send the operator token as Authorization: Bearer <token>",
            ))
        }
    }
}

/// One alert of the authority, with its number in the authority's stream.
#[derive(Debug, Serialize)]
struct Numbered {
    seq: i64,
    alert: serde_json::Value,
}

fn numbered(alert: &AuthorityAlert) -> Numbered {
    Numbered {
        seq: alert.seq,
        alert: serde_json::from_str(&alert.alert_json).unwrap_or(serde_json::Value::Null),
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
struct Page {
    alerts: Vec<Numbered>,
    /// Pass as `after` for the next page.
    next_after: i64,
}

fn number(
    field: &str,
    text: Option<&str>,
    default: i64,
    range: (i64, i64),
) -> Result<i64, ApiError> {
    let Some(text) = text else { return Ok(default) };
    let value: i64 = text
        .parse()
        .map_err(|_| ApiError::invalid(field, format!("{text:?} is not a whole number")))?;
    if value < range.0 || value > range.1 {
        return Err(ApiError::invalid(
            field,
            format!("{value} is not between {} and {}", range.0, range.1),
        ));
    }
    Ok(value)
}

/// `GET /v1/alerts?after=N&limit=M`: the authority's alerts numbered after N, oldest first.
async fn list_alerts(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let after = number("after", query.after.as_deref(), 0, (0, i64::MAX))?;
    let limit = number("limit", query.limit.as_deref(), 100, (1, MAX_PAGE))?;
    let alerts = state
        .store
        .alert_feed(Some(&caller.country), after, limit)
        .await?;
    state
        .metrics
        .requests
        .with_label_values(&["list", "2xx"])
        .inc();
    Ok(Json(Page {
        next_after: alerts.last().map_or(after, |alert| alert.seq),
        alerts: alerts.iter().map(numbered).collect(),
    }))
}

/// `GET /v1/alerts/{id}`: one alert, when it was delivered to the calling authority.
async fn one_alert(
    State(state): State<ApiState>,
    caller: Caller,
    Path(alert_id): Path<String>,
) -> Result<Json<Numbered>, ApiError> {
    let alert = state
        .store
        .authority_alert(&caller.country, &alert_id)
        .await?
        .ok_or_else(|| ApiError::not_found(NO_SUCH_ALERT))?;
    Ok(Json(numbered(&alert)))
}

/// `GET /v1/alerts/stream`: Server-Sent Events, one `alert` event per alert with its number as
/// the event id; a client that reconnects with `Last-Event-ID` (or `?after=`) misses nothing.
async fn stream_alerts(
    State(state): State<ApiState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let after = number(
        "Last-Event-ID",
        last.as_deref().or(query.after.as_deref()),
        0,
        (0, i64::MAX),
    )?;
    state.metrics.streams.inc();
    let feed = Feed {
        subscription: state.announcements.subscribe(),
        _open: StreamGuard(state.metrics.clone()),
        state,
        country: caller.country,
        key_id: caller.key_id,
        after,
        pending: VecDeque::new(),
        checked: Instant::now(),
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// How often an open stream checks that its key is still valid, besides hearing its revocation
/// announced (the only check on SQLite, which announces nothing).
const KEY_RECHECK: Duration = Duration::from_secs(5);

/// An open alert stream of one authority, opened with one key.
struct Feed {
    state: ApiState,
    country: String,
    key_id: String,
    after: i64,
    pending: VecDeque<AuthorityAlert>,
    subscription: store::Subscription,
    /// When the key was last found valid.
    checked: Instant,
    _open: StreamGuard,
}

impl Feed {
    /// The next alert's event; `None` once the key is revoked, which ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.checked.elapsed() >= KEY_RECHECK {
                if !self.key_valid().await {
                    return None;
                }
                self.checked = Instant::now();
            }
            if let Some(alert) = self.pending.pop_front() {
                self.after = alert.seq;
                let event = Event::default()
                    .id(alert.seq.to_string())
                    .event("alert")
                    .data(alert.alert_json);
                return Some(event);
            }
            let pause = match self
                .state
                .store
                .alert_feed(Some(&self.country), self.after, 100)
                .await
            {
                Ok(alerts) if !alerts.is_empty() => {
                    self.pending.extend(alerts);
                    continue;
                }
                Ok(_) => self.state.poll,
                Err(error) => {
                    tracing::warn!(error = %error, "alert stream cannot read the database");
                    self.state.poll * 4
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.subscription.until(Change::AuthorityKeyRevoked, &self.key_id) => {
                    if !self.key_valid().await {
                        tracing::info!(key_id = self.key_id, "alert stream ended: its key was revoked");
                        return None;
                    }
                }
            }
        }
    }

    /// Whether the stream's key is still valid; a database that cannot answer keeps it open.
    async fn key_valid(&self) -> bool {
        match self.state.store.authority_key(&self.key_id).await {
            Ok(key) => key.is_some_and(|key| !key.revoked),
            Err(error) => {
                tracing::warn!(%error, "alert stream cannot check its key");
                true
            }
        }
    }
}

/// Counts an open stream until it is dropped.
struct StreamGuard(Metrics);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.dec();
    }
}

#[derive(Debug, Deserialize)]
struct FeedbackBody {
    disposition: Option<String>,
    note: Option<String>,
    author: Option<String>,
}

#[derive(Debug, Serialize)]
struct FeedbackView {
    alert_id: String,
    country: String,
    disposition: String,
    note: String,
    author: String,
    source: String,
    recorded_at: i64,
}

impl From<FeedbackRecord> for FeedbackView {
    fn from(record: FeedbackRecord) -> Self {
        Self {
            alert_id: record.alert_id,
            country: record.country,
            disposition: record.disposition,
            note: record.note,
            author: record.author,
            source: record.source,
            recorded_at: record.recorded_at,
        }
    }
}

/// `POST /v1/alerts/{id}/feedback`: records the authority's disposition on one of its alerts.
async fn add_feedback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(alert_id): Path<String>,
    body: Result<Json<FeedbackBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<FeedbackView>), ApiError> {
    let Json(body) = body.map_err(ApiError::body)?;
    let disposition_text = body
        .disposition
        .ok_or_else(|| ApiError::invalid("disposition", "missing"))?;
    let disposition = Disposition::parse(&disposition_text).ok_or_else(|| {
        ApiError::invalid(
            "disposition",
            format!("{disposition_text:?} is not one of UNDER_REVIEW, CONFIRMED_SUSPICIOUS, LEGITIMATE, MORE_INFORMATION_NEEDED"),
        )
    })?;
    let author = body.author.unwrap_or_default();
    let note = body.note.unwrap_or_default();
    if let Some((field, reason)) = crate::feedback::text_problem(&author, &note) {
        return Err(ApiError::invalid(field, reason));
    }
    if state
        .store
        .authority_alert(&caller.country, &alert_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(NO_SUCH_ALERT));
    }
    let record = FeedbackRecord {
        alert_id,
        country: caller.country,
        disposition: disposition.as_str().to_owned(),
        note,
        author: author.trim().to_owned(),
        source: "api".into(),
        recorded_at: events::now_micros(),
    };
    state.store.record_feedback(&record).await?;
    state
        .metrics
        .feedback
        .with_label_values(&[disposition.as_str(), "api"])
        .inc();
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// `GET /v1/alerts/{id}/feedback`: the calling authority's dispositions on one of its alerts.
async fn list_feedback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(alert_id): Path<String>,
) -> Result<Json<Vec<FeedbackView>>, ApiError> {
    if state
        .store
        .authority_alert(&caller.country, &alert_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(NO_SUCH_ALERT));
    }
    let records = state
        .store
        .feedback_for(&alert_id, Some(&caller.country))
        .await?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Serialize)]
struct AuthorityView {
    country: String,
    name: String,
    contact: String,
    topic: String,
    min_severity: String,
    regimes: Vec<String>,
    categories: Vec<String>,
    watch_list_findings: bool,
}

impl From<store::Authority> for AuthorityView {
    fn from(a: store::Authority) -> Self {
        Self {
            country: a.country,
            name: a.name,
            contact: a.contact,
            topic: a.topic,
            min_severity: a.min_severity,
            regimes: a.regimes,
            categories: a.categories,
            watch_list_findings: a.watch_list_findings,
        }
    }
}

/// `GET /admin/v1/authorities`: the directory.
async fn admin_authorities(
    State(state): State<ApiState>,
    _: Operator,
) -> Result<Json<Vec<AuthorityView>>, ApiError> {
    Ok(Json(
        state
            .store
            .authorities()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `PUT /admin/v1/authorities/{country}`: creates or updates an entry.
async fn admin_put_authority(
    State(state): State<ApiState>,
    _: Operator,
    Path(country): Path<String>,
    body: Result<Json<AuthorityArgs>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AuthorityView>, ApiError> {
    let Json(mut args) = body.map_err(ApiError::body)?;
    args.country = country;
    let authority = directory::validate(&args).map_err(|reason| {
        let (field, reason) = reason.split_once(": ").unwrap_or(("body", reason.as_str()));
        ApiError::invalid(field, reason)
    })?;
    directory::save(&state.store, &authority, ADMIN_API).await?;
    Ok(Json(authority.into()))
}

/// `POST /admin/v1/authorities/{country}/keys`: a new key, shown once.
async fn admin_issue_key(
    State(state): State<ApiState>,
    _: Operator,
    Path(country): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let country = country.to_ascii_uppercase();
    let Some(token) = directory::issue_key(&state.store, &country, ADMIN_API).await? else {
        return Err(ApiError::not_found(format!(
            "no authority for {country}: PUT /admin/v1/authorities/{country} first"
        )));
    };
    Ok(shown_once(
        serde_json::json!({"country": country, "api_key": token.expose_secret()}),
    ))
}

/// `GET /admin/v1/alerts/{id}/feedback`: every authority's dispositions, for operators.
async fn admin_feedback(
    State(state): State<ApiState>,
    _: Operator,
    Path(alert_id): Path<String>,
) -> Result<Json<Vec<FeedbackView>>, ApiError> {
    let records = state.store.feedback_for(&alert_id, None).await?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

/// The actor recorded in the audit log for the admin API.
const ADMIN_API: &str = "admin-api";

/// `DELETE /admin/v1/keys/{key_id}`: revokes an authority's key at once.
async fn admin_revoke_key(
    State(state): State<ApiState>,
    _: Operator,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if directory::revoke_key(&state.store, &key_id, ADMIN_API).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no active key {key_id}")))
    }
}

/// Paging through the audit log.
#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

/// `GET /admin/v1/audit?after=&limit=`: operators' actions, oldest first.
async fn admin_audit(
    State(state): State<ApiState>,
    _: Operator,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<store::AuditEntry>>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::invalid("query", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 1000"));
    }
    Ok(Json(state.store.audit_log(query.after, limit).await?))
}

/// `GET /admin/v1/companies`: the reporting companies, with their number of active keys.
async fn admin_companies(
    State(state): State<ApiState>,
    _: Operator,
) -> Result<Json<Vec<store::Company>>, ApiError> {
    Ok(Json(state.store.companies().await?))
}

/// `201 Created` with a secret shown this once: no cache may keep it.
fn shown_once(body: impl Serialize) -> impl IntoResponse {
    (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
}

/// A new company key as the admin API answers it: shown once, never kept.
#[derive(Debug, Serialize)]
struct IssuedKey {
    company_id: String,
    key_id: String,
    api_key: String,
}

impl From<NewKey> for IssuedKey {
    fn from(key: NewKey) -> Self {
        Self {
            company_id: key.company_id,
            key_id: key.key_id,
            api_key: key.token.expose_secret().to_owned(),
        }
    }
}

/// `POST /admin/v1/companies`: registers a company and issues its first key.
async fn admin_create_company(
    State(state): State<ApiState>,
    _: Operator,
    body: Result<Json<CompanyArgs>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(args) = body.map_err(ApiError::body)?;
    let key = companies::create(&state.store, &args, ADMIN_API).await?;
    Ok(shown_once(IssuedKey::from(key)))
}

/// A company and its keys (ids and dates, never secrets).
#[derive(Debug, Serialize)]
struct CompanyKeys {
    company: store::Company,
    keys: Vec<store::KeySummary>,
}

/// `GET /admin/v1/companies/{id}/keys`.
async fn admin_company_keys(
    State(state): State<ApiState>,
    _: Operator,
    Path(company_id): Path<String>,
) -> Result<Json<CompanyKeys>, ApiError> {
    let (company, keys) = companies::keys_of(&state.store, &company_id).await?;
    Ok(Json(CompanyKeys { company, keys }))
}

/// `POST /admin/v1/companies/{id}/keys`: another key, shown once (rotation: issue, switch
/// over, revoke the old one).
async fn admin_issue_company_key(
    State(state): State<ApiState>,
    _: Operator,
    Path(company_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let key = companies::issue_key(&state.store, &company_id, ADMIN_API).await?;
    Ok(shown_once(IssuedKey::from(key)))
}

/// `DELETE /admin/v1/companies/{id}/keys/{key_id}`: refused at once by every ingest instance.
async fn admin_revoke_company_key(
    State(state): State<ApiState>,
    _: Operator,
    Path((company_id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    companies::revoke_key(&state.store, &company_id, &key_id, ADMIN_API).await?;
    Ok(StatusCode::NO_CONTENT)
}
