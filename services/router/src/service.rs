//! The consumer of `alerts.detected`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use domain::CountryCode;
use events::{topics, Alert, AuthorityConcerned};
use indicators::RuleSets;
use kafka::{Failure, Handler, KafkaArgs, KafkaMessage as _, Message, Producer};
use store::{AuthorityAlert, DeliveryRecord, Store};

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
    pub kafka: KafkaArgs,
    pub metrics: Metrics,
    /// Authority topics known to exist.
    pub topics: Mutex<HashSet<String>>,
    /// The rule sets, for the weights of single authorities.
    pub rules: Arc<RuleSets>,
}

impl Handler for RouteAlerts {
    async fn handle(&self, message: &Message) -> Result<(), Failure> {
        let mut alert: Alert = events::decode(message.payload().unwrap_or_default())
            .map_err(|error| Failure::invalid("decode", error))?;
        let authorities = authorities_concerned(&alert.order);
        for authority in &authorities {
            CountryCode::parse(&authority.country)
                .map_err(|error| Failure::invalid("invalid", error))?;
        }
        alert.authorities = authorities.clone();
        // Each authority gets the alert scored with its own weights where its rule set has them,
        // with what its role calls for, when its preferences accept it.
        let mut copies = Vec::with_capacity(authorities.len());
        for authority in &authorities {
            let scored = scored_for(&alert, &self.rules, &authority.country)
                .unwrap_or_else(|| alert.clone());
            let entry = self
                .store
                .authority(&authority.country)
                .await
                .map_err(anyhow::Error::from)?;
            if let Some(reason) = entry.as_ref().and_then(|entry| refusal(entry, &scored)) {
                self.metrics
                    .filtered
                    .with_label_values(&[authority.country.as_str()])
                    .inc();
                tracing::info!(
                    alert_id = alert.alert_id,
                    country = authority.country,
                    reason,
                    "alert not delivered: the authority's preferences turn it away"
                );
                continue;
            }
            let copy = for_roles(&scored, &authority.roles);
            let payload =
                events::encode(&copy).map_err(|error| Failure::invalid("encode", error))?;
            copies.push((authority, copy, payload));
        }
        // The authorities of one alert are independent: deliver to them concurrently.
        let deliveries = copies
            .iter()
            .map(|(authority, copy, payload)| self.deliver(copy, authority, payload));
        futures::future::try_join_all(deliveries).await?;
        Ok(())
    }
}

impl RouteAlerts {
    /// Sends the alert to one authority's topic unless the ledger has it, then records it.
    ///
    /// The ledger records the attempt before the send and where the alert landed after it. An
    /// attempt found under way (the router stopped between the two) is finished by looking for
    /// the alert on the topic: sent already, it is recorded; not sent, it is sent. So each
    /// authority receives each alert once, also across a crash.
    pub async fn deliver(
        &self,
        alert: &Alert,
        authority: &AuthorityConcerned,
        payload: &[u8],
    ) -> Result<(), Failure> {
        let country = authority.country.as_str();
        let topic = topics::authority(country);
        let roles: Vec<&str> = authority.roles.iter().map(|role| role.as_str()).collect();
        let mut record = DeliveryRecord {
            alert_id: alert.alert_id.clone(),
            country: country.to_owned(),
            report_id: alert.report_id.clone(),
            roles: roles.join(","),
            topic: topic.clone(),
            partition: -1,
            offset: -1,
            delivered_at: events::now_micros(),
        };
        let known = self
            .store
            .delivery_offset(&alert.alert_id, country)
            .await
            .map_err(anyhow::Error::from)?;
        let found = match known {
            // Delivered (a redelivered alert, or one detected again): not sent twice.
            Some(offset) if offset >= 0 => return Ok(()),
            Some(_) => self.find_on_topic(&topic, &alert.alert_id).await?,
            None => {
                self.store
                    .record_delivery(&record)
                    .await
                    .map_err(anyhow::Error::from)?;
                None
            }
        };
        let (partition, offset) = match found {
            Some(position) => {
                tracing::info!(
                    alert_id = alert.alert_id,
                    topic,
                    "an interrupted delivery had sent the alert: recording it"
                );
                position
            }
            None => {
                if !self.topic_known(&topic) {
                    self.kafka.ensure_topics(&[&topic]).await?;
                    self.topics
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(topic.clone());
                }
                let delivered = self
                    .producer
                    .send(&topic, alert.alert_id.as_bytes(), payload, None)
                    .await
                    .map_err(Failure::from)?;
                (delivered.partition, delivered.offset)
            }
        };
        record.partition = partition;
        record.offset = offset;
        record.delivered_at = events::now_micros();
        let json =
            serde_json::to_string(alert).map_err(|error| Failure::invalid("encode", error))?;
        self.store
            .record_authority_alert(&AuthorityAlert {
                seq: 0,
                country: country.to_owned(),
                alert_id: alert.alert_id.clone(),
                report_id: alert.report_id.clone(),
                party_id: alert.party_id.clone(),
                severity: alert.severity.as_str().to_owned(),
                alert_json: json,
                delivered_at: record.delivered_at,
            })
            .await
            .map_err(anyhow::Error::from)?;
        self.store
            .record_delivery(&record)
            .await
            .map_err(anyhow::Error::from)?;
        self.metrics
            .delivered
            .with_label_values(&[country, alert.severity.as_str()])
            .inc();
        self.metrics
            .submit_to_delivery_seconds
            .observe(events::seconds_since(alert.submitted_at));
        tracing::info!(
            alert_id = alert.alert_id,
            report_id = alert.report_id,
            topic,
            roles = record.roles,
            "alert delivered"
        );
        Ok(())
    }

    /// Where the alert is on the authority's topic, if an interrupted attempt sent it.
    async fn find_on_topic(
        &self,
        topic: &str,
        alert_id: &str,
    ) -> Result<Option<(i32, i64)>, Failure> {
        let (kafka, topic, key) = (self.kafka.clone(), topic.to_owned(), alert_id.to_owned());
        tokio::task::spawn_blocking(move || {
            kafka.find_keyed(&topic, key.as_bytes(), INTERRUPTED_TAIL)
        })
        .await
        .map_err(|error| Failure::Transient(error.into()))?
        .map_err(Failure::Transient)
    }

    fn topic_known(&self, topic: &str) -> bool {
        self.topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(topic)
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
