//! Serving a service's public HTTP API, over TLS when a certificate and key are configured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;

use crate::Shutdown;

/// Default of `--read-timeout-seconds`.
const READ_TIMEOUT_SECONDS: u64 = 30;

/// HTTP settings of a public API: HTTPS, and how long a client may take to send a request.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Certificate chain (PEM) for HTTPS; with `--tls-key`, the API is served over TLS only.
    #[arg(long = "tls-cert", env = "PW_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of the certificate.
    #[arg(long = "tls-key", env = "PW_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (then the connection is closed), and
    /// again to send its body (then it is answered 408), so that stalled uploads cannot hold
    /// the server's capacity.
    #[arg(
        long = "read-timeout-seconds",
        env = "PW_READ_TIMEOUT_SECONDS",
        default_value_t = READ_TIMEOUT_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub read_timeout_seconds: u64,
}

impl Default for HttpArgs {
    fn default() -> Self {
        Self {
            tls_cert: None,
            tls_key: None,
            read_timeout_seconds: READ_TIMEOUT_SECONDS,
        }
    }
}

impl HttpArgs {
    /// How long a client has to send a request's headers, and again its body.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_secs(self.read_timeout_seconds.max(1))
    }
}

/// A bound public API: plain HTTP, or HTTPS only.
pub struct HttpServer {
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    read_timeout: Duration,
    name: &'static str,
}

impl HttpServer {
    /// Loads the certificate (if any) and binds `addr`; `name` says which API in errors and logs
    /// ("company API").
    pub async fn bind(
        addr: SocketAddr,
        args: &HttpArgs,
        name: &'static str,
    ) -> anyhow::Result<Self> {
        let read_timeout = args.read_timeout();
        let tls = match (&args.tls_cert, &args.tls_key) {
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
            read_timeout,
            name,
        })
    }

    /// How long a client has to send a request's headers, and again its body.
    pub fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    /// The bound address.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves `router` until shutdown, letting requests under way finish (for up to 10 s).
    /// A connection whose request headers do not arrive within the read timeout is closed.
    pub fn spawn(self, shutdown: &Shutdown, router: axum::Router) -> anyhow::Result<()> {
        let token = shutdown.token();
        let name = self.name;
        let listener = self.listener.into_std()?;
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            token.cancelled().await;
            stopper.graceful_shutdown(Some(Duration::from_secs(10)));
        });
        // Handlers may ask for the client's address (ConnectInfo<SocketAddr>).
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let read_timeout = self.read_timeout;
        let limit_headers = move |builder: &mut hyper_util::server::conn::auto::Builder<_>| {
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(read_timeout);
        };
        match self.tls {
            None => {
                let mut server = axum_server::from_tcp(listener)
                    .with_context(|| format!("cannot serve the {name}"))?;
                limit_headers(server.http_builder());
                shutdown.spawn("http", async move {
                    server
                        .handle(handle)
                        .serve(service)
                        .await
                        .with_context(|| format!("{name} failed"))
                });
            }
            Some(tls) => {
                let mut server = axum_server::from_tcp_rustls(listener, tls)
                    .with_context(|| format!("cannot serve the {name} over TLS"))?;
                limit_headers(server.http_builder());
                shutdown.spawn("https", async move {
                    server
                        .handle(handle)
                        .serve(service)
                        .await
                        .with_context(|| format!("{name} failed"))
                });
            }
        }
        Ok(())
    }
}
