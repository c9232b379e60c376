//! Harness for counting instructions under callgrind: runs one decision many times, either
//! through the engine or as a bare Cedar call, inside a function that
//! `scripts/bench-policy.sh` passes to `--toggle-collect`, so set-up is not counted.
//!
//! Usage: decision_cost <engine|bare> <default|sixty> <human-deploy|agent-read> <iterations>

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::process::ExitCode;

use support::{Case, Scenario};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [path, set, scenario, iterations] = arguments.as_slice() else {
        eprintln!(
            "usage: decision_cost <engine|bare> <default|sixty> <human-deploy|agent-read> <iterations>"
        );
        return ExitCode::FAILURE;
    };
    let source = match set.as_str() {
        "default" => policy::default_policies().to_owned(),
        "sixty" => support::sixty_policies(),
        _ => {
            eprintln!("unknown policy set {set:?}: expected default or sixty");
            return ExitCode::FAILURE;
        }
    };
    let Some(scenario) = Scenario::parse(scenario) else {
        eprintln!("unknown scenario {scenario:?}: expected human-deploy or agent-read");
        return ExitCode::FAILURE;
    };
    let Some(iterations) = iterations.parse::<u64>().ok().filter(|count| *count > 0) else {
        eprintln!("invalid iteration count {iterations:?}: expected a positive integer");
        return ExitCode::FAILURE;
    };

    let case = Case::new(scenario, &source);
    // One call outside the measurement loads the shared schema and warms caches.
    let outcome = case.decide();
    let response = case.decide_bare();
    if !outcome.allow || response.decision() != cedar_policy::Decision::Allow {
        eprintln!("the benchmark decision was not allowed: {outcome:?}");
        return ExitCode::FAILURE;
    }
    match path.as_str() {
        "engine" => measured_engine(&case, iterations),
        "bare" => measured_bare(&case, iterations),
        _ => {
            eprintln!("unknown path {path:?}: expected engine or bare");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[inline(never)]
fn measured_engine(case: &Case, iterations: u64) {
    for _ in 0..iterations {
        black_box(case.decide());
    }
}

#[inline(never)]
fn measured_bare(case: &Case, iterations: u64) {
    for _ in 0..iterations {
        black_box(case.decide_bare());
    }
}
