//! Origin Rules: `route` rules over the incoming request.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::error::{ConfigPath, Diagnostics, ErrorKind};
use super::load_balancers::compile_condition;
use super::names::{Resolver, parse_hostname};
use crate::config::OriginRule;
use crate::limits;
use crate::table::OriginRuleEntry;

pub(super) fn compile_origin_rules(
    rules: &[OriginRule],
    resolver: &mut Resolver,
    diags: &mut Diagnostics,
) -> Vec<OriginRuleEntry> {
    if rules.len() > limits::ORIGIN_RULES {
        diags.error(
            ConfigPath::root("origin_rules"),
            ErrorKind::TooMany { what: "Origin Rules", count: rules.len(), limit: limits::ORIGIN_RULES },
        );
    }
    let mut out = Vec::with_capacity(rules.len().min(limits::ORIGIN_RULES));
    for (i, rule) in rules.iter().enumerate().take(limits::ORIGIN_RULES) {
        let path = ConfigPath::root("origin_rules").index(i);
        let errors_before = diags.errors.len();
        if let Some(action) = rule.action.as_deref()
            && action != "route"
        {
            diags.error(path.field("action"), ErrorKind::UnknownValue { value: action.into(), expected: &["route"] });
        }
        let condition = compile_condition(&path.field("expression"), &rule.expression, false, diags).flatten();
        let params = &rule.action_parameters;
        let ppath = path.field("action_parameters");
        let text = |value: &Option<alloc::string::String>, field_path: ConfigPath, diags: &mut Diagnostics| {
            let value = value.as_deref()?;
            let value = value.trim();
            if value.is_empty() || value.bytes().any(|b| b.is_ascii_control()) {
                diags.invalid(field_path, "expected a non-empty value without control characters");
                return None;
            }
            Some(Box::<str>::from(value))
        };
        let host_header = text(&params.host_header, ppath.field("host_header"), diags);
        let sni = params
            .sni
            .as_ref()
            .and_then(|sni| text(&Some(sni.value.clone()), ppath.field("sni").field("value"), diags));
        let mut port = None;
        let mut target = None;
        if let Some(origin) = &params.origin {
            if let Some(p) = origin.port {
                if p == 0 {
                    diags.error(
                        ppath.field("origin").field("port"),
                        ErrorKind::OutOfRange { value: "0".into(), expected: "1 to 65535" },
                    );
                } else {
                    port = Some(p);
                }
            }
            if let Some(host) = origin.host.as_deref() {
                match parse_hostname(host, false) {
                    Ok(name) => {
                        let route = resolver.resolve_name(&name.domain, diags);
                        if route.is_none() {
                            diags.warning(
                                ppath.field("origin").field("host"),
                                ErrorKind::Invalid(
                                    alloc::format!(
                                        "{:?} does not route to a load balancer: requests this rule matches get no_load_balancer",
                                        name.domain
                                    )
                                    .into(),
                                ),
                            );
                        }
                        target = Some((Box::from(name.domain.as_str()), route));
                    }
                    Err(reason) => diags.error(
                        ppath.field("origin").field("host"),
                        ErrorKind::InvalidHostname { name: host.into(), reason },
                    ),
                }
            }
        }
        if host_header.is_none() && sni.is_none() && port.is_none() && target.is_none() && params.origin.is_none() {
            diags.warning(path.field("action_parameters"), ErrorKind::Invalid("the rule changes nothing".into()));
        }
        if diags.errors.len() != errors_before || !rule.enabled {
            continue;
        }
        if let Some(condition) = condition {
            out.push(OriginRuleEntry { index: i as u32, condition, host_header, sni, port, target });
        }
    }
    out
}
