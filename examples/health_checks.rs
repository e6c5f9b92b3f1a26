//! A host running lbsteer's health checks for real: TCP probes with the
//! standard library, on the real clock, for a few seconds.
//!
//! Two origins listen on localhost ports this example picks: one accepts
//! connections, the other refuses them. The router's checker says which
//! probe is due; the loop performs it and reports the outcome; decisions
//! follow.
//!
//! ```text
//! cargo run --example health_checks
//! ```

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use lbsteer::health::{CheckerConfig, Failure, Outcome, Probe, Timestamp};
use lbsteer::{Decision, Request, Router};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An origin that accepts connections, and a port nobody listens on.
    let up = TcpListener::bind("127.0.0.1:0")?;
    let down_port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let config = format!(
        r#"{{
        "monitors": [{{"id": "tcp", "type": "tcp", "interval": 1, "timeout": 1, "retries": 1}}],
        "pools": [{{"id": "local", "name": "local", "monitor": "tcp", "origins": [
            {{"name": "up", "address": "127.0.0.1", "port": {}}},
            {{"name": "down", "address": "127.0.0.1", "port": {down_port}}}]}}],
        "load_balancers": [{{"name": "app.example.com", "default_pools": ["local"], "fallback_pool": "local"}}]
    }}"#,
        up.local_addr()?.port()
    );
    let router = Router::from_json(&config)?;
    router.enable_health_checks(CheckerConfig::default());

    let epoch = Instant::now();
    let now = || Timestamp::from_instant(epoch, Instant::now());
    while epoch.elapsed() < Duration::from_secs(3) {
        // Perform every probe that is due. A real host runs them
        // concurrently and reports each as it finishes.
        while let Some(probe) = router.poll_probe(now()) {
            let outcome = tcp_probe(&probe);
            router.handle_probe_result(probe.id(), outcome, now())?;
        }
        while let Some(event) = router.poll_health_event() {
            println!("{:>6}  {event}", now().to_string());
        }
        // Sleep until the next probe is due.
        if let Some(next) = router.poll_timeout() {
            std::thread::sleep(next.to_instant(epoch).saturating_duration_since(Instant::now()));
        }
    }

    match router.select_origin(&Request::new("app.example.com"))? {
        Decision::Origin(selection) => {
            println!("app.example.com -> {} ({}:{})", selection.origin().name(), selection.address(), selection.port())
        }
        Decision::Respond(response) => println!("fixed response {}", response.status_code()),
    }
    println!("pool local is {}", router.pool_status("local").map_or("gone", |s| s.as_str()));
    Ok(())
}

/// A TCP monitor's probe: connect within the timeout.
fn tcp_probe(probe: &Probe) -> Outcome<'static> {
    let Ok(ip) = probe.address().parse() else { return Outcome::failed(Failure::Dns) };
    let started = Instant::now();
    match TcpStream::connect_timeout(&SocketAddr::new(ip, probe.port()), probe.timeout()) {
        Ok(_) => Outcome::success().with_rtt(started.elapsed()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::timeout(),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Outcome::failed(Failure::ConnectionRefused),
        Err(_) => Outcome::failed(Failure::Other),
    }
}
