//! librdkafka's in-process mock broker, for the embedded demo mode only.
//!
//! It keeps a few MiB per partition and loses everything when the process exits: never use it
//! where data must not be lost.

use anyhow::Context as _;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A running mock cluster; dropping it stops the broker.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster on a free loopback port.
    pub fn start() -> anyhow::Result<Self> {
        let cluster =
            MockCluster::new(1).context("cannot start the in-process mock kafka broker")?;
        Ok(Self { cluster })
    }

    /// Creates topics; the mock broker does not implement the CreateTopics request.
    pub fn create_topics(&self, names: &[&str], partitions: i32) -> anyhow::Result<()> {
        for name in names {
            self.cluster
                .create_topic(name, partitions, 1)
                .with_context(|| format!("cannot create topic {name} on the mock broker"))?;
        }
        Ok(())
    }

    /// Takes the broker off the network, or brings it back: for tests of what happens while
    /// Kafka is away.
    pub fn set_reachable(&self, reachable: bool) -> anyhow::Result<()> {
        let result = if reachable {
            self.cluster.broker_up(1)
        } else {
            self.cluster.broker_down(1)
        };
        result.context("cannot change the mock broker's state")
    }

    /// The bootstrap servers clients connect to.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}
