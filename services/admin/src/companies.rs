//! Reporting companies and their API keys.

use domain::CountryCode;
use secrecy::SecretString;
use store::{AuditEntry, Company, KeySummary, Store, StoreError};

/// Why an administrative change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field is wrong: its name and the reason.
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The thing exists already.
    #[error("{0}")]
    Conflict(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AdminError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// A company as an operator registers it (command-line flags, admin API body, console form).
#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
pub struct CompanyArgs {
    /// Stable id of the company, e.g. acme-chemicals.
    #[arg(long)]
    pub id: String,
    /// Legal name of the company.
    #[arg(long)]
    pub name: String,
    /// ISO 3166-1 alpha-2 code of the company's seat.
    #[arg(long)]
    pub country: String,
}

/// A new API key: the token is shown this once, only its hash is kept.
#[derive(Debug)]
pub struct NewKey {
    pub company_id: String,
    pub key_id: String,
    pub token: SecretString,
}

/// Longest company name accepted.
const MAX_NAME: usize = 200;

/// Checks a company's fields and gives them back trimmed, naming the field that is wrong.
fn validate(args: &CompanyArgs) -> Result<(String, String, CountryCode), AdminError> {
    let id = args.id.trim();
    let valid_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_id {
        return Err(AdminError::invalid(
            "id",
            "use 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    let name = args.name.trim();
    if name.is_empty() {
        return Err(AdminError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(AdminError::invalid(
            "name",
            format!("at most {MAX_NAME} characters"),
        ));
    }
    if let Some(bad) = domain::text::forbidden_char(name, false) {
        return Err(AdminError::invalid(
            "name",
            domain::text::forbidden_reason(bad),
        ));
    }
    let country = CountryCode::parse(&args.country.trim().to_ascii_uppercase())
        .map_err(|error| AdminError::invalid("country", error.to_string()))?;
    Ok((id.to_owned(), name.to_owned(), country))
}

/// Registers a company and issues its first API key.
pub async fn create(store: &Store, args: &CompanyArgs, actor: &str) -> Result<NewKey, AdminError> {
    let (id, name, country) = validate(args)?;
    match store
        .create_company(&id, &name, country.as_str(), events::now_micros())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AdminError::Conflict(format!(
                "a company {id} exists already"
            )))
        }
        Err(error) => return Err(error.into()),
    }
    store
        .audit(&AuditEntry::new(
            actor,
            "company.create",
            &id,
            format!("{name} ({country})"),
        ))
        .await?;
    issue_key(store, &id, actor).await
}

/// Issues another API key for a company. To rotate a key: issue a new one, switch the company's
/// systems over, then revoke the old one.
pub async fn issue_key(store: &Store, company_id: &str, actor: &str) -> Result<NewKey, AdminError> {
    if !store.company_exists(company_id).await? {
        return Err(not_found(company_id));
    }
    // Hashing the secret with Argon2 takes tens of milliseconds: off the async threads.
    let key = match tokio::task::spawn_blocking(keys::generate).await {
        Ok(key) => key,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    store
        .add_api_key(
            &key.key_id,
            company_id,
            &key.secret_hash,
            events::now_micros(),
        )
        .await?;
    store
        .audit(&AuditEntry::new(
            actor,
            "company.key.issue",
            company_id,
            format!("key {}", key.key_id),
        ))
        .await?;
    Ok(NewKey {
        company_id: company_id.to_owned(),
        key_id: key.key_id,
        token: key.token,
    })
}

/// Revokes a company's API key; requests with it are refused at once, in every process.
pub async fn revoke_key(
    store: &Store,
    company_id: &str,
    key_id: &str,
    actor: &str,
) -> Result<(), AdminError> {
    if !store
        .revoke_api_key(company_id, key_id, events::now_micros())
        .await?
    {
        return Err(AdminError::NotFound(format!(
            "company {company_id} has no active key {key_id}"
        )));
    }
    store
        .audit(&AuditEntry::new(
            actor,
            "company.key.revoke",
            company_id,
            format!("key {key_id}"),
        ))
        .await?;
    Ok(())
}

/// A company and its keys (ids and dates; secrets are never kept).
pub async fn keys_of(
    store: &Store,
    company_id: &str,
) -> Result<(Company, Vec<KeySummary>), AdminError> {
    let company = store
        .company(company_id)
        .await?
        .ok_or_else(|| not_found(company_id))?;
    let keys = store.api_keys_of(company_id).await?;
    Ok((company, keys))
}

fn not_found(company_id: &str) -> AdminError {
    AdminError::NotFound(format!("no company {company_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    fn args(id: &str, name: &str, country: &str) -> CompanyArgs {
        CompanyArgs {
            id: id.into(),
            name: name.into(),
            country: country.into(),
        }
    }

    #[test]
    fn wrong_fields_are_named() {
        let field = |a: CompanyArgs| match validate(&a) {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(args("acme chemicals", "Acme", "NL")), "id");
        assert_eq!(field(args("", "Acme", "NL")), "id");
        assert_eq!(field(args("acme", " ", "NL")), "name");
        assert_eq!(field(args("acme", "Acme\r\nBV", "NL")), "name");
        assert_eq!(field(args("acme", &"A".repeat(201), "NL")), "name");
        assert_eq!(field(args("acme", "Acme", "XX")), "country");
        let (id, name, country) = validate(&args(" acme ", " Acme BV ", "nl")).unwrap();
        assert_eq!(
            (id.as_str(), name.as_str(), country.as_str()),
            ("acme", "Acme BV", "NL")
        );
    }

    #[tokio::test]
    async fn every_change_is_audited_and_a_revoked_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("admin.db").display()
        );
        let store = Store::connect(&url, 2).await.unwrap();
        let key = create(&store, &args("acme", "Acme BV", "NL"), "admin-api")
            .await
            .unwrap();
        assert!(matches!(
            create(&store, &args("acme", "Other", "DE"), "admin-api").await,
            Err(AdminError::Conflict(_))
        ));
        let second = issue_key(&store, "acme", "console").await.unwrap();
        assert!(matches!(
            issue_key(&store, "nobody", "console").await,
            Err(AdminError::NotFound(_))
        ));
        revoke_key(&store, "acme", &key.key_id, "admin-api")
            .await
            .unwrap();
        assert!(matches!(
            revoke_key(&store, "acme", &key.key_id, "admin-api").await,
            Err(AdminError::NotFound(_))
        ));
        let (company, keys) = keys_of(&store, "acme").await.unwrap();
        assert_eq!(company.active_keys, 1);
        assert_eq!(keys.len(), 2);
        assert!(store.api_key(&key.key_id).await.unwrap().unwrap().revoked);
        assert!(
            !store
                .api_key(&second.key_id)
                .await
                .unwrap()
                .unwrap()
                .revoked
        );
        let log = store.audit_log(0, 10).await.unwrap();
        let actions: Vec<_> = log
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("admin-api", "company.create"),
                ("admin-api", "company.key.issue"),
                ("console", "company.key.issue"),
                ("admin-api", "company.key.revoke"),
            ]
        );
        assert!(log
            .iter()
            .all(|e| !e.detail.contains(second.token.expose_secret())));
    }
}
