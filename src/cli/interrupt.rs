//! Ctrl-C (SIGINT) and SIGTERM during `run` and `explain`: stop every running
//! case (each is in a process group of its own, out of reach of the
//! terminal's Ctrl-C), remove the report file being written, if any (it is
//! ours: a temporary file beside --output; the user's files are left as they
//! were), and exit 130 (143 for SIGTERM).
//!
//! The signals are blocked in every thread and taken by one watcher thread
//! with sigwait(2), so the work on interruption runs as ordinary code, not in
//! a signal handler. Case processes start with an empty signal mask (the
//! standard library resets it when it spawns them).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{SigSet, Signal};

/// How long the watcher waits for the stopped cases to be reaped.
const REAP_WITHIN: Duration = Duration::from_secs(2);

struct State {
    interrupted: bool,
    /// The temporary report file being written (removed on interruption).
    temp: Option<PathBuf>,
}

static STATE: Mutex<State> = Mutex::new(State {
    interrupted: false,
    temp: None,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Blocks SIGINT and SIGTERM and starts the watcher. Call before any other
/// thread starts, so that every thread inherits the mask.
pub fn watch() -> Result<(), String> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block()
        .map_err(|e| format!("cannot block SIGINT and SIGTERM: {e}"))?;
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Ok(signal) = set.wait() {
                stop(signal);
            }
        })
        .map(|_| ())
        .map_err(|e| format!("cannot start the interrupt watcher: {e}"))
}

fn stop(signal: Signal) -> ! {
    let temp = {
        let mut s = state();
        s.interrupted = true;
        s.temp.take()
    };
    let stopped = sockspec::runner::interrupt(REAP_WITHIN);
    if let Some(t) = &temp {
        let _ = std::fs::remove_file(t);
    }
    let name = if signal == Signal::SIGINT {
        "interrupted"
    } else {
        "terminated"
    };
    // The progress line, if any, is cleared first.
    let clear = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        "\r\x1b[2K"
    } else {
        ""
    };
    eprintln!("{clear}sockspec: {name}: stopped {stopped} running case(s); no report written");
    std::process::exit(128 + signal as i32)
}

/// Records the temporary file a report is being written to.
pub fn writing(temp: PathBuf) {
    state().temp = Some(temp);
}

/// Runs `finish` (which puts the report in place) unless the run was
/// interrupted; either way the temporary file is no longer ours to remove.
/// None when interrupted.
pub fn unless_interrupted<T>(finish: impl FnOnce() -> T) -> Option<T> {
    let mut s = state();
    s.temp = None;
    if s.interrupted {
        return None;
    }
    Some(finish())
}

/// Whether the run was interrupted.
pub fn interrupted() -> bool {
    state().interrupted
}

/// Waits for the watcher to end the process (after an interruption): the
/// exit status is the watcher's, not whatever the run would have returned.
pub fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}
