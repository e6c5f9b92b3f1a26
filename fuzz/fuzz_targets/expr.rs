//! Arbitrary text as a Rules-language expression: compiling never panics;
//! a condition that compiles prints a canonical form that compiles to the
//! same canonical form and evaluates the same on an arbitrary request.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use lbsteer::Request;
use lbsteer::expr::{Condition, Context};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    expression: &'a str,
    host: &'a str,
    path: &'a str,
    query: &'a str,
    method: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    ip: Option<[u8; 4]>,
    region: &'a str,
    country: &'a str,
    timestamp: Option<u64>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary(&mut Unstructured::new(data)) else { return };
    let Ok(condition) = Condition::compile(input.expression) else { return };
    let printed = condition.to_string();
    let again =
        Condition::compile(&printed).unwrap_or_else(|e| panic!("canonical form {printed:?} does not compile: {e}"));
    assert_eq!(again.to_string(), printed, "the canonical form is not stable");
    let mut request = Request::new(input.host)
        .path(input.path)
        .query(input.query)
        .method(input.method)
        .headers(&input.headers)
        .region(input.region)
        .country(input.country);
    if let Some(ip) = input.ip {
        request = request.client_ip(ip.into());
    }
    if let Some(t) = input.timestamp {
        request = request.timestamp(t);
    }
    for lb in [None, Some("lb.example.com")] {
        let cx = Context { request: &request, host: input.host, load_balancer: lb };
        assert_eq!(condition.matches(&cx), again.matches(&cx), "{printed}");
    }
});
