//! Runs cases: each in its own process (forked by the case launcher,
//! `launcher.rs`) that enters a fresh namespace before it starts any thread.
//! The parent runs every case in parallel, enforces each case's deadline, and
//! turns whatever the child did — result, crash, hang — into a `CaseResult`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::{self, ns, Lab};
use crate::model::{Case, CaseResult, Measured, Outcome, Skip};

mod launcher;
pub use launcher::{serve as launcher_main, LAUNCHER_COMMAND};

/// The hidden sub-command that runs one case in this process (for a person
/// debugging a case; a run forks its case processes from the launcher).
pub const CHILD_COMMAND: &str = "__case";

/// The case processes running now (by process group), so that an interrupted
/// run can stop them; once interrupted, no new case process may start.
struct Live {
    interrupted: bool,
    /// Case processes being spawned: already running (another process can
    /// see them) but not yet in `groups`.
    spawning: usize,
    groups: std::collections::BTreeSet<i32>,
}

static LIVE: std::sync::Mutex<Live> = std::sync::Mutex::new(Live {
    interrupted: false,
    spawning: 0,
    groups: std::collections::BTreeSet::new(),
});
/// Signalled each time a case process has been reaped.
static REAPED: std::sync::Condvar = std::sync::Condvar::new();

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

fn kill_group(pgid: i32) {
    // SAFETY: signalling a case's own process group; ESRCH when it is already
    // gone is fine.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// A case process being spawned, counted as running until it is a
/// `LiveGroup`: an interrupt that lands in between still counts it, waits for
/// it, and `LiveGroup::enter` kills it.
struct Spawning;

impl Spawning {
    fn start(id: &str) -> Result<Spawning> {
        let mut l = live();
        if l.interrupted {
            anyhow::bail!("{id}: not started, the run was interrupted");
        }
        l.spawning += 1;
        Ok(Spawning)
    }
}

impl Drop for Spawning {
    fn drop(&mut self) {
        live().spawning -= 1;
        REAPED.notify_all();
    }
}

/// A started case process, counted as live until its supervisor has reaped it.
struct LiveGroup(i32);

impl LiveGroup {
    /// Counts `pgid` as live, or kills it at once when the run was interrupted
    /// while it was being spawned.
    fn enter(pgid: i32) -> LiveGroup {
        let mut l = live();
        if l.interrupted {
            kill_group(pgid);
        }
        l.groups.insert(pgid);
        LiveGroup(pgid)
    }
}

impl Drop for LiveGroup {
    fn drop(&mut self) {
        live().groups.remove(&self.0);
        REAPED.notify_all();
    }
}

/// Stops the run (Ctrl-C): kills the process group of every running case,
/// lets no new case start, and waits, at most `within`, until their
/// supervisors have reaped them. Returns how many cases were running.
pub fn interrupt(within: Duration) -> usize {
    let mut l = live();
    l.interrupted = true;
    let running = l.groups.len() + l.spawning;
    for &pgid in &l.groups {
        kill_group(pgid);
    }
    let end = Instant::now() + within;
    drop(wait_reaped(l, end));
    launcher::shut_down(end.saturating_duration_since(Instant::now()));
    running
}

/// Ends the case launchers this process started (a run is over): waits, at
/// most `within`, until they have exited, so that none outlives the run.
pub fn shut_down(within: Duration) {
    launcher::shut_down(within);
}

fn wait_reaped(
    mut l: std::sync::MutexGuard<'static, Live>,
    end: Instant,
) -> std::sync::MutexGuard<'static, Live> {
    while !l.groups.is_empty() || l.spawning > 0 {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        l = REAPED
            .wait_timeout(l, left)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
    l
}

/// Body of a case process (forked by the launcher, or `sockspec __case ID`):
/// enter a namespace, run the case, print one JSON line. Returns the process
/// exit status.
pub fn child_main(case: &Case) -> i32 {
    let start = Instant::now();
    let result = match ns::enter_fresh_namespace() {
        Err(Skip(reason)) => {
            CaseResult::without_evidence(case, Outcome::Skip, reason, start.elapsed())
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

/// Measures, then judges what was measured.
fn measure_and_judge(case: &Case, privilege: lab::Privilege) -> Result<Measured> {
    let mut lab = Lab::new(privilege)?;
    let observed = case.run.measure(&mut lab)?;
    let judgement = case.run.judge(&observed)?;
    let mut record = lab::record::take();
    record.wire_bytes = lab.wire_bytes()?;
    Ok(Measured {
        observed,
        judgement,
        record,
        privilege,
    })
}

fn run_in_namespace(case: &Case, privilege: lab::Privilege, start: Instant) -> CaseResult {
    let body = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        measure_and_judge(case, privilege)
    }));
    match body {
        Ok(Ok(m)) => CaseResult::from_measured(case, m, start.elapsed()),
        Ok(Err(e)) => match e.downcast_ref::<Skip>() {
            Some(Skip(reason)) => {
                CaseResult::without_evidence(case, Outcome::Skip, reason.clone(), start.elapsed())
            }
            None => CaseResult::without_evidence(
                case,
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
                case,
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
    /// The sockspec binary the case launcher runs.
    pub exe: PathBuf,
    /// Where pcaps of failing cases go.
    pub artifacts: PathBuf,
    /// Where every case's capture goes, passing or not (`--pcap DIR`); the
    /// pcaps of failing cases then go there too.
    pub pcap: Option<PathBuf>,
    /// Extra environment for the children (used by tests: LD_PRELOAD shims).
    pub env: Vec<(String, String)>,
    /// Scales every case's deadline (slow emulated machines).
    pub deadline_scale: f64,
    /// Runs every case this many times, all at once (ids suffixed #1, #2, ...
    /// when more than 1): the load of a larger catalogue.
    pub repeat: usize,
    /// At most this many cases at once (`--jobs`); None: all at once.
    pub jobs: Option<usize>,
}

impl RunOptions {
    pub fn new(exe: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            exe: exe.into(),
            artifacts: PathBuf::from("sockspec-artifacts"),
            pcap: None,
            env: Vec::new(),
            deadline_scale: deadline_scale(std::env::var(DEADLINE_SCALE_ENV).ok().as_deref()),
            repeat: 1,
            jobs: None,
        }
    }
}

/// Multiplies every case's watchdog deadline (slow emulated machines: the
/// kernel matrix's guests run under TCG). Documented in `sockspec --help`.
pub const DEADLINE_SCALE_ENV: &str = "SOCKSPEC_DEADLINE_SCALE";

/// The scale SOCKSPEC_DEADLINE_SCALE asks for: a number of at least 1 (a
/// deadline is never shortened); 1 when unset or not such a number.
fn deadline_scale(value: Option<&str>) -> f64 {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 1.0)
        .unwrap_or(1.0)
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

/// One child to run: a case, and its copy number under `--repeat`.
struct Job {
    case: &'static Case,
    id: String,
}

fn jobs(cases: &[&'static Case], repeat: usize) -> Vec<Job> {
    cases
        .iter()
        .flat_map(|c| {
            (1..=repeat.max(1)).map(move |k| Job {
                case: c,
                id: if repeat > 1 {
                    format!("{}#{k}", c.id)
                } else {
                    c.id.to_string()
                },
            })
        })
        .collect()
}

/// How long each case took when this kernel's baseline was recorded (by id),
/// read once; empty when no baseline fits this kernel.
fn recorded_durations() -> &'static std::collections::HashMap<String, u64> {
    static DURATIONS: std::sync::OnceLock<std::collections::HashMap<String, u64>> =
        std::sync::OnceLock::new();
    DURATIONS.get_or_init(|| {
        crate::report::baseline::find(&crate::report::kernel_release())
            .and_then(|f| f.recorded.report().ok())
            .map(|r| r.cases.into_iter().map(|c| (c.id, c.duration_ms)).collect())
            .unwrap_or_default()
    })
}

/// The order to start jobs in: the cases that took longest when recorded
/// first. A run lasts as long as its longest case, whose length is kernel
/// timers (keep-alive, linger): started first, its timers run while the many
/// short cases share the CPU, instead of starting late behind them.
fn longest_first(jobs: &[Job]) -> Vec<usize> {
    let took = recorded_durations();
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(took.get(jobs[i].case.id).copied().unwrap_or(0)));
    order
}

/// As `run_all`, calling `progress` each time a case finishes.
pub fn run_all_with_progress(
    cases: &[&'static Case],
    opts: &RunOptions,
    progress: impl Fn(&Progress) + Sync,
) -> Vec<CaseResult> {
    let jobs = jobs(cases, opts.repeat);
    let finished = std::sync::Mutex::new(vec![false; jobs.len()]);
    let report = |i: usize| {
        let mut f = finished.lock().unwrap_or_else(|e| e.into_inner());
        f[i] = true;
        let running = jobs
            .iter()
            .zip(f.iter())
            .filter(|(_, done)| !**done)
            .map(|(j, _)| j.id.as_str())
            .collect();
        progress(&Progress {
            done: f.iter().filter(|d| **d).count(),
            total: jobs.len(),
            running,
        });
    };
    progress(&Progress {
        done: 0,
        total: jobs.len(),
        running: jobs.iter().map(|j| j.id.as_str()).collect(),
    });
    let slots = Slots::new(opts.jobs.unwrap_or(jobs.len()));
    std::thread::scope(|s| {
        let mut handles: Vec<_> = jobs.iter().map(|_| None).collect();
        for i in longest_first(&jobs) {
            let (j, report, slots) = (&jobs[i], &report, &slots);
            // Taken here, in start order: with --jobs the longest cases
            // still go first.
            let slot = slots.take();
            handles[i] = Some(s.spawn(move || {
                let _slot = slot;
                let mut r = run_one(j.case, opts);
                r.id.clone_from(&j.id);
                report(i);
                r
            }));
        }
        handles
            .into_iter()
            .map(|h| h.expect("every job was started"))
            .zip(&jobs)
            .map(|(h, j)| {
                h.join().unwrap_or_else(|_| {
                    let mut r = CaseResult::without_evidence(
                        j.case,
                        Outcome::Error,
                        "runner thread panicked".into(),
                        Duration::ZERO,
                    );
                    r.id.clone_from(&j.id);
                    r
                })
            })
            .collect()
    })
}

/// A counting semaphore: how many cases may run at once.
struct Slots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

/// One case's place among the running; given back when dropped.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            free: std::sync::Mutex::new(n.max(1)),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Waits (blocked, not polling) until a case may start.
    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// Runs one case in a child process and collects its result.
pub fn run_one(case: &Case, opts: &RunOptions) -> CaseResult {
    let start = Instant::now();
    let mut result = match supervise(case, opts) {
        Ok(r) => r,
        Err(e) => {
            CaseResult::without_evidence(case, Outcome::Error, format!("{e:#}"), start.elapsed())
        }
    };
    let failed = matches!(result.outcome, Outcome::Fail | Outcome::Error);
    let dir = match &opts.pcap {
        Some(all) => Some(all),
        None if failed => Some(&opts.artifacts),
        None => None,
    };
    if let Some(dir) = dir.filter(|_| !result.frames.is_empty()) {
        match crate::artifacts::write(
            dir,
            &pcap_name(&result.id),
            &lab::pcap::encode(&result.frames),
        ) {
            Ok(path) => result.pcap = Some(path.display().to_string()),
            Err(e) => result
                .reason
                .push_str(&format!(" (pcap not written: {e:#})")),
        }
    }
    result
}

/// The file a case's capture is written to: its id, with the characters a
/// file name should not carry replaced ("linger.zero_rst@v6" ->
/// "linger.zero_rst_v6.pcap").
pub fn pcap_name(id: &str) -> String {
    format!("{}.pcap", id.replace(['/', '@', '#'], "_"))
}

fn supervise(case: &Case, opts: &RunOptions) -> Result<CaseResult> {
    let start = Instant::now();
    let spawning = Spawning::start(case.id)?;
    let (out, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    let (err, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    let status = launcher::launch(&opts.exe, &opts.env, case.id, out_w, err_w)?;
    let mut output = Output::new(out, err, status);
    let answered = output.read(Until::Started, Instant::now() + launcher::ANSWER_WITHIN)?;
    let pid = match launcher::Record::parse(&output.status) {
        Some(launcher::Record::Started(pid)) => pid,
        Some(launcher::Record::Failed(why)) => anyhow::bail!("{}: {why}", case.id),
        Some(launcher::Record::Exited { .. }) => {
            anyhow::bail!("{}: the launcher reported an exit before a start", case.id)
        }
        None if answered => anyhow::bail!("{}: the case launcher ended without an answer", case.id),
        None => anyhow::bail!(
            "{}: the case launcher did not answer within {:?}",
            case.id,
            launcher::ANSWER_WITHIN
        ),
    };
    let _live = LiveGroup::enter(pid);
    drop(spawning);
    let deadline = case.deadline.mul_f64(opts.deadline_scale);
    let exited = output.read(Until::Exit, Instant::now() + deadline)?;
    if !exited {
        kill_group(pid);
        if !output.read(Until::Exit, Instant::now() + KILLED_WITHIN)? {
            anyhow::bail!("case process {pid} outlived SIGKILL by {KILLED_WITHIN:?}");
        }
    }
    // The launcher killed what the case left in its group before it reaped
    // the case (launcher::reap): nothing holds its pipes open now.
    output.read(Until::End, Instant::now() + KILLED_WITHIN)?;
    let exit = output
        .status
        .get(launcher::RECORD_LEN..)
        .unwrap_or_default();
    let Some(launcher::Record::Exited { status, cpu }) = launcher::Record::parse(exit) else {
        anyhow::bail!("the case launcher ended while case process {pid} ran");
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut result = parse_child(
        case,
        exited,
        deadline,
        status,
        &output.stdout,
        &stderr,
        start,
    )?;
    result.cpu_ms = (cpu.as_secs_f64() * 1e5).round() / 1e2;
    Ok(result)
}

/// How long a killed case process may take to be reaped.
const KILLED_WITHIN: Duration = Duration::from_secs(30);

/// What `Output::read` reads until.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// The launcher has answered the request (or is gone).
    Started,
    /// The launcher has said how the case process ended (or is gone).
    Exit,
    /// Every pipe is at its end.
    End,
}

/// A case process's standard output and error and its status pipe from the
/// launcher, read as they come, in the thread that supervises it.
struct Output {
    /// The pipes not yet at their end: stdout, stderr, status.
    open: [Option<std::os::fd::OwnedFd>; 3],
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// What came on the status pipe: STARTED then EXITED, or FAILED.
    status: Vec<u8>,
}

impl Output {
    fn new(
        out: std::os::fd::OwnedFd,
        err: std::os::fd::OwnedFd,
        status: std::os::fd::OwnedFd,
    ) -> Output {
        Output {
            open: [Some(out), Some(err), Some(status)],
            stdout: Vec::new(),
            stderr: Vec::new(),
            status: Vec::new(),
        }
    }

    fn reached(&self, until: Until) -> bool {
        match until {
            Until::Started => self.status.len() >= launcher::RECORD_LEN || self.open[2].is_none(),
            Until::Exit => self.status.len() >= 2 * launcher::RECORD_LEN || self.open[2].is_none(),
            Until::End => self.open.iter().all(Option::is_none),
        }
    }

    /// Reads what comes until `until` (true) or until `end` (false).
    fn read(&mut self, until: Until, end: Instant) -> Result<bool> {
        use std::os::fd::AsRawFd;
        loop {
            if self.reached(until) {
                return Ok(true);
            }
            let mut fds: Vec<libc::pollfd> = self
                .open
                .iter()
                .flatten()
                .map(|fd| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // Rounded up: a timeout of 0 before the end would spin.
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            // SAFETY: polling descriptors owned here, for at most `ms`.
            if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) } < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e).context("poll the case process's output");
            }
            for p in fds.iter().filter(|p| p.revents != 0) {
                self.read_some(p.fd)?;
            }
        }
    }

    /// One read from the pipe `fd`, which poll reported ready; at its end the
    /// pipe is closed.
    fn read_some(&mut self, fd: i32) -> Result<()> {
        use std::os::fd::AsRawFd;
        let i = self
            .open
            .iter()
            .position(|o| o.as_ref().is_some_and(|o| o.as_raw_fd() == fd))
            .context("a pipe that is not the case's")?;
        let mut buf = [0u8; 65536];
        // SAFETY: reading into a local buffer from a pipe owned here.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(e).context("read the case process's output");
        }
        if n == 0 {
            self.open[i] = None;
            return Ok(());
        }
        let sink = match i {
            0 => &mut self.stdout,
            1 => &mut self.stderr,
            _ => &mut self.status,
        };
        sink.extend_from_slice(&buf[..n as usize]);
        Ok(())
    }
}

/// What the child printed, or why it printed nothing.
fn parse_child(
    case: &Case,
    exited: bool,
    deadline: Duration,
    status: std::process::ExitStatus,
    stdout: &[u8],
    stderr: &str,
    start: Instant,
) -> Result<CaseResult> {
    if !exited {
        let waiting = last_phase(stderr).unwrap_or_else(|| "no phase reported".into());
        return Ok(CaseResult::without_evidence(
            case,
            Outcome::Error,
            format!(
                "{}: killed by the watchdog after {deadline:?}; it was {waiting}",
                case.id
            ),
            start.elapsed(),
        ));
    }
    let stdout = String::from_utf8_lossy(stdout);
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
                case,
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

/// A command running `exe`. When that is this process's own executable, it
/// runs through /proc/self/exe (named `exe` in its argv[0]): the file this
/// process was started from, even if the path now names another (a
/// rebuilt or reinstalled binary while a run goes on) or nothing.
fn child_command(exe: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let own = std::env::current_exe().is_ok_and(|me| {
        me == exe || me.to_string_lossy() == format!("{} (deleted)", exe.display())
    });
    if own && Path::new("/proc/self/exe").exists() {
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg0(exe);
        cmd
    } else {
        Command::new(exe)
    }
}

/// The binary to run the case launcher from: this process's own executable.
pub fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().context("locate the sockspec executable")
}

/// Default artifacts directory (pcaps of failing cases).
pub fn default_artifacts() -> &'static Path {
    Path::new("sockspec-artifacts")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    /// With two slots, a third case starts only once one of the first two
    /// has given its slot back.
    #[test]
    fn slots_hold_back_a_case_until_one_finishes() {
        let slots = super::Slots::new(2);
        let (a, b) = (slots.take(), slots.take());
        let started = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let third = s.spawn(|| {
                let _c = slots.take();
                started.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            // The third thread is blocked in take() (it cannot set the flag
            // before a slot is free): give it the chance to run anyway.
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
            drop(a);
            third.join().expect("third case");
        });
        assert!(started.load(std::sync::atomic::Ordering::SeqCst));
        drop(b);
        assert_eq!(2, *slots.free.lock().unwrap());
    }

    #[test]
    fn deadline_scale_takes_numbers_of_at_least_one() {
        let scales: Vec<f64> = [
            None,
            Some("4"),
            Some(" 2.5 "),
            Some("1"),
            Some("0.5"),
            Some("0"),
            Some("-3"),
            Some("inf"),
            Some("NaN"),
            Some("four"),
            Some(""),
        ]
        .into_iter()
        .map(super::deadline_scale)
        .collect();
        assert_eq!(
            scales,
            vec![1.0, 4.0, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        );
    }
}
