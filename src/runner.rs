//! Runs cases: each in its own child process (a re-exec of the sockspec binary)
//! that enters a fresh namespace before it starts any thread. The parent runs
//! every case in parallel, enforces each case's deadline, and turns whatever
//! the child did — result, crash, hang — into a `CaseResult`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::{self, ns, Lab};
use crate::model::{Case, CaseResult, Outcome, Skip};

/// The hidden sub-command the parent uses to run one case in a child.
pub const CHILD_COMMAND: &str = "__case";

/// Body of the child process: enter a namespace, run the case, print one JSON
/// line. Returns the process exit status.
pub fn child_main(case: &Case) -> i32 {
    let start = Instant::now();
    let result = match ns::enter_fresh_namespace() {
        Err(Skip(reason)) => {
            CaseResult::without_evidence(case.id, Outcome::Skip, reason, start.elapsed())
        }
        Ok(privilege) => run_in_namespace(case, privilege, start),
    };
    match serde_json::to_string(&result) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("sockspec: cannot encode the result of {}: {e}", case.id);
            1
        }
    }
}

fn run_in_namespace(case: &Case, privilege: lab::Privilege, start: Instant) -> CaseResult {
    let body =
        std::panic::catch_unwind(|| Lab::new(privilege).and_then(|mut lab| (case.run)(&mut lab)));
    match body {
        Ok(Ok(ev)) => CaseResult::from_evidence(case.id, ev, start.elapsed(), privilege),
        Ok(Err(e)) => match e.downcast_ref::<Skip>() {
            Some(Skip(reason)) => CaseResult::without_evidence(
                case.id,
                Outcome::Skip,
                reason.clone(),
                start.elapsed(),
            ),
            None => CaseResult::without_evidence(
                case.id,
                Outcome::Error,
                format!("{e:#}"),
                start.elapsed(),
            ),
        },
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            CaseResult::without_evidence(
                case.id,
                Outcome::Error,
                format!("the case panicked: {msg}"),
                start.elapsed(),
            )
        }
    }
}

/// How the parent runs cases.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The sockspec binary to re-exec for each case.
    pub exe: PathBuf,
    /// Where pcaps of failing cases go.
    pub artifacts: PathBuf,
    /// Extra environment for the children (used by tests: LD_PRELOAD shims).
    pub env: Vec<(String, String)>,
    /// Scales every case's deadline (slow emulated machines).
    pub deadline_scale: f64,
}

impl RunOptions {
    pub fn new(exe: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            exe: exe.into(),
            artifacts: PathBuf::from("sockspec-artifacts"),
            env: Vec::new(),
            deadline_scale: 1.0,
        }
    }
}

/// Runs `cases` all at once, each in its own child; results in input order.
pub fn run_all(cases: &[&'static Case], opts: &RunOptions) -> Vec<CaseResult> {
    run_all_with_progress(cases, opts, |_| {})
}

/// Where a run stands, for a progress display.
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    /// Ids still running, in catalogue order.
    pub running: Vec<&'a str>,
}

/// As `run_all`, calling `progress` each time a case finishes.
pub fn run_all_with_progress(
    cases: &[&'static Case],
    opts: &RunOptions,
    progress: impl Fn(&Progress) + Sync,
) -> Vec<CaseResult> {
    let finished = std::sync::Mutex::new(vec![false; cases.len()]);
    let report = |i: usize| {
        let mut f = finished.lock().unwrap_or_else(|e| e.into_inner());
        f[i] = true;
        let running = cases
            .iter()
            .zip(f.iter())
            .filter(|(_, done)| !**done)
            .map(|(c, _)| c.id)
            .collect();
        progress(&Progress {
            done: f.iter().filter(|d| **d).count(),
            total: cases.len(),
            running,
        });
    };
    progress(&Progress {
        done: 0,
        total: cases.len(),
        running: cases.iter().map(|c| c.id).collect(),
    });
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let report = &report;
                s.spawn(move || {
                    let r = run_one(c, opts);
                    report(i);
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(cases)
            .map(|(h, c)| {
                h.join().unwrap_or_else(|_| {
                    CaseResult::without_evidence(
                        c.id,
                        Outcome::Error,
                        "runner thread panicked".into(),
                        Duration::ZERO,
                    )
                })
            })
            .collect()
    })
}

/// Runs one case in a child process and collects its result.
pub fn run_one(case: &Case, opts: &RunOptions) -> CaseResult {
    let start = Instant::now();
    let mut result = match supervise(case, opts) {
        Ok(r) => r,
        Err(e) => {
            CaseResult::without_evidence(case.id, Outcome::Error, format!("{e:#}"), start.elapsed())
        }
    };
    if matches!(result.outcome, Outcome::Fail | Outcome::Error) && !result.frames.is_empty() {
        let path = opts
            .artifacts
            .join(format!("{}.pcap", result.id.replace(['/', '@'], "_")));
        match lab::pcap::write(&path, &result.frames) {
            Ok(()) => result.pcap = Some(path.display().to_string()),
            Err(e) => result
                .reason
                .push_str(&format!(" (pcap not written: {e:#})")),
        }
    }
    result
}

fn supervise(case: &Case, opts: &RunOptions) -> Result<CaseResult> {
    let start = Instant::now();
    let mut cmd = Command::new(&opts.exe);
    cmd.arg(CHILD_COMMAND)
        .arg(case.id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    // Own process group, so the watchdog can kill everything the case started;
    // and die with the parent, so an interrupted run leaves no process behind.
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawn {} for case {}", opts.exe.display(), case.id))?;
    let pid = child.id() as i32;
    let mut out = child.stdout.take().context("child stdout")?;
    let mut err = child.stderr.take().context("child stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = case.deadline.mul_f64(opts.deadline_scale);
    let exited = wait_exit(pid, deadline)?;
    if !exited {
        // SAFETY: signalling the child's own process group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let status = child.wait().context("wait for case process")?;
    // The group is killed in any case: a case must leave no process behind.
    // SAFETY: as above; ESRCH when the group is already gone is fine.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !exited {
        let waiting = last_phase(&stderr).unwrap_or_else(|| "no phase reported".into());
        return Ok(CaseResult::without_evidence(
            case.id,
            Outcome::Error,
            format!(
                "{}: killed by the watchdog after {deadline:?}; it was {waiting}",
                case.id
            ),
            start.elapsed(),
        ));
    }
    let stdout = String::from_utf8_lossy(&stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    match line.map(serde_json::from_str::<CaseResult>) {
        Some(Ok(mut r)) => {
            r.duration_ms = start.elapsed().as_millis() as u64;
            Ok(r)
        }
        Some(Err(e)) => Err(e).context("the case process printed an unreadable result"),
        None => {
            let tail: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.starts_with(lab::PHASE_PREFIX))
                .collect();
            let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
            Ok(CaseResult::without_evidence(
                case.id,
                Outcome::Error,
                format!("the case process ended ({status}) without a result: {tail}"),
                start.elapsed(),
            ))
        }
    }
}

fn last_phase(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(lab::PHASE_PREFIX))
        .map(|s| s.to_string())
}

/// Waits for process `pid` to exit, at most `timeout`, on a pidfd (no polling loop).
fn wait_exit(pid: i32, timeout: Duration) -> Result<bool> {
    // SAFETY: pidfd_open on our own child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return Err(std::io::Error::last_os_error())
            .context("pidfd_open (Linux 5.3 or newer is required)");
    }
    // SAFETY: fd is fresh and owned here.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let end = Instant::now() + timeout;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if lab::wait::readable(std::os::fd::AsRawFd::as_raw_fd(&fd), left)? {
            return Ok(true);
        }
        if left.is_zero() {
            return Ok(false);
        }
    }
}

/// The binary to re-exec: this process's own executable.
pub fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().context("locate the sockspec executable")
}

/// Default artifacts directory (pcaps of failing cases).
pub fn default_artifacts() -> &'static Path {
    Path::new("sockspec-artifacts")
}
