//! The connection pool's state as Prometheus gauges, read when scraped.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Opts};

use crate::Store;

/// Exports `db_connections_open` and `db_connections_idle` of a store's pool.
struct PoolCollector {
    store: Store,
    open: IntGauge,
    idle: IntGauge,
}

impl PoolCollector {
    fn new(store: Store) -> prometheus::Result<Self> {
        Ok(Self {
            store,
            open: IntGauge::with_opts(Opts::new(
                "db_connections_open",
                "Database connections open in the pool",
            ))?,
            idle: IntGauge::with_opts(Opts::new(
                "db_connections_idle",
                "Database connections open and idle in the pool",
            ))?,
        })
    }
}

impl Store {
    /// Exports this store's pool on `registry` (`db_connections_open`, `db_connections_idle`).
    pub fn register_metrics(&self, registry: &prometheus::Registry) -> anyhow::Result<()> {
        registry
            .register(Box::new(PoolCollector::new(self.clone())?))
            .map_err(|error| anyhow::anyhow!("cannot register the database pool metrics: {error}"))
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.open
            .desc()
            .into_iter()
            .chain(self.idle.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.open.set(i64::from(self.store.pool.size()));
        self.idle
            .set(i64::try_from(self.store.pool.num_idle()).unwrap_or(i64::MAX));
        let mut families = self.open.collect();
        families.extend(self.idle.collect());
        families
    }
}
