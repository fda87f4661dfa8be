use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match router::main(router::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("router: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
