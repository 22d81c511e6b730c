//! Per-call flags of recv()/send() (004 §5.4).

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::opt;
use crate::lab::sock::result_name;
use crate::lab::{phase, wait, Family, Lab, TcpPair};
use crate::model::{Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &WAITALL_FILLS,
    &WAITALL_FILLS_V6,
    &WAITALL_SHORT_ON_EOF,
    &WAITALL_TIMEOUT,
    &PEEK,
    &DONTWAIT,
    &PEEK_DONTWAIT_COUNT,
    &OOB_SEND_RECV,
    &OOBINLINE,
];

pub static WAITALL_FILLS: Case = Case {
    id: "waitall.fills_buffer",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "recv() with MSG_WAITALL does not return before the requested length has arrived",
    expectation:
        "a message sent in pieces: plain recv() returns the first piece alone; recv(MSG_WAITALL) \
                  stays asleep after each piece has arrived and returns the whole length at once",
    run: &Legacy(|lab| waitall_fills(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

const PIECE: usize = 1000;
const PIECES: usize = 4;

/// Plain recv() on a message of which only the first piece has been sent.
fn plain_recv_length(pair: &TcpPair) -> Result<usize> {
    pair.client
        .send_all(&[1u8; PIECE])
        .context("send first piece")?;
    let mut buf = vec![0u8; PIECE * PIECES];
    let n = pair.server.recv(&mut buf, 0).context("plain recv")?;
    pair.client
        .send_all(&vec![2u8; PIECE * (PIECES - 1)])
        .context("send the rest")?;
    let mut rest = PIECE * PIECES - n;
    while rest > 0 {
        rest -= pair
            .server
            .recv(&mut buf[..rest], 0)
            .context("drain the rest")?;
    }
    Ok(n)
}

/// What recv(MSG_WAITALL) did while the pieces trickled in.
struct WaitallRun {
    returned: usize,
    /// After piece k arrived (and was taken off the socket queue), was the
    /// receiver still asleep in recvfrom?
    still_blocked_after_piece: Vec<bool>,
}

fn waitall_run(pair: &TcpPair) -> Result<WaitallRun> {
    let (tid_tx, tid_rx) = mpsc::channel();
    std::thread::scope(|s| -> Result<WaitallRun> {
        let server = &pair.server;
        let receiver = s.spawn(move || -> Result<usize> {
            tid_tx.send(wait::gettid()).ok();
            let mut buf = vec![0u8; PIECE * PIECES];
            server
                .recv(&mut buf, libc::MSG_WAITALL)
                .context("recv(MSG_WAITALL)")
        });
        let tid = tid_rx.recv().context("receiver thread id")?;
        let mut still_blocked = Vec::new();
        for k in 1..=PIECES {
            pair.client
                .send_all(&[k as u8; PIECE])
                .context("send piece")?;
            if k == PIECES {
                break;
            }
            // The piece is in (nothing left queued on the socket) and the
            // receiver sleeps in recvfrom: that is the waiting we want to see.
            phase(&format!(
                "waiting for the receiver to take piece {k} and sleep"
            ));
            let blocked = wait::until(
                "receiver asleep in recvfrom with the piece consumed",
                Duration::from_secs(5),
                || {
                    let queued = server.queued(libc::FIONREAD)?;
                    Ok((queued == 0 && wait::blocked_in(tid, libc::SYS_recvfrom)?).then_some(()))
                },
            )
            .is_ok();
            still_blocked.push(blocked && !receiver.is_finished());
        }
        let returned = receiver
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
        Ok(WaitallRun {
            returned,
            still_blocked_after_piece: still_blocked,
        })
    })
}

fn waitall_fills(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let plain = plain_recv_length(&TcpPair::loopback(family)?)?;
    let run = waitall_run(&TcpPair::loopback(family)?)?;
    let total = PIECE * PIECES;

    let mut ev = Evidence::new();
    ev.observe("requested", total)
        .observe("piece", PIECE)
        .observe("plain_recv_returned", plain)
        .observe("waitall_recv_returned", run.returned)
        .observe(
            "waitall_still_blocked_after_piece",
            &run.still_blocked_after_piece,
        );
    ev.expect_eq("plain recv returns the first piece only", PIECE, plain);
    ev.expect_eq(
        "MSG_WAITALL recv returns the full length",
        total,
        run.returned,
    );
    ev.expect_eq(
        "MSG_WAITALL receiver still asleep after pieces 1..3",
        vec![true; PIECES - 1],
        run.still_blocked_after_piece.clone(),
    );
    let waited = run.still_blocked_after_piece.iter().all(|b| *b);
    let verdict = Verdict::holds_if(run.returned == total && waited);
    ev.verdict(verdict, format!(
        "{PIECES} pieces of {PIECE} B: recv without the flag returned {plain} B; with MSG_WAITALL it slept through \
         pieces 1..{} and returned {} B", PIECES - 1, run.returned));
    ev.key(format!(
        "plain {plain} B, WAITALL {} of {total} B",
        run.returned
    ));
    Ok(ev)
}

pub static WAITALL_FILLS_V6: Case = Case {
    id: "waitall.fills_buffer@v6",
    run: &Legacy(|lab| waitall_fills(lab, Family::V6)),
    ..WAITALL_FILLS
};

pub static PEEK: Case = Case {
    id: "recv.peek",
    source: Source::LectureNotes("5.4 MSG_PEEK"),
    claim: "recv() with MSG_PEEK reads the data without taking it off the receive buffer",
    expectation:
        "the peeked bytes are the ones the next plain recv() returns, and the queued byte count \
                  (FIONREAD) is unchanged by the peek",
    run: &Legacy(peek),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static DONTWAIT: Case = Case {
    id: "recv.dontwait",
    source: Source::LectureNotes("5.4 MSG_DONTWAIT"),
    claim: "MSG_DONTWAIT makes recv() return at once when nothing is queued",
    expectation:
        "recv(MSG_DONTWAIT) on an empty blocking socket fails with EAGAIN at once, and the socket \
                  stays blocking: the flag acts on that one call only",
    run: &Legacy(dontwait),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PEEK_DONTWAIT_COUNT: Case = Case {
    id: "recv.peek_dontwait_count",
    source: Source::LectureNotes("5.4 MSG_PEEK|MSG_DONTWAIT"),
    claim: "recv(MSG_PEEK|MSG_DONTWAIT) with a large buffer tells how much data is queued",
    expectation: "on TCP it returns every queued byte (however many segments brought them), matching FIONREAD; \
                  on UDP it returns only the first datagram's length",
    run: &Legacy(peek_dontwait_count),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WAITALL_SHORT_ON_EOF: Case = Case {
    id: "waitall.short_on_eof",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "(implied) recv(MSG_WAITALL) always fills the requested length",
    expectation:
        "when the peer closes early, recv(MSG_WAITALL) returns the short count it has, then 0",
    run: &Legacy(waitall_short_on_eof),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WAITALL_TIMEOUT: Case = Case {
    id: "waitall.timeout",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "(implied) recv(MSG_WAITALL) always fills the requested length",
    expectation: "with SO_RCVTIMEO, recv(MSG_WAITALL) returns the partial count when the timeout passes; a \
                  signal (handler without SA_RESTART) also ends it with the partial count, not EINTR",
    run: &Legacy(waitall_timeout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO],
};

pub static OOB_SEND_RECV: Case = Case {
    id: "oob.send_recv",
    source: Source::LectureNotes("5.4 MSG_OOB"),
    claim: "MSG_OOB sends and receives out-of-band data",
    expectation: "only the last byte of a send(MSG_OOB) is urgent (URG flag and urgent pointer on the wire); \
                  recv(MSG_OOB) returns that one byte, the others arrive in the normal stream; recv(MSG_OOB) \
                  with no urgent byte pending fails with EINVAL",
    run: &Legacy(oob_send_recv),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static OOBINLINE: Case = Case {
    id: "oobinline.inline",
    source: Source::LectureNotes("5.2 SO_OOBINLINE"),
    claim: "SO_OOBINLINE puts out-of-band data into the normal receive stream",
    expectation: "with SO_OOBINLINE the urgent byte is read in the stream at its position and recv(MSG_OOB) \
                  fails with EINVAL; without it the urgent byte is missing from the stream and recv(MSG_OOB) \
                  returns it",
    run: &Legacy(oobinline),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_OOBINLINE],
};

/// Waits until `s` has `n` bytes queued for reading (FIONREAD).
fn wait_queued(s: &crate::lab::Sock, n: i32, what: &str) -> Result<()> {
    phase(&format!("waiting for {what}"));
    wait::until(what, Duration::from_secs(5), || {
        Ok((s.queued(libc::FIONREAD)? >= n).then_some(()))
    })
}

fn peek(_lab: &mut Lab) -> Result<Evidence> {
    let pair = TcpPair::loopback(Family::V4)?;
    let msg = b"peek-then-read";
    pair.client.send_all(msg)?;
    wait_queued(&pair.server, msg.len() as i32, "the message to arrive")?;
    let mut peeked = vec![0u8; 64];
    let n = pair
        .server
        .recv(&mut peeked, libc::MSG_PEEK)
        .context("recv(MSG_PEEK)")?;
    peeked.truncate(n);
    let queued_after_peek = pair.server.queued(libc::FIONREAD)?;
    let mut read = vec![0u8; 64];
    let m = pair.server.recv(&mut read, 0).context("recv")?;
    read.truncate(m);
    let queued_after_read = pair.server.queued(libc::FIONREAD)?;

    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut ev = Evidence::new();
    ev.observe("sent", text(msg))
        .observe("peeked", text(&peeked))
        .observe("read_after_peek", text(&read))
        .observe("queued_after_peek", queued_after_peek)
        .observe("queued_after_read", queued_after_read);
    ev.expect_eq("peek returns the message", text(msg), text(&peeked));
    ev.expect_eq(
        "the next read returns the same bytes",
        text(&peeked),
        text(&read),
    );
    ev.expect_eq(
        "queued bytes unchanged by the peek",
        msg.len() as i32,
        queued_after_peek,
    );
    ev.expect_eq("queued bytes after the read", 0, queued_after_read);
    let holds = peeked == read && queued_after_peek == msg.len() as i32;
    ev.verdict(Verdict::holds_if(holds), format!(
        "peek returned {n} B {:?}, FIONREAD stayed {queued_after_peek}; the read then returned {m} B {:?}",
        text(&peeked), text(&read)));
    ev.key(format!(
        "peek {n} B, queue {queued_after_peek} after peek, read {m} B (same: {})",
        peeked == read
    ));
    Ok(ev)
}

fn dontwait(_lab: &mut Lab) -> Result<Evidence> {
    let pair = TcpPair::loopback(Family::V4)?;
    let mut buf = [0u8; 16];
    let t = std::time::Instant::now();
    let r = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);
    let took = t.elapsed();
    // Without the flag the same socket does wait: a plain recv sleeps in
    // recvfrom until a byte comes.
    let plain_slept = std::thread::scope(|sc| -> Result<bool> {
        let server = &pair.server;
        let (handle, tid) = wait::spawn_with_tid(sc, move || {
            let mut one = [0u8; 16];
            server.recv(&mut one, 0)
        })?;
        phase("waiting for a plain recv to sleep");
        let slept = wait::until(
            "the plain recv asleep in recvfrom",
            Duration::from_secs(5),
            || Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?.then_some(())),
        )
        .is_ok();
        pair.client.send_all(b"!")?;
        let got = handle
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))?;
        Ok(slept && got.is_ok_and(|n| n == 1))
    })?;

    let mut ev = Evidence::new();
    ev.observe("dontwait_result", result_name(&r))
        .observe("dontwait_ms", crate::model::ms(took))
        .observe("plain_recv_slept_until_data", plain_slept);
    ev.expect_eq(
        "recv(MSG_DONTWAIT) with nothing queued",
        "EAGAIN",
        result_name(&r).as_str(),
    );
    ev.expect(
        "it returns at once",
        took < Duration::from_millis(50),
        "< 50 ms",
        format!("{:.3} ms", crate::model::ms(took)),
    );
    ev.expect_eq(
        "a plain recv on the same socket sleeps until data comes",
        true,
        plain_slept,
    );
    let holds = r.is_err() && took < Duration::from_millis(50);
    ev.verdict(Verdict::holds_if(holds), format!(
        "recv(MSG_DONTWAIT) -> {} in {:.3} ms on a blocking socket, where a plain recv slept until data came ({plain_slept})",
        result_name(&r), crate::model::ms(took)));
    ev.key(format!(
        "{} in {:.3} ms; plain recv slept: {plain_slept}",
        result_name(&r),
        crate::model::ms(took)
    ));
    Ok(ev)
}

const PIECES_BYTES: [usize; 3] = [100, 200, 300];

fn peek_dontwait_count(_lab: &mut Lab) -> Result<Evidence> {
    let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
    let total: usize = PIECES_BYTES.iter().sum();
    // TCP: three writes, each its own segment (TCP_NODELAY).
    let pair = TcpPair::loopback(Family::V4)?;
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    for n in PIECES_BYTES {
        pair.client.send_all(&vec![7u8; n])?;
    }
    wait_queued(&pair.server, total as i32, "all TCP pieces to arrive")?;
    let mut buf = vec![0u8; 4096];
    let tcp_peek = pair.server.recv(&mut buf, flags).context("TCP peek")?;
    let tcp_fionread = pair.server.queued(libc::FIONREAD)?;

    // UDP: three datagrams.
    let rx = crate::lab::Sock::udp(Family::V4)?;
    rx.bind(std::net::SocketAddr::new(Family::V4.loopback(), 0))?;
    let to = rx.local_addr()?;
    let tx = crate::lab::Sock::udp(Family::V4)?;
    for n in PIECES_BYTES {
        tx.send_to(&vec![8u8; n], 0, to)?;
    }
    let udp_queued = |s: &crate::lab::Sock| -> Result<usize> {
        let mut one = vec![0u8; 4096];
        Ok(s.recv(&mut one, flags).unwrap_or(0))
    };
    let udp_peek = udp_queued(&rx)?;
    let udp_fionread = rx.queued(libc::FIONREAD)?;

    let mut ev = Evidence::new();
    ev.observe("pieces", PIECES_BYTES)
        .observe("tcp_peek_dontwait", tcp_peek)
        .observe("tcp_fionread", tcp_fionread)
        .observe("udp_peek_dontwait", udp_peek)
        .observe("udp_fionread", udp_fionread);
    ev.expect_eq(
        "TCP: PEEK|DONTWAIT returns every queued byte",
        total,
        tcp_peek,
    );
    ev.expect_eq("TCP: FIONREAD agrees", total as i32, tcp_fionread);
    ev.expect_eq(
        "UDP: PEEK|DONTWAIT returns the first datagram only",
        PIECES_BYTES[0],
        udp_peek,
    );
    ev.expect_eq(
        "UDP: FIONREAD is the first datagram's size too",
        PIECES_BYTES[0] as i32,
        udp_fionread,
    );
    let verdict = match (tcp_peek == total, udp_peek == total) {
        (true, true) => Verdict::Holds,
        (true, false) | (false, true) => Verdict::Differs,
        (false, false) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "{total} B queued in pieces {PIECES_BYTES:?}: TCP peek -> {tcp_peek} (FIONREAD {tcp_fionread}); UDP peek -> \
         {udp_peek} (FIONREAD {udp_fionread}): for UDP it tells the next datagram's size, not the total"));
    ev.key(format!(
        "queued {total}: TCP peek {tcp_peek}, UDP peek {udp_peek}"
    ));
    Ok(ev)
}

fn waitall_short_on_eof(_lab: &mut Lab) -> Result<Evidence> {
    let pair = TcpPair::loopback(Family::V4)?;
    let requested = PIECE * PIECES;
    pair.client.send_all(&[3u8; PIECE])?;
    pair.client.shutdown(libc::SHUT_WR)?;
    let mut buf = vec![0u8; requested];
    let first = pair
        .server
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("recv(MSG_WAITALL)")?;
    let second = pair
        .server
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("second recv")?;

    let mut ev = Evidence::new();
    ev.observe("requested", requested)
        .observe("sent_before_eof", PIECE)
        .observe("first_recv", first)
        .observe("second_recv", second);
    ev.expect_eq("recv(MSG_WAITALL) returns the short count", PIECE, first);
    ev.expect_eq("then 0 (end of stream)", 0, second);
    let verdict = Verdict::holds_if(first == requested);
    ev.verdict(verdict, format!(
        "asked for {requested} B with MSG_WAITALL, the peer sent {PIECE} B and closed: recv returned {first}, then {second}"));
    ev.key(format!("asked {requested}, got {first} then {second}"));
    Ok(ev)
}

const RCVTIMEO: Duration = Duration::from_millis(200);

/// recv(MSG_WAITALL) with one piece queued and SO_RCVTIMEO set: the result
/// and how long it took. A guard shuts the socket down if the timeout never
/// fires (the option silently ignored), so the case fails instead of hanging.
fn waitall_until_timeout(pair: &TcpPair) -> Result<(std::io::Result<usize>, Duration)> {
    pair.server.set_timeout(libc::SO_RCVTIMEO, RCVTIMEO)?;
    pair.client.send_all(&[4u8; PIECE])?;
    std::thread::scope(|s| {
        let server = &pair.server;
        let (done_tx, done_rx) = mpsc::channel();
        s.spawn(move || {
            let mut buf = vec![0u8; PIECE * PIECES];
            let t = std::time::Instant::now();
            let r = server.recv(&mut buf, libc::MSG_WAITALL);
            done_tx.send((r, t.elapsed())).ok();
        });
        match done_rx.recv_timeout(RCVTIMEO + Duration::from_secs(3)) {
            Ok(r) => Ok(r),
            Err(_) => {
                let _ = server.shutdown(libc::SHUT_RD);
                let (r, took) = done_rx.recv().context("receiver after shutdown")?;
                Ok((r, took))
            }
        }
    })
}

extern "C" fn on_signal(_: libc::c_int) {}

/// recv(MSG_WAITALL) with one piece queued, interrupted by a signal once the
/// receiver is asleep.
fn waitall_until_signal(pair: &TcpPair) -> Result<std::io::Result<usize>> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing; installed without SA_RESTART on purpose.
    unsafe { sigaction(Signal::SIGUSR1, &act) }.context("sigaction SIGUSR1")?;
    pair.client.send_all(&[5u8; PIECE])?;
    std::thread::scope(|s| {
        let server = &pair.server;
        let (handle, tid) = wait::spawn_with_tid(s, move || {
            let mut buf = vec![0u8; PIECE * PIECES];
            server.recv(&mut buf, libc::MSG_WAITALL)
        })?;
        phase("waiting for the MSG_WAITALL receiver to sleep with the piece consumed");
        wait::until(
            "receiver asleep in recvfrom",
            Duration::from_secs(5),
            || {
                Ok((server.queued(libc::FIONREAD)? == 0
                    && wait::blocked_in(tid, libc::SYS_recvfrom)?)
                .then_some(()))
            },
        )?;
        // SAFETY: signalling a thread of this process by its kernel id.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("receiver panicked"))
    })
}

fn waitall_timeout(_lab: &mut Lab) -> Result<Evidence> {
    let (timed, took) = waitall_until_timeout(&TcpPair::loopback(Family::V4)?)?;
    let signalled = waitall_until_signal(&TcpPair::loopback(Family::V4)?)?;
    let show = |r: &std::io::Result<usize>| match r {
        Ok(n) => format!("{n} B"),
        Err(e) => crate::lab::sock::errno_name(e),
    };

    let mut ev = Evidence::new();
    ev.observe("requested", PIECE * PIECES)
        .observe("queued", PIECE)
        .observe("rcvtimeo_ms", crate::model::ms(RCVTIMEO))
        .observe("after_timeout", show(&timed))
        .observe("timeout_took_ms", crate::model::ms(took))
        .observe("after_signal", show(&signalled));
    ev.expect_eq(
        "SO_RCVTIMEO: partial count",
        format!("{PIECE} B"),
        show(&timed),
    );
    let (lo, hi) = (
        RCVTIMEO - Duration::from_millis(10),
        RCVTIMEO + Duration::from_millis(1500),
    );
    ev.expect(
        "returned when the timeout passed",
        took >= lo && took <= hi,
        format!(
            "{:.0}..{:.0} ms",
            crate::model::ms(lo),
            crate::model::ms(hi)
        ),
        format!("{:.1} ms", crate::model::ms(took)),
    );
    ev.expect_eq(
        "signal: partial count, not EINTR",
        format!("{PIECE} B"),
        show(&signalled),
    );
    let short = |r: &std::io::Result<usize>| r.as_ref().is_ok_and(|n| *n < PIECE * PIECES);
    let verdict = if short(&timed) || short(&signalled) {
        Verdict::Refuted
    } else {
        Verdict::Holds
    };
    ev.verdict(verdict, format!(
        "asked for {} B with {PIECE} B queued: after SO_RCVTIMEO {:.0} ms recv returned {} ({:.1} ms); \
         interrupted by SIGUSR1 it returned {}", PIECE * PIECES, crate::model::ms(RCVTIMEO), show(&timed),
        crate::model::ms(took), show(&signalled)));
    ev.key(format!(
        "timeout -> {} after {:.0} ms; signal -> {}",
        show(&timed),
        crate::model::ms(took),
        show(&signalled)
    ));
    Ok(ev)
}

/// What a receiver saw of "xy" + "abc"(MSG_OOB) + "z".
#[derive(Debug, serde::Serialize)]
struct UrgentRead {
    stream: String,
    oob: String,
    oob_again: String,
}

fn send_with_urgent(
    pair: &TcpPair,
    inline: bool,
) -> Result<(UrgentRead, Vec<crate::lab::packet::Segment>)> {
    let mut cap = crate::lab::Capture::start("lo")?;
    if inline {
        pair.server
            .set_int(libc::SOL_SOCKET, libc::SO_OOBINLINE, 1)
            .context("SO_OOBINLINE")?;
    }
    pair.client
        .set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    pair.client.send_all(b"xy")?;
    pair.client
        .send(b"abc", libc::MSG_OOB)
        .context("send(MSG_OOB)")?;
    pair.client.send_all(b"z")?;
    pair.client.shutdown(libc::SHUT_WR)?;
    phase("waiting for the urgent data to arrive");
    let port = pair.client.local_addr()?.port();
    cap.wait_segment(
        "the FIN after the urgent data",
        Duration::from_secs(5),
        |s| s.sport == port && s.flags.fin,
    )?;
    let oob_read = |s: &crate::lab::Sock| {
        let mut b = [0u8; 8];
        match s.recv(&mut b, libc::MSG_OOB) {
            Ok(n) => String::from_utf8_lossy(&b[..n]).into_owned(),
            Err(e) => crate::lab::sock::errno_name(&e),
        }
    };
    let oob = oob_read(&pair.server);
    let (stream, _) = pair.server.read_to_end();
    let oob_again = oob_read(&pair.server);
    let segs = cap
        .segments()?
        .into_iter()
        .filter(|s| s.sport == port)
        .collect();
    Ok((
        UrgentRead {
            stream: String::from_utf8_lossy(&stream).into_owned(),
            oob,
            oob_again,
        },
        segs,
    ))
}

fn oob_send_recv(_lab: &mut Lab) -> Result<Evidence> {
    let pair = TcpPair::loopback(Family::V4)?;
    let mut none = [0u8; 1];
    let before = pair
        .server
        .recv(&mut none, libc::MSG_OOB | libc::MSG_DONTWAIT);
    let (read, segs) = send_with_urgent(&pair, false)?;
    let urg: Vec<String> = segs
        .iter()
        .filter(|s| s.flags.urg)
        .map(|s| format!("{} B, urgent pointer {}", s.payload, s.urgent))
        .collect();

    let mut ev = Evidence::new();
    ev.observe("recv_oob_before_any", result_name(&before))
        .observe("receiver", &read)
        .observe("urgent_segments", &urg);
    ev.expect_eq(
        "recv(MSG_OOB) with none pending",
        "EINVAL",
        result_name(&before).as_str(),
    );
    ev.expect_eq(
        "recv(MSG_OOB) returns the last byte only",
        "c",
        read.oob.as_str(),
    );
    ev.expect_eq(
        "the other bytes arrive in the stream",
        "xyabz",
        read.stream.as_str(),
    );
    ev.expect(
        "URG flag on the wire",
        !urg.is_empty(),
        "a segment with URG",
        format!("{urg:?}"),
    );
    let holds_fully = read.oob == "abc";
    ev.verdict(if holds_fully { Verdict::Holds } else { Verdict::Differs }, format!(
        "send(\"abc\", MSG_OOB): recv(MSG_OOB) got {:?}, the stream got {:?}; urgent segments {urg:?}; with none \
         pending recv(MSG_OOB) -> {}: only one byte of out-of-band data exists in TCP", read.oob, read.stream,
        result_name(&before)));
    ev.key(format!(
        "OOB {:?}, stream {:?}, none pending -> {}",
        read.oob,
        read.stream,
        result_name(&before)
    ));
    Ok(ev)
}

fn oobinline(_lab: &mut Lab) -> Result<Evidence> {
    let (inline, _) = send_with_urgent(&TcpPair::loopback(Family::V4)?, true)?;
    let (plain, _) = send_with_urgent(&TcpPair::loopback(Family::V4)?, false)?;

    let mut ev = Evidence::new();
    ev.observe("with_oobinline", &inline)
        .observe("without_oobinline", &plain);
    ev.expect_eq(
        "SO_OOBINLINE: the urgent byte in the stream at its place",
        "xyabcz",
        inline.stream.as_str(),
    );
    ev.expect_eq("SO_OOBINLINE: recv(MSG_OOB)", "EINVAL", inline.oob.as_str());
    ev.expect_eq(
        "without: the stream lacks the urgent byte",
        "xyabz",
        plain.stream.as_str(),
    );
    ev.expect_eq("without: recv(MSG_OOB) returns it", "c", plain.oob.as_str());
    let holds = inline.stream == "xyabcz";
    ev.verdict(Verdict::holds_if(holds), format!(
        "with SO_OOBINLINE the stream read {:?} and recv(MSG_OOB) -> {}; without it {:?} and recv(MSG_OOB) -> {:?}",
        inline.stream, inline.oob, plain.stream, plain.oob));
    ev.key(format!(
        "inline {:?}; plain {:?} + OOB {:?}",
        inline.stream, plain.stream, plain.oob
    ));
    Ok(ev)
}
