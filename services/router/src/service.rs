//! The consumer of `alerts.detected`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use events::{topics, Alert, AuthorityConcerned};
use indicators::RuleSets;
use kafka::{BatchHandler, DeadLetterClass, Producer, Record, Rejection, Topics};
use store::{Authority, AuthorityAlert, DeliveryRecord, Store};

use crate::directory::Directory;
use crate::jurisdiction::authorities_concerned;
use crate::metrics::Metrics;
use crate::preferences::{for_roles, refusal};

/// How far back on an authority topic an interrupted delivery is looked for: the messages sent
/// since the attempt began, with a wide margin.
const INTERRUPTED_TAIL: i64 = 10_000;

/// Delivers each alert to every authority concerned, once.
pub struct RouteAlerts {
    pub store: Store,
    pub producer: Producer,
    /// Creates the authority topics as alerts for them come, and finds interrupted deliveries.
    pub topics: Arc<Topics>,
    /// The authority directory, kept in memory.
    pub directory: Arc<Directory>,
    pub metrics: Metrics,
    /// The rule sets, for the weights of single authorities.
    pub rules: Arc<RuleSets>,
}

/// One authority's copy of an alert in a batch, and what became of it.
struct Copy<'a> {
    offset: i64,
    authority: &'a AuthorityConcerned,
    alert: Alert,
    payload: Vec<u8>,
    record: DeliveryRecord,
}

impl BatchHandler for RouteAlerts {
    type Event = Alert;

    /// Delivers a batch of alerts: the directory read once, the ledger read once, every new
    /// delivery marked in one statement before the sends, all sends in flight together, and
    /// where each landed recorded in one transaction after them. A failed send never cancels
    /// its siblings: what landed is recorded before the batch is retried.
    async fn handle(&self, batch: &[Record<Alert>]) -> anyhow::Result<Vec<Rejection>> {
        let alerts: Vec<(i64, &Alert)> = batch
            .iter()
            .map(|record| (record.offset(), &record.event))
            .collect();
        self.route(&alerts).await
    }
}

impl RouteAlerts {
    /// Delivers alerts, each with the offset of the message it came in, to every authority
    /// concerned, once; returns the alerts refused (invalid, or never accepted by the broker).
    pub async fn route(&self, batch: &[(i64, &Alert)]) -> anyhow::Result<Vec<Rejection>> {
        let mut rejected = Vec::new();
        let directory = self.directory.get(&self.store).await?;
        let mut copies: Vec<Copy<'_>> = Vec::new();
        let mut planned: HashSet<(String, String)> = HashSet::new();
        let concerned: Vec<(i64, &Alert, Vec<AuthorityConcerned>)> = batch
            .iter()
            .map(|(offset, alert)| (*offset, *alert, authorities_concerned(&alert.order)))
            .collect();
        for (offset, alert, authorities) in &concerned {
            match self.plan(*offset, alert, authorities, &directory) {
                Ok(planned_copies) => {
                    for copy in planned_copies {
                        // The same alert twice in a batch (detected again) is delivered once.
                        let key = (copy.record.alert_id.clone(), copy.record.country.clone());
                        if planned.insert(key) {
                            copies.push(copy);
                        }
                    }
                }
                Err(rejection) => rejected.push(rejection),
            }
        }

        let pairs: Vec<(&str, &str)> = copies
            .iter()
            .map(|copy| (copy.record.alert_id.as_str(), copy.record.country.as_str()))
            .collect();
        let known = self.store.delivery_offsets(&pairs).await?;
        let mut fresh = Vec::new();
        let mut to_send = Vec::new();
        let mut landed = Vec::new();
        for copy in copies {
            let key = (copy.record.alert_id.clone(), copy.record.country.clone());
            match known.get(&key) {
                // Delivered (a redelivered alert, or one detected again): not sent twice.
                Some(offset) if *offset >= 0 => {}
                // An attempt found under way (the router stopped between marking and
                // recording): sent already, it is recorded; not sent, it is sent.
                Some(_) => match self
                    .topics
                    .find_keyed(
                        &copy.record.topic,
                        copy.record.alert_id.as_bytes(),
                        INTERRUPTED_TAIL,
                    )
                    .await?
                {
                    Some(position) => {
                        tracing::info!(
                            alert_id = copy.record.alert_id,
                            topic = copy.record.topic,
                            "an interrupted delivery had sent the alert: recording it"
                        );
                        landed.push((copy, position));
                    }
                    None => to_send.push(copy),
                },
                None => {
                    fresh.push(copy.record.clone());
                    to_send.push(copy);
                }
            }
        }
        self.store.begin_deliveries(&fresh).await?;
        let topics: HashSet<&str> = to_send
            .iter()
            .map(|copy| copy.record.topic.as_str())
            .collect();
        self.topics
            .ensure(&topics.into_iter().collect::<Vec<_>>())
            .await?;
        let sends = to_send.iter().map(|copy| {
            self.producer.send(
                &copy.record.topic,
                copy.record.alert_id.as_bytes(),
                &copy.payload,
                None,
            )
        });
        let results = futures::future::join_all(sends).await;
        let mut failure = None;
        for (copy, result) in to_send.into_iter().zip(results) {
            match result {
                Ok(delivered) => landed.push((copy, (delivered.partition, delivered.offset))),
                Err(error) if kafka::is_permanent(&error) => {
                    rejected.push(Rejection {
                        offset: copy.offset,
                        class: DeadLetterClass::Produce,
                        reason: error.to_string(),
                    });
                }
                Err(error) => failure = Some(error),
            }
        }

        let now = events::now_micros();
        let mut rows = Vec::with_capacity(landed.len());
        for (mut copy, (partition, offset)) in landed {
            copy.record.partition = partition;
            copy.record.offset = offset;
            copy.record.delivered_at = now;
            let alert_json = serde_json::to_string(&copy.alert)?;
            let stored = AuthorityAlert {
                seq: 0,
                country: copy.record.country.clone(),
                alert_id: copy.alert.alert_id.clone(),
                report_id: copy.alert.report_id.clone(),
                party_id: copy.alert.party_id.clone(),
                severity: copy.alert.severity.as_str().to_owned(),
                alert_json,
                delivered_at: now,
            };
            rows.push((
                copy.record,
                stored,
                copy.alert.severity,
                copy.alert.submitted_at,
                copy.authority,
            ));
        }
        let ledger: Vec<(DeliveryRecord, AuthorityAlert)> = rows
            .iter()
            .map(|(record, stored, ..)| (record.clone(), stored.clone()))
            .collect();
        self.store.complete_deliveries(&ledger).await?;
        for (record, _, severity, submitted_at, _) in &rows {
            self.metrics
                .delivered
                .with_label_values(&[record.country.as_str(), severity.as_str()])
                .inc();
            self.metrics
                .submit_to_delivery_seconds
                .observe(events::seconds_since(*submitted_at));
            tracing::info!(
                alert_id = record.alert_id,
                report_id = record.report_id,
                topic = record.topic,
                roles = record.roles,
                "alert delivered"
            );
        }
        if let Some(error) = failure {
            return Err(anyhow::Error::new(error).context("cannot deliver to an authority topic"));
        }
        Ok(rejected)
    }

    /// The copies of one alert: each authority concerned gets it scored with its own weights
    /// where its rule set has them, with what its role calls for, when its preferences accept
    /// it.
    fn plan<'a>(
        &self,
        offset: i64,
        alert: &Alert,
        authorities: &'a [AuthorityConcerned],
        directory: &HashMap<String, Authority>,
    ) -> Result<Vec<Copy<'a>>, Rejection> {
        let reject = |class: DeadLetterClass, reason: String| Rejection {
            offset,
            class,
            reason,
        };
        let mut alert = alert.clone();
        alert.authorities = authorities.to_vec();
        let mut copies = Vec::with_capacity(authorities.len());
        for authority in authorities {
            let country = authority.country.as_str();
            let scored = scored_for(&alert, &self.rules, country).unwrap_or_else(|| alert.clone());
            let entry = directory.get(country);
            if let Some(reason) = entry.and_then(|entry| refusal(entry, &scored)) {
                self.metrics.filtered.with_label_values(&[country]).inc();
                tracing::info!(
                    alert_id = alert.alert_id,
                    country,
                    reason,
                    "alert not delivered: the authority's preferences turn it away"
                );
                continue;
            }
            let copy = for_roles(&scored, &authority.roles);
            let payload = events::encode(&copy)
                .map_err(|error| reject(DeadLetterClass::Encode, error.to_string()))?;
            let roles: Vec<&str> = authority.roles.iter().map(|role| role.as_str()).collect();
            let delivery = DeliveryRecord {
                alert_id: copy.alert_id.clone(),
                country: country.to_owned(),
                report_id: copy.report_id.clone(),
                roles: roles.join(","),
                topic: topics::authority(country),
                partition: -1,
                offset: -1,
                delivered_at: events::now_micros(),
            };
            copies.push(Copy {
                offset,
                authority,
                alert: copy,
                payload,
                record: delivery,
            });
        }
        Ok(copies)
    }
}

/// The alert with the score and severity the authority's own weights give, when the rule set
/// that scored it weighs anything differently for that authority.
pub fn scored_for(alert: &Alert, rules: &RuleSets, country: &str) -> Option<Alert> {
    let rule_set = rules.version(&alert.rule_set_version)?;
    if !rule_set.authorities.contains_key(country) {
        return None;
    }
    let mut copy = alert.clone();
    for hit in &mut copy.indicators {
        hit.weight = rule_set.weight(&hit.indicator_id, Some(country));
    }
    copy.score = indicators::score(&copy.findings, &copy.indicators, rule_set, Some(country));
    copy.severity = indicators::severity(copy.score, rule_set, Some(country));
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicators::RuleSet;

    fn alert(rule_set_version: &str) -> Alert {
        let mut alert: Alert = serde_json::from_value(serde_json::json!({
            "alert_id": "a", "report_id": "r", "company_id": "c", "company_reference": "SO",
            "order": {"supplier_country": "DE", "customer_id": "K", "customer_name": "N",
                      "customer_country": "NL", "delivery_country": "NL", "transit_countries": []},
            "lines": [1], "findings": [], "indicators": [],
            "score": 40.0, "severity": "MEDIUM", "authorities": [], "explanation": "",
            "reference_data_version": "v", "rule_set_version": rule_set_version,
            "party_id": "", "party_rule": "", "submitted_at": 1, "detected_at": 2
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        alert.indicators = vec![events::IndicatorHit {
            indicator_id: "payment_cash".into(),
            weight: 20.0,
            evidence: "payment in cash".into(),
        }];
        alert
    }

    #[test]
    fn an_authority_with_its_own_weights_gets_its_own_score() {
        let base = RuleSets::builtin().unwrap_or_else(|e| panic!("{e}")).all()[0].clone();
        let mut strict: RuleSet = base.clone();
        strict.version = "strict".into();
        strict.authorities.insert(
            "NL".into(),
            serde_json::from_value(serde_json::json!({"weights": {"payment_cash": 90}}))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let rules = RuleSets::new(vec![base, strict]).unwrap_or_else(|e| panic!("{e}"));
        let dutch = scored_for(&alert("strict"), &rules, "NL").expect("NL weighs its own");
        assert_eq!(dutch.score, 90.0);
        assert_eq!(dutch.severity, events::Severity::Critical);
        assert_eq!(dutch.indicators[0].weight, 90.0);
        // Another authority, or a rule set without overrides: the alert as it is.
        assert!(scored_for(&alert("strict"), &rules, "DE").is_none());
        assert!(scored_for(&alert("indicators-2026.1"), &rules, "NL").is_none());
        assert!(scored_for(&alert("unknown"), &rules, "NL").is_none());
    }
}
