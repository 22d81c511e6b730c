//! socket(7) on SO_RCVTIMEO and SO_SNDTIMEO: a blocked call gives up after
//! the timeout with EAGAIN (EINPROGRESS for connect), or with the count of
//! what it moved; zero, the default, never times out; select, poll and epoll
//! ignore the timeouts.
//!
//! Every blocking call is timed, and guarded: if its timeout were lost (a
//! libc that ignores the option) the socket is shut down after 2 s so the
//! case fails instead of hanging. Calls that do not depend on each other run
//! on their own threads at once, so a case takes one timeout, not the sum.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::readiness::{self, Sets};
use crate::lab::sock::{fill_until_eagain, Returned};
use crate::lab::timed::{Timed, TimedCall};
use crate::lab::{flow, opt, phase, record, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&RCVTIMEO, &SNDTIMEO, &ZERO_NEVER, &NOT_FOR_POLL];

pub static RCVTIMEO: Case = Case {
    id: "so_rcvtimeo.timeout",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVTIMEO"),
    claim: "a receiving call that blocks for the SO_RCVTIMEO period returns what it has received, or -1 with \
            EAGAIN/EWOULDBLOCK if nothing, as on a non-blocking socket; accept() included",
    expectation: "with SO_RCVTIMEO 40 ms: recv() on an idle TCP connection and on a UDP socket fail with EAGAIN \
                  after 40 ms, accept() on a listener with no client fails with EAGAIN after 40 ms, and \
                  recv(MSG_WAITALL) for 1000 bytes with 500 queued returns 500 after 40 ms",
    run: &Measure(rcvtimeo),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO],
};

pub static SNDTIMEO: Case = Case {
    id: "so_sndtimeo.timeout",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDTIMEO"),
    claim: "a sending call that blocks for the SO_SNDTIMEO period returns what it has sent, or -1 with \
            EAGAIN/EWOULDBLOCK if nothing; connect() fails with EINPROGRESS",
    expectation: "with SO_SNDTIMEO 40 ms, a 64 KiB send buffer and a receiver that does not read: a 1 MiB \
                  send() returns the bytes the kernel took after 40 ms; once the window is closed and the \
                  buffer full, a send() fails with EAGAIN after 40 ms; a connect() whose SYNs are dropped (the \
                  listener's accept queue is full) fails with EINPROGRESS after 40 ms",
    run: &Measure(sndtimeo),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDTIMEO],
};

pub static ZERO_NEVER: Case = Case {
    id: "so_rcvtimeo.zero_never",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVTIMEO"),
    claim: "a timeout of zero, the default, means the call never times out",
    expectation: "a new socket reads SO_RCVTIMEO 0; a recv() with it set back to 0 (after 50 ms) is still \
                  blocked 100 ms later, is restarted after a signal whose handler has SA_RESTART, and returns \
                  the data when it comes. With a timeout set (5 s), the same signal ends recv() with EINTR at \
                  once: signal(7)'s rule that a socket timeout turns SA_RESTART off",
    run: &Measure(zero_never),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO],
};

pub static NOT_FOR_POLL: Case = Case {
    id: "so_rcvtimeo.not_for_poll",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVTIMEO"),
    claim: "the timeouts act on the calls that do socket I/O only, not on select, poll or epoll_wait",
    expectation: "on a socket with SO_RCVTIMEO and SO_SNDTIMEO of 20 ms and nothing to read, recv() fails with \
                  EAGAIN after 20 ms while select(), poll() and epoll_wait() each wait their own 100 ms and \
                  report nothing",
    run: &Measure(not_for_poll),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO],
};

/// The timeout of the first two cases.
const TIMEOUT: Duration = Duration::from_millis(40);

/// How long a guard lets a blocking call run before shutting its socket down.
const GUARD: Duration = Duration::from_secs(2);

/// The window a call that waited out `timeout` returns in: a jiffy early at
/// most (HZ=100 rounds to 10 ms), up to a second late on a loaded machine.
fn window(timeout: Duration) -> (Duration, Duration) {
    (
        timeout.saturating_sub(Duration::from_millis(10)),
        timeout + Duration::from_secs(1),
    )
}

fn waited(took: Duration, timeout: Duration) -> bool {
    let (lo, hi) = window(timeout);
    took >= lo && took <= hi
}

/// "EAGAIN after 90..1100 ms", as an expectation reads.
fn after(what: &str, timeout: Duration) -> String {
    let (lo, hi) = window(timeout);
    format!("{what} after {}..{}", lo.show(), hi.show())
}

/// A blocking recv() of up to `n` bytes with `flags`, guarded.
fn guarded_recv(s: &Sock, n: usize, flags: i32) -> Timed {
    let _guard = wait::shutdown_after(s.as_raw_fd(), GUARD);
    let mut buf = vec![0u8; n];
    Timed::of(|| s.recv(&mut buf, flags))
}

/// A scoped thread's result; its panic as an error.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> Result<T> {
    h.join()
        .map_err(|_| anyhow!("a timed call's thread panicked"))
}

// ---------------------------------------------------------------------------
// so_rcvtimeo.timeout

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RcvTimeo {
    #[serde(with = "crate::model::millis")]
    pub timeout: Duration,
    /// recv() on an idle TCP connection.
    pub tcp: Timed,
    /// recv() on a UDP socket nobody sends to.
    pub udp: Timed,
    /// accept() on a listener no client connects to.
    pub accept: TimedCall,
    /// recv(MSG_WAITALL) for 1000 bytes with 500 queued.
    pub waitall: Timed,
}

const WANTED: usize = 1000;
const QUEUED: usize = 500;

fn with_rcvtimeo(s: &Sock, t: Duration) -> Result<()> {
    s.set_timeout(libc::SO_RCVTIMEO, t).context("SO_RCVTIMEO")
}

fn rcvtimeo(_lab: &mut Lab) -> Result<RcvTimeo> {
    let idle = TcpPair::loopback(Family::V4)?;
    with_rcvtimeo(&idle.server, TIMEOUT)?;
    let udp = Sock::udp(Family::V4)?;
    with_rcvtimeo(&udp, TIMEOUT)?;
    udp.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind UDP")?;
    let listener = Sock::tcp(Family::V4)?;
    with_rcvtimeo(&listener, TIMEOUT)?;
    listener
        .bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind listener")?;
    listener.listen(4).context("listen")?;
    let partial = TcpPair::loopback(Family::V4)?;
    with_rcvtimeo(&partial.server, TIMEOUT)?;
    partial
        .client
        .send_all(&[7u8; QUEUED])
        .context("send the 500 bytes")?;
    wait::until("500 bytes queued", Duration::from_secs(2), || {
        Ok((partial.server.queued(libc::FIONREAD)? as usize == QUEUED).then_some(()))
    })?;
    phase("four receiving calls waiting out SO_RCVTIMEO");
    let (server, waiting) = (&idle.server, &partial.server);
    let (tcp, udp, waitall, accept) = std::thread::scope(|sc| -> Result<_> {
        let tcp = sc.spawn(|| guarded_recv(server, WANTED, 0));
        let udp = sc.spawn(|| guarded_recv(&udp, WANTED, 0));
        let waitall = sc.spawn(|| guarded_recv(waiting, WANTED, libc::MSG_WAITALL));
        let accept = sc.spawn(|| {
            let _guard = wait::shutdown_after(listener.as_raw_fd(), GUARD);
            TimedCall::of(|| listener.accept())
        });
        Ok((
            joined(tcp)?,
            joined(udp)?,
            joined(waitall)?,
            joined(accept)?,
        ))
    })?;
    Ok(RcvTimeo {
        timeout: TIMEOUT,
        tcp,
        udp,
        accept,
        waitall,
    })
}

impl Observation for RcvTimeo {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let t = self.timeout;
        let eagain = Returned::errno("EAGAIN");
        for (what, call) in [("recv() on TCP", &self.tcp), ("recv() on UDP", &self.udp)] {
            j.expect(
                &format!("{what}, nothing arriving"),
                call.returned == eagain && waited(call.took, t),
                after("EAGAIN", t),
                call.show(),
            );
        }
        j.expect(
            "accept(), no client",
            self.accept.result == "EAGAIN" && waited(self.accept.took, t),
            after("EAGAIN", t),
            self.accept.show(),
        );
        j.expect(
            "recv(MSG_WAITALL) for 1000 bytes with 500 queued",
            self.waitall.returned == Returned::Bytes(QUEUED) && waited(self.waitall.took, t),
            after("500 B", t),
            self.waitall.show(),
        );
        let calls = [&self.tcp, &self.udp];
        let failed_as_said =
            calls.iter().all(|c| c.returned == eagain) && self.accept.result == "EAGAIN";
        let count_as_said = self.waitall.returned == Returned::Bytes(QUEUED);
        let timed_out = calls
            .iter()
            .chain([&&self.waitall])
            .all(|c| waited(c.took, t))
            && waited(self.accept.took, t);
        let verdict = match (timed_out, failed_as_said && count_as_said) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "SO_RCVTIMEO {}: recv() on TCP {}, on UDP {}; accept() {}; recv(MSG_WAITALL) of 1000 B with 500 \
                 queued {}",
                t.show(),
                self.tcp.show(),
                self.udp.show(),
                self.accept.show(),
                self.waitall.show()
            ),
        );
        j.key(format!(
            "recv {}, accept {}, partial {}",
            self.tcp.show(),
            self.accept.show(),
            self.waitall.show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_sndtimeo.timeout

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SndTimeo {
    #[serde(with = "crate::model::millis")]
    pub timeout: Duration,
    /// Bytes asked of the first send().
    pub asked: usize,
    /// A send() of 1 MiB to a receiver that does not read.
    pub first: Timed,
    /// A send() of 4 KiB once the window is closed and the buffer full.
    pub second: Timed,
    /// connect() to a listener whose accept queue is full.
    pub connect: TimedCall,
}

const ASKED: usize = 1 << 20;
const SNDBUF: i32 = 64 << 10;

fn sndtimeo(_lab: &mut Lab) -> Result<SndTimeo> {
    // Every segment acknowledged at once: no delayed ACK keeps the window
    // from closing.
    flow::loopback_quickack(Family::V4)?;
    // A receiver that reads nothing; its small buffer closes the window soon.
    // The sender's buffer is fixed too: on loopback (64 KiB MSS) autotuning
    // starts it at several MiB, and a 1 MiB send() would never block.
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, 4096)?),
        |c| {
            c.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, SNDBUF)
                .context("SO_SNDBUF")?;
            Ok(c.set_timeout(libc::SO_SNDTIMEO, TIMEOUT)?)
        },
    )?;
    // A listener with backlog 0 and one connection waiting: its accept queue
    // is full, so further SYNs are dropped and connect() waits.
    let listener = Sock::tcp(Family::V4)?;
    listener
        .bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind listener")?;
    listener.listen(0).context("listen(0)")?;
    let to = listener.local_addr()?;
    let first_client = Sock::tcp(Family::V4)?;
    first_client
        .connect(to)
        .context("the connection that fills the accept queue")?;
    let connecting = Sock::tcp(Family::V4)?;
    connecting
        .set_timeout(libc::SO_SNDTIMEO, TIMEOUT)
        .context("SO_SNDTIMEO on the connecting socket")?;
    phase("a send and a connect waiting out SO_SNDTIMEO");
    let client = &pair.client;
    let (first, connect) = std::thread::scope(|sc| -> Result<_> {
        let send = sc.spawn(|| {
            let guard = wait::shutdown_after(client.as_raw_fd(), GUARD);
            let data = vec![0x5au8; ASKED];
            (Timed::of(|| client.send(&data, 0)), guard.fired())
        });
        let connect = sc.spawn(|| {
            let _guard = wait::shutdown_after(connecting.as_raw_fd(), GUARD);
            TimedCall::of(|| connecting.connect(to))
        });
        Ok((joined(send)?, joined(connect)?))
    })?;
    let (first, shut_down) = first;
    // Until the window is closed, acknowledgements free buffer space and a
    // second send() would move a few bytes: close it, fill what is left, and
    // only then block on a buffer that nothing will empty. (Unless the guard
    // shut the socket down: the send below then fails at once.)
    if !shut_down {
        wait::until("the receiver's window closed", GUARD, || {
            Ok(flow::window_closed(client)?.then_some(()))
        })?;
        fill_until_eagain(client, 4096)?;
        client
            .set_nonblocking(false)
            .context("blocking again after the fill")?;
    }
    phase("a send on a full buffer waiting out SO_SNDTIMEO");
    let second = {
        let _guard = wait::shutdown_after(client.as_raw_fd(), GUARD);
        Timed::of(|| client.send(&[0x5au8; 4096], 0))
    };
    Ok(SndTimeo {
        timeout: TIMEOUT,
        asked: ASKED,
        first,
        second,
        connect,
    })
}

impl Observation for SndTimeo {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let t = self.timeout;
        let partial = matches!(self.first.returned, Returned::Bytes(n) if n > 0 && n < self.asked);
        j.expect(
            "a 1 MiB send() to a receiver that does not read",
            partial && waited(self.first.took, t),
            after(&format!("1..{} B", self.asked - 1), t),
            self.first.show(),
        );
        let eagain = self.second.returned == Returned::errno("EAGAIN");
        j.expect(
            "a send() on a full buffer, the window closed",
            eagain && waited(self.second.took, t),
            after("EAGAIN", t),
            self.second.show(),
        );
        let einprogress = self.connect.result == "EINPROGRESS";
        j.expect(
            "connect() whose SYNs are dropped",
            einprogress && waited(self.connect.took, t),
            after("EINPROGRESS", t),
            self.connect.show(),
        );
        let timed_out = waited(self.first.took, t)
            && waited(self.second.took, t)
            && waited(self.connect.took, t);
        let verdict = match (timed_out, partial && eagain && einprogress) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "SO_SNDTIMEO {}: send() of {} B {}, on a full buffer {}; connect() {}",
                t.show(),
                self.asked,
                self.first.show(),
                self.second.show(),
                self.connect.show()
            ),
        );
        j.key(format!(
            "send {}, then {}; connect {}",
            self.first.show(),
            self.second.show(),
            self.connect.show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvtimeo.zero_never

/// Signals the SA_RESTART handler has seen.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

fn install_restarting_handler() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(count_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only bumps an atomic counter.
    unsafe { sigaction(Signal::SIGUSR2, &act) }.context("sigaction SIGUSR2")?;
    Ok(())
}

/// What a recv() blocked on an empty TCP connection did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocked {
    /// Still blocked after the wait (none: that wait was not made).
    pub blocked_after_wait: Option<bool>,
    /// Still blocked after the SA_RESTART signal was handled.
    pub blocked_after_signal: bool,
    /// What recv() finally returned, and when (from its start).
    pub returned: Timed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZeroNever {
    /// SO_RCVTIMEO of a new socket: seconds and microseconds.
    pub initial: (i64, i64),
    /// How long recv() was watched with the timeout set back to 0.
    #[serde(with = "crate::model::millis")]
    pub watched: Duration,
    pub zero: Blocked,
    /// The same with SO_RCVTIMEO 5 s.
    #[serde(with = "crate::model::millis")]
    pub set: Duration,
    pub timed: Blocked,
}

const WATCH: Duration = Duration::from_millis(100);
const LONG_TIMEOUT: Duration = Duration::from_secs(5);
const DATA: &[u8] = b"at last";

fn rcvtimeo_of(s: &Sock) -> Result<(i64, i64)> {
    let mut tv = [0u8; 16];
    s.get_raw(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &mut tv)
        .context("getsockopt(SO_RCVTIMEO)")?;
    let word = |i: usize| i64::from_ne_bytes(tv[i..i + 8].try_into().unwrap_or([0; 8]));
    Ok((word(0), word(8)))
}

/// A recv() on `pair.server` in a thread: watched for `watch` (if any),
/// signalled with SIGUSR2, watched briefly again, then fed `DATA` if still
/// blocked.
fn blocked_recv(pair: &TcpPair, watch: Option<Duration>) -> Result<Blocked> {
    let server = &pair.server;
    let _guard = wait::shutdown_after(server.as_raw_fd(), GUARD + WATCH);
    std::thread::scope(|s| -> Result<Blocked> {
        let (done_tx, done) = mpsc::channel();
        let (reader, tid) = wait::spawn_with_tid(s, move || {
            let r = guarded_free_recv(server);
            let _ = done_tx.send(());
            r
        })?;
        phase("waiting for recv() to sleep");
        wait::until("recv() asleep", Duration::from_secs(2), || {
            Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?.then_some(()))
        })?;
        // Nothing is meant to end the call: a deadline wait on its end is the
        // observation.
        let blocked_after_wait = watch.map(|w| done.recv_timeout(w).is_err());
        let before = SIGNALS.load(Ordering::SeqCst);
        record::mark("SIGUSR2 sent to the receiving thread");
        // SAFETY: signalling a thread of this process by its kernel id.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR2) };
        wait::until("the signal handled", Duration::from_secs(2), || {
            Ok((SIGNALS.load(Ordering::SeqCst) > before).then_some(()))
        })?;
        let blocked_after_signal = done.recv_timeout(Duration::from_millis(50)).is_err();
        if blocked_after_signal {
            pair.client.send_all(DATA).context("send the data")?;
        }
        let returned = reader
            .join()
            .map_err(|_| anyhow!("the receiving thread panicked"))?;
        Ok(Blocked {
            blocked_after_wait,
            blocked_after_signal,
            returned,
        })
    })
}

/// recv() with no guard of its own (the caller's guard covers the whole watch).
fn guarded_free_recv(s: &Sock) -> Timed {
    let mut buf = vec![0u8; 64];
    Timed::of(|| s.recv(&mut buf, 0))
}

fn zero_never(_lab: &mut Lab) -> Result<ZeroNever> {
    install_restarting_handler()?;
    let zero = TcpPair::loopback(Family::V4)?;
    let initial = rcvtimeo_of(&zero.server)?;
    with_rcvtimeo(&zero.server, Duration::from_millis(50))?;
    with_rcvtimeo(&zero.server, Duration::ZERO)?;
    let zero_run = blocked_recv(&zero, Some(WATCH))?;
    let timed = TcpPair::loopback(Family::V4)?;
    with_rcvtimeo(&timed.server, LONG_TIMEOUT)?;
    let timed_run = blocked_recv(&timed, None)?;
    Ok(ZeroNever {
        initial,
        watched: WATCH,
        zero: zero_run,
        set: LONG_TIMEOUT,
        timed: timed_run,
    })
}

/// A signal ends a call "at once": well inside the long timeout.
const PROMPT: Duration = Duration::from_secs(1);

impl Observation for ZeroNever {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("SO_RCVTIMEO of a new socket (s us)", &(0, 0), &self.initial);
        j.expect_eq(
            &format!(
                "timeout 0: recv() still blocked after {}",
                self.watched.show()
            ),
            &Some(true),
            &self.zero.blocked_after_wait,
        );
        j.expect_eq(
            "timeout 0: recv() restarted after an SA_RESTART signal",
            &true,
            &self.zero.blocked_after_signal,
        );
        j.expect_eq(
            "timeout 0: recv() returns the data",
            &Returned::Bytes(DATA.len()),
            &self.zero.returned.returned,
        );
        j.expect(
            &format!(
                "timeout {}: the same signal ends recv() with EINTR",
                self.set.show()
            ),
            !self.timed.blocked_after_signal
                && self.timed.returned.returned == Returned::errno("EINTR")
                && self.timed.returned.took < PROMPT,
            format!("EINTR in < {}", PROMPT.show()),
            self.timed.returned.show(),
        );
        let never = self.zero.blocked_after_wait == Some(true)
            && self.zero.returned.returned == Returned::Bytes(DATA.len());
        j.verdict(
            Verdict::holds_if(never),
            format!(
                "a new socket's SO_RCVTIMEO is {} s {} us; with 0, recv() was still blocked after {}: {}, \
                 still after an SA_RESTART signal: {}, and returned {}; with {} it returned {} when signalled",
                self.initial.0,
                self.initial.1,
                self.watched.show(),
                self.zero.blocked_after_wait.show(),
                self.zero.blocked_after_signal,
                self.zero.returned.show(),
                self.set.show(),
                self.timed.returned.show()
            ),
        );
        j.key(format!(
            "0: blocked {}+, then {}; {} + signal: {}",
            self.watched.show(),
            self.zero.returned.returned.show(),
            self.set.show(),
            self.timed.returned.returned.show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvtimeo.not_for_poll

/// What select, poll or epoll_wait reported and when it returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Waited {
    pub ready: bool,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

impl Show for Waited {
    fn show(&self) -> String {
        format!(
            "{} after {}",
            if self.ready { "ready" } else { "nothing" },
            self.took.show()
        )
    }
}

fn waited_for(f: impl FnOnce() -> Result<bool>) -> Result<Waited> {
    let t = Instant::now();
    let ready = f()?;
    Ok(Waited {
        ready,
        took: t.elapsed(),
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotForPoll {
    /// SO_RCVTIMEO and SO_SNDTIMEO on the socket.
    #[serde(with = "crate::model::millis")]
    pub socket_timeout: Duration,
    /// The timeout each of select, poll and epoll_wait was given.
    #[serde(with = "crate::model::millis")]
    pub wait: Duration,
    pub recv: Timed,
    pub select: Waited,
    pub poll: Waited,
    pub epoll: Waited,
}

const SOCKET_TIMEOUT: Duration = Duration::from_millis(20);
const POLL_WAIT: Duration = Duration::from_millis(100);

fn not_for_poll(_lab: &mut Lab) -> Result<NotForPoll> {
    let pair = TcpPair::loopback(Family::V4)?;
    let s = &pair.server;
    with_rcvtimeo(s, SOCKET_TIMEOUT)?;
    s.set_timeout(libc::SO_SNDTIMEO, SOCKET_TIMEOUT)
        .context("SO_SNDTIMEO")?;
    let fd = s.as_raw_fd();
    phase("select, poll and epoll_wait waiting on a socket with short timeouts");
    let (recv, select, poll, epoll) = std::thread::scope(|sc| -> Result<_> {
        let recv = sc.spawn(|| guarded_recv(s, 64, 0));
        let select =
            sc.spawn(move || waited_for(|| Ok(readiness::select(fd, Sets::READ, POLL_WAIT)?.read)));
        let poll =
            sc.spawn(move || waited_for(|| Ok(readiness::poll(fd, libc::POLLIN, POLL_WAIT)? != 0)));
        let epoll = sc.spawn(move || {
            waited_for(|| Ok(readiness::epoll(fd, libc::EPOLLIN as u32, POLL_WAIT)? != 0))
        });
        Ok((
            joined(recv)?,
            joined(select)??,
            joined(poll)??,
            joined(epoll)??,
        ))
    })?;
    Ok(NotForPoll {
        socket_timeout: SOCKET_TIMEOUT,
        wait: POLL_WAIT,
        recv,
        select,
        poll,
        epoll,
    })
}

impl Observation for NotForPoll {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "recv() times out after SO_RCVTIMEO",
            self.recv.returned == Returned::errno("EAGAIN")
                && waited(self.recv.took, self.socket_timeout),
            after("EAGAIN", self.socket_timeout),
            self.recv.show(),
        );
        let mut full = 0;
        for (what, call) in [
            ("select()", &self.select),
            ("poll()", &self.poll),
            ("epoll_wait()", &self.epoll),
        ] {
            let ok = !call.ready && waited(call.took, self.wait);
            full += ok as usize;
            j.expect(
                &format!("{what} waits its own {}", self.wait.show()),
                ok,
                after("nothing", self.wait),
                call.show(),
            );
        }
        let verdict = match full {
            3 => Verdict::Holds,
            0 => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "SO_RCVTIMEO and SO_SNDTIMEO {}: recv() {}; given {}, select() returned {}, poll() {}, \
                 epoll_wait() {}",
                self.socket_timeout.show(),
                self.recv.show(),
                self.wait.show(),
                self.select.show(),
                self.poll.show(),
                self.epoll.show()
            ),
        );
        j.key(format!(
            "recv {}; select/poll/epoll {}, {}, {}",
            self.recv.show(),
            self.select.show(),
            self.poll.show(),
            self.epoll.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn t(returned: Returned, took: u64) -> Timed {
        Timed {
            returned,
            took: ms(took),
        }
    }

    fn call(result: &str, took: u64) -> TimedCall {
        TimedCall {
            result: result.into(),
            took: ms(took),
        }
    }

    fn eagain(took: u64) -> Timed {
        t(Returned::errno("EAGAIN"), took)
    }

    /// This kernel, from a run.
    fn rcv_linux() -> RcvTimeo {
        RcvTimeo {
            timeout: ms(40),
            tcp: eagain(43),
            udp: eagain(42),
            accept: call("EAGAIN", 43),
            waitall: t(Returned::Bytes(500), 43),
        }
    }

    const TCP: &str = "recv() on TCP, nothing arriving";
    const UDP: &str = "recv() on UDP, nothing arriving";
    const ACCEPT: &str = "accept(), no client";
    const WAITALL: &str = "recv(MSG_WAITALL) for 1000 bytes with 500 queued";

    #[rstest]
    #[case::linux(rcv_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: every call blocks until the guard
    // shuts the socket down (recv 0, accept EINVAL).
    #[case::ignored(RcvTimeo { tcp: t(Returned::Bytes(0), 2001), udp: t(Returned::Bytes(0), 2001),
        accept: call("EINVAL", 2001), waitall: t(Returned::Bytes(500), 2001), ..rcv_linux() },
        Verdict::Refuted, &[TCP, UDP, ACCEPT, WAITALL])]
    // Timed out, but with another errno (ETIMEDOUT, as some systems say).
    #[case::other_errno(RcvTimeo { tcp: t(Returned::errno("ETIMEDOUT"), 43), ..rcv_linux() }, Verdict::Differs,
        &[TCP])]
    #[case::accept_not_covered(RcvTimeo { accept: call("EINVAL", 2001), ..rcv_linux() }, Verdict::Refuted,
        &[ACCEPT])]
    // MSG_WAITALL returning nothing instead of the partial count.
    #[case::partial_lost(RcvTimeo { waitall: eagain(43), ..rcv_linux() }, Verdict::Differs, &[WAITALL])]
    #[case::earliest(RcvTimeo { udp: eagain(30), ..rcv_linux() }, Verdict::Holds, &[])]
    #[case::too_early(RcvTimeo { udp: t(Returned::errno("EAGAIN"), 29), ..rcv_linux() }, Verdict::Differs, &[UDP])]
    #[case::latest(RcvTimeo { tcp: eagain(1040), ..rcv_linux() }, Verdict::Holds, &[])]
    #[case::too_late(RcvTimeo { tcp: eagain(1041), ..rcv_linux() }, Verdict::Differs, &[TCP])]
    #[case::accept_late(RcvTimeo { accept: call("EAGAIN", 1041), ..rcv_linux() }, Verdict::Differs, &[ACCEPT])]
    fn rcvtimeo_judgement(#[case] o: RcvTimeo, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn rcvtimeo_words() {
        let j = rcv_linux().judge();
        assert_eq!(
            "recv EAGAIN after 43 ms, accept EAGAIN after 43 ms, partial 500 B after 43 ms",
            j.key
        );
        assert_eq!(
            "SO_RCVTIMEO 40 ms: recv() on TCP EAGAIN after 43 ms, on UDP EAGAIN after 42 ms; accept() EAGAIN \
             after 43 ms; recv(MSG_WAITALL) of 1000 B with 500 queued 500 B after 43 ms",
            j.because
        );
    }

    fn snd_linux() -> SndTimeo {
        SndTimeo {
            timeout: ms(40),
            asked: ASKED,
            first: t(Returned::Bytes(100_352), 44),
            second: eagain(42),
            connect: call("EINPROGRESS", 44),
        }
    }

    const FIRST: &str = "a 1 MiB send() to a receiver that does not read";
    const SECOND: &str = "a send() on a full buffer, the window closed";
    const CONNECT: &str = "connect() whose SYNs are dropped";

    #[rstest]
    #[case::linux(snd_linux(), Verdict::Holds, &[])]
    // The option ignored: the guard ends every call after 2 s.
    #[case::ignored(SndTimeo { first: t(Returned::Bytes(100_352), 2001), second: t(Returned::errno("EPIPE"), 2001),
        connect: call("ETIMEDOUT", 2001), ..snd_linux() }, Verdict::Refuted, &[FIRST, SECOND, CONNECT])]
    // Timed out on time, but connect() says ETIMEDOUT: the page's errno differs.
    #[case::connect_errno(SndTimeo { connect: call("ETIMEDOUT", 44), ..snd_linux() }, Verdict::Differs, &[CONNECT])]
    #[case::connect_late(SndTimeo { connect: call("EINPROGRESS", 1041), ..snd_linux() }, Verdict::Differs,
        &[CONNECT])]
    // The first send() moved nothing, or everything.
    #[case::nothing_moved(SndTimeo { first: eagain(44), ..snd_linux() }, Verdict::Differs, &[FIRST])]
    #[case::all_moved(SndTimeo { first: t(Returned::Bytes(ASKED), 1), ..snd_linux() }, Verdict::Refuted, &[FIRST])]
    #[case::one_short(SndTimeo { first: t(Returned::Bytes(ASKED - 1), 44), ..snd_linux() }, Verdict::Holds, &[])]
    #[case::one_byte(SndTimeo { first: t(Returned::Bytes(1), 44), ..snd_linux() }, Verdict::Holds, &[])]
    #[case::second_moved(SndTimeo { second: t(Returned::Bytes(2048), 56), ..snd_linux() }, Verdict::Differs,
        &[SECOND])]
    #[case::second_early(SndTimeo { second: eagain(29), ..snd_linux() }, Verdict::Differs, &[SECOND])]
    #[case::first_late(SndTimeo { first: t(Returned::Bytes(100), 1041), ..snd_linux() }, Verdict::Differs, &[FIRST])]
    fn sndtimeo_judgement(#[case] o: SndTimeo, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn sndtimeo_words() {
        let j = snd_linux().judge();
        assert_eq!(
            "send 100352 B after 44 ms, then EAGAIN after 42 ms; connect EINPROGRESS after 44 ms",
            j.key
        );
        assert_eq!(
            "SO_SNDTIMEO 40 ms: send() of 1048576 B 100352 B after 44 ms, on a full buffer EAGAIN after 42 ms; \
             connect() EINPROGRESS after 44 ms",
            j.because
        );
    }

    fn blocked(after_wait: Option<bool>, after_signal: bool, returned: Timed) -> Blocked {
        Blocked {
            blocked_after_wait: after_wait,
            blocked_after_signal: after_signal,
            returned,
        }
    }

    fn zero_linux() -> ZeroNever {
        ZeroNever {
            initial: (0, 0),
            watched: WATCH,
            zero: blocked(Some(true), true, t(Returned::Bytes(DATA.len()), 168)),
            set: LONG_TIMEOUT,
            timed: blocked(None, false, t(Returned::errno("EINTR"), 0)),
        }
    }

    const INITIAL: &str = "SO_RCVTIMEO of a new socket (s us)";
    const STILL: &str = "timeout 0: recv() still blocked after 100 ms";
    const RESTARTED: &str = "timeout 0: recv() restarted after an SA_RESTART signal";
    const DATA_BACK: &str = "timeout 0: recv() returns the data";
    const EINTR: &str = "timeout 5000 ms: the same signal ends recv() with EINTR";

    #[rstest]
    #[case::linux(zero_linux(), Verdict::Holds, &[])]
    // Zero taken as "do not wait": recv() fails at once.
    #[case::zero_polls(ZeroNever { zero: blocked(Some(false), false, eagain(0)), ..zero_linux() }, Verdict::Refuted,
        &[STILL, RESTARTED, DATA_BACK])]
    // A libc that ignores the option: the 5 s timeout never set, the signal
    // restarts recv() like the zero one.
    #[case::ignored(ZeroNever { timed: blocked(None, true, t(Returned::Bytes(DATA.len()), 160)), ..zero_linux() },
        Verdict::Holds, &[EINTR])]
    #[case::default_set(ZeroNever { initial: (1, 0), ..zero_linux() }, Verdict::Holds, &[INITIAL])]
    #[case::default_usec(ZeroNever { initial: (0, 1), ..zero_linux() }, Verdict::Holds, &[INITIAL])]
    // SA_RESTART not honoured: the zero-timeout recv() ends with EINTR.
    #[case::not_restarted(ZeroNever { zero: blocked(Some(true), false, t(Returned::errno("EINTR"), 100)),
        ..zero_linux() }, Verdict::Refuted, &[RESTARTED, DATA_BACK])]
    #[case::eintr_slow(ZeroNever { timed: blocked(None, false, t(Returned::errno("EINTR"), 1000)),
        ..zero_linux() }, Verdict::Holds, &[EINTR])]
    #[case::eintr_prompt(ZeroNever { timed: blocked(None, false, t(Returned::errno("EINTR"), 999)),
        ..zero_linux() }, Verdict::Holds, &[])]
    #[case::timed_errno(ZeroNever { timed: blocked(None, false, eagain(0)), ..zero_linux() }, Verdict::Holds,
        &[EINTR])]
    fn zero_never_judgement(
        #[case] o: ZeroNever,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn zero_never_words() {
        let j = zero_linux().judge();
        assert_eq!(
            "0: blocked 100 ms+, then 7 B; 5000 ms + signal: EINTR",
            j.key
        );
        assert_eq!(
            "a new socket's SO_RCVTIMEO is 0 s 0 us; with 0, recv() was still blocked after 100 ms: true, still \
             after an SA_RESTART signal: true, and returned 7 B after 168 ms; with 5000 ms it returned EINTR after \
             0 ms when signalled",
            j.because
        );
    }

    fn w(ready: bool, took: u64) -> Waited {
        Waited {
            ready,
            took: ms(took),
        }
    }

    fn poll_linux() -> NotForPoll {
        NotForPoll {
            socket_timeout: SOCKET_TIMEOUT,
            wait: POLL_WAIT,
            recv: eagain(22),
            select: w(false, 100),
            poll: w(false, 100),
            epoll: w(false, 100),
        }
    }

    const RECV: &str = "recv() times out after SO_RCVTIMEO";
    const SELECT: &str = "select() waits its own 100 ms";
    const POLL: &str = "poll() waits its own 100 ms";
    const EPOLL: &str = "epoll_wait() waits its own 100 ms";

    #[rstest]
    #[case::linux(poll_linux(), Verdict::Holds, &[])]
    // The page's fear: the socket's timeout cuts every wait short.
    #[case::timeouts_everywhere(NotForPoll { select: w(false, 22), poll: w(false, 22), epoll: w(false, 22),
        ..poll_linux() }, Verdict::Refuted, &[SELECT, POLL, EPOLL])]
    #[case::select_only(NotForPoll { select: w(false, 22), ..poll_linux() }, Verdict::Differs, &[SELECT])]
    #[case::two(NotForPoll { poll: w(false, 22), epoll: w(false, 89), ..poll_linux() }, Verdict::Differs,
        &[POLL, EPOLL])]
    #[case::earliest(NotForPoll { epoll: w(false, 90), ..poll_linux() }, Verdict::Holds, &[])]
    #[case::reported_ready(NotForPoll { poll: w(true, 22), ..poll_linux() }, Verdict::Differs, &[POLL])]
    #[case::recv_ignored(NotForPoll { recv: t(Returned::Bytes(0), 2001), ..poll_linux() }, Verdict::Holds, &[RECV])]
    #[case::recv_errno(NotForPoll { recv: t(Returned::errno("ETIMEDOUT"), 22), ..poll_linux() }, Verdict::Holds,
        &[RECV])]
    fn not_for_poll_judgement(
        #[case] o: NotForPoll,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn not_for_poll_words() {
        let j = poll_linux().judge();
        assert_eq!(
            "recv EAGAIN after 22 ms; select/poll/epoll nothing after 100 ms, nothing after 100 ms, nothing after \
             100 ms",
            j.key
        );
        assert_eq!("ready after 5 ms", w(true, 5).show());
    }
}
