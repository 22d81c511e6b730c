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
    // What --failed would run again is remembered here, not in the user's state.
    let o = Command::new(common::exe())
        .env("XDG_STATE_HOME", dir)
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

/// The recorded baseline of this kernel series if there is one, else a fresh recording.
fn own_baseline(dir: &std::path::Path) -> std::path::PathBuf {
    if let Some(found) = report::baseline::find(&report::kernel_release()) {
        let path = dir.join("committed.json");
        std::fs::write(
            &path,
            found.recorded.text().expect("baseline text").as_bytes(),
        )
        .expect("write the baseline");
        return path;
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

/// A recorded report of `ids` on this kernel, as JSON.
fn record(dir: &std::path::Path, ids: &[&str]) -> serde_json::Value {
    let (path, code, err) = run_json(dir, "recorded.json", ids);
    assert_eq!(Some(0), code, "{err}");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// This kernel's release with another build suffix: 6.18.44-fc-v657 ->
/// 6.18.44-other-build.
fn another_build(release: &str) -> String {
    let version: String = release
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    format!("{}-other-build", version.trim_end_matches('.'))
}

fn run_auto(baselines: &std::path::Path, ids: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(common::exe())
        .env("SOCKSPEC_BASELINES", baselines)
        .args(["run", "--baseline", "auto"])
        .args(ids)
        .output()
        .expect("run");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn baseline_auto_compares_with_another_build_of_the_same_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = ["waitall.fills_buffer", "reuseaddr.time_wait_rebind"];
    let mut doc = record(dir.path(), &ids);
    let release = report::kernel_release();
    let other = another_build(&release);
    doc["kernel"] = other.clone().into();
    let baselines = dir.path().join("baselines");
    std::fs::create_dir(&baselines).expect("mkdir");
    let copy = baselines.join(format!("{other}.json"));
    std::fs::write(&copy, doc.to_string()).expect("write");
    // A kernel of another series, that must not be chosen.
    doc["kernel"] = "5.10.0-1-amd64".into();
    std::fs::write(baselines.join("5.10.0-1-amd64.json"), doc.to_string()).expect("write");

    let (code, err) = run_auto(&baselines, &ids);
    assert_eq!(Some(0), code, "{err}");
    let version = other.trim_end_matches("-other-build");
    let said = format!(
        "sockspec: comparing with the baseline {} (the same kernel version {version}, \
         another build than this {release})",
        copy.display()
    );
    assert!(
        err.lines().any(|l| l == said),
        "{err:?} should say {said:?}"
    );
    assert!(
        err.contains(&format!(
            "same behaviour as the baseline {}",
            copy.display()
        )),
        "{err}"
    );
}

#[test]
fn baseline_auto_without_a_fitting_baseline_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("2.6.32-5-amd64.json"), "{}").expect("write");
    let o = Command::new(common::exe())
        .env("SOCKSPEC_BASELINES", dir.path())
        .args(["run", "--baseline", "auto"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    // No case ran: a run prints its table (and its summary) on stdout.
    assert_eq!("", String::from_utf8_lossy(&o.stdout), "no case ran");
    assert_eq!(
        (Some(2), 1),
        (o.status.code(), err.lines().count()),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "no recorded baseline fits kernel {} (recorded: 2.6.32-5-amd64)",
            report::kernel_release()
        )),
        "{err}"
    );
}

/// `--baseline auto` needs nothing from the checkout: run from elsewhere, it
/// finds the baselines built into the binary.
#[test]
fn baseline_auto_uses_the_built_in_baselines_from_any_directory() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let release = report::kernel_release();
    let o = Command::new(common::exe())
        .current_dir(cwd.path())
        .env_remove("SOCKSPEC_BASELINES")
        .args(["run", "--baseline", "auto", "waitall.fills_buffer"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    match report::baseline::find(&release) {
        Some(found) => {
            let said = format!("sockspec: comparing with {}", found.describe(&release));
            assert!(
                err.lines().any(|l| l == said),
                "{err:?} should say {said:?}"
            );
            assert!(found.describe(&release).contains("built-in"), "{said}");
            // Whether this kernel still behaves as recorded is the baseline
            // test's business; here the run must have compared.
            assert!(matches!(o.status.code(), Some(0 | 1)), "{err}");
        }
        None => assert_eq!(Some(2), o.status.code(), "{err}"),
    }
}

#[test]
fn reports_of_an_unknown_format_are_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc = record(dir.path(), &["waitall.fills_buffer"]);
    doc["format"] = 99.into();
    let newer = dir
        .path()
        .join(format!("{}.json", report::kernel_release()));
    std::fs::write(&newer, doc.to_string()).expect("write");
    let newer_s = newer.to_str().expect("utf-8");
    let mut auto = Command::new(common::exe());
    auto.env("SOCKSPEC_BASELINES", dir.path())
        .args(["run", "--baseline", "auto"]);
    let mut file = Command::new(common::exe());
    file.args(["run", "--baseline", newer_s]);
    let mut diff = Command::new(common::exe());
    diff.args(["diff", newer_s, newer_s]);
    for mut c in [auto, file, diff] {
        let o = c.output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            (Some(2), 1),
            (o.status.code(), err.lines().count()),
            "{err}"
        );
        assert!(
            err.contains("is a sockspec report of format 99, which this sockspec"),
            "{err}"
        );
    }
}

/// Reports written before the format was declared (format 0: no "format"
/// field) are still read.
#[test]
fn diff_reads_reports_without_a_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc = record(dir.path(), &["waitall.fills_buffer"]);
    let now = dir.path().join("now.json");
    std::fs::write(&now, doc.to_string()).expect("write");
    doc.as_object_mut().expect("object").remove("format");
    let old = dir.path().join("old.json");
    std::fs::write(&old, doc.to_string()).expect("write");
    let o = Command::new(common::exe())
        .arg("diff")
        .arg(&old)
        .arg(&now)
        .output()
        .expect("diff");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(Some(0), o.status.code(), "{out}");
    assert!(
        out.contains("no behaviour differences (1 cases compared)"),
        "{out}"
    );
}

/// The case tests pin verdicts to the baseline of the running kernel series:
/// a baseline recorded on another build of this kernel, with one verdict
/// changed, makes `cargo test --test cases` fail for that case, with the diff.
#[test]
fn a_changed_verdict_in_the_kernel_baseline_fails_the_case_tests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let release = report::kernel_release();
    let found = report::baseline::find(&release).expect("a baseline for this kernel series");
    let mut doc: serde_json::Value =
        serde_json::from_str(&found.recorded.text().expect("baseline text")).expect("json");
    let case = doc["cases"]
        .as_array_mut()
        .and_then(|c| c.iter_mut().find(|c| c["id"] == "linger.zero_rst"))
        .expect("linger.zero_rst in the baseline");
    case["verdict"] = "refuted".into();
    // Another build of the same kernel version: found by version, not release.
    let other_build = format!(
        "{}-otherbuild",
        release.split('-').next().unwrap_or(&release)
    );
    std::fs::write(
        dir.path().join(format!("{other_build}.json")),
        doc.to_string(),
    )
    .expect("write");
    let o = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SOCKSPEC_BASELINES", dir.path())
        .args([
            "test",
            "-q",
            "--test",
            "cases",
            "--",
            "--exact",
            "linger.zero_rst",
        ])
        .output()
        .expect("cargo test --test cases");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(Some(101), o.status.code(), "{out}");
    assert!(
        out.contains("linger.zero_rst behaves differently from")
            && out.contains(&other_build)
            && out.contains("verdict: refuted -> holds"),
        "{out}"
    );
}
