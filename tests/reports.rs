//! KTAP and JUnit outputs follow their formats; diff and --baseline report
//! behaviour changes and nothing else.

mod common;

use std::process::Command;

use pretty_assertions::assert_eq;
use sockspec::model::{CaseResult, Check, Outcome, Verdict};
use sockspec::report;

fn result(id: &str, outcome: Outcome) -> CaseResult {
    let mut r = CaseResult::without_evidence(
        &sockspec::cases::linger::ZERO_RST,
        outcome,
        format!("reason for {id} <&> # here"),
        Default::default(),
    );
    r.id = id.into();
    if outcome == Outcome::Pass {
        r.verdict = Some(Verdict::Holds);
    }
    if outcome == Outcome::Fail {
        r.checks.push(Check {
            what: "close() rc".into(),
            expected: "0".into(),
            observed: "-1 \"x\"".into(),
            ok: false,
        });
    }
    r
}

fn sample() -> Vec<CaseResult> {
    vec![
        result("a.pass", Outcome::Pass),
        result("b.fail", Outcome::Fail),
        result("c.skip", Outcome::Skip),
        result("d.error", Outcome::Error),
    ]
}

/// The parts of a KTAP document a parser relies on.
#[derive(Debug, PartialEq)]
struct Ktap {
    version: String,
    plan: usize,
    results: Vec<(bool, usize, String, Option<String>)>,
    stray_lines: Vec<String>,
}

fn parse_ktap(text: &str) -> Ktap {
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("").to_string();
    let plan = lines
        .next()
        .and_then(|l| l.strip_prefix("1.."))
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    let (mut results, mut stray_lines) = (Vec::new(), Vec::new());
    for l in lines {
        let (ok, rest) = if let Some(r) = l.strip_prefix("ok ") {
            (true, r)
        } else if let Some(r) = l.strip_prefix("not ok ") {
            (false, r)
        } else {
            if !l.starts_with('#') {
                stray_lines.push(l.to_string());
            }
            continue;
        };
        let (num, desc) = rest.split_once(' ').unwrap_or((rest, ""));
        let (name, directive) = match desc.split_once(" # ") {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (desc.to_string(), None),
        };
        results.push((ok, num.parse().unwrap_or(0), name, directive));
    }
    Ktap {
        version,
        plan,
        results,
        stray_lines,
    }
}

#[test]
fn ktap_has_plan_numbered_results_and_marked_skips() {
    let k = parse_ktap(&report::ktap::render(&sample()));
    let expected = Ktap {
        version: "TAP version 13".into(),
        plan: 4,
        results: vec![
            (true, 1, "a.pass".into(), None),
            (false, 2, "b.fail".into(), None),
            (
                true,
                3,
                "c.skip".into(),
                Some("SKIP reason for c.skip <&> no. here".into()),
            ),
            (false, 4, "d.error".into(), None),
        ],
        stray_lines: vec![],
    };
    assert_eq!(expected, k);
}

#[test]
fn ktap_of_a_real_run_matches_its_plan() {
    let o = Command::new(common::exe())
        .args(["run", "--format", "ktap", "waitall.*", "reuseaddr.*"])
        .output()
        .expect("run");
    let k = parse_ktap(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(k.plan, k.results.len());
    let numbers: Vec<usize> = k.results.iter().map(|r| r.1).collect();
    assert_eq!((1..=k.plan).collect::<Vec<_>>(), numbers);
    assert_eq!(Vec::<String>::new(), k.stray_lines);
}

#[test]
fn junit_is_well_formed_with_one_testcase_per_id() {
    let xml = report::junit::render(&sample());
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<(String, Vec<String>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let kids = n
                .children()
                .filter(|c| c.is_element())
                .map(|c| c.tag_name().name().to_string())
                .collect();
            (n.attribute("name").unwrap_or("").to_string(), kids)
        })
        .collect();
    let want = |id: &str, kids: &[&str]| {
        (
            id.to_string(),
            kids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        vec![
            want("a.pass", &["system-out"]),
            want("b.fail", &["failure", "system-out"]),
            want("c.skip", &["skipped", "system-out"]),
            want("d.error", &["error", "system-out"]),
        ],
        cases
    );
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    let text = failure.text().unwrap_or("");
    assert!(
        text.contains("expected: 0") && text.contains("observed: -1 \"x\""),
        "{text}"
    );
    let suites = doc.root_element();
    assert_eq!(
        (Some("4"), Some("1"), Some("1"), Some("1")),
        (
            suites.attribute("tests"),
            suites.attribute("failures"),
            suites.attribute("errors"),
            suites.attribute("skipped")
        )
    );
}

fn run_json(
    dir: &std::path::Path,
    name: &str,
    extra: &[&str],
) -> (std::path::PathBuf, Option<i32>, String) {
    let path = dir.join(name);
    let o = Command::new(common::exe())
        .args([
            "run",
            "--format",
            "json",
            "--output",
            path.to_str().expect("utf-8"),
        ])
        .args(extra)
        .output()
        .expect("run");
    (
        path,
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The committed baseline for this kernel if there is one, else a fresh recording.
fn own_baseline(dir: &std::path::Path) -> std::path::PathBuf {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/baselines")
        .join(format!("{}.json", report::kernel_release()));
    if committed.exists() {
        return committed;
    }
    eprintln!("no committed baseline for this kernel; recording one to compare against");
    run_json(dir, "recorded.json", &[]).0
}

#[test]
fn run_passes_against_its_own_baseline_and_fails_against_a_modified_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = own_baseline(dir.path());
    let (_, code, err) = run_json(
        dir.path(),
        "now.json",
        &["--baseline", base.to_str().expect("utf-8")],
    );
    assert_eq!(Some(0), code, "{err}");

    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&base).expect("read")).expect("json");
    let case = doc["cases"]
        .as_array_mut()
        .and_then(|c| c.iter_mut().find(|c| c["id"] == "linger.zero_rst"))
        .expect("linger.zero_rst in the baseline");
    case["verdict"] = "refuted".into();
    case["observed"]["rst_from_closer"] = false.into();
    let modified = dir.path().join("modified.json");
    std::fs::write(&modified, doc.to_string()).expect("write");
    let (_, code, err) = run_json(
        dir.path(),
        "again.json",
        &[
            "linger.zero_rst",
            "--baseline",
            modified.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(Some(1), code, "{err}");
    for line in [
        "linger.zero_rst",
        "verdict: refuted -> holds",
        "observed rst_from_closer: false -> true",
    ] {
        assert!(err.contains(line), "the diff should show {line:?}:\n{err}");
    }
}

#[test]
fn diff_prints_nothing_for_ids_that_behave_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, _, _) = run_json(dir.path(), "a.json", &["waitall.*", "reuseaddr.*"]);
    let o = Command::new(common::exe())
        .args(["diff"])
        .arg(&a)
        .arg(&a)
        .output()
        .expect("diff");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(Some(0), o.status.code());
    assert!(text.contains("no behaviour differences"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("waitall.") || l.starts_with("reuseaddr.")),
        "{text}"
    );
}
