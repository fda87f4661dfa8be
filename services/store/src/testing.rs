//! Fresh databases for tests that run against the real PostgreSQL.

use anyhow::Context as _;
use sqlx::Connection as _;

/// The server tests use: `PW_TEST_DATABASE_URL`, or the local PostgreSQL that `tests/run.sh` starts.
pub fn server_url() -> String {
    std::env::var("PW_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database with a unique name on the test server and returns its url.
pub async fn fresh_postgres_url() -> anyhow::Result<String> {
    let server = server_url();
    let mut connection = sqlx::PgConnection::connect(&server).await.with_context(|| {
        format!(
            "cannot reach the test PostgreSQL at {} (start it with tests/run.sh, or set PW_TEST_DATABASE_URL)",
            crate::redact(&server)
        )
    })?;
    let name = format!("pw_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .context("cannot create a test database")?;
    let base = server
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&server);
    Ok(format!("{base}/{name}"))
}
