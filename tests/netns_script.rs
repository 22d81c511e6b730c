//! scripts/netns.sh: runs the multicast cases across named namespaces and
//! leaves no namespace, bridge or veth behind — after a normal run, after
//! SIGINT midway, and (with --keep) only until --down. Needs root; as an
//! ordinary user it must refuse in one line.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

/// The script uses fixed names: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/netns.sh")
}

fn netns(args: &[&str]) -> Command {
    let mut c = Command::new("bash");
    c.arg(script())
        .args(args)
        .env("SOCKSPEC_BIN", common::exe())
        .stdin(Stdio::null());
    common::default_signals(&mut c);
    c
}

/// Host interfaces and the script's named namespaces.
fn host_state() -> (BTreeSet<String>, BTreeSet<String>) {
    let names = |d: &str| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ns = names("/run/netns")
        .into_iter()
        .filter(|n| n.starts_with("sockspec-"))
        .collect();
    (names("/sys/class/net"), ns)
}

fn root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("netns.sh tests need root: the ordinary-user refusal is tested instead");
    false
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn runs_every_mcast_case_and_cleans_up() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    let o = netns(&[]).output().expect("run netns.sh");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{out}\n{err}");
    let mcast = sockspec::cases::all()
        .iter()
        .filter(|c| c.id.starts_with("mcast."))
        .count();
    assert!(out.contains(&format!("{mcast} passed, 0 failed")), "{out}");
    assert_eq!(before, host_state());
}

/// Ctrl-C exits non-zero and removes the LAN whenever it lands: right after
/// the first namespace exists, in the middle of the set-up, at its end.
#[rstest::rstest]
#[case::first("sockspec-switch")]
#[case::middle("sockspec-h2")]
#[case::last("sockspec-h4")]
fn sigint_midway_removes_the_lan(#[case] after: &str) {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    let mut child = netns(&[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let t = Instant::now();
    while !std::path::Path::new("/run/netns").join(after).exists() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the LAN never came up"
        );
        std::thread::yield_now();
    }
    // Ctrl-C reaches the whole foreground process group.
    // SAFETY: signalling the script's own process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let status = child.wait().expect("wait");
    assert_ne!(Some(0), status.code());
    assert_eq!(before, host_state());
}

#[test]
fn keep_leaves_the_lan_until_down() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    let o = netns(&["--keep", "--", "mcast.class_d_only"])
        .output()
        .expect("run --keep");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{out}\n{err}");
    assert!(
        err.contains("sudo ip netns exec sockspec-h1 bash")
            && err.contains("scripts/netns.sh --down"),
        "{err}"
    );
    assert_eq!(5, host_state().1.len(), "the five namespaces stay up");
    let o = netns(&["--down"]).output().expect("run --down");
    assert_eq!(Some(0), o.status.code());
    assert!(
        text(&o).1.contains("removed sockspec-switch"),
        "{}",
        text(&o).1
    );
    assert_eq!(before, host_state());
    let o = netns(&["--down"]).output().expect("run --down again");
    assert_eq!(Some(0), o.status.code());
    assert!(text(&o).1.contains("no LAN to remove"), "{}", text(&o).1);
}

/// stdout is exactly sockspec's report: a JSON report parses as JSON.
#[test]
fn stdout_is_the_report_alone() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let o = netns(&["--", "mcast.ttl", "--format", "json"])
        .output()
        .expect("run netns.sh");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is one JSON report");
    assert_eq!(Some("mcast.ttl"), v["cases"][0]["id"].as_str());
    assert!(err.contains("LAN up"), "{err}");
}

#[test]
fn refuses_without_root_in_one_line() {
    use std::os::unix::fs::PermissionsExt;
    // A copy an ordinary user can read: the checkout may sit in a private home.
    let dir = tempfile::tempdir().expect("tempdir");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).expect("mkdir");
    for f in ["netns.sh", "lib.sh"] {
        std::fs::copy(script().with_file_name(f), scripts.join(f)).expect("copy script");
    }
    for p in [dir.path(), scripts.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut c = Command::new("bash");
    c.arg(scripts.join("netns.sh")).stdin(Stdio::null());
    if nix::unistd::geteuid().is_root() {
        c.uid(65534).gid(65534);
    }
    let o = c.output().expect("run as an ordinary user");
    let (_, err) = text(&o);
    assert_eq!(Some(1), o.status.code(), "{err}");
    assert_eq!(1, err.lines().count(), "{err}");
    assert!(err.contains("must run as root"), "{err}");
}

#[test]
fn help_and_bad_arguments() {
    let o = netns(&["--help"]).output().expect("help");
    assert_eq!(Some(0), o.status.code());
    assert!(text(&o).0.contains("--keep"));
    let o = netns(&["--bogus"]).output().expect("bad arg");
    let (_, err) = text(&o);
    assert_eq!(
        (Some(2), 1),
        (o.status.code(), err.lines().count()),
        "{err}"
    );
}

/// Without SOCKSPEC_BIN the script builds sockspec and runs the binary cargo
/// built, wherever CARGO_TARGET_DIR puts it, from any directory.
#[test]
fn builds_and_runs_sockspec_from_cargo_target_dir() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    let (cwd, target, profile) = common::target_elsewhere();
    let o = Command::new("bash")
        .arg(script())
        .args(["--", "mcast.class_d_only"])
        .current_dir(cwd.path())
        .env_remove("SOCKSPEC_BIN")
        .env("CARGO_TARGET_DIR", &target)
        .env("SOCKSPEC_PROFILE", &profile)
        .stdin(Stdio::null())
        .output()
        .expect("run netns.sh");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{out}\n{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert_eq!(before, host_state());
}

#[test]
fn a_failing_run_still_removes_the_lan() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = host_state();
    // sockspec refuses the pattern (exit 2) after the LAN is up.
    let o = netns(&["--", "nosuch.case"])
        .output()
        .expect("run netns.sh");
    let (out, err) = text(&o);
    assert_eq!(Some(2), o.status.code(), "{out}\n{err}");
    assert!(err.contains("LAN up"), "{err}");
    assert_eq!(before, host_state());
}
