//! Serving a service's public HTTP API, over TLS when a certificate and key are configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

use crate::Shutdown;

/// HTTPS settings of a public API.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Certificate chain (PEM) for HTTPS; with `--tls-key`, the API is served over TLS only.
    #[arg(long = "tls-cert", env = "PW_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of the certificate.
    #[arg(long = "tls-key", env = "PW_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// A bound public API: plain HTTP, or HTTPS only.
pub struct HttpServer {
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    name: &'static str,
}

impl HttpServer {
    /// Loads the certificate (if any) and binds `addr`; `name` says which API in errors and logs
    /// ("company API").
    pub async fn bind(addr: SocketAddr, tls: &TlsArgs, name: &'static str) -> anyhow::Result<Self> {
        let tls = match (&tls.tls_cert, &tls.tls_key) {
            (Some(cert), Some(key)) => {
                // One crypto provider for the process; a second install is a no-op.
                let _ = rustls::crypto::ring::default_provider().install_default();
                Some(
                    RustlsConfig::from_pem_file(cert, key)
                        .await
                        .with_context(|| {
                            format!(
                        "cannot load the TLS certificate {} and key {} (--tls-cert, --tls-key)",
                        cert.display(),
                        key.display()
                    )
                        })?,
                )
            }
            (None, None) => None,
            (Some(_), None) => anyhow::bail!("--tls-cert needs --tls-key"),
            (None, Some(_)) => anyhow::bail!("--tls-key needs --tls-cert"),
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind the {name} to {addr} (--http-addr)"))?;
        Ok(Self {
            listener,
            tls,
            name,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves `router` until shutdown, letting requests under way finish.
    pub fn spawn(self, shutdown: &Shutdown, router: axum::Router) -> anyhow::Result<()> {
        let token = shutdown.token();
        let name = self.name;
        match self.tls {
            None => {
                let listener = self.listener;
                shutdown.spawn("http", async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(async move { token.cancelled().await })
                        .await
                        .with_context(|| format!("{name} failed"))
                });
            }
            Some(tls) => {
                let listener = self.listener.into_std()?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                shutdown.spawn("https", async move {
                    tokio::spawn(async move {
                        token.cancelled().await;
                        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
                    });
                    axum_server::from_tcp_rustls(listener, tls)
                        .with_context(|| format!("cannot serve the {name} over TLS"))?
                        .handle(handle)
                        .serve(router.into_make_service())
                        .await
                        .with_context(|| format!("{name} failed"))
                });
            }
        }
        Ok(())
    }
}
