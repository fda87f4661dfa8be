//! The error answer: its shape, and the mapping of what went wrong to a status and its headers.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use admin::AdminError;
use store::StoreError;

/// Seconds a client is asked to wait after a `503` that names no other time.
const DEFAULT_RETRY_AFTER: u64 = 5;

/// One thing wrong with a request, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Path of the field, e.g. `lines[0].cas`.
    pub field: String,
    /// Stable, machine-readable kind of problem.
    pub code: &'static str,
    /// What is wrong, in words.
    pub reason: String,
}

/// An error answer. A `401` says how to authenticate (`WWW-Authenticate: Bearer`); a `503`, and
/// a `429` that gives one, say when to retry (`Retry-After`).
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<Problem>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl ApiError {
    /// An answer with `status`, the machine-readable `error` and a `message` in words.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
            problems: Vec::new(),
            retry_after: None,
        }
    }

    /// `400 invalid`, the message naming the field: `<field>: <reason>`.
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("{field}: {reason}"),
        )
    }

    /// `401 unauthorized`, saying which credential to send.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `503 unavailable`: worth a retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// A JSON body that cannot be read: `415` when it is not declared JSON, else `400` naming
    /// the body.
    pub fn body(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return Self::unsupported_media_type();
        }
        Self::invalid("body", rejection.body_text())
    }

    /// `415 unsupported_media_type`: the body is not declared JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON sent as Content-Type: application/json",
        )
    }

    /// The same answer listing every problem found.
    pub fn with_problems(mut self, problems: Vec<Problem>) -> Self {
        self.problems = problems;
        self
    }

    /// The same answer asking the client to retry after `seconds` (at least one).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable error, e.g. `validation_failed`.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The problems listed, one per field.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// A database that cannot be reached is worth a retry (`503`); a statement it refused is not
/// (`500`). Either is logged, and the answer says nothing of the database's own words.
impl From<&StoreError> for ApiError {
    fn from(error: &StoreError) -> Self {
        if error.is_refusal() {
            tracing::error!(error = %error, "database refused a statement");
            return Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the database refused the request; it was not carried out",
            );
        }
        tracing::error!(error = %error, "database unavailable");
        Self::unavailable("the database is unavailable; retry later")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::from(&error)
    }
}

/// An operator's change refused: the field and reason (`400`), a conflict (`409`) or nothing
/// to change (`404`).
impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Invalid { field, reason } => Self::invalid(field, reason),
            AdminError::Conflict(what) => Self::new(StatusCode::CONFLICT, "conflict", what),
            AdminError::NotFound(what) => Self::not_found(what),
            AdminError::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self
            .retry_after
            .or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(DEFAULT_RETRY_AFTER));
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: ApiError) -> (StatusCode, Option<String>, Option<String>, String) {
        let response = error.into_response();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|value: &HeaderValue| value.to_str().unwrap().to_owned())
        };
        let (status, retry, authenticate) = (
            response.status(),
            header(header::RETRY_AFTER),
            header(header::WWW_AUTHENTICATE),
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (
            status,
            retry,
            authenticate,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn each_answer_carries_its_status_headers_and_body() {
        let (status, retry, authenticate, body) =
            answer(ApiError::invalid("lines[0].cas", "check digit is wrong")).await;
        assert_eq!(
            (status, retry, authenticate),
            (StatusCode::BAD_REQUEST, None, None)
        );
        assert_eq!(
            body,
            r#"{"error":"invalid","message":"lines[0].cas: check digit is wrong"}"#
        );
        let (status, _, authenticate, _) = answer(ApiError::unauthorized("send a key")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(authenticate.as_deref(), Some("Bearer"));
        let (_, retry, _, _) = answer(ApiError::unavailable("later")).await;
        assert_eq!(retry.as_deref(), Some("5"));
        let limited = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            .retry_after(0);
        assert_eq!(answer(limited).await.1.as_deref(), Some("1"));
        let problems = vec![Problem {
            field: "order_date".into(),
            code: "invalid_date",
            reason: "year 0".into(),
        }];
        let (_, _, _, body) =
            answer(ApiError::invalid("report", "2 problems").with_problems(problems)).await;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["problems"][0]["code"], "invalid_date");
    }

    #[tokio::test]
    async fn an_operators_refused_change_names_the_field_or_the_conflict() {
        let invalid = AdminError::Invalid {
            field: "country",
            reason: "not an ISO 3166-1 code".into(),
        };
        let (status, _, _, body) = answer(invalid.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body.contains(r#""message":"country: not an ISO 3166-1 code""#),
            "{body}"
        );
        let (status, _, _, _) = answer(AdminError::Conflict("taken".into()).into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _, _, _) = answer(AdminError::NotFound("none".into()).into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
