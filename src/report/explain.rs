//! `sockspec explain ID`: the claim, what Linux did, the verdict with its
//! numbers, every check, what was observed, and the captured exchange as a
//! packet ladder (or why there is none). Reads a `CaseResult` only, so a
//! saved report is explained the same way as a fresh run.

use std::fmt::Write;

use serde_json::Value;

use super::{ladder, wrap};
use crate::model::{CaseResult, Outcome};

/// What the verdict line says of a case that gave none.
pub fn no_verdict(r: &CaseResult) -> &'static str {
    match r.outcome {
        Outcome::Fail => {
            "no verdict: the measurement contradicts the case's expectation (see the failed \
             checks), so the claim is not judged"
        }
        Outcome::Skip => "no verdict: the case did not run here",
        Outcome::Error => "no verdict: the case did not complete",
        Outcome::Pass => "no verdict",
    }
}

/// "label: text", the text wrapped under itself at `width` columns.
fn field(out: &mut String, label: &str, text: &str, width: usize) {
    let indent = 2 + 13;
    let lines = wrap(text, width.saturating_sub(indent).max(30));
    let _ = writeln!(out, "  {:<13}{}", format!("{label}:"), lines[0]);
    for l in &lines[1..] {
        let _ = writeln!(out, "{:indent$}{l}", "");
    }
}

/// A list item wrapped with a hanging indent.
fn item(out: &mut String, first: &str, text: &str, width: usize) {
    let indent = first.chars().count();
    let lines = wrap(text, width.saturating_sub(indent).max(30));
    let _ = writeln!(out, "{first}{}", lines[0]);
    for l in &lines[1..] {
        let _ = writeln!(out, "{:indent$}{l}", "");
    }
}

/// A JSON value as a network programmer writes it: strings without quotes,
/// null as none, lists in brackets.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{k}: {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The observation's fields, nested ones as `outer.inner`.
fn observed_lines(
    prefix: &str,
    map: &serde_json::Map<String, Value>,
    out: &mut Vec<(String, String)>,
) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) if !inner.is_empty() => observed_lines(&name, inner, out),
            v => out.push((name, value_text(v))),
        }
    }
}

pub fn render(r: &CaseResult, width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", r.id);
    field(&mut out, "source", &r.source, width);
    field(&mut out, "claim", &r.claim, width);
    field(&mut out, "linux does", &r.expectation, width);
    field(
        &mut out,
        "outcome",
        &format!("{} ({} ms)", r.outcome, r.duration_ms),
        width,
    );
    let verdict = match r.shown_verdict() {
        Some(v) => format!("{v}: {}", r.reason),
        None if r.outcome == Outcome::Fail => no_verdict(r).to_string(),
        None => format!("{}: {}", no_verdict(r), r.reason),
    };
    field(&mut out, "verdict", &verdict, width);
    if !r.key.is_empty() {
        field(&mut out, "key", &r.key, width);
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "\nchecks:");
        for c in &r.checks {
            let mark = if c.ok { "  ok   " } else { "  FAIL " };
            item(
                &mut out,
                mark,
                &format!(
                    "{}: expected {}, observed {}",
                    c.what, c.expected, c.observed
                ),
                width,
            );
        }
    }
    let mut observed = Vec::new();
    observed_lines("", &r.observed, &mut observed);
    if !observed.is_empty() {
        let _ = writeln!(out, "\nobserved:");
        for (k, v) in observed {
            item(&mut out, &format!("  {k} = "), &v, width);
        }
    }
    out.push('\n');
    out.push_str(&evidence(r, width));
    if let Some(p) = &r.pcap {
        let _ = writeln!(out, "\ncapture: {p}");
    }
    out
}

/// The packet ladder, or a plain sentence saying why there is none.
pub fn evidence(r: &CaseResult, width: usize) -> String {
    let ladder = ladder::render(r, width);
    if !ladder.is_empty() {
        return ladder;
    }
    let why = match r.outcome {
        Outcome::Skip | Outcome::Error => "no capture: the case did not complete".to_string(),
        _ => "no capture: this case records no packets; it judges what its syscalls \
              returned (values, errno), their timing and the bytes delivered"
            .to_string(),
    };
    let mut out = String::new();
    item(&mut out, "", &why, width);
    if !r.marks.is_empty() {
        let t0 = r.marks.iter().map(|m| m.t_ns).min().unwrap_or(0);
        let _ = writeln!(out, "syscalls (ms since the first):");
        for m in &r.marks {
            let _ = writeln!(out, "{:>10.3}  * {}", (m.t_ns - t0) as f64 / 1e6, m.what);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Check, Mark, Verdict};
    use pretty_assertions::assert_eq;

    fn failing() -> CaseResult {
        let mut r = CaseResult::without_evidence(
            &crate::cases::linger::ZERO_RST,
            Outcome::Fail,
            "RST on the wire: expected true, observed false".into(),
            std::time::Duration::from_millis(12),
        );
        r.verdict = Some(Verdict::Refuted);
        r.checks = vec![Check {
            what: "RST on the wire".into(),
            expected: "true".into(),
            observed: "false".into(),
            ok: false,
        }];
        r.observed = serde_json::json!({
            "error": "ECONNRESET", "reply": null, "sizes": [1, null, 32],
            "after": {"rst": false, "fin": true}
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        r
    }

    #[test]
    fn a_failing_case_gives_no_verdict() {
        let text = render(&failing(), 100);
        let verdict = text
            .lines()
            .find(|l| l.starts_with("  verdict:"))
            .expect("a verdict line");
        assert!(
            verdict.starts_with("  verdict:     no verdict: the measurement contradicts"),
            "{verdict}"
        );
        assert!(!text.contains("refuted"), "{text}");
        assert!(
            text.contains("  FAIL RST on the wire: expected true, observed false"),
            "{text}"
        );
    }

    #[test]
    fn observed_values_read_as_values_not_json() {
        let text = render(&failing(), 100);
        let observed: Vec<&str> = text
            .split("\nobserved:\n")
            .nth(1)
            .expect("observed")
            .lines()
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            vec![
                "  after.fin = true",
                "  after.rst = false",
                "  error = ECONNRESET",
                "  reply = none",
                "  sizes = [1, none, 32]",
            ],
            observed
        );
    }

    #[test]
    fn a_case_without_capture_says_so_and_shows_its_syscalls() {
        let mut r = failing();
        r.outcome = Outcome::Pass;
        r.marks = vec![
            Mark {
                t_ns: 5_000_000,
                what: "close() called".into(),
            },
            Mark {
                t_ns: 7_500_000,
                what: "close() returned 0 after 2 ms".into(),
            },
        ];
        let text = render(&r, 100);
        assert!(
            text.contains(
                "\nno capture: this case records no packets; it judges what its syscalls"
            ),
            "{text}"
        );
        assert!(
            text.contains("syscalls (ms since the first):\n     0.000  * close() called\n     2.500  * close() returned 0 after 2 ms\n"),
            "{text}"
        );
        assert!(!text.contains("packet ladder"), "{text}");
        let mut skipped = failing();
        skipped.outcome = Outcome::Skip;
        assert!(render(&skipped, 100).contains("no capture: the case did not complete"));
    }

    #[test]
    fn long_fields_wrap_under_themselves() {
        let mut r = failing();
        r.claim = "word ".repeat(40);
        let text = render(&r, 60);
        let claim: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("  claim:"))
            .take_while(|l| l.starts_with("  claim:") || l.starts_with("               word"))
            .collect();
        assert!(claim.len() > 2, "{text}");
        assert!(claim.iter().all(|l| l.chars().count() <= 60), "{text}");
    }
}
