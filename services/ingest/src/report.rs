//! The JSON order report a company submits, and its parsing into the `OrderReport` event.
//!
//! Parsing collects every problem, each naming the field (`lines[2].cas`) and the reason, so a
//! company fixes its report in one round trip.

use chrono::NaiveDate;
use domain::{CasNumber, CountryCode, Quantity, Unit};
use events::{
    AddressType, Customer, CustomerType, Delivery, OrderLine, OrderReport, PaymentMethod,
};
use serde::{Deserialize, Serialize};

/// Most lines one report may have.
pub const MAX_LINES: usize = 1000;
/// Most transit countries one report may list.
pub const MAX_TRANSIT_COUNTRIES: usize = 20;
/// Longest free-text field, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest identifier field (references, ids), in characters.
pub const MAX_ID_CHARS: usize = 200;
/// Largest quantity of one line in the unit's base (kilograms, litres, pieces): a million
/// tonnes, more than the largest tanker carries.
pub const MAX_BASE_QUANTITY: f64 = 1e9;
/// Smallest quantity of one line in the unit's base: a microgram.
pub const MIN_BASE_QUANTITY: f64 = 1e-9;
/// Earliest order date accepted: the year the 1988 Convention's Tables began to apply.
pub const EARLIEST_ORDER_DATE: (i32, u32, u32) = (1990, 1, 1);
/// How far after the day of submission an order date may lie (orders dated ahead).
pub const MAX_DAYS_AHEAD: i64 = 366;

/// The body of `POST /v1/reports`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub company_reference: Option<String>,
    pub supplier_country: Option<String>,
    pub order_date: Option<String>,
    pub customer: Option<CustomerRequest>,
    pub delivery: Option<DeliveryRequest>,
    #[serde(default)]
    pub transit_countries: Vec<String>,
    pub payment_method: Option<String>,
    pub end_use: Option<String>,
    #[serde(default)]
    pub lines: Vec<LineRequest>,
}

/// The customer of a submitted report.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRequest {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub customer_type: Option<String>,
    pub country: Option<String>,
    pub registration_number: Option<String>,
}

/// The delivery of a submitted report.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    pub country: Option<String>,
    pub address_type: Option<String>,
}

/// One line of a submitted report.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub line_number: Option<i64>,
    pub description: Option<String>,
    pub cas: Option<String>,
    pub hs_code: Option<String>,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub concentration_pct: Option<f64>,
    pub packaging: Option<String>,
}

/// One thing wrong with a submitted report.
pub use api::Problem;

/// Where the report came from and when it was accepted.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub report_id: String,
    pub company_id: String,
    pub submitted_at: i64,
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, code: &'static str, reason: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            code,
            reason: reason.into(),
        });
    }

    fn required<'a>(
        &mut self,
        field: &str,
        value: &'a Option<String>,
        max_chars: usize,
    ) -> Option<&'a str> {
        match value.as_deref().map(str::trim) {
            None | Some("") => {
                self.add(field, "missing_field", "is required");
                None
            }
            Some(text) => self.bounded(field, text, max_chars),
        }
    }

    fn optional(
        &mut self,
        field: &str,
        value: &Option<String>,
        max_chars: usize,
    ) -> Option<String> {
        let text = value
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())?;
        self.bounded(field, text, max_chars).map(str::to_owned)
    }

    fn bounded<'a>(&mut self, field: &str, text: &'a str, max_chars: usize) -> Option<&'a str> {
        let chars = text.chars().count();
        if chars > max_chars {
            self.add(
                field,
                "too_long",
                format!("is {chars} characters long, at most {max_chars} are allowed"),
            );
            return None;
        }
        if let Some(bad) = domain::text::forbidden_char(text, false) {
            self.add(
                field,
                "invalid_characters",
                domain::text::forbidden_reason(bad),
            );
            return None;
        }
        Some(text)
    }

    fn country(&mut self, field: &str, value: &Option<String>) -> Option<CountryCode> {
        let text = self.required(field, value, MAX_ID_CHARS)?;
        match CountryCode::parse(text) {
            Ok(code) => Some(code),
            Err(error) => {
                self.add(field, "unknown_country", error.to_string());
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        field: &str,
        value: &Option<String>,
        choices: &[(&str, T)],
        default: Option<T>,
    ) -> Option<T> {
        let Some(text) = value
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        else {
            if default.is_none() {
                self.add(field, "missing_field", "is required");
            }
            return default;
        };
        let wanted = text.to_ascii_lowercase();
        if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == wanted) {
            return Some(*choice);
        }
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        self.add(
            field,
            "invalid_value",
            format!("{text:?} is not one of {}", names.join(", ")),
        );
        None
    }
}

const CUSTOMER_TYPES: &[(&str, CustomerType)] = &[
    ("company", CustomerType::Company),
    ("distributor", CustomerType::Distributor),
    ("pharmacy", CustomerType::Pharmacy),
    ("laboratory", CustomerType::Laboratory),
    ("government", CustomerType::Government),
    ("individual", CustomerType::Individual),
    ("other", CustomerType::Other),
];

const ADDRESS_TYPES: &[(&str, AddressType)] = &[
    ("business", AddressType::Business),
    ("residential", AddressType::Residential),
    ("po_box", AddressType::PoBox),
    ("forwarder", AddressType::Forwarder),
    ("free_zone", AddressType::FreeZone),
    ("customer_collection", AddressType::CustomerCollection),
];

const PAYMENT_METHODS: &[(&str, PaymentMethod)] = &[
    ("invoice", PaymentMethod::Invoice),
    ("bank_transfer", PaymentMethod::BankTransfer),
    ("card", PaymentMethod::Card),
    ("cash", PaymentMethod::Cash),
    ("money_transfer", PaymentMethod::MoneyTransfer),
    ("cryptocurrency", PaymentMethod::Cryptocurrency),
    ("third_party", PaymentMethod::ThirdParty),
    ("other", PaymentMethod::Other),
];

impl ReportRequest {
    /// Parses the request into the event, or lists every problem.
    pub fn parse(&self, envelope: Envelope) -> Result<OrderReport, Vec<Problem>> {
        let mut problems = Problems(Vec::new());
        let reference =
            problems.required("company_reference", &self.company_reference, MAX_ID_CHARS);
        let supplier_country = problems.country("supplier_country", &self.supplier_country);
        let order_date = self.order_date(&mut problems, envelope.submitted_at);
        let customer = self.customer(&mut problems);
        let delivery = self.delivery(&mut problems);
        let transit_countries = self.transit_countries(&mut problems);
        let payment_method = problems.choice(
            "payment_method",
            &self.payment_method,
            PAYMENT_METHODS,
            Some(PaymentMethod::Unstated),
        );
        let end_use = problems.optional("end_use", &self.end_use, MAX_TEXT_CHARS);
        let lines = self.lines(&mut problems);

        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        match (
            reference,
            supplier_country,
            order_date,
            customer,
            delivery,
            payment_method,
        ) {
            (
                Some(reference),
                Some(supplier_country),
                Some(order_date),
                Some(customer),
                Some(delivery),
                Some(payment_method),
            ) => Ok(OrderReport {
                report_id: envelope.report_id,
                company_id: envelope.company_id,
                company_reference: reference.to_owned(),
                supplier_country,
                order_date,
                submitted_at: envelope.submitted_at,
                customer,
                delivery,
                transit_countries,
                payment_method,
                end_use,
                lines,
            }),
            // Every None above recorded a problem.
            _ => Err(vec![Problem {
                field: String::new(),
                code: "invalid_value",
                reason: "report is incomplete".into(),
            }]),
        }
    }

    fn order_date(&self, problems: &mut Problems, submitted_at: i64) -> Option<i32> {
        let text = problems.required("order_date", &self.order_date, MAX_ID_CHARS)?;
        let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
            problems.add(
                "order_date",
                "invalid_date",
                format!("{text:?} is not a date in the form YYYY-MM-DD"),
            );
            return None;
        };
        let (year, month, day) = EARLIEST_ORDER_DATE;
        let earliest = NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default();
        let today = chrono::DateTime::from_timestamp_micros(submitted_at)
            .map(|time| time.date_naive())
            .unwrap_or_default();
        let latest = today + chrono::Days::new(MAX_DAYS_AHEAD.unsigned_abs());
        if date < earliest || date > latest {
            problems.add(
                "order_date",
                "invalid_date",
                format!("{text} is not between {earliest} and {latest} (a year after today)"),
            );
            return None;
        }
        let days = date.signed_duration_since(NaiveDate::default()).num_days();
        i32::try_from(days).ok()
    }

    fn customer(&self, problems: &mut Problems) -> Option<Customer> {
        let Some(customer) = &self.customer else {
            problems.add("customer", "missing_field", "is required");
            return None;
        };
        let id = problems.required("customer.id", &customer.id, MAX_ID_CHARS);
        let name = problems.required("customer.name", &customer.name, MAX_TEXT_CHARS);
        let customer_type = problems.choice(
            "customer.type",
            &customer.customer_type,
            CUSTOMER_TYPES,
            None,
        );
        let country = problems.country("customer.country", &customer.country);
        let registration_number = problems.optional(
            "customer.registration_number",
            &customer.registration_number,
            MAX_ID_CHARS,
        );
        Some(Customer {
            id: id?.to_owned(),
            name: name?.to_owned(),
            customer_type: customer_type?,
            country: country?,
            registration_number,
        })
    }

    fn delivery(&self, problems: &mut Problems) -> Option<Delivery> {
        let Some(delivery) = &self.delivery else {
            problems.add("delivery", "missing_field", "is required");
            return None;
        };
        let country = problems.country("delivery.country", &delivery.country);
        let address_type = problems.choice(
            "delivery.address_type",
            &delivery.address_type,
            ADDRESS_TYPES,
            Some(AddressType::Unstated),
        );
        Some(Delivery {
            country: country?,
            address_type: address_type?,
        })
    }

    fn transit_countries(&self, problems: &mut Problems) -> Vec<CountryCode> {
        if self.transit_countries.len() > MAX_TRANSIT_COUNTRIES {
            problems.add(
                "transit_countries",
                "too_many",
                format!(
                    "lists {} countries, at most {MAX_TRANSIT_COUNTRIES} are allowed",
                    self.transit_countries.len()
                ),
            );
            return Vec::new();
        }
        let mut countries = Vec::new();
        for (index, text) in self.transit_countries.iter().enumerate() {
            let field = format!("transit_countries[{index}]");
            match CountryCode::parse(text) {
                Ok(code) => countries.push(code),
                Err(error) => problems.add(field, "unknown_country", error.to_string()),
            }
        }
        countries
    }

    fn lines(&self, problems: &mut Problems) -> Vec<OrderLine> {
        if self.lines.is_empty() {
            problems.add("lines", "no_lines", "a report needs at least one line");
            return Vec::new();
        }
        if self.lines.len() > MAX_LINES {
            problems.add(
                "lines",
                "too_many",
                format!(
                    "has {} lines, at most {MAX_LINES} are allowed",
                    self.lines.len()
                ),
            );
            return Vec::new();
        }
        let mut seen_numbers = std::collections::HashSet::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (index, line) in self.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{index}].{name}");
            let line_number = match line.line_number {
                None => Some(index as i64 + 1),
                Some(number) if (1..=i64::from(i32::MAX)).contains(&number) => Some(number),
                Some(number) => {
                    problems.add(
                        field("line_number"),
                        "invalid_value",
                        format!("{number} is not a positive line number"),
                    );
                    None
                }
            };
            if let Some(number) = line_number {
                if !seen_numbers.insert(number) {
                    problems.add(
                        field("line_number"),
                        "duplicate_line_number",
                        format!("line number {number} is used twice"),
                    );
                }
            }
            let description =
                problems.required(&field("description"), &line.description, MAX_TEXT_CHARS);
            let cas = problems
                .optional(&field("cas"), &line.cas, MAX_ID_CHARS)
                .and_then(|text| match CasNumber::parse(&text) {
                    Ok(cas) => Some(cas),
                    Err(error) => {
                        problems.add(field("cas"), "invalid_cas", format!("{text:?}: {error}"));
                        None
                    }
                });
            let hs_code = problems
                .optional(&field("hs_code"), &line.hs_code, MAX_ID_CHARS)
                .and_then(|text| {
                    let digits: String = text.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
                    if digits.chars().all(|c| c.is_ascii_digit())
                        && matches!(digits.len(), 6 | 8 | 10)
                    {
                        Some(digits)
                    } else {
                        problems.add(
                            field("hs_code"),
                            "invalid_hs_code",
                            format!("{text:?} is not a 6-digit HS or 8-digit CN code"),
                        );
                        None
                    }
                });
            let quantity = match line.quantity {
                None => {
                    problems.add(field("quantity"), "missing_field", "is required");
                    None
                }
                Some(number) => match Quantity::new(number) {
                    Ok(quantity) => Some(quantity),
                    Err(error) => {
                        problems.add(field("quantity"), "invalid_quantity", error.to_string());
                        None
                    }
                },
            };
            let unit = problems
                .required(&field("unit"), &line.unit, MAX_ID_CHARS)
                .and_then(|text| match text.parse::<Unit>() {
                    Ok(unit) => Some(unit),
                    Err(error) => {
                        problems.add(field("unit"), "unknown_unit", error.to_string());
                        None
                    }
                });
            let concentration_pct = match line.concentration_pct {
                Some(pct) if !(pct.is_finite() && pct > 0.0 && pct <= 100.0) => {
                    problems.add(
                        field("concentration_pct"),
                        "invalid_concentration",
                        format!("{pct} is not a percentage above 0 and at most 100"),
                    );
                    None
                }
                other => other,
            };
            let quantity = match (quantity, unit) {
                (Some(amount), Some(unit)) => {
                    let base = amount.in_base(unit);
                    let name = match unit.dimension() {
                        domain::Dimension::Mass => "kg",
                        domain::Dimension::Volume => "l",
                        domain::Dimension::Count => "pieces",
                    };
                    if (MIN_BASE_QUANTITY..=MAX_BASE_QUANTITY).contains(&base) {
                        Some(amount)
                    } else {
                        problems.add(
                            field("quantity"),
                            "invalid_quantity",
                            format!(
                                "{amount} {} is {base:e} {name}, outside what one order line can hold ({MIN_BASE_QUANTITY:e} to {MAX_BASE_QUANTITY:e} {name})",
                                unit.symbol()
                            ),
                        );
                        None
                    }
                }
                (quantity, _) => quantity,
            };
            let packaging = problems.optional(&field("packaging"), &line.packaging, MAX_TEXT_CHARS);
            if let (Some(number), Some(description), Some(quantity), Some(unit)) =
                (line_number, description, quantity, unit)
            {
                lines.push(OrderLine {
                    line_number: i32::try_from(number).unwrap_or(i32::MAX),
                    description: description.to_owned(),
                    cas,
                    hs_code,
                    quantity,
                    unit,
                    concentration_pct,
                    packaging,
                });
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            report_id: "r1".into(),
            company_id: "acme".into(),
            submitted_at: events::now_micros(),
        }
    }

    fn valid() -> ReportRequest {
        serde_json::from_str(include_str!("../examples/sample-report.json")).expect("sample parses")
    }

    #[test]
    fn the_shipped_sample_report_is_valid() {
        let report = valid().parse(envelope()).expect("valid");
        assert_eq!(report.supplier_country, "DE");
        assert_eq!(
            report.lines[0].cas.as_ref().map(CasNumber::as_str),
            Some("108-24-7")
        );
        assert_eq!(report.lines[0].unit, domain::Unit::Litre);
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let mut request = valid();
        request.supplier_country = Some("XX".into());
        request.lines[0].cas = Some("108-24-8".into());
        request.lines[0].unit = Some("barrel".into());
        request.lines[0].quantity = Some(-5.0);
        let customer = request.customer.as_mut().unwrap();
        customer.name = None;
        let problems = request.parse(envelope()).unwrap_err();
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("supplier_country", "unknown_country"),
                ("customer.name", "missing_field"),
                ("lines[0].cas", "invalid_cas"),
                ("lines[0].quantity", "invalid_quantity"),
                ("lines[0].unit", "unknown_unit"),
            ]
        );
        assert!(
            problems[2].reason.contains("check digit is 8, expected 7"),
            "{}",
            problems[2].reason
        );
    }

    #[test]
    fn a_report_without_lines_is_rejected() {
        let mut request = valid();
        request.lines.clear();
        let problems = request.parse(envelope()).unwrap_err();
        assert_eq!(
            problems,
            vec![Problem {
                field: "lines".into(),
                code: "no_lines",
                reason: "a report needs at least one line".into()
            }]
        );
    }

    #[test]
    fn duplicate_line_numbers_and_overlong_fields_are_rejected() {
        let mut request = valid();
        let mut second = request.lines[0].clone();
        second.description = Some("x".repeat(MAX_TEXT_CHARS + 1));
        request.lines.push(second);
        let problems = request.parse(envelope()).unwrap_err();
        let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, vec!["duplicate_line_number", "too_long"]);
        assert_eq!(problems[1].field, "lines[2].description");
    }

    #[test]
    fn control_characters_are_refused() {
        let mut request = valid();
        request.company_reference = Some("SO-1\u{0}".into());
        request.lines[0].description = Some("Acetone\tdrum".into());
        request.customer.as_mut().unwrap().id = Some("K-1\r\nX-Injected: 1".into());
        // Surrounding whitespace is trimmed, not refused.
        request.end_use = Some("solvent\n".into());
        let problems = request.parse(envelope()).unwrap_err();
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("company_reference", "contains the control character U+0000"),
                ("customer.id", "contains the control character U+000D"),
                (
                    "lines[0].description",
                    "contains the control character U+0009"
                ),
            ]
        );
        assert!(problems.iter().all(|p| p.code == "invalid_characters"));
    }

    #[test]
    fn quantities_beyond_any_order_and_dates_outside_a_sane_window_are_refused() {
        for (quantity, unit, accepted) in [
            (1e308, "t", false),
            (2e6, "t", false),
            (1e6, "t", true),
            (0.001, "mg", true),
            (1e-4, "mg", false),
            (5e9, "each", false),
        ] {
            let mut request = valid();
            request.lines[0].quantity = Some(quantity);
            request.lines[0].unit = Some(unit.into());
            let parsed = request.parse(envelope());
            assert_eq!(parsed.is_ok(), accepted, "{quantity} {unit}: {parsed:?}");
            if let Err(problems) = parsed {
                assert_eq!(problems[0].field, "lines[0].quantity");
                assert_eq!(problems[0].code, "invalid_quantity");
            }
        }
        let next_year = chrono::Utc::now().date_naive() + chrono::Days::new(300);
        for (date, accepted) in [
            ("0000-01-01", false),
            ("9999-12-31", false),
            ("1989-12-31", false),
            ("1990-01-01", true),
            (next_year.to_string().as_str(), true),
        ] {
            let mut request = valid();
            request.order_date = Some(date.into());
            let parsed = request.parse(envelope());
            assert_eq!(parsed.is_ok(), accepted, "{date}: {parsed:?}");
        }
    }

    #[test]
    fn optional_choices_default_to_unstated() {
        let mut request = valid();
        request.payment_method = None;
        request.delivery.as_mut().unwrap().address_type = None;
        let report = request.parse(envelope()).unwrap();
        assert_eq!(report.payment_method, PaymentMethod::Unstated);
        assert_eq!(report.delivery.address_type, AddressType::Unstated);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// Text as hostile input has it: any characters, sometimes past the length limits,
        /// sometimes one of the values a field expects.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "\\PC{0,40}",
                "[A-Za-z0-9 .,-]{0,12}",
                Just("DE".to_owned()),
                Just("2026-03-01".to_owned()),
                Just("108-24-7".to_owned()),
                Just("kg".to_owned()),
                "\\PC{990,1100}",
            ]
        }

        fn number() -> impl Strategy<Value = f64> {
            prop_oneof![
                any::<f64>().prop_filter("JSON has no NaN or infinity", |n| n.is_finite()),
                -10.0..1.0e6f64,
                Just(0.0),
            ]
        }

        fn line() -> impl Strategy<Value = LineRequest> {
            (
                proptest::option::of(any::<i64>()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(number()),
                proptest::option::of(text()),
                proptest::option::of(number()),
                proptest::option::of(text()),
            )
                .prop_map(
                    |(
                        line_number,
                        description,
                        cas,
                        hs_code,
                        quantity,
                        unit,
                        concentration_pct,
                        packaging,
                    )| {
                        LineRequest {
                            line_number,
                            description,
                            cas,
                            hs_code,
                            quantity,
                            unit,
                            concentration_pct,
                            packaging,
                        }
                    },
                )
        }

        fn request() -> impl Strategy<Value = ReportRequest> {
            let customer = (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            )
                .prop_map(|(id, name, customer_type, country, registration_number)| {
                    CustomerRequest {
                        id,
                        name,
                        customer_type,
                        country,
                        registration_number,
                    }
                });
            let delivery = (proptest::option::of(text()), proptest::option::of(text())).prop_map(
                |(country, address_type)| DeliveryRequest {
                    country,
                    address_type,
                },
            );
            (
                (
                    proptest::option::of(text()),
                    proptest::option::of(text()),
                    proptest::option::of(text()),
                    proptest::option::of(customer),
                    proptest::option::of(delivery),
                ),
                (
                    proptest::collection::vec(text(), 0..25),
                    proptest::option::of(text()),
                    proptest::option::of(text()),
                    proptest::collection::vec(line(), 0..4),
                ),
            )
                .prop_map(
                    |(
                        (company_reference, supplier_country, order_date, customer, delivery),
                        (transit_countries, payment_method, end_use, lines),
                    )| ReportRequest {
                        company_reference,
                        supplier_country,
                        order_date,
                        customer,
                        delivery,
                        transit_countries,
                        payment_method,
                        end_use,
                        lines,
                    },
                )
        }

        proptest! {
            #![proptest_config(proptest::test_runner::Config::with_cases(
                std::env::var("PW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000)
            ))]

            #[test]
            fn arbitrary_json_never_panics(text in "\\PC{0,200}") {
                if let Ok(request) = serde_json::from_str::<ReportRequest>(&text) {
                    let _ = request.parse(envelope());
                }
            }

            /// Any report either parses into an event that encodes and decodes, or is refused
            /// with every problem naming its field and reason.
            #[test]
            fn hostile_reports_are_accepted_whole_or_refused_with_named_problems(request in request()) {
                // Through JSON, as the API receives it.
                let json = serde_json::to_vec(&request).unwrap();
                let request: ReportRequest = serde_json::from_slice(&json).unwrap();
                match request.parse(envelope()) {
                    Ok(report) => {
                        let bytes = events::encode(&report).unwrap();
                        prop_assert_eq!(events::decode::<OrderReport>(&bytes).unwrap(), report);
                    }
                    Err(problems) => {
                        prop_assert!(!problems.is_empty());
                        for problem in problems {
                            prop_assert!(!problem.field.is_empty() && !problem.reason.is_empty(), "{:?}", problem);
                        }
                    }
                }
            }

            /// A valid report with one field replaced by any JSON value: no panic, and a
            /// refusal names the field.
            #[test]
            fn a_valid_report_with_one_field_replaced_never_panics(
                field in prop_oneof![
                    Just("/company_reference"), Just("/supplier_country"), Just("/order_date"),
                    Just("/customer/country"), Just("/customer/type"), Just("/delivery/address_type"),
                    Just("/transit_countries"), Just("/payment_method"), Just("/lines/0/cas"),
                    Just("/lines/0/quantity"), Just("/lines/0/unit"), Just("/lines/0/concentration_pct"),
                    Just("/lines/0/line_number"), Just("/lines"),
                ],
                value in prop_oneof![
                    Just(serde_json::Value::Null),
                    any::<bool>().prop_map(serde_json::Value::from),
                    any::<i64>().prop_map(serde_json::Value::from),
                    number().prop_map(serde_json::Value::from),
                    "\\PC{0,30}".prop_map(serde_json::Value::from),
                    Just(serde_json::json!([1, "x", null])),
                    Just(serde_json::json!({"nested": {"deep": []}})),
                ],
            ) {
                let mut json = serde_json::to_value(valid()).unwrap();
                if let Some(slot) = json.pointer_mut(field) {
                    *slot = value;
                }
                let bytes = serde_json::to_vec(&json).unwrap();
                let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
                match serde_path_to_error::deserialize::<_, ReportRequest>(deserializer) {
                    Err(error) => prop_assert!(!error.to_string().is_empty()),
                    Ok(request) => {
                        if let Err(problems) = request.parse(envelope()) {
                            prop_assert!(problems.iter().all(|p| !p.field.is_empty()));
                        }
                    }
                }
            }
        }
    }
}
