//! Wall-time benchmark of one decision: the engine's path against a bare Cedar call, on the
//! default policy set and on a 60-policy set. Run with `cargo bench -p policy`.

mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use support::{Case, Scenario};

fn decisions(criterion: &mut Criterion) {
    let sets = [
        ("default", policy::default_policies().to_owned()),
        ("sixty", support::sixty_policies()),
    ];
    for (set_name, source) in &sets {
        let mut group = criterion.benchmark_group(format!("decide/{set_name}"));
        for scenario in Scenario::ALL {
            let case = Case::new(scenario, source);
            assert!(case.decide().allow, "{scenario:?} should be allowed");
            group.bench_function(format!("{}/engine", scenario.name()), |bencher| {
                bencher.iter(|| black_box(case.decide()))
            });
            group.bench_function(format!("{}/bare-cedar", scenario.name()), |bencher| {
                bencher.iter(|| black_box(case.decide_bare()))
            });
        }
        group.finish();
    }
}

fn parsing(criterion: &mut Criterion) {
    let body = serde_json::json!({
        "principal": "0b8f6a9e-1d2c-4e5f-8a7b-6c5d4e3f2a1b",
        "action": "deploy",
        "resource": "payments-api",
        "context": {
            "device": { "managed": true, "compliant": true, "disk_encrypted": true },
            "risk_score": 15,
            "geo": { "country": "DE", "ip": "203.0.113.7" },
            "time": "2026-12-04T10:00:00Z",
            "mfa": true,
            "sensitivity": "high"
        }
    });
    criterion.bench_function("query/from_json", |bencher| {
        bencher.iter(|| black_box(policy::Query::from_json(black_box(&body))))
    });
}

criterion_group!(benches, decisions, parsing);
criterion_main!(benches);
