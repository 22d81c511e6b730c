//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use sockspec::model::{CaseResult, Check, Outcome};
use sockspec::runner::{self, RunOptions};

/// The sockspec binary cargo built for these tests.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sockspec"))
}

/// A directory outside the checkout to run a script from, a CARGO_TARGET_DIR
/// in it that is not the checkout's target/ (a link to the target directory
/// these tests were built in, so the script's cargo build finds everything
/// fresh), and the cargo profile that built them (for SOCKSPEC_PROFILE).
pub fn target_elsewhere() -> (tempfile::TempDir, PathBuf, String) {
    let exe = exe();
    let profile_dir = exe.parent().expect("the binary's directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let target = profile_dir.parent().expect("the target directory");
    let cwd = tempfile::tempdir().expect("tempdir");
    let link = cwd.path().join("cache-target");
    std::os::unix::fs::symlink(target, &link).expect("symlink to the target directory");
    (cwd, link, profile)
}

/// Runs one case in its own namespace, as `sockspec run` does, with extra
/// environment for the case process.
pub fn run_case(id: &str, env: &[(&str, &str)]) -> CaseResult {
    let case = sockspec::cases::find(id).unwrap_or_else(|| panic!("no case {id}"));
    let artifacts = tempfile::tempdir().expect("artifacts dir");
    let mut opts = RunOptions::new(exe());
    opts.artifacts = artifacts.path().to_path_buf();
    opts.env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    runner::run_one(case, &opts)
}

/// What a test compares: enough to show, on failure, every check that went
/// wrong with its expected and observed values.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub id: String,
    pub outcome: Outcome,
    pub has_verdict: bool,
    pub failed_checks: Vec<Check>,
    pub reason_if_not_pass: Option<String>,
}

impl Summary {
    pub fn of(r: &CaseResult) -> Summary {
        Summary {
            id: r.id.clone(),
            outcome: r.outcome,
            has_verdict: r.verdict.is_some(),
            failed_checks: r.failed_checks(),
            reason_if_not_pass: (r.outcome != Outcome::Pass).then(|| r.reason.clone()),
        }
    }
    pub fn passed(id: &str) -> Summary {
        Summary {
            id: id.into(),
            outcome: Outcome::Pass,
            has_verdict: true,
            failed_checks: vec![],
            reason_if_not_pass: None,
        }
    }
}

/// A skip is accepted only when SOCKSPEC_ALLOW_SKIP=1 says this machine lacks
/// namespaces; it is printed, never silent.
pub fn allow_skip(r: &CaseResult) -> bool {
    if r.outcome == Outcome::Skip && std::env::var("SOCKSPEC_ALLOW_SKIP").as_deref() == Ok("1") {
        eprintln!("SKIPPED {}: {}", r.id, r.reason);
        return true;
    }
    false
}

/// Restores SIGINT and SIGTERM to their default action in `cmd`'s process. A
/// test binary started as a background job of a script (scripts/test.sh runs
/// its lanes that way) inherits SIGINT ignored, and a shell that starts with a
/// signal ignored can never trap it: tests that send Ctrl-C need the default.
pub fn default_signals(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        })
    }
}

/// Builds the sabotage shim (fixtures/shim/ignore_setsockopt.c) into `dir`:
/// LD_PRELOADed, setsockopt ignores the options listed in
/// SOCKSPEC_SHIM_IGNORE ("level:option,...") and getsockopt echoes them.
pub fn build_shim(dir: &std::path::Path) -> PathBuf {
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shim/ignore_setsockopt.c");
    let out = dir.join("libignore_setsockopt.so");
    let status = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) is needed to build the sabotage shim: apt-get install gcc");
    assert!(status.success(), "building {} failed", src.display());
    out
}

/// A copy of the binary anyone can run, in `dir` (made 0755: the build tree
/// may sit under a private home). Copied by `cp`, not by this process: a
/// file this process had open for writing can be inherited by a child that
/// another test thread is forking at that moment, and until that child
/// execs, running the copy fails with ETXTBSY ("Text file busy").
pub fn public_copy(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let mode = |m| std::fs::Permissions::from_mode(m);
    std::fs::set_permissions(dir, mode(0o755)).expect("chmod");
    let copy = dir.join("sockspec");
    let status = std::process::Command::new("cp")
        .arg(exe())
        .arg(&copy)
        .status()
        .expect("cp the binary");
    assert!(
        status.success(),
        "cp {} {}",
        exe().display(),
        copy.display()
    );
    std::fs::set_permissions(&copy, mode(0o755)).expect("chmod the copy");
    copy
}

/// The processes descended from `pid` (children, their children, ...), each
/// with its name (/proc/PID/comm: a case process names itself after its case
/// id, cut to 15 bytes).
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut parent_of = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // The parent pid is the second field after the parenthesised name.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((p, ppid));
        }
    }
    let mut found: Vec<u32> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, _) in parent_of.iter().filter(|(_, pp)| *pp == parent) {
            found.push(p);
            frontier.push(p);
        }
    }
    found
        .into_iter()
        .map(|p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            (p, comm.trim_end().to_string())
        })
        .collect()
}
