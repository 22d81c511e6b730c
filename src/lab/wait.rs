//! Bounded waits on events: never a sleep standing in for synchronisation.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::PollFlags;

/// Waits until `fd` is readable or `timeout` passes (returns Ok either way).
pub fn readable(fd: i32, timeout: Duration) -> Result<bool> {
    ready(fd, PollFlags::POLLIN, timeout)
}

/// Waits, at most `timeout`, until the socket `fd` has seen its peer's FIN
/// (POLLRDHUP, which nix's PollFlags cannot carry).
pub fn peer_shut_down(fd: i32, timeout: Duration) -> Result<bool> {
    poll_one(fd, libc::POLLRDHUP, timeout)
}

/// poll(2) for `events` on `fd`; true when any requested event is reported.
pub fn ready(fd: i32, events: PollFlags, timeout: Duration) -> Result<bool> {
    poll_one(fd, events.bits(), timeout)
}

/// poll(2) for the raw `events` on `fd`, at most `timeout`; true when any of
/// them is reported (false when a signal cut the wait short).
fn poll_one(fd: i32, events: libc::c_short, timeout: Duration) -> Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: polling one descriptor the caller owns, for at most `ms`.
    if unsafe { libc::poll(&mut p, 1, ms) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e).context("poll");
    }
    Ok(p.revents & events != 0)
}

/// Polls `cond` until it returns Some, backing off from 100 µs to 5 ms between
/// checks, at most `timeout`. For state the kernel exposes only by reading
/// (/proc tables, thread states) rather than through a pollable descriptor.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(v) = cond()? {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            bail!("waited {timeout:?} for {what}: it never happened");
        }
        // Back-off between two looks at a condition that offers no descriptor
        // to poll; the deadline above bounds the wait.
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// The calling thread's kernel thread id, for `blocked_in`.
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// True when thread `tid` of this process is asleep inside syscall `nr`
/// (read from /proc/self/task/TID/syscall), e.g. a recv() still waiting.
pub fn blocked_in(tid: i32, nr: libc::c_long) -> Result<bool> {
    let path = format!("/proc/self/task/{tid}/syscall");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // The thread has finished: it is not blocked in anything.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("read {path}")),
    };
    let first = text.split_whitespace().next().unwrap_or("");
    if first.parse::<libc::c_long>().ok() != Some(nr) {
        return Ok(false);
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // The state letter follows the ")" that closes the command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    Ok(state == "S")
}

/// Spawns `f` on a scoped thread and returns its handle with the thread's
/// kernel id, for `blocked_in` (is that thread asleep in a syscall yet?).
pub fn spawn_with_tid<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<(std::thread::ScopedJoinHandle<'scope, T>, i32)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = scope.spawn(move || {
        tx.send(gettid()).ok();
        f()
    });
    let tid = rx.recv().context("the spawned thread's id")?;
    Ok((handle, tid))
}

/// Shuts a socket down if it is still in use after `after`: a blocking call
/// whose timeout option was silently ignored then ends (and the case fails)
/// instead of hanging until the watchdog. Disarmed when dropped.
pub struct ShutdownGuard {
    disarm: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

pub fn shutdown_after(fd: i32, after: Duration) -> ShutdownGuard {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = fired.clone();
    let thread = std::thread::spawn(move || {
        if rx.recv_timeout(after) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            // SAFETY: the socket outlives the guard (it is dropped first by the case).
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    });
    ShutdownGuard {
        disarm: Some(tx),
        thread: Some(thread),
        fired,
    }
}

impl ShutdownGuard {
    /// Whether the guard has shut the socket down (or is about to): the
    /// call it guarded may have ended because of it. A duration cannot
    /// tell: the call can return a hair before `after` has passed since
    /// the guard was armed.
    pub fn fired(&self) -> bool {
        self.fired.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
