//! The case launcher: one process per run (per binary and environment),
//! started once by executing the sockspec binary, that forks every case
//! process on request.
//!
//! Why: executing the 14 MB binary afresh for each case cost about 2 ms of CPU
//! per case here (the loader, relocations, page faults: `posix_spawn` of
//! `sockspec --version` 1.9 ms, of /bin/true 1.2 ms) on top of the 0.5 ms that
//! a fork and a new network namespace cost; forking a small process that has
//! done nothing yet costs about 0.1 ms. The launcher is single-threaded, so a
//! fork of it is as safe as an exec.
//!
//! The launcher's standard input is a SOCK_SEQPACKET socket from the runner:
//! each message is a case id with three descriptors (SCM_RIGHTS): the case's
//! stdout and stderr, and a status pipe. On the status pipe the launcher
//! writes `RECORD_LEN`-byte records `[kind: u8][pid: i32][a: i64][b: i64]`:
//! STARTED (pid), then EXITED (a = wait status, b = CPU in µs of the process
//! and everything it reaped), or FAILED alone (a = errno, b = a `Refusal`).
//! It reaps its case processes itself: a process's CPU can be read only by
//! the parent that reaps it. The runner's thread for the case polls the
//! status pipe with the case's output: no thread or channel in between.
//!
//! The launcher ends when the runner's end of the socket closes (the runner
//! exited, or `shut_down`): it kills what it still runs, reaps it, and exits.

use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

use crate::model::Case;

/// The hidden sub-command that runs the launcher.
pub const LAUNCHER_COMMAND: &str = "__launcher";

const STARTED: u8 = 0;
const EXITED: u8 = 1;
const FAILED: u8 = 2;
/// One record on a status pipe (less than PIPE_BUF: written and read whole).
pub const RECORD_LEN: usize = 21;
/// The longest request: a case id.
const REQUEST_MAX: usize = 512;

/// How long a fork may take to be answered (a loaded machine is slow, never
/// this slow).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// Why the launcher refused a request (FAILED's `b`).
#[derive(Clone, Copy)]
#[repr(i64)]
enum Refusal {
    UnknownCase = 1,
    Fork = 2,
}

/// A record from a status pipe.
pub enum Record {
    Started(i32),
    Exited { status: ExitStatus, cpu: Duration },
    Failed(String),
}

impl Record {
    pub fn parse(b: &[u8]) -> Option<Record> {
        use std::os::unix::process::ExitStatusExt;
        let b: &[u8; RECORD_LEN] = b.get(..RECORD_LEN)?.try_into().ok()?;
        let pid = i32::from_le_bytes(b[1..5].try_into().ok()?);
        let a = i64::from_le_bytes(b[5..13].try_into().ok()?);
        let v = i64::from_le_bytes(b[13..21].try_into().ok()?);
        Some(match b[0] {
            STARTED => Record::Started(pid),
            EXITED => Record::Exited {
                status: ExitStatus::from_raw(a as i32),
                cpu: Duration::from_micros(v.max(0) as u64),
            },
            _ => Record::Failed(refusal_text(a, v)),
        })
    }
}

fn refusal_text(errno: i64, why: i64) -> String {
    match why {
        x if x == Refusal::UnknownCase as i64 => "the launcher knows no such case".into(),
        _ => format!(
            "the launcher could not fork: {}",
            nix::errno::Errno::from_raw(errno as i32)
        ),
    }
}

struct Launcher {
    sock: OwnedFd,
    process: Mutex<Child>,
}

type Key = (PathBuf, Vec<(String, String)>);

/// The launchers this process started, one per binary and environment.
static LAUNCHERS: Mutex<Vec<(Key, Arc<Launcher>)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running launcher for `exe` with `env`, started if there is none (or
/// the last one ended).
fn launcher_for(exe: &Path, env: &[(String, String)]) -> Result<Arc<Launcher>> {
    let mut all = lock(&LAUNCHERS);
    all.retain(|(_, l)| matches!(lock(&l.process).try_wait(), Ok(None)));
    if let Some((_, l)) = all.iter().find(|(k, _)| k.0 == exe && k.1 == env) {
        return Ok(l.clone());
    }
    let l = Arc::new(start(exe, env)?);
    all.push(((exe.to_path_buf(), env.to_vec()), l.clone()));
    Ok(l)
}

fn start(exe: &Path, env: &[(String, String)]) -> Result<Launcher> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair for the case launcher")?;
    let mut cmd = super::child_command(exe);
    cmd.arg(LAUNCHER_COMMAND)
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .envs(env.iter().map(|(k, v)| (k, v)));
    // A group of its own: the terminal's Ctrl-C is the runner's to handle;
    // the launcher ends when the runner's end of the socket closes.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .with_context(|| format!("start the case launcher {}", exe.display()))?;
    Ok(Launcher {
        sock: ours,
        process: Mutex::new(child),
    })
}

/// Asks for case `id` in a process of its own (its own process group too)
/// with `stdout` and `stderr` as its standard output and error. Returns the
/// status pipe, on which the launcher says STARTED (with the pid) or FAILED,
/// then EXITED when the process has ended: read it with the case's output
/// (`Record::parse`), waiting for the first record at most `ANSWER_WITHIN`.
pub fn launch(
    exe: &Path,
    env: &[(String, String)],
    id: &str,
    stdout: OwnedFd,
    stderr: OwnedFd,
) -> Result<OwnedFd> {
    let (status, status_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("a status pipe")?;
    let fds = [stdout.as_raw_fd(), stderr.as_raw_fd(), status_w.as_raw_fd()];
    let l = launcher_for(exe, env)?;
    // The launcher holds copies once it is sent; ours close on return, or
    // the case's output and the status pipe would never show their end.
    loop {
        match sendmsg::<()>(
            l.sock.as_raw_fd(),
            &[IoSlice::new(id.as_bytes())],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(_) => return Ok(status),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("ask the case launcher for a case process"),
        }
    }
}

/// Ends every launcher this process started and waits, at most `within` in
/// all, until each has exited (killing what it still ran) and is reaped.
pub fn shut_down(within: Duration) {
    let end = std::time::Instant::now() + within;
    let all: Vec<Arc<Launcher>> = lock(&LAUNCHERS).drain(..).map(|(_, l)| l).collect();
    for l in &all {
        let _ = nix::sys::socket::shutdown(l.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    }
    for l in all {
        let mut child = lock(&l.process);
        let left = end.saturating_duration_since(std::time::Instant::now());
        if !matches!(wait_exit(child.id() as i32, left), Ok(true)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
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
    let end = std::time::Instant::now() + timeout;
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if crate::lab::wait::readable(std::os::fd::AsRawFd::as_raw_fd(&fd), left)? {
            return Ok(true);
        }
        if left.is_zero() {
            return Ok(false);
        }
    }
}

/// The launcher's body (`sockspec __launcher`, stdin the socket to the
/// runner). Returns the exit status.
pub fn serve() -> i32 {
    match serve_on(0) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sockspec: case launcher: {e:#}");
            1
        }
    }
}

fn serve_on(sock: RawFd) -> Result<()> {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"sockspec-launch".as_ptr()) };
    let mut chld = SigSet::empty();
    chld.add(Signal::SIGCHLD);
    chld.thread_block().context("block SIGCHLD")?;
    let sfd = SignalFd::with_flags(&chld, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .context("signalfd for SIGCHLD")?;
    let me = nix::unistd::getpid();
    // Once for all the case processes, which inherit it.
    crate::lab::procnet::snapshot_global_sysctls();
    // Case processes still running, with their status pipes.
    let mut live: HashMap<i32, OwnedFd> = HashMap::new();
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sock,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: polling two descriptors this process owns; blocks until one
        // is ready.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        if fds[1].revents != 0 {
            while let Ok(Some(_)) = sfd.read_signal() {}
            reap(&mut live, libc::WNOHANG);
        }
        if fds[0].revents != 0 && !take_request(sock, sfd.as_raw_fd(), me, &mut live) {
            break;
        }
    }
    // The runner has gone: nothing of the run may outlive it.
    for pid in live.keys() {
        // SAFETY: killing the process group of a case process we started.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    while !live.is_empty() && reap(&mut live, 0) {}
    Ok(())
}

/// Reaps finished case processes and says so on their status pipes; false
/// when there was nothing to reap. `flags`: 0 or WNOHANG.
///
/// What a case process left in its process group is killed before the
/// process is reaped: until then its pid, and so the group's id, cannot be
/// given to another process. Killed after (as the runner once did), the id
/// could name a new case process's group: the kernel's default pid_max is
/// 32768 (where nothing raises it), and a busy run goes round it.
fn reap(live: &mut HashMap<i32, OwnedFd>, flags: i32) -> bool {
    let mut any = false;
    loop {
        // SAFETY: siginfo_t is plain data the kernel fills.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: asks which child has ended, into a live local, leaving it
        // unreaped (WNOWAIT).
        let rc = unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | flags,
            )
        };
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        // SAFETY: si_pid is set by waitid for WEXITED (0 when WNOHANG found
        // nothing).
        let pid = if rc < 0 { 0 } else { unsafe { info.si_pid() } };
        if pid <= 0 {
            return any;
        }
        // SAFETY: the group of our own unreaped child.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let mut status = 0;
        // SAFETY: rusage is plain data the kernel fills.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: reaping the child just found, into live locals.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut ru) } != pid {
            continue;
        }
        any = true;
        let Some(to) = live.remove(&pid) else {
            continue;
        };
        let us = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
        record(
            &to,
            EXITED,
            pid,
            i64::from(status),
            us(ru.ru_utime) + us(ru.ru_stime),
        );
        if flags == 0 {
            return true;
        }
    }
}

/// Writes one record on a status pipe. The runner gone is the one failure,
/// and the launcher ends on it anyway.
fn record(to: &OwnedFd, kind: u8, pid: i32, a: i64, b: i64) {
    let mut m = [0u8; RECORD_LEN];
    m[0] = kind;
    m[1..5].copy_from_slice(&pid.to_le_bytes());
    m[5..13].copy_from_slice(&a.to_le_bytes());
    m[13..21].copy_from_slice(&b.to_le_bytes());
    let _ = nix::unistd::write(to, &m);
}

/// Reads one request and forks its case process; false when the runner's
/// end has closed.
fn take_request(
    sock: RawFd,
    sfd: RawFd,
    me: nix::unistd::Pid,
    live: &mut HashMap<i32, OwnedFd>,
) -> bool {
    let mut buf = [0u8; REQUEST_MAX];
    let mut cmsg = nix::cmsg_space!([RawFd; 3]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => return true,
            Err(_) => return false,
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(raw) = c {
                    // SAFETY: descriptors just received, owned by nobody else here.
                    fds.extend(
                        raw.into_iter().map(|fd| unsafe {
                            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
                        }),
                    );
                }
            }
        }
        (msg.bytes, fds)
    };
    if len == 0 && fds.is_empty() {
        return false;
    }
    let Ok([out, err, status]) = <[OwnedFd; 3]>::try_from(fds) else {
        // Nowhere to say so: the runner sees its status pipe end.
        return true;
    };
    let id = std::str::from_utf8(&buf[..len]).unwrap_or("");
    let Some(case) = crate::cases::find(id) else {
        record(&status, FAILED, 0, 0, Refusal::UnknownCase as i64);
        return true;
    };
    // The status pipes of the other case processes, which a new one must not
    // hold open.
    let others: Vec<RawFd> = live.values().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: this process has one thread; the child only runs the case and
    // exits (`become_case` never returns).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let mut theirs = others;
            theirs.extend([sock, sfd, status.as_raw_fd()]);
            become_case(case, &theirs, out, err, me)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            // Its own group before the runner learns of it, so that killing
            // the group reaches it from the first moment.
            let _ = nix::unistd::setpgid(child, child);
            record(&status, STARTED, child.as_raw(), 0, 0);
            live.insert(child.as_raw(), status);
        }
        Err(e) => record(&status, FAILED, 0, e as i64, Refusal::Fork as i64),
    }
    true
}

/// The forked case process: standard streams, a group of its own, death with
/// the launcher; then the case. Never returns.
fn become_case(
    case: &Case,
    launcher_fds: &[RawFd],
    out: OwnedFd,
    err: OwnedFd,
    launcher: nix::unistd::Pid,
) -> ! {
    for fd in launcher_fds {
        // SAFETY: the launcher's descriptors, not the case's business.
        unsafe { libc::close(*fd) };
    }
    let _ = SigSet::empty().thread_set_mask();
    let null = std::fs::File::open("/dev/null");
    // SAFETY: dup2 onto the standard descriptors of this fresh process.
    unsafe {
        libc::dup2(out.as_raw_fd(), 1);
        libc::dup2(err.as_raw_fd(), 2);
        if let Ok(n) = &null {
            libc::dup2(n.as_raw_fd(), 0);
        }
    }
    drop((out, err, null));
    let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
    // Named after its case (cut to the kernel's 15 bytes) in ps and top; the
    // command line stays the launcher's.
    let name: Vec<u8> = case.id.bytes().take(15).chain([0]).collect();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    // SAFETY: prctl with plain integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if nix::unistd::getppid() != launcher {
        // SAFETY: leaving at once; the launcher died before the prctl.
        unsafe { libc::_exit(1) };
    }
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| super::child_main(case)))
        .unwrap_or(101);
    let _ = std::io::stdout().flush();
    // SAFETY: the end of a forked process; nothing of the launcher's (its
    // atexit handlers, its buffers) is ours to run.
    unsafe { libc::_exit(code) }
}
