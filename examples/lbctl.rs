//! `lbctl`: check, explain and test an account configuration.
//!
//! ```text
//! lbctl validate FILE                       every error with its path; exit 1 if any
//! lbctl explain FILE --request JSON [--health JSON]
//!                                           the decision for one request, step by step
//! lbctl check SCENARIO...                   run scenario files; exit 0 only if every case passes
//! ```
//!
//! `--request` takes a request as scenario files write it, such as
//! `{"host": "www.example.com", "path": "/api", "region": "WEU"}`. Every
//! origin is healthy for `explain` unless `--health` says otherwise
//! (`{"origins": {"POOL/ORIGIN": false}}`).

use std::io::Write;
use std::process::ExitCode;

use lbsteer::scenario::{HealthSpec, RequestSpec, Scenario};
use lbsteer::{Account, Router, health::Status};

/// Prints a line; exits quietly when stdout is closed (`lbctl ... | head`).
macro_rules! say {
    ($($arg:tt)*) => {
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

const USAGE: &str = "usage:
  lbctl validate FILE
  lbctl explain FILE --request JSON [--health JSON]
  lbctl check SCENARIO...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("validate") => validate(&args[1..]),
        Some("explain") => explain(&args[1..]),
        Some("check") => check(&args[1..]),
        Some("-h" | "--help" | "help") => {
            say!("{USAGE}");
            Ok(true)
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("{path}: {err}"))
}

fn load(path: &str) -> Result<Account, String> {
    Account::from_json(&read(path)?).map_err(|err| format!("{path}: {err}"))
}

fn validate(args: &[String]) -> Result<bool, String> {
    let [path] = args else { return Err(USAGE.into()) };
    let account = match load(path) {
        Ok(account) => account,
        Err(message) => {
            say!("{message}");
            return Ok(false);
        }
    };
    match lbsteer::Table::compile(&account) {
        Ok(table) => {
            say!(
                "{path}: ok: {} load balancers, {} pools, {} origins, {} routed hostnames",
                table.load_balancers().len(),
                table.pools().len(),
                table.origins().len(),
                table.hostname_count()
            );
            for warning in table.warnings() {
                say!("warning: {warning}");
            }
            Ok(true)
        }
        Err(err) => {
            for diagnostic in err.diagnostics() {
                say!("{path}: {diagnostic}");
            }
            say!("{} error{}", err.diagnostics().len(), if err.diagnostics().len() == 1 { "" } else { "s" });
            Ok(false)
        }
    }
}

fn explain(args: &[String]) -> Result<bool, String> {
    let Some((path, rest)) = args.split_first() else { return Err(USAGE.into()) };
    let mut request = None;
    let mut health = None;
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--request" => request = Some(RequestSpec::from_json(value).map_err(|e| format!("--request: {e}"))?),
            "--health" => health = Some(HealthSpec::from_json(value).map_err(|e| format!("--health: {e}"))?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let request = request.ok_or_else(|| format!("--request is required\n{USAGE}"))?;
    let router = Router::new(&load(path)?).map_err(|err| format!("{path}: {err}"))?;
    let problems = router.with_health(|registry| {
        registry.set_all(Status::Healthy);
        health.map(|h| h.apply(registry)).unwrap_or_default()
    });
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let owned = request.to_owned_request();
    let explanation = router.explain(&owned.request(None));
    say!("{}", explanation.display(&router.snapshot()));
    Ok(explanation.decision().is_ok())
}

fn check(args: &[String]) -> Result<bool, String> {
    if args.is_empty() {
        return Err(USAGE.into());
    }
    let (mut passed, mut failed) = (0, 0);
    for path in args {
        let report = match Scenario::from_json(&read(path)?) {
            Ok(scenario) => scenario.run(),
            Err(err) => {
                say!("{path}: does not parse: {err}");
                failed += 1;
                continue;
            }
        };
        say!("{path}");
        for line in report.to_string().lines().filter(|l| !l.ends_with(" failed")) {
            say!("  {line}");
        }
        passed += report.passed();
        failed += report.failed();
    }
    say!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}
