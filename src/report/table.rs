//! The human-readable report: one row per case, then the numbers behind each
//! verdict and the reasons for anything that did not pass.

use std::fmt::Write;

use super::Tally;
use crate::model::{CaseResult, Outcome};

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

pub fn render(results: &[CaseResult]) -> String {
    let idw = results.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<idw$}  {:<7}  {:<8}  {:>8}  key observation",
        "id", "outcome", "verdict", "time"
    );
    for r in results {
        let verdict = r
            .verdict
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into());
        let key = if r.key.is_empty() {
            truncate(&r.reason, 70)
        } else {
            truncate(&r.key, 70)
        };
        let _ = writeln!(
            out,
            "{:<idw$}  {:<7}  {:<8}  {:>6}ms  {}",
            r.id,
            r.outcome.to_string(),
            verdict,
            r.duration_ms,
            key
        );
    }
    let _ = writeln!(out, "\nwhy:");
    for r in results {
        let _ = writeln!(out, "  {} [{}]: {}", r.id, r.outcome, r.reason);
        if let Some(p) = &r.pcap {
            let _ = writeln!(out, "    capture: {p}");
        }
        if r.outcome == Outcome::Fail {
            for c in r.failed_checks() {
                let _ = writeln!(
                    out,
                    "    - {}: expected {}, observed {}",
                    c.what, c.expected, c.observed
                );
            }
        }
    }
    let t = Tally::of(results);
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} skipped, {} errors (kernel {})",
        t.passed,
        t.failed,
        t.skipped,
        t.errors,
        super::kernel_release()
    );
    let cpu: f64 = results.iter().map(|r| r.cpu_ms).sum();
    let _ = writeln!(out, "CPU {:.0} ms in all ({} cases)", cpu, results.len());
    out
}
