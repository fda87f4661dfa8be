//! The company-facing HTTP API: `POST /v1/reports` and `GET /v1/reports/{id}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::{Inserted, NewReport, ReportStatus, Status, Store};
use tokio::sync::Notify;

use crate::key_cache::KeyCache;
use crate::metrics::Metrics;
use crate::pressure::{Limits, Refusal};
use crate::report::{Envelope, Problem, ReportRequest};
use crate::writer::{GroupWriter, WriteError};
use api::ApiError;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Largest encoded report, in bytes: it must fit one Kafka message (1 MB by default).
pub const MAX_EVENT_BYTES: usize = 900 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// Writes accepted reports in groups.
    pub writer: GroupWriter,
    pub outbox_wake: Arc<Notify>,
    pub metrics: Metrics,
    /// Remembers verified API keys (Argon2 runs once per key and process).
    pub verifier: keys::Verifier,
    /// API key records, dropped as they are revoked.
    pub keys: KeyCache,
    pub limits: Limits,
    /// How long a client has to send a request's body.
    pub read_timeout: Duration,
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/reports", post(submit))
        .route("/v1/reports/{id}", get(status))
        .with_state(state)
}

fn unauthorized() -> ApiError {
    ApiError::unauthorized("send a valid API key as Authorization: Bearer pw_...")
}

/// A report that could not be written: the database's answer, or a writer stopped by shutdown
/// (worth a retry).
fn write_error(error: WriteError) -> ApiError {
    match error {
        WriteError::Store(error) => ApiError::from(&*error),
        WriteError::Stopped => ApiError::unavailable("the service is shutting down, retry later"),
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let (status, error, message, retry_after) = match refusal {
            Refusal::RateLimited(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from your company; retry after the time in Retry-After"
                    .to_owned(),
                // Whole seconds, rounded up.
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ),
            Refusal::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many reports are being received at once; retry shortly".to_owned(),
                1,
            ),
            Refusal::CompanyBusy(limit) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_in_flight",
                format!(
                    "your company has {limit} reports being received at once, the most one company may; retry when one is answered"
                ),
                1,
            ),
            Refusal::Backlog(backlog) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "backlog",
                format!(
                    "{backlog} reports are waiting to be screened; nothing was stored, retry later"
                ),
                5,
            ),
        };
        Self::new(status, error, message).retry_after(retry_after)
    }
}

/// The company of the request's API key. Extracted from the headers alone, so an
/// unauthenticated request is refused before its body is read.
struct Company(String);

impl FromRequestParts<ApiState> for Company {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let company = authenticate(parts, state).await.and_then(|company| {
            state.limits.check_rate(&company.0)?;
            Ok(company)
        });
        if let Err(error) = &company {
            let result = match error.status() {
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::TOO_MANY_REQUESTS => "rate_limited",
                _ => "unavailable",
            };
            state.metrics.reports.with_label_values(&[result]).inc();
        }
        company
    }
}

async fn authenticate(parts: &Parts, state: &ApiState) -> Result<Company, ApiError> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(keys::bearer)
        .ok_or_else(unauthorized)?;
    let (key_id, secret) = keys::split(token).ok_or_else(unauthorized)?;
    let record = state
        .keys
        .get(&state.store, key_id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(unauthorized)?;
    if record.revoked
        || !state
            .verifier
            .verify(key_id, secret, &record.secret_hash)
            .await
    {
        return Err(unauthorized());
    }
    Ok(Company(record.company_id))
}

/// A receipt as the API shows it.
#[derive(Debug, Serialize)]
struct ReceiptBody {
    report_id: String,
    company_reference: String,
    status: &'static str,
    received_at: String,
    payload_sha256: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

impl ReceiptBody {
    fn new(found: ReportStatus, duplicate: bool) -> Self {
        let receipt = found.receipt;
        Self {
            report_id: receipt.report_id,
            company_reference: receipt.company_reference,
            status: found.status.as_str(),
            received_at: rfc3339(receipt.received_at),
            payload_sha256: receipt.payload_sha256,
            duplicate,
        }
    }
}

fn rfc3339(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

async fn submit(
    State(state): State<ApiState>,
    Company(company_id): Company,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let received = match json_content(&headers) {
        Ok(()) => receive(&state, company_id, body).await,
        Err(error) => Err(error),
    };
    let (result, response) = match received {
        Ok((duplicate, found)) => {
            let status = if duplicate {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            let location = format!("/v1/reports/{}", found.receipt.report_id);
            let body = Json(ReceiptBody::new(found, duplicate));
            let response = (status, [(header::LOCATION, location)], body).into_response();
            (if duplicate { "duplicate" } else { "accepted" }, response)
        }
        Err(error) => {
            for problem in error.problems() {
                state
                    .metrics
                    .problems
                    .with_label_values(&[problem.code])
                    .inc();
            }
            let result = match (error.status(), error.error()) {
                (_, "busy") => "busy",
                (_, "too_many_in_flight") => "too_many_in_flight",
                (StatusCode::REQUEST_TIMEOUT, _) => "timeout",
                (_, "backlog") => "backlog",
                (StatusCode::PAYLOAD_TOO_LARGE, _) => "too_large",
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, _) => "unsupported_media_type",
                (StatusCode::SERVICE_UNAVAILABLE, _) => "unavailable",
                (StatusCode::CONFLICT, _) => "conflict",
                (status, _) if status.is_server_error() => "error",
                _ => "rejected",
            };
            (result, error.into_response())
        }
    };
    state.metrics.reports.with_label_values(&[result]).inc();
    state
        .metrics
        .request_seconds
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Whether the request says its body is JSON (`application/json`, or a `+json` type), as the
/// API reads nothing else.
fn json_content(headers: &HeaderMap) -> Result<(), ApiError> {
    let stated = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = stated
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        return Ok(());
    }
    let stated = if stated.is_empty() {
        "no Content-Type".to_owned()
    } else {
        format!("Content-Type {stated:?}")
    };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("the body must be JSON sent as Content-Type: application/json, not {stated}"),
    ))
}

/// Admits a submission under the limits, then reads its body (at most `MAX_BODY_BYTES`, within
/// the read timeout) and accepts it. A refused submission's body is never read.
async fn receive(
    state: &ApiState,
    company_id: String,
    body: Body,
) -> Result<(bool, ReportStatus), ApiError> {
    let _admission = state.limits.admit(&company_id)?;
    let read = tokio::time::timeout(
        state.read_timeout,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    );
    let body = read
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the body did not arrive within {} s; nothing was stored",
                    state.read_timeout.as_secs()
                ),
            )
        })?
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is larger than {MAX_BODY_BYTES} bytes; split the report into several"
                ),
            )
        })?;
    accept(state, company_id, &body).await
}

/// Parses and stores a report; returns whether it was a resubmission, and its receipt.
async fn accept(
    state: &ApiState,
    company_id: String,
    body: &[u8],
) -> Result<(bool, ReportStatus), ApiError> {
    // A byte-order mark, which some ERP exports put first, is no part of the JSON.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let request: ReportRequest = {
        let deserializer = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let field = error.path().to_string();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body is not a valid report document",
            )
            .with_problems(vec![Problem {
                field: if field == "." { String::new() } else { field },
                code: "malformed_json",
                reason: error.inner().to_string(),
            }])
        })?
    };
    let report_id = uuid::Uuid::now_v7().to_string();
    let submitted_at = events::now_micros();
    let envelope = Envelope {
        report_id: report_id.clone(),
        company_id: company_id.clone(),
        submitted_at,
    };
    let report = request.parse(envelope).map_err(|problems| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            format!(
                "the report has {} problem(s); nothing was stored",
                problems.len()
            ),
        )
        .with_problems(problems)
    })?;
    let event = events::encode(&report).map_err(|error| {
        tracing::error!(%error, "cannot encode a validated report");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the report could not be encoded",
        )
    })?;
    if event.len() > MAX_EVENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the report encodes to {} bytes, at most {MAX_EVENT_BYTES} fit; split it into several reports", event.len()),
        ));
    }
    let customer_key = format!("{company_id}/{}", report.customer.id);
    // The content, not the bytes: the same report sent again with other whitespace or another
    // order of fields is the same report.
    let canonical = serde_json::to_vec(&request).map_err(|error| {
        tracing::error!(%error, "cannot serialize a parsed report");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the report could not be read",
        )
    })?;
    let payload_sha256 = hex::encode(Sha256::digest(&canonical));
    let new_report = NewReport {
        id: report_id,
        company_id: company_id.clone(),
        company_reference: report.company_reference.clone(),
        customer_key,
        payload_sha256: payload_sha256.clone(),
        event,
        received_at: submitted_at,
    };
    match state.writer.insert(new_report).await.map_err(write_error)? {
        Inserted::New(receipt) => {
            state.outbox_wake.notify_one();
            tracing::info!(report_id = receipt.report_id, company_id, "report accepted");
            Ok((false, ReportStatus { receipt, status: Status::Received, screened_at: None }))
        }
        Inserted::Existing(receipt) if receipt.payload_sha256 != payload_sha256 => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reference_reused",
            format!(
                "company_reference {} was already used for report {} with other content; use a new reference",
                receipt.company_reference, receipt.report_id
            ),
        )),
        Inserted::Existing(receipt) => {
            let found = state.store.report_status(&company_id, &receipt.report_id).await.map_err(ApiError::from)?;
            Ok((true, found.unwrap_or(ReportStatus { receipt, status: Status::Received, screened_at: None })))
        }
    }
}

async fn status(
    State(state): State<ApiState>,
    Company(company_id): Company,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = state
        .store
        .report_status(&company_id, &id)
        .await
        .map_err(ApiError::from)?;
    // Another company's report is indistinguishable from a report that does not exist.
    let Some(found) = found else {
        return Err(ApiError::not_found(format!("no report {id} of yours")));
    };
    Ok(Json(ReceiptBody::new(found, false)).into_response())
}
