//! JUnit XML, as CI dashboards read it: one <testcase> per case id, failures
//! with expected vs observed, skips with their reason.

use std::fmt::Write;

use crate::model::{CaseResult, Outcome};

/// Escapes text for XML attribute values and character data.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

pub fn render(results: &[CaseResult]) -> String {
    let t = super::Tally::of(results);
    let total_ms: u64 = results.iter().map(|r| r.duration_ms).max().unwrap_or(0);
    let kernel = escape(&super::kernel_release());
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    // Cases run in parallel: the suite takes as long as its longest case.
    let counts = format!(
        r#"tests="{}" failures="{}" errors="{}" skipped="{}" time="{}""#,
        results.len(),
        t.failed,
        t.errors,
        t.skipped,
        secs(total_ms)
    );
    let _ = writeln!(out, r#"<testsuites name="sockspec" {counts}>"#);
    let _ = writeln!(
        out,
        r#"  <testsuite name="sockspec (kernel {kernel})" {counts}>"#
    );
    let _ = writeln!(
        out,
        r#"    <properties><property name="kernel" value="{kernel}"/></properties>"#
    );
    for r in results {
        let area = r.id.split('.').next().unwrap_or("sockspec");
        let _ = write!(
            out,
            r#"    <testcase classname="sockspec.{}" name="{}" time="{}">"#,
            escape(area),
            escape(&r.id),
            secs(r.duration_ms)
        );
        match r.outcome {
            Outcome::Pass => {}
            Outcome::Skip => {
                let _ = write!(out, r#"<skipped message="{}"/>"#, escape(&r.reason));
            }
            Outcome::Fail => {
                let detail: Vec<String> = r
                    .failed_checks()
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\n  expected: {}\n  observed: {}",
                            c.what, c.expected, c.observed
                        )
                    })
                    .collect();
                let _ = write!(
                    out,
                    r#"<failure message="{}" type="fail">{}</failure>"#,
                    escape(&r.reason),
                    escape(&detail.join("\n"))
                );
            }
            Outcome::Error => {
                let _ = write!(
                    out,
                    r#"<error message="{}" type="error">{}</error>"#,
                    escape(&r.reason),
                    escape(&r.reason)
                );
            }
        }
        let verdict = match r.shown_verdict() {
            Some(v) => format!("verdict: {v}: {}", r.reason),
            None => format!("{}: {}", super::explain::no_verdict(r), r.reason),
        };
        let _ = writeln!(
            out,
            "<system-out>{}</system-out></testcase>",
            escape(&verdict)
        );
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}
