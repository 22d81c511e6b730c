//! Ctrl-C during `sockspec run`: the case processes are stopped (they sit in
//! process groups of their own, out of reach of the terminal's Ctrl-C),
//! nothing of the user's is removed, no half report is left, and the exit
//! status is 130 (143 for SIGTERM).

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use rstest::rstest;

/// The case processes of the run `pid` (the children of its case launcher)
/// named `name`.
fn case_processes(pid: u32, name: &str) -> Vec<u32> {
    common::descendants(pid)
        .into_iter()
        .filter(|(_, comm)| comm == name)
        .map(|(p, _)| p)
        .collect()
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[rstest]
#[case::ctrl_c_with_output(libc::SIGINT, 130, true)]
#[case::ctrl_c_to_stdout(libc::SIGINT, 130, false)]
#[case::sigterm(libc::SIGTERM, 143, true)]
fn an_interrupted_run_stops_its_cases_and_keeps_the_users_files(
    #[case] signal: i32,
    #[case] status: i32,
    #[case] to_file: bool,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    std::fs::write(&report, "the previous report\n").expect("write");
    let artifacts = dir.path().join("artifacts");
    std::fs::create_dir(&artifacts).expect("mkdir");
    std::fs::write(artifacts.join("earlier.pcap"), "kept").expect("write");

    let mut cmd = Command::new(common::exe());
    // selftest.hang waits until its watchdog, stretched here to a minute.
    cmd.env("SOCKSPEC_SELFTEST", "1")
        .env("SOCKSPEC_DEADLINE_SCALE", "30")
        .args([
            "run",
            "selftest.hang",
            "waitall.fills_buffer",
            "--format",
            "json",
        ])
        .arg("--artifacts")
        .arg(&artifacts);
    if to_file {
        cmd.arg("--output").arg(&report);
    }
    let run = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn sockspec");

    let t = Instant::now();
    let hanging = loop {
        let found = case_processes(run.id(), "selftest.hang");
        if !found.is_empty() {
            break found;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the case process never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // As a terminal does: the signal goes to the foreground process group.
    // SAFETY: signalling the group of the process this test spawned.
    unsafe { libc::kill(-(run.id() as i32), signal) };
    let t = Instant::now();
    let out = run.wait_with_output().expect("wait");
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);

    assert_eq!(Some(status), out.status.code(), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    // The hanging case, and waitall.fills_buffer if it had not finished yet.
    assert!(
        err.contains("stopped 1 running case(s); no report written")
            || err.contains("stopped 2 running case(s); no report written"),
        "{err}"
    );
    assert_eq!("", String::from_utf8_lossy(&out.stdout), "no half report");
    for pid in hanging {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "case process {pid} outlived the run"
        );
    }
    assert_eq!(
        "the previous report\n",
        std::fs::read_to_string(&report).expect("the report is still there")
    );
    assert_eq!(
        BTreeSet::from(["artifacts".to_string(), "report.json".to_string()]),
        names(dir.path()),
        "no temporary file left beside the report"
    );
    assert_eq!(
        BTreeSet::from(["earlier.pcap".to_string()]),
        names(&artifacts)
    );
}

/// A run that ends normally replaces the report whole, leaving nothing else.
#[test]
fn a_finished_run_replaces_the_report_and_leaves_no_temporary_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    std::fs::write(&report, "the previous report\n").expect("write");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let state = tempfile::tempdir().expect("tempdir");
    let o = Command::new(common::exe())
        .env("XDG_STATE_HOME", state.path())
        .args([
            "run",
            "waitall.fills_buffer",
            "--format",
            "json",
            "--output",
        ])
        .arg(&report)
        .output()
        .expect("run");
    assert_eq!(
        Some(0),
        o.status.code(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("read")).expect("json");
    assert_eq!(Some("waitall.fills_buffer"), v["cases"][0]["id"].as_str());
    assert_eq!(
        BTreeSet::from(["report.json".to_string()]),
        names(dir.path())
    );
    let mode = std::fs::metadata(&report)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(0o640, mode & 0o777, "the replaced report keeps its mode");
}
