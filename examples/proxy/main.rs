//! A reverse proxy that steers with lbsteer: tokio + hyper 1, about as
//! small as a real one gets.
//!
//! ```text
//! cargo run --example proxy -- --demo
//! cargo run --example proxy -- CONFIG.json [--listen 127.0.0.1:8080] [--region WNAM] [--access-log] [--debug-headers]
//! ```
//!
//! `--demo` starts three small HTTP backends on loopback, writes the
//! bundled account (`examples/demo.json`) with their ports to a temporary
//! file, runs the proxy on a free port and prints `curl` commands to try.
//!
//! What to look at, by file:
//!
//! - `proxy.rs`: the request path. Build the request view ([`lbsteer::Request`]
//!   borrowing hyper's parts: host, method, path, query, headers, cookies,
//!   client IP), call `select_origin`, then forward to
//!   `selection.address():selection.port()` with `selection.host_header()`,
//!   or serve the fixed response. The in-flight guard
//!   (`selection.begin_request()`) lives until the response body is
//!   streamed, for `least_outstanding_requests`. A connection failure is
//!   retried once; the places where session affinity and zero-downtime
//!   failover plug in are marked.
//! - `probes.rs`: the health checks. The router's checker says which probe
//!   is due and when; HTTP and TCP probes run concurrently and report their
//!   outcome and RTT; transitions are logged.
//! - `reload.rs`: the config file is watched (and `SIGHUP` handled); a
//!   reload swaps the table atomically, and a rejected one is logged with
//!   every error path while the old table keeps serving.
//! - `app.rs`: the wiring; `demo.rs`: the demo backends.
//!
//! The proxy listens and connects over plain HTTP/1.1: put TLS in front of
//! it, and give the client a TLS connector (using `selection.sni()`) to
//! reach HTTPS origins.

mod app;
mod demo;
mod probes;
mod proxy;
mod reload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use app::{Options, log};
use lbsteer::geo::Region;

const USAGE: &str = "usage:
  proxy --demo [--listen ADDR]
  proxy CONFIG.json [--listen ADDR] [--region CODE] [--access-log] [--debug-headers]

  --listen ADDR     where to listen (default 127.0.0.1:8080; the demo picks a free port)
  --region CODE     the region this proxy runs in, for geo steering (WNAM, WEU, ...)
  --access-log      log every request
  --debug-headers   add an x-lbsteer response header naming the pool and origin";

/// What the command line asks for.
struct Command {
    config: Option<PathBuf>,
    demo: bool,
    options: Options,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut command = Command { config: None, demo: false, options: Options::default() };
    let mut listen = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--demo" => command.demo = true,
            "--listen" => {
                let text = value("--listen")?;
                listen = Some(text.parse::<SocketAddr>().map_err(|err| format!("--listen {text}: {err}"))?);
            }
            "--region" => {
                let text = value("--region")?;
                let region = Region::parse(text).ok_or_else(|| format!("--region {text}: not a region code"))?;
                command.options.region = Some(region);
            }
            "--access-log" => command.options.access_log = true,
            "--debug-headers" => command.options.debug_headers = true,
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            path if command.config.is_none() => command.config = Some(PathBuf::from(path)),
            _ => return Err(USAGE.into()),
        }
    }
    match (&command.config, command.demo) {
        (None, false) => return Err(USAGE.into()),
        (Some(_), true) => return Err(format!("--demo brings its own config\n{USAGE}")),
        _ => {}
    }
    command.options.listen = match listen {
        Some(listen) => listen,
        None if command.demo => SocketAddr::from(([127, 0, 0, 1], 0)),
        None => command.options.listen,
    };
    Ok(command)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };

    // Keep what is running alive until Ctrl-C; dropping it stops it.
    let _running = if command.demo {
        match demo::start(command.options).await {
            Ok(demo) => {
                println!("{}", demo.instructions());
                Box::new(demo) as Box<dyn Send>
            }
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let config = command.config.unwrap_or_default();
        match app::start(config, command.options).await {
            Ok(running) => Box::new(running),
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        }
    };

    match tokio::signal::ctrl_c().await {
        Ok(()) => log!("Ctrl-C: stopping"),
        Err(err) => log!("cannot wait for Ctrl-C ({err}): stopping"),
    }
    ExitCode::SUCCESS
}
