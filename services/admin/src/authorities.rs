//! The directory of authorities: an entry per country with its preferences, and its keys.

use events::Severity;
use secrecy::SecretString;
use store::{AuditEntry, Authority, Store, StoreError};

/// An authority's entry as an operator gives it (subcommand flags or admin API body).
#[derive(Debug, Clone, clap::Args, serde::Deserialize)]
pub struct AuthorityArgs {
    /// ISO 3166-1 alpha-2 code of the authority's country.
    #[arg(long)]
    #[serde(skip)]
    pub country: String,
    /// Name of the authority.
    #[arg(long)]
    pub name: String,
    /// How to reach it (e-mail, phone).
    #[arg(long)]
    pub contact: String,
    /// LOW, MEDIUM, HIGH or CRITICAL: alerts below it are not delivered.
    #[arg(long = "min-severity", default_value = "LOW")]
    #[serde(default = "lowest")]
    pub min_severity: String,
    /// Regimes of interest (UN_1988, EU, US, WATCH_LIST), comma-separated; all when absent.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub regimes: Vec<String>,
    /// Category prefixes of interest ("Table I", "Category 1"), comma-separated; all when
    /// absent.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub categories: Vec<String>,
    /// Do not deliver alerts whose only findings are watch-listed chemicals.
    #[arg(long = "no-watch-list-findings")]
    #[serde(default)]
    pub no_watch_list_findings: bool,
}

fn lowest() -> String {
    "LOW".into()
}

/// Checks the entry and names the field that is wrong.
pub fn validate(args: &AuthorityArgs) -> Result<Authority, String> {
    let country = domain::CountryCode::parse(&args.country.trim().to_ascii_uppercase())
        .map_err(|error| format!("country: {error}"))?
        .as_str()
        .to_owned();
    if args.name.trim().is_empty() {
        return Err("name: must not be empty".into());
    }
    if args.contact.trim().is_empty() {
        return Err("contact: must not be empty".into());
    }
    let texts = [("name", &args.name), ("contact", &args.contact)];
    let categories = args
        .categories
        .iter()
        .map(|category| ("categories", category));
    for (field, text) in texts.into_iter().chain(categories) {
        if text.chars().count() > 500 {
            return Err(format!("{field}: at most 500 characters"));
        }
        if let Some(bad) = domain::text::forbidden_char(text, false) {
            return Err(format!("{field}: {}", domain::text::forbidden_reason(bad)));
        }
    }
    let severity = args.min_severity.to_ascii_uppercase();
    let known = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    if !known
        .iter()
        .any(|s| s.as_str().eq_ignore_ascii_case(&severity))
    {
        return Err(format!(
            "min_severity: {:?} is not one of LOW, MEDIUM, HIGH, CRITICAL",
            args.min_severity
        ));
    }
    let mut regimes = Vec::new();
    for regime in &args.regimes {
        let regime = regime.trim().to_ascii_uppercase();
        if !["UN_1988", "EU", "US", "WATCH_LIST"].contains(&regime.as_str()) {
            return Err(format!(
                "regimes: {regime:?} is not one of UN_1988, EU, US, WATCH_LIST"
            ));
        }
        regimes.push(regime);
    }
    Ok(Authority {
        topic: events::topics::authority(&country),
        country,
        name: args.name.trim().to_owned(),
        contact: args.contact.trim().to_owned(),
        min_severity: severity,
        regimes,
        categories: args
            .categories
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        watch_list_findings: !args.no_watch_list_findings,
        updated_at: events::now_micros(),
    })
}

/// Creates or updates an authority's entry from the command line.
pub async fn register_authority(store: &Store, args: &AuthorityArgs) -> anyhow::Result<Authority> {
    let authority = validate(args).map_err(|reason| anyhow::anyhow!("--{reason}"))?;
    save(store, &authority, &store::cli_actor()).await?;
    Ok(authority)
}

/// Stores an authority's entry and writes who did it to the audit log.
pub async fn save(store: &Store, authority: &Authority, actor: &str) -> Result<(), StoreError> {
    store.upsert_authority(authority).await?;
    let detail = format!(
        "{} <{}>, topic {}, minimum severity {}, regimes [{}], categories [{}], watch-list findings {}",
        authority.name,
        authority.contact,
        authority.topic,
        authority.min_severity,
        authority.regimes.join(","),
        authority.categories.join(","),
        authority.watch_list_findings
    );
    store
        .audit(&AuditEntry::new(
            actor,
            "authority.put",
            &authority.country,
            detail,
        ))
        .await
}

/// Issues a new API key for a registered authority; the token is shown once. `None` when no
/// authority is registered for `country`.
pub async fn issue_key(
    store: &Store,
    country: &str,
    actor: &str,
) -> Result<Option<SecretString>, StoreError> {
    if store.authority(country).await?.is_none() {
        return Ok(None);
    }
    let key = keys::generate();
    store
        .add_authority_key(&key.key_id, country, &key.secret_hash, events::now_micros())
        .await?;
    let detail = format!("key {}", key.key_id);
    store
        .audit(&AuditEntry::new(
            actor,
            "authority.key.issue",
            country,
            detail,
        ))
        .await?;
    Ok(Some(key.token))
}

/// Revokes an authority's key; false when there is no such active key.
pub async fn revoke_key(store: &Store, key_id: &str, actor: &str) -> Result<bool, StoreError> {
    let Some(key) = store.authority_key(key_id).await? else {
        return Ok(false);
    };
    if !store
        .revoke_authority_key(key_id, events::now_micros())
        .await?
    {
        return Ok(false);
    }
    let detail = format!("key {key_id}");
    store
        .audit(&AuditEntry::new(
            actor,
            "authority.key.revoke",
            &key.country,
            detail,
        ))
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AuthorityArgs {
        AuthorityArgs {
            country: "nl".into(),
            name: "Douane".into(),
            contact: "fiod@example.nl".into(),
            min_severity: "medium".into(),
            regimes: vec!["eu".into(), "UN_1988".into()],
            categories: vec![],
            no_watch_list_findings: true,
        }
    }

    #[test]
    fn an_entry_is_normalised_and_wrong_fields_are_named() {
        let authority = validate(&args()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(authority.country, "NL");
        assert_eq!(authority.topic, "alerts.NL");
        assert_eq!(authority.min_severity, "MEDIUM");
        assert_eq!(authority.regimes, vec!["EU", "UN_1988"]);
        assert!(!authority.watch_list_findings);
        let wrong = |change: fn(&mut AuthorityArgs)| {
            let mut args = args();
            change(&mut args);
            validate(&args).expect_err("refused")
        };
        assert!(wrong(|a| a.country = "XX".into()).starts_with("country:"));
        assert!(wrong(|a| a.name = " ".into()).starts_with("name:"));
        assert!(wrong(|a| a.min_severity = "urgent".into()).starts_with("min_severity:"));
        assert!(wrong(|a| a.regimes = vec!["UK".into()]).starts_with("regimes:"));
        assert_eq!(
            wrong(|a| a.contact = "fiod@example.nl\r\nBcc: x".into()),
            "contact: contains the control character U+000D"
        );
        assert!(wrong(|a| a.categories = vec!["Table I\0".into()]).starts_with("categories:"));
    }
}
