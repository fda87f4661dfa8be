//! Reference data updated without a restart: the matcher watches its reference file and swaps
//! in a new engine when the content changes; every result records the version it used.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus::IntCounterVec;
use tokio_util::sync::CancellationToken;

use screening::Engine;
use screening::ReferenceData;

/// The engine in use, replaced as a whole when the reference data changes.
pub type SharedEngine = Arc<ArcSwap<Engine>>;

/// Polls `path` every `interval`; a new, valid content replaces the engine. An invalid file is
/// logged and counted, and the engine in use stays.
pub async fn watch(
    path: PathBuf,
    engine: SharedEngine,
    interval: Duration,
    reloads: IntCounterVec,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // A version that failed to load is not tried again until the file changes.
    let mut refused: Option<String> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the reference data");
                continue;
            }
        };
        let version = ReferenceData::version_of(&text);
        if version == engine.load().version() || refused.as_ref() == Some(&version) {
            continue;
        }
        let built =
            tokio::task::spawn_blocking(move || Engine::new(ReferenceData::from_csv(&text)?))
                .await?;
        match built {
            Ok(new) => {
                let old = engine.load().version().to_owned();
                tracing::info!(from = old, to = new.version(), path = %path.display(), "reference data reloaded");
                engine.store(Arc::new(new));
                reloads.with_label_values(&["ok"]).inc();
            }
            Err(error) => {
                tracing::error!(path = %path.display(), error = format!("{error:#}"), "invalid reference data, keeping the version in use");
                reloads.with_label_values(&["invalid"]).inc();
                refused = Some(version);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Opts;

    #[tokio::test]
    async fn a_changed_file_replaces_the_engine_and_an_invalid_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("substances.csv");
        let header = "id,name,synonyms,cas,hs_code,un1988_table,eu_category,us_dea_list,us_threshold,notes,source\n";
        std::fs::write(
            &path,
            format!("{header}acetone,Acetone,,67-64-1,,II,3,,,,\n"),
        )
        .unwrap();
        let first =
            Engine::new(ReferenceData::from_csv(&std::fs::read_to_string(&path).unwrap()).unwrap())
                .unwrap();
        let first_version = first.version().to_owned();
        let engine: SharedEngine = Arc::new(ArcSwap::from_pointee(first));
        let reloads = IntCounterVec::new(Opts::new("reloads", "reloads"), &["result"]).unwrap();
        let shutdown = CancellationToken::new();
        let watcher = tokio::spawn(watch(
            path.clone(),
            engine.clone(),
            Duration::from_millis(20),
            reloads.clone(),
            shutdown.clone(),
        ));

        std::fs::write(
            &path,
            format!(
                "{header}acetone,Acetone,,67-64-1,,II,3,,,,\ntoluene,Toluene,,108-88-3,,II,3,,,,\n"
            ),
        )
        .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while engine.load().version() == first_version {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the new data was not picked up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(engine.load().substances().len(), 2);
        let second_version = engine.load().version().to_owned();

        std::fs::write(&path, format!("{header}bad,Bad,,108-24-8,,I,,,,,\n")).unwrap();
        while reloads.with_label_values(&["invalid"]).get() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the invalid data was not noticed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(engine.load().version(), second_version);
        shutdown.cancel();
        watcher.await.unwrap().unwrap();
    }
}
