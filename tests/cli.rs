//! The command line as a user meets it: help, listing, JSON, and one-line
//! errors with exit status 2 for bad input.

mod common;

use std::process::{Command, Output};

use pretty_assertions::assert_eq;
use rstest::rstest;

fn sockspec(args: &[&str]) -> Output {
    Command::new(common::exe())
        .args(args)
        .output()
        .expect("run sockspec")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_documents_every_command() {
    let o = sockspec(&["--help"]);
    assert_eq!(Some(0), o.status.code());
    let text = stdout(&o);
    for word in [
        "list",
        "run",
        "explain",
        "--format",
        "--output",
        "--baseline <FILE|auto>",
        "--repeat",
        "--jobs <N>",
        "outcome",
        "verdict",
        "Exit status",
        "completions",
        "--pcap <DIR>",
        "--exclude <PATTERN>",
        "--outcome <OUTCOME>",
        "--verdict <VERDICT>",
        "--failed",
        "sockspec/last-failed",
        "--color <WHEN>",
        "--verbose",
        "NO_COLOR",
        "holds    Linux does what the source claims",
        "differs  Linux does it only partly",
        "refuted  Linux does the opposite of what the source claims",
        "Only a passing",
        "no\n           verdict",
    ] {
        assert!(text.contains(word), "--help does not mention {word}");
    }
}

#[test]
fn version_and_short_help() {
    let o = sockspec(&["--version"]);
    assert_eq!(
        (Some(0), format!("sockspec {}\n", env!("CARGO_PKG_VERSION"))),
        (o.status.code(), stdout(&o))
    );
    let o = sockspec(&["-h"]);
    assert_eq!(Some(0), o.status.code());
    assert!(
        stdout(&o).contains("Usage: sockspec <COMMAND>"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn list_names_every_case_with_its_claim() {
    let text = stdout(&sockspec(&["list"]));
    for case in sockspec::cases::all() {
        assert!(text.contains(case.id), "list lacks {}", case.id);
        assert!(
            text.contains(case.claim),
            "list lacks the claim of {}",
            case.id
        );
    }
}

#[rstest]
#[case::unknown_command(&["frobnicate"], "unknown command 'frobnicate'")]
#[case::unknown_option(&["run", "--fast"], "unknown option '--fast'")]
#[case::unknown_id(&["run", "nosuch.case"], "no case matches 'nosuch.case'")]
#[case::bad_format(&["run", "--format", "xml"], "unknown format 'xml'")]
#[case::missing_value(&["run", "--format"], "--format needs a value")]
#[case::explain_unknown(&["explain", "nosuch.case"], "unknown case id 'nosuch.case'")]
#[case::explain_no_id(&["explain"], "missing <ID> (usage: sockspec explain <ID>)")]
#[case::explain_two_ids(&["explain", "a", "b"], "unexpected argument 'b' for explain")]
#[case::no_command(&[], "no command given")]
#[case::repeat_zero(&["run", "--repeat", "0"], "--repeat takes a number from 1 to 64, not '0'")]
#[case::repeat_too_many(&["run", "--repeat=65"], "--repeat takes a number from 1 to 64, not '65'")]
#[case::jobs_zero(&["run", "--jobs", "0"], "--jobs takes a number of cases, 1 or more, not '0'")]
#[case::list_ktap(&["list", "--format", "ktap"], "unknown format 'ktap' (use table or json)")]
#[case::misspelt_option(&["run", "--formt", "json"], "unknown option '--formt' for run (did you mean '--format'?)")]
#[case::unknown_shell(&["completions", "powershell"], "unknown shell 'powershell' (use bash, zsh or fish)")]
#[case::child_unknown_id(&["__case", "nosuch.case"], "unknown case id 'nosuch.case'")]
#[case::empty_pattern(&["run", ""], "no case matches ''")]
#[case::list_no_match(&["list", "foo"], "no case matches 'foo'")]
#[case::exclude_no_match(&["list", "--exclude", "nosuch.*"], "no case matches --exclude 'nosuch.*'")]
#[case::run_exclude_no_match(&["run", "--exclude", "nosuch.*"], "no case matches --exclude 'nosuch.*'")]
#[case::bad_outcome(&["run", "--outcome", "pass,maybe"], "unknown outcome 'maybe' (use pass, fail, skip or error)")]
#[case::bad_verdict(&["run", "--verdict", "false"], "unknown verdict 'false' (use holds, differs or refuted)")]
#[case::bad_color(&["run", "--color", "sometimes"], "unknown when 'sometimes' (use auto, always or never)")]
#[case::explain_missing_report(&["explain", "linger.zero_rst", "--report", "/nonexistent/r.json"], "cannot read /nonexistent/r.json")]
#[case::baseline_missing(&["run", "--baseline", "/nonexistent/base.json"], "cannot read /nonexistent/base.json")]
#[case::diff_one_file(&["diff", "a.json"], "missing <B.json> (usage: sockspec diff <A.json> <B.json>)")]
#[case::diff_missing(&["diff", "/nonexistent/a.json", "/nonexistent/b.json"], "cannot read /nonexistent/a.json")]
fn bad_input_is_one_line_and_exit_2(#[case] args: &[&str], #[case] message: &str) {
    let o = sockspec(args);
    let err = stderr(&o);
    assert_eq!(Some(2), o.status.code(), "stderr: {err}");
    assert_eq!(1, err.lines().count(), "expected one line, got: {err}");
    assert!(err.contains(message), "{err:?} should contain {message:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn run_json_has_the_documented_shape() {
    let o = sockspec(&[
        "run",
        "--format",
        "json",
        "waitall.fills_buffer",
        "reuseaddr.time_wait_rebind",
    ]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("one JSON object on stdout");
    assert_eq!(
        sockspec::report::kernel_release(),
        v["kernel"].as_str().unwrap_or_default()
    );
    let cases = v["cases"].as_array().expect("cases array");
    let ids: Vec<&str> = cases.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(
        vec!["reuseaddr.time_wait_rebind", "waitall.fills_buffer"],
        ids
    );
    for c in cases {
        assert_eq!(Some("pass"), c["outcome"].as_str());
        assert!(
            matches!(c["verdict"].as_str(), Some("holds" | "differs" | "refuted")),
            "{c}"
        );
        assert!(
            c["observed"].as_object().is_some_and(|o| !o.is_empty()),
            "{c}"
        );
        assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()), "{c}");
        assert!(c["duration_ms"].as_u64().is_some(), "{c}");
    }
}

#[test]
fn run_writes_the_report_to_output_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    let o = Command::new(common::exe())
        .env("XDG_STATE_HOME", dir.path())
        .args([
            "run",
            "waitall.fills_buffer",
            "--format=json",
            "--output",
            path.to_str().expect("utf-8"),
        ])
        .output()
        .expect("run");
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    assert_eq!("", stdout(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("report")).expect("json");
    assert_eq!(Some("waitall.fills_buffer"), v["cases"][0]["id"].as_str());
}

#[test]
fn table_shows_outcome_verdict_and_numbers() {
    let o = sockspec(&["run", "linger.zero_rst"]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let text = stdout(&o);
    let row = text
        .lines()
        .find(|l| l.starts_with("linger.zero_rst"))
        .expect("a row for the case");
    assert!(
        row.contains("pass") && row.contains("holds") && row.contains("RST, no FIN"),
        "{row}"
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");
}

#[test]
fn explain_draws_the_ladder_with_the_rst() {
    let o = sockspec(&["explain", "linger.zero_rst"]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("claim:") && text.contains("verdict:") && text.contains("packet ladder"),
        "{text}"
    );
    let rst = text
        .lines()
        .find(|l| l.contains(" R. "))
        .expect("an RST in the ladder");
    assert!(
        rst.contains("client |-- R. --->| server"),
        "the RST goes from the closer (the client, left) to the peer: {rst}"
    );
    // close() is marked on the same time line, before the RST it causes.
    let close = text
        .find("* close() called")
        .expect("close() on the time line");
    assert!(close < text.find(rst).unwrap_or(0), "{text}");
}

/// `list` selects as `run` does: patterns, less --exclude.
#[test]
fn list_takes_patterns_and_exclusions() {
    let o = sockspec(&[
        "list",
        "--format",
        "json",
        "linger.*",
        "--exclude",
        "*@v6",
        "--exclude",
        "linger.nonblocking",
    ]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let ids: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        vec![
            "linger.zero_rst",
            "linger.timeout_blocks",
            "linger.default_off"
        ],
        ids
    );
}

/// --outcome and --verdict choose what the report shows; the exit status
/// still covers every case run.
#[test]
fn run_reports_only_the_outcomes_and_verdicts_asked_for() {
    let ids = |args: &[&str]| -> Vec<String> {
        let o = sockspec(&[&["run", "--format", "json", "waitall.*"], args].concat());
        assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        vec!["waitall.short_on_eof", "waitall.timeout"],
        ids(&["--verdict", "refuted"])
    );
    assert_eq!(
        vec!["waitall.fills_buffer", "waitall.fills_buffer@v6"],
        ids(&["--verdict", "holds", "--exclude", "*.timeout"])
    );
    assert_eq!(Vec::<String>::new(), ids(&["--outcome", "fail,error"]));
    let o = sockspec(&["run", "waitall.*", "--outcome", "fail", "--color", "never"]);
    let text = stdout(&o);
    assert!(
        text.contains("; 0 of the 4 cases run are shown (--outcome fail)"),
        "{text}"
    );
}

#[test]
fn malformed_baseline_and_diff_inputs_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").expect("write");
    let bad = bad.to_str().expect("utf-8");
    for args in [
        vec!["run", "--baseline", bad, "waitall.*"],
        vec!["diff", bad, bad],
    ] {
        let o = sockspec(&args);
        let err = stderr(&o);
        assert_eq!(Some(2), o.status.code(), "{args:?}: {err}");
        assert_eq!(1, err.lines().count(), "{args:?}: {err}");
        assert!(err.contains("is not a sockspec JSON report"), "{err}");
    }
}

#[rstest]
#[case::missing_directory("/nonexistent/dir/report.json", "no directory /nonexistent/dir")]
#[case::a_directory("/", "it is a directory")]
fn unwritable_output_fails_at_once_with_one_line(#[case] output: &str, #[case] why: &str) {
    let t = std::time::Instant::now();
    let o = hanging_run(&mut Command::new(common::exe()), output)
        .output()
        .expect("run");
    let took = t.elapsed();
    let err = stderr(&o);
    assert_eq!(Some(2), o.status.code(), "{err}");
    assert_eq!(1, err.lines().count(), "{err}");
    assert!(
        err.contains(&format!("cannot write the report to {output}: {why}")),
        "{err}"
    );
    assert!(took < RAN_NOTHING, "took {took:?}: a case ran");
}

/// Well under the deadline of the case `hanging_run` asks for: a run that
/// took less ran no case (and a loaded machine is nowhere near it).
const RAN_NOTHING: std::time::Duration = std::time::Duration::from_secs(10);

/// `sockspec run --output OUTPUT selftest.hang` with that case's watchdog
/// stretched to 20 s: if the output were checked only after the cases, the
/// run would last 20 s.
fn hanging_run(cmd: &mut Command, output: impl AsRef<std::ffi::OsStr>) -> &mut Command {
    cmd.env("SOCKSPEC_SELFTEST", "1")
        .env("SOCKSPEC_DEADLINE_SCALE", "10")
        .args(["run", "--output"])
        .arg(output)
        .arg("selftest.hang")
}

/// A directory the user may not write to: refused before any case runs.
#[test]
fn output_into_a_read_only_directory_fails_at_once() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = |m| std::fs::Permissions::from_mode(m);
    let exe = common::public_copy(dir.path());
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).expect("mkdir");
    std::fs::set_permissions(&read_only, mode(0o555)).expect("chmod");
    let output = read_only.join("report.json");

    let mut cmd = Command::new(&exe);
    hanging_run(&mut cmd, &output);
    if nix::unistd::geteuid().is_root() {
        // Root may write anywhere: an ordinary user may not write here.
        cmd.uid(65534).gid(65534);
    }
    let t = std::time::Instant::now();
    let o = cmd.output().expect("run");
    let took = t.elapsed();
    let err = stderr(&o);
    assert_eq!(
        (Some(2), 1),
        (o.status.code(), err.lines().count()),
        "{err}"
    );
    assert!(
        err.contains(&format!("cannot write the report to {}", output.display()))
            && err.contains("Permission denied"),
        "{err}"
    );
    assert!(took < RAN_NOTHING, "took {took:?}: a case ran");
}

#[test]
fn kernel_matrix_script_documents_itself_and_rejects_bad_arguments() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kernel-matrix.sh");
    let help = Command::new("bash")
        .arg(&script)
        .arg("--help")
        .output()
        .expect("help");
    assert_eq!(Some(0), help.status.code());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--timeout"));
    let bad = Command::new("bash")
        .arg(&script)
        .arg("--bogus")
        .output()
        .expect("bad");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(
        (Some(2), 1),
        (bad.status.code(), err.lines().count()),
        "{err}"
    );
}

/// `errata --report` reads a saved report: the man-page claims that differ or
/// are refuted, by page; nothing runs.
#[test]
fn errata_of_a_saved_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = |id: &str, source: &str, verdict: &str| {
        serde_json::json!({"id": id, "source": source, "claim": format!("claim of {id}"),
            "expectation": "", "outcome": "pass", "verdict": verdict, "observed": {},
            "reason": format!("fact of {id}"), "duration_ms": 1, "key": "", "checks": []})
    };
    let report = serde_json::json!({"format": 1, "kernel": "6.1.0-x", "sockspec": "0.1.0", "cases": [
        case("tcp_cork.ceiling", "man-pages 6.20 tcp(7) TCP_CORK", "differs"),
        case("so_type.value", "man-pages 6.20 socket(7) SO_TYPE", "holds"),
        case("linger.zero_rst", "004 (lecture notes) §5.2 SO_LINGER", "refuted"),
    ]});
    let path = dir.path().join("r.json");
    std::fs::write(&path, report.to_string()).expect("write");
    let o = sockspec(&["errata", "--report", path.to_str().expect("utf-8")]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("Errata: 1 of 2 man-page claims are not what Linux 6.1.0-x does"),
        "{text}"
    );
    assert!(
        text.contains("tcp(7)\n  TCP_CORK (tcp_cork.ceiling, differs)"),
        "{text}"
    );
    assert!(!text.contains("linger.zero_rst"), "{text}");
}

/// `run --failed` runs again what failed in the last report written with
/// --output, whatever its format; it says so when nothing did, and when no
/// report was written yet. A failing case that captured left its pcap.
#[test]
fn failed_runs_again_what_failed_in_the_last_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let run = |args: &[&str], env: &[(&str, &std::ffi::OsStr)]| {
        Command::new(common::exe())
            .env("XDG_STATE_HOME", &state)
            .envs(env.iter().copied())
            .args(args)
            .output()
            .expect("run")
    };
    let o = run(&["run", "--failed"], &[]);
    let err = stderr(&o);
    assert_eq!(
        (Some(2), 1),
        (o.status.code(), err.lines().count()),
        "{err}"
    );
    assert!(
        err.contains("--failed: no report has been written with --output yet"),
        "{err}"
    );

    // TCP_NODELAY ignored: nagle.nodelay_segments fails, waitall does not.
    let shim = common::build_shim(dir.path());
    let report = dir.path().join("r.ktap");
    let artifacts = dir.path().join("artifacts");
    let o = run(
        &[
            "run",
            "nagle.nodelay_segments",
            "waitall.fills_buffer",
            "--format",
            "ktap",
            "--output",
            report.to_str().expect("utf-8"),
            "--artifacts",
            artifacts.to_str().expect("utf-8"),
        ],
        &[
            ("LD_PRELOAD", shim.as_os_str()),
            ("SOCKSPEC_SHIM_IGNORE", std::ffi::OsStr::new("6:1")),
        ],
    );
    assert_eq!(Some(1), o.status.code(), "{}", stderr(&o));
    assert!(
        artifacts.join("nagle.nodelay_segments.pcap").is_file(),
        "a failing case that captured writes its pcap"
    );
    let remembered = std::fs::read_to_string(state.join("sockspec/last-failed")).expect("state");
    assert!(
        remembered.contains("nagle.nodelay_segments\n"),
        "{remembered}"
    );

    let o = run(&["run", "--failed", "--format", "json"], &[]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let ids: Vec<&str> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(vec!["nagle.nodelay_segments"], ids);
    assert!(
        stderr(&o).contains(&format!(
            "running again the 1 cases that failed in {}",
            report.display()
        )),
        "{}",
        stderr(&o)
    );

    // With patterns: only the failed cases among them; none here.
    let o = run(&["run", "--failed", "waitall.*"], &[]);
    assert_eq!(Some(0), o.status.code(), "{}", stderr(&o));
    assert_eq!("", stdout(&o));
    assert!(stderr(&o).contains("nothing to run"), "{}", stderr(&o));
}
