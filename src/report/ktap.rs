//! KTAP output as kselftest prints it: a version line, the plan, one `ok` /
//! `not ok` line per case, `# SKIP reason` for skips, and diagnostics as `#`
//! lines before the result they belong to.

use std::fmt::Write;

use crate::model::{CaseResult, Outcome};

/// KTAP descriptions end at a `#`; keep diagnostics on one line each.
fn clean(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('#', "no.")
}

pub fn render(results: &[CaseResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "TAP version 13");
    let _ = writeln!(out, "1..{}", results.len());
    let _ = writeln!(
        out,
        "# sockspec {} on kernel {}",
        env!("CARGO_PKG_VERSION"),
        super::kernel_release()
    );
    for (i, r) in results.iter().enumerate() {
        let n = i + 1;
        let verdict = match r.shown_verdict() {
            Some(v) => format!("verdict {v}"),
            None => super::table::NO_VERDICT.to_string(),
        };
        let _ = writeln!(out, "# {}: {verdict}, {} ms", r.id, r.duration_ms);
        match r.outcome {
            Outcome::Pass => {
                let _ = writeln!(out, "# {}", clean(&r.reason));
                let _ = writeln!(out, "ok {n} {}", r.id);
            }
            Outcome::Skip => {
                let _ = writeln!(out, "ok {n} {} # SKIP {}", r.id, clean(&r.reason));
            }
            Outcome::Fail | Outcome::Error => {
                for c in r.failed_checks() {
                    let _ = writeln!(
                        out,
                        "# {}: expected {}, observed {}",
                        clean(&c.what),
                        clean(&c.expected),
                        clean(&c.observed)
                    );
                }
                if r.outcome == Outcome::Error || r.checks.is_empty() {
                    let _ = writeln!(out, "# error: {}", clean(&r.reason));
                }
                if let Some(p) = &r.pcap {
                    let _ = writeln!(out, "# capture: {p}");
                }
                let _ = writeln!(out, "not ok {n} {}", r.id);
            }
        }
    }
    let t = super::Tally::of(results);
    let _ = writeln!(
        out,
        "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}",
        t.passed, t.failed, t.skipped, t.errors
    );
    out
}
