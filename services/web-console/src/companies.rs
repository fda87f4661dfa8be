//! Operators' pages for the reporting companies and their API keys: register a company, issue
//! and revoke keys. Each change is audited with the actor `console`, as the admin API's are
//! with `admin-api`. A new key is shown once, on the answer to the form that made it.
//!
//! Every form carries an anti-forgery token derived from the session (a page of another site
//! can make the browser send the session cookie, but cannot read it to compute the token), and
//! must say it comes from the console's own pages (`Sec-Fetch-Site` or `Origin`).

use admin::companies::{self, AdminError, CompanyArgs, NewKey};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use runtime::ExposeSecret as _;
use serde::Deserialize;
use store::{Company, KeySummary};

use crate::auth::{self, session_cookie, Viewer};
use crate::http::{cross_site, page, posted_from_here, ConsoleState, PageError, Signed};
use crate::pages::{layout, time};

/// The actor the audit log records for changes made here.
const ACTOR: &str = "console";

/// An operator's request, with the anti-forgery token of its session.
pub struct OperatorPage {
    viewer: Viewer,
    form_token: String,
}

impl FromRequestParts<ConsoleState> for OperatorPage {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, PageError> {
        let Signed(viewer) = Signed::from_request_parts(parts, state).await?;
        let session = session_cookie(&parts.headers).ok_or(PageError::SignIn)?;
        if !viewer.is_operator() {
            return Err(PageError::Forbidden(viewer));
        }
        Ok(Self {
            viewer,
            form_token: auth::form_token(&session),
        })
    }
}

impl OperatorPage {
    /// Whether a posted form comes from this session's pages.
    fn accepts(&self, headers: &HeaderMap, field: &str) -> bool {
        posted_from_here(headers)
            && crate::sign_in::form_token_matches(Some(&self.form_token), field)
    }
}

/// The register form's fields.
#[derive(Deserialize)]
pub struct CompanyForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    country: String,
}

/// A form that carries only its token.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    form_token: String,
}

/// `GET /companies`: every company and the form to register one.
pub async fn list(
    State(state): State<ConsoleState>,
    operator: OperatorPage,
) -> Result<Response, PageError> {
    let companies = state.store.companies().await?;
    Ok(page(companies_page(&operator, &companies, None, None)).into_response())
}

/// `POST /companies`: registers a company; its first key is shown once.
pub async fn create(
    State(state): State<ConsoleState>,
    operator: OperatorPage,
    headers: HeaderMap,
    Form(form): Form<CompanyForm>,
) -> Result<Response, PageError> {
    if !operator.accepts(&headers, &form.form_token) {
        return Ok(cross_site());
    }
    let args = CompanyArgs {
        id: form.id.clone(),
        name: form.name.clone(),
        country: form.country.clone(),
    };
    match companies::create(&state.store, &args, ACTOR).await {
        Ok(key) => {
            tracing::info!(company = %key.company_id, key = %key.key_id, "company registered in the console");
            Ok(key_shown_once(&operator, "Company registered", &key))
        }
        Err(AdminError::Store(error)) => Err(error.into()),
        Err(error) => {
            let status = match error {
                AdminError::Conflict(_) => StatusCode::CONFLICT,
                AdminError::NotFound(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            let companies = state.store.companies().await?;
            let markup =
                companies_page(&operator, &companies, Some(&error.to_string()), Some(&form));
            Ok((status, page(markup)).into_response())
        }
    }
}

/// `GET /companies/{id}`: a company and its keys.
pub async fn one(
    State(state): State<ConsoleState>,
    operator: OperatorPage,
    Path(company_id): Path<String>,
) -> Result<Response, PageError> {
    match companies::keys_of(&state.store, &company_id).await {
        Ok((company, keys)) => Ok(page(company_page(&operator, &company, &keys)).into_response()),
        Err(error) => Err(refused(operator, error)),
    }
}

/// `POST /companies/{id}/keys`: another key, shown once.
pub async fn issue_key(
    State(state): State<ConsoleState>,
    operator: OperatorPage,
    headers: HeaderMap,
    Path(company_id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    if !operator.accepts(&headers, &form.form_token) {
        return Ok(cross_site());
    }
    match companies::issue_key(&state.store, &company_id, ACTOR).await {
        Ok(key) => Ok(key_shown_once(&operator, "Key issued", &key)),
        Err(error) => Err(refused(operator, error)),
    }
}

/// `POST /companies/{id}/keys/{key_id}/revoke`: refused at once by every ingest instance.
pub async fn revoke_key(
    State(state): State<ConsoleState>,
    operator: OperatorPage,
    headers: HeaderMap,
    Path((company_id, key_id)): Path<(String, String)>,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    if !operator.accepts(&headers, &form.form_token) {
        return Ok(cross_site());
    }
    match companies::revoke_key(&state.store, &company_id, &key_id, ACTOR).await {
        Ok(()) => Ok(Redirect::to(&format!("/companies/{company_id}")).into_response()),
        Err(error) => Err(refused(operator, error)),
    }
}

fn refused(operator: OperatorPage, error: AdminError) -> PageError {
    match error {
        AdminError::Store(error) => error.into(),
        AdminError::NotFound(_) => PageError::NotFound(operator.viewer, "no such company or key"),
        other => PageError::BadRequest(operator.viewer, other.to_string()),
    }
}

fn key_shown_once(operator: &OperatorPage, title: &str, key: &NewKey) -> Response {
    let markup = layout(
        Some(&operator.viewer),
        title,
        html! {
            h1 { (title) }
            p { "The API key of " a href=(format!("/companies/{}", key.company_id)) { (key.company_id) } ", shown only this once (only its hash is kept). Give it to the company over a channel you trust; its systems send it as " code { "Authorization: Bearer …" } "." }
            p { code #new-key { (key.token.expose_secret()) } }
            p { "Key id " code { (key.key_id) } }
        },
    );
    (StatusCode::CREATED, page(markup)).into_response()
}

fn companies_page(
    operator: &OperatorPage,
    companies: &[Company],
    error: Option<&str>,
    form: Option<&CompanyForm>,
) -> Markup {
    let value = |pick: fn(&CompanyForm) -> &str| form.map(pick).unwrap_or_default().to_owned();
    layout(
        Some(&operator.viewer),
        "Companies",
        html! {
            h1 { "Reporting companies" }
            @if companies.is_empty() {
                p.empty #no-companies { "No company is registered yet." }
            } @else {
                table #companies {
                    thead { tr { th { "Id" } th { "Name" } th { "Country" } th { "Registered" } th { "Active keys" } } }
                    tbody {
                        @for company in companies {
                            tr {
                                td { a href=(format!("/companies/{}", company.id)) { (company.id) } }
                                td { (company.name) }
                                td { (company.country) }
                                td { (time(company.created_at)) }
                                td { (company.active_keys) }
                            }
                        }
                    }
                }
            }
            h2 { "Register a company" }
            @if let Some(error) = error {
                p.error #company-error role="alert" { (error) }
            }
            form.admin #register method="post" action="/companies" {
                input type="hidden" name="form_token" value=(operator.form_token);
                label for="company-id" { "Id (letters, digits, - and _)" }
                input #company-id name="id" required maxlength="64" value=(value(|f| &f.id));
                label for="company-name" { "Legal name" }
                input #company-name name="name" required maxlength="200" value=(value(|f| &f.name));
                label for="company-country" { "Country of its seat (ISO code)" }
                input #company-country name="country" required maxlength="2" size="3" value=(value(|f| &f.country));
                button #register-company type="submit" { "Register and issue its first key" }
            }
        },
    )
}

fn company_page(operator: &OperatorPage, company: &Company, keys: &[KeySummary]) -> Markup {
    layout(
        Some(&operator.viewer),
        &company.name,
        html! {
            h1 { (company.name) }
            p { code { (company.id) } ", " (company.country) ", registered " (time(company.created_at)) }
            h2 { "API keys" }
            table #keys {
                thead { tr { th { "Key id" } th { "Issued" } th { "State" } th {} } }
                tbody {
                    @for key in keys {
                        tr {
                            td { code { (key.key_id) } }
                            td { (time(key.created_at)) }
                            @match key.revoked_at {
                                Some(at) => { td { "revoked " (time(at)) } td {} }
                                None => {
                                    td { "active" }
                                    td {
                                        form method="post" action=(format!("/companies/{}/keys/{}/revoke", company.id, key.key_id)) {
                                            input type="hidden" name="form_token" value=(operator.form_token);
                                            button.revoke type="submit" data-key=(key.key_id) { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { "To rotate a key: issue a new one, switch the company's systems over, then revoke the old one." }
            form method="post" action=(format!("/companies/{}/keys", company.id)) {
                input type="hidden" name="form_token" value=(operator.form_token);
                button #issue-key type="submit" { "Issue another key" }
            }
        },
    )
}
