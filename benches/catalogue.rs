//! `cargo bench` (or scripts/bench.sh): wall time of the full catalogue run,
//! the longest single case, and the sandbox's per-case overhead next to
//! `unshare -n true`. Prints figures; asserts nothing (targets are read by
//! people, not enforced by a timed test).

use std::process::Command;
use std::time::{Duration, Instant};

use sockspec::runner::{self, RunOptions};

const OVERHEAD_SAMPLES: u32 = 20;

fn mean(samples: &[Duration]) -> f64 {
    samples.iter().map(|d| d.as_secs_f64() * 1e3).sum::<f64>() / samples.len().max(1) as f64
}

fn main() {
    // The no-op self-test case measures the sandbox alone.
    std::env::set_var("SOCKSPEC_SELFTEST", "1");
    let opts = RunOptions::new(env!("CARGO_BIN_EXE_sockspec"));
    let catalogue: Vec<_> = sockspec::cases::all()
        .into_iter()
        .filter(|c| !c.id.starts_with("selftest."))
        .collect();

    let t = Instant::now();
    let results = runner::run_all(&catalogue, &opts);
    let wall = t.elapsed();
    let longest = results
        .iter()
        .max_by_key(|r| r.duration_ms)
        .expect("at least one case");
    let not_passed: Vec<_> = results
        .iter()
        .filter(|r| r.outcome != sockspec::model::Outcome::Pass)
        .collect();

    let noop = sockspec::cases::find("selftest.noop").expect("selftest.noop");
    let sandbox: Vec<Duration> = (0..OVERHEAD_SAMPLES)
        .map(|_| {
            let t = Instant::now();
            runner::run_one(noop, &opts);
            t.elapsed()
        })
        .collect();
    let unshare_args: &[&str] = if nix::unistd::geteuid().is_root() {
        &["-n", "true"]
    } else {
        &["-rn", "true"]
    };
    let unshare: Vec<Duration> = (0..OVERHEAD_SAMPLES)
        .map(|_| {
            let t = Instant::now();
            let _ = Command::new("unshare").args(unshare_args).status();
            t.elapsed()
        })
        .collect();

    println!(
        "sockspec benchmark (kernel {}, {} cases)",
        sockspec::report::kernel_release(),
        results.len()
    );
    println!(
        "  full run, all cases in parallel   {:>9.1} ms",
        wall.as_secs_f64() * 1e3
    );
    println!(
        "  longest case ({:<28}) {:>6} ms",
        longest.id, longest.duration_ms
    );
    println!(
        "  full run / longest case           {:>9.2} x",
        wall.as_secs_f64() * 1e3 / longest.duration_ms.max(1) as f64
    );
    println!(
        "  sum of case durations             {:>9} ms",
        results.iter().map(|r| r.duration_ms).sum::<u64>()
    );
    println!(
        "  sandbox per case (no-op case)     {:>9.2} ms (mean of {OVERHEAD_SAMPLES})",
        mean(&sandbox)
    );
    println!(
        "  unshare {} true                  {:>9.2} ms (mean of {OVERHEAD_SAMPLES})",
        unshare_args[0],
        mean(&unshare)
    );
    if !not_passed.is_empty() {
        println!(
            "  cases that did not pass: {}",
            not_passed
                .iter()
                .map(|r| format!("{} ({})", r.id, r.outcome))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
