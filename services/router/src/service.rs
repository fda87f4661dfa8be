//! The consumer of `alerts.detected`.

use std::collections::HashSet;
use std::sync::Mutex;

use domain::CountryCode;
use events::{topics, Alert, AuthorityConcerned};
use kafka::{Failure, Handler, KafkaArgs, KafkaMessage as _, Message, Producer};
use store::{DeliveryRecord, Store};

use crate::jurisdiction::authorities_concerned;
use crate::metrics::Metrics;

/// Delivers each alert to every authority concerned, once.
pub struct RouteAlerts {
    pub store: Store,
    pub producer: Producer,
    pub kafka: KafkaArgs,
    pub metrics: Metrics,
    /// Authority topics known to exist.
    pub topics: Mutex<HashSet<String>>,
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
        let payload = events::encode(&alert).map_err(|error| Failure::invalid("encode", error))?;
        // The authorities of one alert are independent: deliver to them concurrently.
        let deliveries = authorities
            .iter()
            .map(|authority| self.deliver(&alert, authority, &payload));
        futures::future::try_join_all(deliveries).await?;
        Ok(())
    }
}

impl RouteAlerts {
    /// Sends the alert to one authority's topic unless the ledger has it, then records it.
    async fn deliver(
        &self,
        alert: &Alert,
        authority: &AuthorityConcerned,
        payload: &[u8],
    ) -> Result<(), Failure> {
        let country = authority.country.as_str();
        // A redelivered alert (restart before the offset was committed) is not sent twice.
        if self
            .store
            .is_delivered(&alert.alert_id, country)
            .await
            .map_err(anyhow::Error::from)?
        {
            return Ok(());
        }
        let topic = topics::authority(country);
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
        let roles: Vec<&str> = authority.roles.iter().map(|role| role.as_str()).collect();
        let record = DeliveryRecord {
            alert_id: alert.alert_id.clone(),
            country: country.to_owned(),
            report_id: alert.report_id.clone(),
            roles: roles.join(","),
            topic: topic.clone(),
            partition: delivered.partition,
            offset: delivered.offset,
            delivered_at: events::now_micros(),
        };
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

    fn topic_known(&self, topic: &str) -> bool {
        self.topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(topic)
    }
}
