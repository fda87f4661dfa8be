//! The store itself: connecting to PostgreSQL or SQLite and migrating it, the errors callers
//! tell apart, and what the statements of every module share.

use anyhow::Context as _;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Errors a caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same key exists already.
    #[error("{0} exists already")]
    Conflict(String),
    /// The database failed or is unreachable.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database refused the statement itself (a constraint, a bad query): retrying
    /// cannot help. Otherwise it was unreachable, shutting down, out of connections or the
    /// like, and a retry later may succeed.
    pub fn is_refusal(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        let code = error.code().unwrap_or_default();
        // SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator
        // intervention (admin shutdown, crash shutdown, cannot connect now), 40 transaction
        // rollback (serialization failure, deadlock).
        !["08", "53", "57", "40"]
            .iter()
            .any(|class| code.starts_with(class))
    }
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A connection pool to the system of record.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// Where the pool connects, for the notification listener; holds the password.
    pub(crate) url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &redact(&self.url))
            .finish()
    }
}

impl Store {
    /// Connects to `url` (`postgres://...` or `sqlite://...`) and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database url {}: expected postgres://... or sqlite://... (--database-url)", redact(url));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .with_context(|| {
                format!(
                    "cannot connect to the database at {} (--database-url)",
                    redact(url)
                )
            })?;
        let migrator = match backend {
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .context("cannot apply the database migrations")?;
        Ok(Self {
            pool,
            backend,
            url: url.into(),
        })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// A readiness probe for `runtime::Readiness::follow`: whether the database answers.
    pub fn probe(
        &self,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + 'static
    {
        let store = self.clone();
        move || {
            let store = store.clone();
            Box::pin(async move { store.ping().await })
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The placeholders of a multi-row `VALUES` list: `rows` tuples of `columns` parameters each,
/// numbered from `$1` in the order they are written.
pub(crate) fn placeholders(rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
        }
        text.push(')');
    }
    text
}

/// The url without its password, for messages.
pub fn redact(url: &str) -> String {
    // The authority ends at the first '/' after the scheme; the credentials at its last '@'.
    let authority_end = url
        .find("://")
        .and_then(|scheme_end| {
            url[scheme_end + 3..]
                .find('/')
                .map(|slash| scheme_end + 3 + slash)
        })
        .unwrap_or(url.len());
    match (url.find("://"), url[..authority_end].rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unreachable_database_is_no_refusal() {
        for error in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            assert!(!super::StoreError::Database(error).is_refusal());
        }
        assert!(!super::StoreError::Conflict("x".into()).is_refusal());
    }

    #[test]
    fn placeholders_are_numbered_in_writing_order() {
        assert_eq!(super::placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::placeholders(1, 1), "($1)");
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            super::redact("postgres://pw:secret@db:5432/x"),
            "postgres://pw:***@db:5432/x"
        );
        assert_eq!(super::redact("sqlite://demo.db"), "sqlite://demo.db");
        assert_eq!(
            super::redact("postgres://pw:se@cr@et@db/x"),
            "postgres://pw:***@db/x"
        );
    }
}
