//! What can be checked of the deployment files without Docker or a cluster: they parse, and they
//! agree with each other and with the services (the admin ports Prometheus scrapes, the binaries
//! the image holds, the files mounted).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

const SERVICES: [(&str, u16); 5] = [
    ("ingest", 9101),
    ("matcher", 9102),
    ("router", 9103),
    ("authorities", 9104),
    ("web-console", 9105),
];

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

fn load(file: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(deploy(file)).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn prometheus_scrapes_the_admin_ports_the_services_use_by_default() {
    let config = &load("prometheus/prometheus.yml")[0];
    for (name, port) in SERVICES {
        let job = config["scrape_configs"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|job| job["job_name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no job {name}"));
        let target = job["static_configs"][0]["targets"][0].as_str().unwrap();
        assert_eq!(target, format!("{name}:{port}"));
        // The service's own default admin port is the same.
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../services/{name}/src/app.rs")),
        )
        .unwrap();
        assert!(
            source.contains(&format!("addr_or({port})")),
            "{name} defaults to {port}"
        );
    }
}

#[test]
fn the_compose_file_runs_each_service_where_prometheus_and_grafana_expect_it() {
    let compose = &load("compose.yaml")[0];
    let dockerfile = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    for (name, port) in SERVICES {
        let service = &compose["services"][name];
        assert!(!service.is_badvalue(), "no service {name}");
        assert_eq!(service["command"][0].as_str(), Some(name));
        assert!(
            dockerfile.contains(&format!("target/release/{name}")),
            "{name} in the image"
        );
        let admin = service["environment"]["PW_ADMIN_ADDR"].as_str().unwrap();
        assert_eq!(port_of(admin), port, "{name}");
    }
    for service in ["kafka", "postgres", "prometheus", "grafana"] {
        assert!(!compose["services"][service].is_badvalue(), "no {service}");
    }
    // Every file mounted from the repository exists.
    for service in compose["services"].as_hash().unwrap().values() {
        for volume in service["volumes"].as_vec().into_iter().flatten() {
            let source = volume.as_str().unwrap().split(':').next().unwrap();
            if source.starts_with("./") {
                assert!(deploy(source).exists(), "{source} is mounted but missing");
            }
        }
    }
}

#[test]
fn each_kubernetes_deployment_is_scraped_and_probed_on_its_admin_port() {
    let documents = load("kubernetes/precursor-watch.yaml");
    let deployments: Vec<&Yaml> = documents
        .iter()
        .filter(|document| document["kind"].as_str() == Some("Deployment"))
        .collect();
    assert_eq!(deployments.len(), SERVICES.len());
    for (name, port) in SERVICES {
        let deployment = deployments
            .iter()
            .find(|d| d["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no Deployment {name}"));
        let template = &deployment["spec"]["template"];
        let annotation = template["metadata"]["annotations"]["prometheus.io/port"]
            .as_str()
            .unwrap();
        assert_eq!(annotation.parse::<u16>().unwrap(), port, "{name}");
        let container = &template["spec"]["containers"][0];
        assert_eq!(container["args"][0].as_str(), Some(name));
        let admin_env = container["env"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|env| env["name"].as_str() == Some("PW_ADMIN_ADDR"))
            .unwrap();
        assert_eq!(port_of(admin_env["value"].as_str().unwrap()), port);
        let admin_port = container["ports"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some("admin"))
            .unwrap();
        assert_eq!(admin_port["containerPort"].as_i64(), Some(i64::from(port)));
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"].as_str(),
            Some("/readyz")
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"].as_str(),
            Some("/healthz")
        );
    }
}

/// `name=http://host:port` entries of a PW_CONSOLE_SERVICES value, as (name, port).
fn console_targets(value: &str) -> Vec<(String, u16)> {
    value
        .split(',')
        .map(|entry| {
            let (name, url) = entry.split_once('=').unwrap();
            (name.to_owned(), port_of(url))
        })
        .collect()
}

#[test]
fn the_console_watches_every_service_on_its_admin_port() {
    let watched: Vec<(String, u16)> = SERVICES
        .iter()
        .filter(|(name, _)| *name != "web-console")
        .map(|(name, port)| ((*name).to_owned(), *port))
        .collect();
    let compose = &load("compose.yaml")[0];
    let value = compose["services"]["web-console"]["environment"]["PW_CONSOLE_SERVICES"]
        .as_str()
        .unwrap();
    assert_eq!(console_targets(value), watched, "compose");

    let documents = load("kubernetes/precursor-watch.yaml");
    let console = documents
        .iter()
        .find(|document| {
            document["kind"].as_str() == Some("Deployment")
                && document["metadata"]["name"].as_str() == Some("web-console")
        })
        .unwrap();
    let env = console["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_vec()
        .unwrap();
    let value = env
        .iter()
        .find(|entry| entry["name"].as_str() == Some("PW_CONSOLE_SERVICES"))
        .unwrap()["value"]
        .as_str()
        .unwrap();
    assert_eq!(console_targets(value), watched, "kubernetes");
    // Each host is a Service of the manifest that selects that service's pods on its admin port.
    for entry in value.split(',') {
        let (name, url) = entry.split_once('=').unwrap();
        // Every pod, through a headless Service that lists the not-ready ones too.
        let host = url
            .strip_prefix("dns://")
            .unwrap_or_else(|| panic!("{url}: the console discovers the pods"))
            .split(':')
            .next()
            .unwrap();
        let service = documents
            .iter()
            .find(|document| {
                document["kind"].as_str() == Some("Service")
                    && document["metadata"]["name"].as_str() == Some(host)
            })
            .unwrap_or_else(|| panic!("no Service {host}"));
        assert_eq!(
            service["spec"]["selector"]["app.kubernetes.io/name"].as_str(),
            Some(name)
        );
        assert_eq!(
            service["spec"]["ports"][0]["port"].as_i64(),
            Some(i64::from(port_of(url)))
        );
        assert_eq!(service["spec"]["clusterIP"].as_str(), Some("None"));
        assert_eq!(
            service["spec"]["publishNotReadyAddresses"].as_bool(),
            Some(true)
        );
    }
}
