//! Runs every scenario file: the conformance suite in `tests/scenarios/`,
//! and the invalid configurations in `tests/bad/`, each of which must be
//! rejected with every error path it lists.

use std::fs;
use std::path::Path;

use lbsteer::scenario::Scenario;

fn run_dir(dir: &str, must_reject: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
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
        if must_reject && !scenario.expects_config_error() {
            failed.push(format!("{name}: a file here must list `expect_config_error`"));
            continue;
        }
        let report = scenario.run();
        cases += report.cases.len();
        passed += report.passed();
        if report.failed() > 0 {
            failed.push(format!("{name}:\n{report}"));
        }
    }
    println!("{}: {} files, {cases} cases, {passed} passed", dir.display(), files.len());
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn conformance_scenarios_pass() {
    run_dir("tests/scenarios", false);
}

#[test]
fn invalid_configurations_are_rejected_with_every_path() {
    run_dir("tests/bad", true);
}
