//! Compares two JSON reports (two kernels, or a run against its baseline):
//! per case id, what behaves differently. A case behaves differently when its
//! outcome, its verdict or the result of one of its checks differs (the checks
//! are what the case asserts about the kernel); for such a case the
//! observations that differ are listed too, facts (errno names, flags) and
//! measured numbers apart. Ids that behave the same print nothing: their
//! observations may still differ by run-to-run noise or machine
//! configuration (buffer sizes, window scale from tcp_rmem).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::json::Report;
use crate::model::CaseResult;

/// What changed for one case id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdDiff {
    pub id: String,
    /// Behaviour changes (outcome, verdict, checks), then the observed facts
    /// that differ; the first kind is what makes the reports differ.
    pub changes: Vec<String>,
    /// Measured numbers that moved (shown, but on their own not a change:
    /// timings and buffer sizes vary from run to run).
    pub numbers: Vec<String>,
}

/// Leaves of a JSON value, keyed by a dotted path (`close.errno`, `trials[1].segments[0]`).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(a) => {
            out.insert(format!("{prefix}.len"), Value::from(a.len()));
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

/// Observation paths that are timings: never compared.
fn is_timing(path: &str) -> bool {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    ["_ms", "_us", "_ns", "took", "duration", "elapsed"]
        .iter()
        .any(|t| leaf.contains(t))
}

fn numbers_differ(a: f64, b: f64) -> bool {
    (a - b).abs() > 0.1 * a.abs().max(b.abs())
}

/// How `b` behaves differently from `a` (the same case on two kernels).
pub fn compare_case(a: &CaseResult, b: &CaseResult) -> IdDiff {
    let mut d = IdDiff {
        id: a.id.clone(),
        changes: Vec::new(),
        numbers: Vec::new(),
    };
    if a.outcome != b.outcome {
        d.changes
            .push(format!("outcome: {} -> {}", a.outcome, b.outcome));
    }
    let verdict = |r: &CaseResult| {
        r.verdict
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into())
    };
    if a.verdict != b.verdict {
        d.changes
            .push(format!("verdict: {} -> {}", verdict(a), verdict(b)));
    }
    for ca in &a.checks {
        match b.checks.iter().find(|cb| cb.what == ca.what) {
            None => d.changes.push(format!("check '{}' is gone", ca.what)),
            Some(cb) if cb.ok != ca.ok => d.changes.push(format!(
                "check '{}': {} -> {} (expected {}, observed {} -> {})",
                ca.what,
                if ca.ok { "ok" } else { "FAIL" },
                if cb.ok { "ok" } else { "FAIL" },
                cb.expected,
                ca.observed,
                cb.observed
            )),
            Some(_) => {}
        }
    }
    for cb in b
        .checks
        .iter()
        .filter(|cb| !a.checks.iter().any(|ca| ca.what == cb.what))
    {
        d.changes.push(format!(
            "new check '{}' ({})",
            cb.what,
            if cb.ok { "ok" } else { "FAIL" }
        ));
    }
    if d.changes.is_empty() {
        return d;
    }
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &Value::Object(a.observed.clone()), &mut fa);
    flatten("", &Value::Object(b.observed.clone()), &mut fb);
    let keys: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for k in keys.into_iter().filter(|k| !is_timing(k)) {
        let (va, vb) = (fa.get(k), fb.get(k));
        match (va.and_then(Value::as_f64), vb.and_then(Value::as_f64)) {
            (Some(x), Some(y)) if numbers_differ(x, y) => {
                d.numbers.push(format!("{k}: {x} -> {y}"))
            }
            (Some(_), Some(_)) => {}
            _ if va != vb => {
                let show = |v: Option<&Value>| {
                    v.map(|v| v.to_string())
                        .unwrap_or_else(|| "(absent)".into())
                };
                d.changes
                    .push(format!("observed {k}: {} -> {}", show(va), show(vb)));
            }
            _ => {}
        }
    }
    d
}

/// Ids whose behaviour differs between `a` and `b` (ids missing from one side included).
pub fn compare(a: &Report, b: &Report) -> Vec<IdDiff> {
    let mut out = Vec::new();
    for ra in &a.cases {
        match b.cases.iter().find(|rb| rb.id == ra.id) {
            None => out.push(IdDiff {
                id: ra.id.clone(),
                changes: vec!["only in the first report".into()],
                numbers: vec![],
            }),
            Some(rb) => {
                let d = compare_case(ra, rb);
                if !d.changes.is_empty() {
                    out.push(d);
                }
            }
        }
    }
    for rb in b
        .cases
        .iter()
        .filter(|rb| !a.cases.iter().any(|ra| ra.id == rb.id))
    {
        out.push(IdDiff {
            id: rb.id.clone(),
            changes: vec!["only in the second report".into()],
            numbers: vec![],
        });
    }
    out
}

pub fn render(a_name: &str, a: &Report, b_name: &str, b: &Report, diffs: &[IdDiff]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "--- {a_name} (kernel {})", a.kernel);
    let _ = writeln!(out, "+++ {b_name} (kernel {})", b.kernel);
    for d in diffs {
        let _ = writeln!(out, "{}", d.id);
        for c in &d.changes {
            let _ = writeln!(out, "  {c}");
        }
        for n in &d.numbers {
            let _ = writeln!(out, "  (measured) {n}");
        }
    }
    let compared = a
        .cases
        .iter()
        .filter(|ra| b.cases.iter().any(|rb| rb.id == ra.id))
        .count();
    if diffs.is_empty() {
        let _ = writeln!(out, "no behaviour differences ({compared} cases compared)");
    } else {
        let _ = writeln!(
            out,
            "{} of {compared} cases behave differently",
            diffs.len()
        );
    }
    out
}

/// Reads a JSON report written by `sockspec run --format json`, of any format
/// this sockspec knows (see `json::parse`).
pub fn load(path: &std::path::Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    super::json::parse(&text).map_err(|e| format!("{} {e}", path.display()))
}
