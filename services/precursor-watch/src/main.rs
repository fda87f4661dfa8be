//! Runs the whole pipeline in one process with nothing to install: librdkafka's in-process mock
//! broker and an SQLite database. Ephemeral, for trying the product; see the README for running
//! the services on Apache Kafka and PostgreSQL.

use clap::Parser as _;

mod demo;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match demo::run(demo::Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("precursor-watch: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
