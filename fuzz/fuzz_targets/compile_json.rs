//! Arbitrary bytes as an account: loading and compiling never panic, and a
//! table that compiles routes its own hostnames without panicking.
#![no_main]

use lbsteer::health::AllHealthy;
use lbsteer::{Account, FastRng, Request, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(account) = Account::from_json_slice(data) else { return };
    let Ok(table) = Table::compile(&account) else { return };
    let mut rng = FastRng::new(data.len() as u64);
    for lb in &account.load_balancers {
        let _ = table.select(&Request::new(&lb.name), &AllHealthy, &mut rng);
        let _ = table.select(&Request::new(&lb.name).client_ip([192, 0, 2, 1].into()), &[false][..], &mut rng);
    }
});
