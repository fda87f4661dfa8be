use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match web_console::main(web_console::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("web-console: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
