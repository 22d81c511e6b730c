//! A hanging case is killed at its own deadline and reported as an error that
//! names what it was waiting for; a panicking case is an error too; the rest of
//! the run goes on and ends in bounded time.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

#[test]
fn hang_and_panic_are_errors_and_the_run_goes_on() {
    let t = Instant::now();
    let o = Command::new(common::exe())
        .env("SOCKSPEC_SELFTEST", "1")
        .args([
            "run",
            "--format",
            "json",
            "selftest.hang",
            "selftest.panic",
            "waitall.fills_buffer",
        ])
        .output()
        .expect("run");
    let took = t.elapsed();
    assert_eq!(Some(1), o.status.code());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let got: Vec<(String, String)> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").into(),
                c["outcome"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("waitall.fills_buffer", "pass"),
        ("selftest.hang", "error"),
        ("selftest.panic", "error"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(want, got);
    // Reports follow catalogue order; the self-test cases come last.
    let hang_reason = v["cases"][1]["reason"].as_str().unwrap_or("");
    assert!(
        hang_reason.contains("selftest.hang") && hang_reason.contains("watchdog"),
        "{hang_reason}"
    );
    assert!(
        hang_reason.contains("waiting for a packet nobody sends"),
        "{hang_reason}"
    );
    assert!(v["cases"][2]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("deliberate panic"));
    // The hang's deadline is 2 s: the run must not wait much longer.
    assert!(took < Duration::from_secs(10), "the run took {took:?}");
}

#[test]
fn selftest_cases_are_hidden_without_the_switch() {
    let o = Command::new(common::exe())
        .env_remove("SOCKSPEC_SELFTEST")
        .args(["list"])
        .output()
        .expect("list");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("selftest."));
}
