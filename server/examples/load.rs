//! A closed-loop HTTP load generator for `scripts/load-decisions.sh`: `concurrency` workers
//! send requests back to back for `seconds`, then it prints one JSON line with the counts.
//!
//! Usage: `load <url> <seconds> <concurrency> [<bearer token> <json body file>]`. With a token
//! and body it POSTs the body; without, it GETs the URL.

#![allow(
    clippy::unwrap_used,
    reason = "a measurement tool that should stop at any surprise"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && args.len() != 6 {
        eprintln!("usage: load <url> <seconds> <concurrency> [<bearer token> <json body file>]");
        std::process::exit(2);
    }
    let url = args[1].clone();
    let seconds: u64 = args[2].parse().expect("seconds is a whole number");
    let concurrency: usize = args[3].parse().expect("concurrency is a whole number");
    let post = if args.len() == 6 {
        let body = std::fs::read(&args[5]).expect("the body file is readable");
        Some((args[4].clone(), body))
    } else {
        None
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let post = post.clone();
        let ok = ok.clone();
        let failed = failed.clone();
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let request = match &post {
                    Some((token, body)) => client
                        .post(&url)
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .body(body.clone()),
                    None => client.get(&url),
                };
                let success = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        response.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if success {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "{{\"ok\": {ok}, \"failed\": {}, \"seconds\": {elapsed:.3}, \"per_second\": {:.1}}}",
        failed.load(Ordering::Relaxed),
        ok as f64 / elapsed
    );
}
