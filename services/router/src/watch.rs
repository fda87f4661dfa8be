//! `router watch`: prints the alerts of one authority topic as JSON lines, as an authority's
//! consumer would receive them.

use domain::CountryCode;
use events::Alert;
use kafka::{KafkaArgs, KafkaError, KafkaMessage as _, RDKafkaErrorCode};

/// Settings of `router watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// ISO 3166-1 alpha-2 code of the authority whose topic to read, e.g. NL.
    #[arg(long)]
    pub country: String,
}

/// Reads `alerts.<country>` from the beginning and prints each alert until interrupted.
pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let country =
        CountryCode::parse(&args.country).map_err(|error| anyhow::anyhow!("--country: {error}"))?;
    let topic = events::topics::authority(country.as_str());
    let group = format!("watch-{}", uuid::Uuid::new_v4());
    let consumer = args.kafka.consumer(&group, &[&topic])?;
    eprintln!(
        "watching {topic} on {} (Ctrl-C to stop)",
        args.kafka.brokers
    );
    loop {
        let message = tokio::select! {
            _ = runtime::wait_for_signal() => return Ok(()),
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message,
            // Nothing was routed to this authority yet.
            Err(KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        match events::decode::<Alert>(message.payload().unwrap_or_default()) {
            Ok(alert) => println!("{}", serde_json::to_string(&alert)?),
            Err(error) => eprintln!("offset {}: undecodable message: {error}", message.offset()),
        }
    }
}
