use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match authorities::main(authorities::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("authorities: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
