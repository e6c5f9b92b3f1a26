//! `lbctl`: check, explain, test, draw and assemble account configurations.
//!
//! ```text
//! lbctl validate FILE                       every error with its path; exit 1 if any
//! lbctl explain FILE --request JSON [--health JSON] [--json]
//!                                           the decision for one request, step by step
//! lbctl check SCENARIO...                   run scenario files; exit 0 only if every case passes
//! lbctl graph FILE                          Graphviz DOT: hostnames -> load balancers -> pools -> origins
//! lbctl import [--monitors F] [--pools F] [--load-balancers F] [--dns-records F] [--origin-rules F]
//!                                           an account file from Cloudflare API responses
//! ```
//!
//! `--request` takes a request as scenario files write it, such as
//! `{"host": "www.example.com", "path": "/api", "region": "WEU"}`. Every
//! origin is healthy for `explain` unless `--health` says otherwise
//! (`{"origins": {"POOL/ORIGIN": false}}`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use lbsteer::config::{GeoPools, RuleOverrides};
use lbsteer::scenario::{HealthSpec, RequestSpec, Scenario};
use lbsteer::{Account, Router, health::Status};

/// Appends a line to a command's output.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        let _ = writeln!($out, $($arg)*);
    };
}

const USAGE: &str = "usage:
  lbctl validate FILE
  lbctl explain FILE --request JSON [--health JSON] [--json]
  lbctl check SCENARIO...
  lbctl graph FILE
  lbctl import [--monitors FILE] [--pools FILE] [--load-balancers FILE] [--dns-records FILE] [--origin-rules FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = String::new();
    let result = run(&args, &mut out);
    // Exits quietly when stdout is closed (`lbctl ... | head`).
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command, appending what it prints to `out`: `Ok(true)` exits
/// 0, `Ok(false)` exits 1, `Err` (a usage error, or input that cannot be
/// used) is printed to stderr and exits 2.
pub fn run(args: &[String], out: &mut String) -> Result<bool, String> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(&args[1..], out),
        Some("explain") => explain(&args[1..], out),
        Some("check") => check(&args[1..], out),
        Some("graph") => graph(&args[1..], out),
        Some("import") => import(&args[1..], out),
        Some("-h" | "--help" | "help") => {
            say!(out, "{USAGE}");
            Ok(true)
        }
        _ => Err(USAGE.to_string()),
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("{path}: {err}"))
}

fn load(path: &str) -> Result<Account, String> {
    Account::from_json(&read(path)?).map_err(|err| format!("{path}: {err}"))
}

/// `--flag value` pairs, checked against the flags a command knows.
fn flags<'a>(args: &'a [String], known: &[&str], switches: &[&str]) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut out = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if switches.contains(&flag.as_str()) {
            out.push((flag.as_str(), ""));
            continue;
        }
        if !known.contains(&flag.as_str()) {
            return Err(format!("unknown option {flag}\n{USAGE}"));
        }
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        out.push((flag.as_str(), value.as_str()));
    }
    Ok(out)
}

fn validate(args: &[String], out: &mut String) -> Result<bool, String> {
    let [path] = args else { return Err(USAGE.into()) };
    // A scenario file: its account, with paths under `account`.
    let text = read(path)?;
    if let Some(account) = scenario_account(&text) {
        say!(out, "{path}: a scenario file; validating its account (paths below are under `account`)");
        return match Account::from_json(&account) {
            Ok(account) => Ok(report_compile(path, &account, out)),
            Err(err) => {
                say!(out, "{path}: account.{}: {}", err.path, err.message);
                Ok(false)
            }
        };
    }
    let account = match Account::from_json(&text).map_err(|err| format!("{path}: {err}")) {
        Ok(account) => account,
        Err(message) => {
            say!(out, "{message}");
            return Ok(false);
        }
    };
    Ok(report_compile(path, &account, out))
}

/// The account of a scenario file (an object with `account` and `cases`
/// or `expect_config_error`), as JSON text.
fn scenario_account(text: &str) -> Option<String> {
    let serde_json::Value::Object(map) = serde_json::from_str(text).ok()? else { return None };
    let scenario = map.contains_key("cases") || map.contains_key("expect_config_error");
    map.get("account").filter(|_| scenario).map(serde_json::Value::to_string)
}

/// Compiles `account` and prints the result: every error with its path, or
/// a summary and the warnings. Whether it compiled.
fn report_compile(path: &str, account: &Account, out: &mut String) -> bool {
    match lbsteer::Table::compile(account) {
        Ok(table) => {
            say!(
                out,
                "{path}: ok: {} load balancers, {} pools, {} origins, {} routed hostnames",
                table.load_balancers().len(),
                table.pools().len(),
                table.origins().len(),
                table.hostname_count()
            );
            for warning in table.warnings() {
                say!(out, "warning: {warning}");
            }
            true
        }
        Err(err) => {
            for diagnostic in err.diagnostics() {
                say!(out, "{path}: {diagnostic}");
            }
            say!(out, "{} error{}", err.diagnostics().len(), if err.diagnostics().len() == 1 { "" } else { "s" });
            false
        }
    }
}

fn explain(args: &[String], out: &mut String) -> Result<bool, String> {
    let Some((path, rest)) = args.split_first() else { return Err(USAGE.into()) };
    let (mut request, mut health, mut json) = (None, None, false);
    for (flag, value) in flags(rest, &["--request", "--health"], &["--json"])? {
        match flag {
            "--request" => request = Some(RequestSpec::from_json(value).map_err(|e| format!("--request: {e}"))?),
            "--health" => health = Some(HealthSpec::from_json(value).map_err(|e| format!("--health: {e}"))?),
            _ => json = true,
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
    if json {
        let text = serde_json::to_string_pretty(&explanation.report()).map_err(|e| e.to_string())?;
        say!(out, "{text}");
    } else {
        say!(out, "{explanation}");
    }
    Ok(explanation.decision().is_ok())
}

fn check(args: &[String], out: &mut String) -> Result<bool, String> {
    if args.is_empty() {
        return Err(USAGE.into());
    }
    let (mut passed, mut failed) = (0, 0);
    for path in args {
        // A file that cannot be read or parsed is one failure; the other
        // files still run, and the closing line still comes last.
        let text = match read(path) {
            Ok(text) => text,
            Err(message) => {
                say!(out, "{path}\n  FAIL cannot be read: {message}");
                failed += 1;
                continue;
            }
        };
        let report = match Scenario::from_json(&text) {
            Ok(scenario) => scenario.run(),
            Err(err) => {
                say!(out, "{path}\n  FAIL does not parse: {err}");
                failed += 1;
                continue;
            }
        };
        say!(out, "{path}");
        for case in &report.cases {
            if case.passed() {
                say!(out, "  ok   {}", case.name);
            } else {
                say!(out, "  FAIL {}", case.name);
                for failure in &case.failures {
                    for line in failure.lines() {
                        say!(out, "         {line}");
                    }
                }
            }
        }
        passed += report.passed();
        failed += report.failed();
    }
    say!(out, "{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// Graphviz DOT of the account: hostnames (boxes) route to load balancers
/// (double octagons) by CNAME records and Origin Rules; load balancers use
/// pools (default pools numbered in failover order, geo maps labelled, the
/// fallback pool dashed, custom rules dotted); pools contain origins.
fn graph(args: &[String], out: &mut String) -> Result<bool, String> {
    let [path] = args else { return Err(USAGE.into()) };
    let account = load(path)?;
    if let Err(err) = lbsteer::Table::compile(&account) {
        return Err(format!("{path}: {err}"));
    }
    say!(out, "{}", dot(&account));
    Ok(true)
}

fn dot(account: &Account) -> String {
    // A DOT string: backslashes and quotes escaped, line breaks as `\n`
    // (a raw line break inside a quoted ID is not portable).
    let q = |s: &str| {
        let escaped = s.replace('\\', "\\\\").replace('"', "\\\"").replace('\r', "").replace('\n', "\\n");
        format!("\"{escaped}\"")
    };
    // The node of the load balancer named `host` (names match without
    // regard to case), if there is one.
    let lb_node = |host: &str| {
        account.load_balancers.iter().find(|lb| lb.name.eq_ignore_ascii_case(host)).map(|lb| format!("lb:{}", lb.name))
    };
    let mut out = String::from("digraph account {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    let mut hosts = BTreeSet::new();
    for lb in &account.load_balancers {
        let id = q(&format!("lb:{}", lb.name));
        let style = if lb.enabled { "" } else { ", style=dashed" };
        let _ = writeln!(out, "  {id} [label={}, shape=doubleoctagon{style}];", q(&lb.name));
        for (i, pool) in lb.default_pools.iter().enumerate() {
            let _ = writeln!(out, "  {id} -> {} [label=\"{}\"];", q(&format!("pool:{pool}")), i + 1);
        }
        if let Some(fallback) = &lb.fallback_pool {
            let _ = writeln!(out, "  {id} -> {} [label=\"fallback\", style=dashed];", q(&format!("pool:{fallback}")));
        }
        let mut geo = |kind: &str, map: &GeoPools| {
            for (key, pools) in map {
                for pool in pools {
                    let _ = writeln!(
                        out,
                        "  {id} -> {} [label={}, color=gray40];",
                        q(&format!("pool:{pool}")),
                        q(&format!("{kind} {key}"))
                    );
                }
            }
        };
        geo("region", &lb.region_pools);
        geo("country", &lb.country_pools);
        geo("pop", &lb.pop_pools);
        for (r, rule) in lb.rules.iter().enumerate() {
            let RuleOverrides { default_pools, fallback_pool, .. } = &rule.overrides;
            let label = q(&format!("rule: {}", if rule.name.is_empty() { &rule.condition } else { &rule.name }));
            for pool in default_pools.iter().flatten().chain(fallback_pool) {
                let _ = writeln!(out, "  {id} -> {} [label={label}, style=dotted];", q(&format!("pool:{pool}")));
            }
            if let Some(fixed) = &rule.fixed_response {
                let node = q(&format!("fixed:{}:{r}", lb.name));
                let _ = writeln!(
                    out,
                    "  {node} [label={}, shape=note];",
                    q(&format!("{}", fixed.status_code.unwrap_or(200)))
                );
                let _ = writeln!(out, "  {id} -> {node} [label={label}, style=dotted];");
            }
        }
    }
    for record in account.dns_records.iter().filter(|r| r.is_cname()) {
        hosts.insert(record.name.clone());
        let target = lb_node(&record.content).unwrap_or_else(|| {
            hosts.insert(record.content.clone());
            format!("host:{}", record.content)
        });
        let _ = writeln!(out, "  {} -> {} [label=\"CNAME\"];", q(&format!("host:{}", record.name)), q(&target));
    }
    for (i, rule) in account.origin_rules.iter().enumerate() {
        let Some(host) = rule.action_parameters.origin.as_ref().and_then(|o| o.host.as_ref()) else { continue };
        let node = q(&format!("origin_rule:{i}"));
        let _ = writeln!(out, "  {node} [label={}, shape=cds];", q(&format!("origin rule #{i}\n{}", rule.expression)));
        let target = lb_node(host).unwrap_or_else(|| {
            hosts.insert(host.clone());
            format!("host:{host}")
        });
        let _ = writeln!(out, "  {node} -> {} [label=\"resolve override\"];", q(&target));
    }
    for host in &hosts {
        let _ = writeln!(out, "  {} [label={}, shape=box];", q(&format!("host:{host}")), q(host));
    }
    for pool in &account.pools {
        let id = q(&format!("pool:{}", pool.id));
        let label = if pool.name.is_empty() || pool.name == pool.id {
            pool.id.clone()
        } else {
            format!("{}\n({})", pool.name, pool.id)
        };
        let style = if pool.enabled { "" } else { ", style=dashed" };
        let _ = writeln!(out, "  {id} [label={}, shape=folder{style}];", q(&label));
        for origin in &pool.origins {
            let node = q(&format!("origin:{}/{}", pool.id, origin.name));
            let port = if origin.port == 0 { String::new() } else { format!(":{}", origin.port) };
            let _ = writeln!(
                out,
                "  {node} [label={}, shape=ellipse{}];",
                q(&format!("{}\n{}{port}\nweight {}", origin.name, origin.address, origin.weight)),
                if origin.enabled { "" } else { ", style=dashed" }
            );
            let _ = writeln!(out, "  {id} -> {node};");
        }
    }
    out.push('}');
    out
}

/// Builds an account from API responses (list responses, or plain lists),
/// checks that it compiles, and prints it as JSON.
fn import(args: &[String], out: &mut String) -> Result<bool, String> {
    let known = ["--monitors", "--pools", "--load-balancers", "--dns-records", "--origin-rules"];
    let given = flags(args, &known, &[])?;
    if given.is_empty() {
        return Err(USAGE.into());
    }
    let mut document = serde_json::Map::new();
    for (flag, path) in given {
        let key = flag.trim_start_matches("--").replace('-', "_");
        let text = read(path)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))?;
        if let Some(result) = value.get("result")
            && result.is_object()
            && result.get("rules").is_none()
        {
            return Err(format!(
                "{path}: a single-object response; {flag} takes a list response ({{\"result\": [...]}}) or a list"
            ));
        }
        // Each file is read alone, so that an error names it.
        let section = serde_json::json!({ key.as_str(): value });
        // (The line and column would be the rewritten document's, not the
        // file's: leave them out.)
        Account::from_json(&section.to_string()).map_err(|e| format!("{path}: {}: {}", e.path, e.message))?;
        document.insert(key, value);
    }
    let account: Account =
        Account::from_json(&serde_json::Value::Object(document).to_string()).map_err(|e| e.to_string())?;
    let ok = match lbsteer::Table::compile(&account) {
        Ok(table) => {
            for warning in table.warnings() {
                eprintln!("warning: {warning}");
            }
            true
        }
        Err(err) => {
            eprintln!("the imported account does not compile yet:\n{err}");
            false
        }
    };
    let text = serde_json::to_string_pretty(&account).map_err(|e| e.to_string())?;
    say!(out, "{text}");
    Ok(ok)
}
