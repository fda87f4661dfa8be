use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match ingest::main(ingest::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ingest: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
