use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match matcher::main(matcher::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("matcher: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
