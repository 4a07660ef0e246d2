//! Serves the example OCF services (see the library docs).
//!
//! It prints `listening on http://ADDR` on its first line of stdout. Started on port 0 with
//! `--registry-out FILE`, it writes a service registry pointing at the port it got, which is how
//! `workflows/run-example.sh` uses it.

use std::net::SocketAddr;

use clap::Parser;
use ocflow_example_services::{registry, router};

/// Command line of the example services.
#[derive(Parser)]
#[command(about = "Example OCF services for the workflows in workflows/")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Write an OCF service registry for the address actually bound to this file.
    #[arg(long)]
    registry_out: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    if let Some(path) = &args.registry_out {
        let text = serde_json::to_string_pretty(&registry(&base)).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")?;
    }
    println!("listening on {base}");
    axum::serve(listener, router()).await
}
