//! The scripts honour the environment: they run from any directory (paths the
//! user gives stay relative to it) and run the binary cargo built, wherever
//! CARGO_TARGET_DIR puts it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

fn elsewhere() -> (tempfile::TempDir, PathBuf, String) {
    common::target_elsewhere()
}

fn bash(cwd: &Path, target: &Path, profile: &str, script: &str) -> Command {
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(script)
        .current_dir(cwd)
        .env("CARGO_TARGET_DIR", target)
        .env("SOCKSPEC_PROFILE", profile)
        .env("LIB", scripts().join("lib.sh"))
        .stdin(Stdio::null());
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn build_sockspec_names_the_binary_under_cargo_target_dir() {
    let (cwd, target, profile) = elsewhere();
    let o = bash(cwd.path(), &target, &profile, ". \"$LIB\"; build_sockspec")
        .output()
        .expect("bash");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{err}");
    let exe = PathBuf::from(out.trim());
    assert!(
        exe.starts_with(&target) && exe.ends_with("sockspec"),
        "{exe:?} is not under CARGO_TARGET_DIR {target:?}"
    );
    assert!(exe.is_file(), "{exe:?}");
}

#[test]
fn target_dir_is_cargo_target_dir_when_set() {
    let (cwd, target, profile) = elsewhere();
    let o = bash(cwd.path(), &target, &profile, ". \"$LIB\"; target_dir")
        .output()
        .expect("bash");
    let (out, err) = text(&o);
    assert_eq!(
        (Some(0), target.display().to_string()),
        (o.status.code(), out.trim().to_string()),
        "{err}"
    );
}

#[test]
fn run_sh_from_another_directory_with_cargo_target_dir() {
    let (cwd, target, profile) = elsewhere();
    let run = scripts().join("run.sh");
    let o = bash(
        cwd.path(),
        &target,
        &profile,
        &format!(
            "bash {} waitall.fills_buffer --format json --output report.json",
            run.display()
        ),
    )
    .output()
    .expect("run.sh");
    let (out, err) = text(&o);
    assert_eq!(Some(0), o.status.code(), "{out}\n{err}");
    // --output is relative to where the user ran the script.
    let report = std::fs::read_to_string(cwd.path().join("report.json")).expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!(Some("waitall.fills_buffer"), v["cases"][0]["id"].as_str());
}

/// No script assumes where cargo put the binary, or that it runs in the checkout.
#[test]
fn no_script_assumes_target_or_the_current_directory() {
    for entry in std::fs::read_dir(scripts()).expect("scripts/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read script");
        for assumption in [
            "target/release/",
            "target/debug/",
            "cd \"$(dirname \"$0\")/..\"",
        ] {
            assert!(
                !text.contains(assumption),
                "{} assumes {assumption}",
                path.display()
            );
        }
        if path.file_name().is_some_and(|n| n != "lib.sh") {
            assert!(
                text.contains(". \"$(dirname \"$0\")/lib.sh\""),
                "{} does not use lib.sh",
                path.display()
            );
        }
    }
}
