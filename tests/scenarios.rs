//! Runs every scenario file in `tests/scenarios/`: the conformance suite.

use std::fs;
use std::path::Path;

use lbsteer::scenario::Scenario;

#[test]
fn every_scenario_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert!(!files.is_empty());
    let mut failed = Vec::new();
    let (mut passed, mut cases) = (0, 0);
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = match Scenario::from_json(&text) {
            Ok(scenario) => scenario,
            Err(err) => {
                failed.push(format!("{name}: does not parse: {err}"));
                continue;
            }
        };
        let report = scenario.run();
        cases += report.cases.len();
        passed += report.passed();
        if report.failed() > 0 {
            failed.push(format!("{name}:\n{report}"));
        }
    }
    println!("{} files, {cases} cases, {passed} passed", files.len());
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
