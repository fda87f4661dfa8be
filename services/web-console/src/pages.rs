//! The console's pages, rendered on the server (maud escapes every value).

use maud::{html, Markup, DOCTYPE};
use serde::Serialize;
use store::{AuthorityAlert, AuthorityVolume, DeliveryRecord, FeedbackRecord, ReportTrace};

use crate::auth::Viewer;
use crate::charts::{line_chart, Series};
use crate::dead_letters::DeadLetterEntry;
use crate::monitor::{Health, Minutes, Sample, ServiceStatus};

/// A time as the console shows it (UTC).
pub fn time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// How long ago, roughly.
fn ago(micros: i64, now: i64) -> String {
    let seconds = (now - micros).max(0) / 1_000_000;
    match seconds {
        0..=89 => format!("{seconds} s ago"),
        90..=5399 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3600),
    }
}

/// One alert as delivered, as a row of the feed and of the search results; also sent as JSON
/// on the live stream, where the page's script builds the same row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeedItem {
    pub seq: i64,
    pub alert_id: String,
    pub country: String,
    pub severity: String,
    pub delivered_at: String,
    pub substances: String,
    pub route: String,
    pub reference: String,
    pub href: String,
}

impl FeedItem {
    /// The row of a delivered alert, summarised from its JSON.
    pub fn new(alert: &AuthorityAlert) -> Self {
        let parsed: Option<events::Alert> = serde_json::from_str(&alert.alert_json).ok();
        let (substances, route, reference) = match &parsed {
            Some(parsed) => (substances(parsed), route(&parsed.order), {
                format!("{} / {}", parsed.company_id, parsed.company_reference)
            }),
            None => (String::new(), String::new(), String::new()),
        };
        Self {
            seq: alert.seq,
            alert_id: alert.alert_id.clone(),
            country: alert.country.clone(),
            severity: alert.severity.clone(),
            delivered_at: time(alert.delivered_at),
            substances,
            route,
            reference,
            href: format!("/alerts/{}", alert.alert_id),
        }
    }
}

/// The substances an alert found, each once, or its indicators when it found none.
fn substances(alert: &events::Alert) -> String {
    let mut names: Vec<&str> = Vec::new();
    for finding in &alert.findings {
        if !names.contains(&finding.substance_name.as_str()) {
            names.push(&finding.substance_name);
        }
    }
    if names.is_empty() {
        names = alert
            .indicators
            .iter()
            .map(|hit| hit.indicator_id.as_str())
            .collect();
    }
    names.join(", ")
}

/// "DE → NL via BE".
fn route(order: &events::OrderContext) -> String {
    let mut route = format!("{} → {}", order.supplier_country, order.delivery_country);
    if !order.transit_countries.is_empty() {
        route.push_str(" via ");
        route.push_str(&domain::CountryCode::join(&order.transit_countries, ", "));
    }
    route
}

fn severity_badge(severity: &str) -> Markup {
    html! { span class=(format!("badge severity-{}", severity.to_lowercase())) { (severity.to_uppercase()) } }
}

/// The page frame: header with navigation and who is signed in.
pub fn layout(viewer: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Precursor Watch" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Precursor Watch" }
                    @if let Some(viewer) = viewer {
                        nav {
                            a #nav-overview href="/" { @if viewer.is_operator() { "Pipeline" } @else { "Overview" } }
                            a #nav-alerts href="/alerts" { "Alerts" }
                            @if viewer.is_operator() {
                                a #nav-companies href="/companies" { "Companies" }
                            }
                        }
                        span.who #who {
                            @match viewer {
                                Viewer::Operator => "operator",
                                Viewer::Authority { country, .. } => { "authority " (country) },
                            }
                        }
                        form.sign-out method="post" action="/logout" {
                            button #sign-out type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in page.
pub fn login(form_token: &str, error: Option<&str>) -> Markup {
    layout(
        None,
        "Sign in",
        html! {
            section.sign-in {
                h1 { "Sign in" }
                p { "Operators sign in with the operators' token; an authority with its API key (" code { "pw_…" } "). An authority sees only the alerts delivered to it." }
                @if let Some(error) = error {
                    p.error #sign-in-error role="alert" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="form_token" value=(form_token);
                    label for="key" { "Token or API key" }
                    input #key type="password" name="key" autocomplete="off" required;
                    button #sign-in type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// A page saying what went wrong.
pub fn problem(viewer: Option<&Viewer>, title: &str, message: &str) -> Markup {
    layout(
        viewer,
        title,
        html! {
            section {
                h1 { (title) }
                p.error role="alert" { (message) }
                p { a href="/" { "Back to the overview" } }
            }
        },
    )
}

fn feed_rows(items: &[FeedItem]) -> Markup {
    html! {
        @for item in items {
            tr data-seq=(item.seq) {
                td { (item.delivered_at) }
                td { a.alert-link href=(item.href) { (item.alert_id) } }
                td { (item.country) }
                td { (severity_badge(&item.severity)) }
                td { (item.substances) }
                td { (item.route) }
                td { (item.reference) }
            }
        }
    }
}

fn feed_table(id: &str, items: &[FeedItem]) -> Markup {
    html! {
        table.alerts id=(id) {
            thead { tr { th { "Delivered" } th { "Alert" } th { "Authority" } th { "Severity" } th { "Substances" } th { "Route" } th { "Company / reference" } } }
            tbody { (feed_rows(items)) }
        }
    }
}

/// The live feed: the newest alerts, then new ones as they are delivered (the page's script
/// follows `/events` from the newest shown).
pub fn live_feed(title: &str, newest: &[FeedItem]) -> Markup {
    let after = newest.iter().map(|item| item.seq).max().unwrap_or(0);
    html! {
        section #feed data-after=(after) {
            h2 { (title) " " span.live #feed-status { "live" } }
            @if newest.is_empty() {
                p.empty #feed-empty { "No alert yet." }
            }
            (feed_table("feed-table", newest))
        }
    }
}

/// What the pipeline panels show.
pub struct PipelineView<'a> {
    pub services: &'a [ServiceStatus],
    pub history: &'a [Sample],
    pub minutes: &'a Minutes,
    pub dead_letters: &'a [DeadLetterEntry],
    pub volumes: &'a [AuthorityVolume],
    pub authority_names: &'a std::collections::HashMap<String, String>,
    pub now: i64,
}

fn total(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |total, value| total + value)
}

fn some(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().copied().map(Some).collect()
}

/// The operators' panels, refreshed in place by the page's script.
pub fn pipeline_panels(view: &PipelineView<'_>) -> Markup {
    let minutes = view.minutes;
    let outbox = view.history.last().and_then(|sample| sample.outbox);
    // Not `sum()`: an empty float sum is -0, shown as "-0".
    let lag_now = view
        .services
        .iter()
        .filter_map(|service| service.lag)
        .fold(0.0, |total, lag| total + lag);
    let lag_series: Vec<Series<'_>> = minutes
        .lag
        .iter()
        .enumerate()
        .map(|(index, (service, values))| Series {
            label: service,
            class: ["s1", "s2", "s3", "s4", "s5"][index % 5],
            values: values.clone(),
        })
        .collect();
    html! {
        div #panels {
            section #health {
                h2 { "Services" }
                ul.services {
                    @for service in view.services {
                        @let class = match service.health {
                            Health::Ready => "ready",
                            Health::NotReady => "not-ready",
                            Health::Down => "down",
                            Health::Unknown => "unknown",
                        };
                        li class=(format!("service {class}")) data-service=(service.name) {
                            span.name { (service.name) }
                            span.state { (service.health.label()) }
                            span.detail {
                                @if service.checked_at > 0 { "checked " (ago(service.checked_at, view.now)) } @else { "not checked yet" }
                                @if let Some(lag) = service.lag { " · lag " (lag) }
                            }
                            @if service.checked_at > 0 && service.instances != 1 {
                                span.detail.instances {
                                    @if service.instances == 0 { "no instance found" }
                                    @else { (service.ready_instances) " of " (service.instances) " instances ready" }
                                }
                            }
                        }
                    }
                }
            }
            section #throughput {
                h2 { "Throughput, last hour" }
                dl.figures {
                    div { dt { "Reports received" } dd #received-hour { (total(&minutes.received)) } }
                    div { dt { "Screened" } dd #screened-hour { (total(&minutes.screened)) } }
                    div { dt { "Alerts delivered" } dd #delivered-hour { (total(&minutes.delivered)) } }
                }
                (line_chart("Reports and alerts per minute, last hour", &[
                    Series { label: "received", class: "s1", values: some(&minutes.received) },
                    Series { label: "screened", class: "s2", values: some(&minutes.screened) },
                    Series { label: "alerts delivered", class: "s3", values: some(&minutes.delivered) },
                ]))
            }
            section #lag {
                h2 { "Where reports wait" }
                dl.figures {
                    div { dt { "Consumer lag now" } dd #lag-now { (lag_now) } }
                    div { dt { "Outbox depth" } dd #outbox-now { @if let Some(depth) = outbox { (depth) } @else { "-" } } }
                }
                @if lag_series.is_empty() {
                    p.empty { "No consumer has reported its lag yet (librdkafka reports it every 10 s)." }
                } @else {
                    (line_chart("Consumer lag by service, last hour", &lag_series))
                }
            }
            section #dead-letters {
                h2 { "Dead letters" }
                p { (total(&minutes.dead_letters)) " in the last hour. The newest, read from the " code { "*.dlq" } " topics:" }
                @if view.dead_letters.is_empty() {
                    p.empty { "None." }
                } @else {
                    table.dead-letters {
                        thead { tr { th { "Failed" } th { "Service" } th { "Message" } th { "Error" } th { "Reason" } th { "Kept at" } } }
                        tbody {
                            @for entry in view.dead_letters {
                                tr data-at=(format!("{}/{}@{}", entry.topic, entry.partition, entry.offset)) {
                                    td { (time(entry.failed_at)) }
                                    td { (entry.service) }
                                    td { (entry.topic) "/" (entry.partition) "@" (entry.offset) }
                                    td { (entry.error_class) }
                                    td.reason { (entry.error_message) }
                                    td { (entry.dlq_topic) "/" (entry.dlq_partition) "@" (entry.dlq_offset) }
                                }
                            }
                        }
                    }
                }
            }
            section #volumes {
                h2 { "Alerts per authority" }
                (volumes_table(view.volumes, view.authority_names))
            }
        }
    }
}

fn volumes_table(
    volumes: &[AuthorityVolume],
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    html! {
        @if volumes.is_empty() {
            p.empty { "No alert delivered yet." }
        } @else {
            table.volumes {
                thead { tr { th { "Authority" } th { "Last 24 h" } th { "All" } th { "High or critical" } th { "With feedback" } th { "Last delivered" } } }
                tbody {
                    @for volume in volumes {
                        tr data-country=(volume.country) {
                            td {
                                a href=(format!("/alerts?country={}", volume.country)) { (volume.country) }
                                @if let Some(name) = names.get(&volume.country) { " " span.muted { (name) } }
                            }
                            td.number { (volume.recent) }
                            td.number { (volume.total) }
                            td.number { (volume.high) }
                            td.number { (volume.with_feedback) }
                            td { @if let Some(at) = volume.last_delivered_at { (time(at)) } }
                        }
                    }
                }
            }
        }
    }
}

/// An authority's overview: its own alerts and volume, nothing of the pipeline or of others.
pub fn authority_home(
    viewer: &Viewer,
    volume: Option<&AuthorityVolume>,
    newest: &[FeedItem],
) -> Markup {
    let country = viewer.country().unwrap_or_default();
    layout(
        Some(viewer),
        "Overview",
        html! {
            h1 { "Alerts for the authority of " (country) }
            dl.figures {
                div { dt { "Last 24 h" } dd #own-recent { (volume.map_or(0, |volume| volume.recent)) } }
                div { dt { "All" } dd #own-total { (volume.map_or(0, |volume| volume.total)) } }
                div { dt { "With your feedback" } dd { (volume.map_or(0, |volume| volume.with_feedback)) } }
            }
            (live_feed("Your alerts, live", newest))
        },
    )
}

/// What the search form holds.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SearchForm {
    pub q: Option<String>,
    pub country: Option<String>,
    pub severity: Option<String>,
    pub before: Option<String>,
}

/// The alert search.
pub fn alerts(
    viewer: &Viewer,
    form: &SearchForm,
    trace: Option<&ReportTrace>,
    results: &[FeedItem],
    next_before: Option<i64>,
) -> Markup {
    let selected = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    html! {
        (layout(Some(viewer), "Alerts", html! {
            h1 { "Alerts" }
            form.search method="get" action="/alerts" {
                input #q type="search" name="q" value=(form.q.clone().unwrap_or_default())
                    placeholder="alert, report or party id, substance, company reference, customer";
                @if viewer.is_operator() {
                    input #country type="text" name="country" maxlength="2" size="3" placeholder="country"
                        value=(form.country.clone().unwrap_or_default());
                }
                select #severity name="severity" {
                    option value="" { "any severity" }
                    @for severity in ["CRITICAL", "HIGH", "MEDIUM", "LOW"] {
                        option value=(severity) selected[selected(&form.severity, severity)] { (severity) }
                    }
                }
                button #search type="submit" { "Search" }
            }
            @if let Some(trace) = trace {
                (report_trace(trace))
            }
            @if results.is_empty() {
                p.empty #no-results { "No alert fits." }
            } @else {
                (feed_table("results", results))
            }
            @if let Some(before) = next_before {
                p { a #older href=(older_link(form, before)) { "Older alerts" } }
            }
        }))
    }
}

/// Where a report stands: received, screened, its alert and where that went.
fn report_trace(trace: &ReportTrace) -> Markup {
    html! {
        section #report {
            h2 { "Report " code { (trace.report_id) } }
            dl.facts {
                dt { "Company / reference" } dd { (trace.company_id) " / " (trace.company_reference) }
                dt { "Received" } dd { (time(trace.received_at)) }
                dt { "Screened" }
                dd #report-screening {
                    @match (trace.screened_at, trace.outcome.as_deref()) {
                        (Some(at), Some(outcome)) => {
                            (time(at)) ": " strong { (outcome) } ", "
                            (trace.findings.unwrap_or(0)) " finding(s), reference data "
                            (trace.reference_data_version.clone().unwrap_or_default())
                        }
                        _ => "not yet: waiting for the matcher",
                    }
                }
                dt { "Alert" }
                dd #report-alert {
                    @match &trace.alert_id {
                        Some(alert_id) if trace.deliveries > 0 => {
                            a href=(format!("/alerts/{alert_id}")) { (alert_id) }
                            ", delivered to " (trace.deliveries) " authorit" @if trace.deliveries == 1 { "y" } @else { "ies" }
                        }
                        Some(alert_id) => {
                            code { (alert_id) } ", delivered to no authority yet (under way, or no authority concerned wants it)"
                        }
                        None => @if trace.screened_at.is_some() { "none: nothing in scope" } @else { "-" },
                    }
                }
            }
        }
    }
}

fn older_link(form: &SearchForm, before: i64) -> String {
    let mut query = vec![("before", before.to_string())];
    for (name, value) in [
        ("q", &form.q),
        ("country", &form.country),
        ("severity", &form.severity),
    ] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            query.push((name, value.to_owned()));
        }
    }
    let encoded: Vec<String> = query
        .into_iter()
        .map(|(name, value)| format!("{name}={}", urlencode(&value)))
        .collect();
    format!("/alerts?{}", encoded.join("&"))
}

fn urlencode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What the alert page shows.
pub struct AlertView<'a> {
    /// The alert's deliveries the viewer may see (all for operators, its own for an authority).
    pub deliveries: &'a [AuthorityAlert],
    /// Where each delivery landed on its topic (operators only).
    pub ledger: &'a [DeliveryRecord],
    pub feedback: &'a [FeedbackRecord],
}

/// One alert: its explanation, what was found and why, where it went and what the authorities
/// said.
pub fn alert(viewer: &Viewer, view: &AlertView<'_>) -> Markup {
    // The copies differ: a transit authority's has no parties. Show the fullest one.
    let Some(first) = view
        .deliveries
        .iter()
        .max_by_key(|delivery| delivery.alert_json.len())
    else {
        return problem(Some(viewer), "No such alert", "no such alert");
    };
    let parsed: Option<events::Alert> = serde_json::from_str(&first.alert_json).ok();
    layout(
        Some(viewer),
        &format!("Alert {}", first.alert_id),
        html! {
            h1 { "Alert " code #alert-id { (first.alert_id) } " " (severity_badge(&first.severity)) }
            @match &parsed {
                None => {
                    p.error { "This alert's record cannot be read; its raw form:" }
                    pre { (first.alert_json) }
                }
                Some(alert) => {
                    section #explanation {
                        h2 { "Why" }
                        p.explanation { (alert.explanation) }
                        dl.facts {
                            dt { "Report" } dd { code { (alert.report_id) } }
                            dt { "Company / reference" } dd { (alert.company_id) " / " (alert.company_reference) }
                            dt { "Customer" } dd { (alert.order.customer_name) " (" (alert.order.customer_country) "), party " code { (alert.party_id) } }
                            dt { "Route" } dd { (route(&alert.order)) }
                            dt { "Score" } dd { (format!("{:.2}", alert.score)) }
                            dt { "Submitted" } dd { (time(alert.submitted_at)) }
                            dt { "Detected" } dd { (time(alert.detected_at)) }
                            dt { "Reference data" } dd { (alert.reference_data_version) }
                            dt { "Rules" } dd { (alert.rule_set_version) }
                        }
                    }
                    section #findings {
                        h2 { "Findings" }
                        @if alert.findings.is_empty() { p.empty { "No listed substance; raised by its indicators." } }
                        @for finding in &alert.findings {
                            article.finding {
                                h3 { "Line " (finding.line_number) ": " (finding.substance_name) " " span.muted { "(" (finding.substance_id) ")" } }
                                p {
                                    "Matched by " strong { (serde_plain(&finding.match_kind)) }
                                    " in the " (serde_plain(&finding.matched_field)) " field: “" (finding.matched_text) "”"
                                    @if finding.match_score < 1.0 { " (score " (format!("{:.2}", finding.match_score)) ")" }
                                }
                                table.classifications {
                                    thead { tr { th { "Regime" } th { "Entry" } th { "Legal basis" } th { "In scope" } th { "Note" } } }
                                    tbody {
                                        @for classification in &finding.classifications {
                                            tr {
                                                td { (serde_plain(&classification.regime)) }
                                                td { (classification.category) }
                                                td.legal { (classification.legal_basis) }
                                                td { @if classification.in_scope { "yes" } @else { "no" } }
                                                td { (classification.scope_note) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !alert.indicators.is_empty() {
                        section #indicators {
                            h2 { "Indicators of a suspicious order" }
                            table {
                                thead { tr { th { "Indicator" } th { "Weight" } th { "Evidence" } } }
                                tbody {
                                    @for hit in &alert.indicators {
                                        tr { td { (hit.indicator_id) } td.number { (format!("{:.2}", hit.weight)) } td { (hit.evidence) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section #deliveries {
                h2 { "Delivered to" }
                table {
                    thead { tr { th { "Authority" } th { "Delivered" } th { "Severity for it" } @if viewer.is_operator() { th { "Roles" } th { "Topic / partition @ offset" } } } }
                    tbody {
                        @for delivery in view.deliveries {
                            tr data-country=(delivery.country) {
                                td { (delivery.country) }
                                td { (time(delivery.delivered_at)) }
                                td { (severity_badge(&delivery.severity)) }
                                @if viewer.is_operator() {
                                    @let landed = view.ledger.iter().find(|record| record.country == delivery.country);
                                    td { @if let Some(record) = landed { (record.roles) } }
                                    td { @if let Some(record) = landed { (record.topic) "/" (record.partition) " @ " (record.offset) } }
                                }
                            }
                        }
                    }
                }
            }
            section #feedback {
                h2 { "Authority feedback" }
                @if view.feedback.is_empty() {
                    p.empty #no-feedback { "No feedback yet." }
                } @else {
                    table {
                        thead { tr { th { "Recorded" } th { "Authority" } th { "Disposition" } th { "Note" } th { "By" } th { "Via" } } }
                        tbody {
                            @for entry in view.feedback {
                                tr.feedback {
                                    td { (time(entry.recorded_at)) }
                                    td { (entry.country) }
                                    td.disposition { (entry.disposition) }
                                    td { (entry.note) }
                                    td { (entry.author) }
                                    td { (entry.source) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// An enum's wire name (`CAS`, `UN_1988`), as serde writes it.
fn serde_plain<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_link_keeps_the_search() {
        let form = SearchForm {
            q: Some("acetic anhydride & co".into()),
            country: Some(String::new()),
            severity: Some("HIGH".into()),
            before: None,
        };
        assert_eq!(
            older_link(&form, 42),
            "/alerts?before=42&q=acetic%20anhydride%20%26%20co&severity=HIGH"
        );
    }

    #[test]
    fn values_are_escaped() {
        let page = problem(None, "<script>", "a & b").into_string();
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("a &amp; b"));
    }

    #[test]
    fn time_is_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(ago(0, 30_000_000), "30 s ago");
        assert_eq!(ago(0, 600_000_000), "10 min ago");
    }
}
