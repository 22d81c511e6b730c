//! Per-call flags of recv()/send() (004 §5.4).

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::{phase, wait, Family, Lab, TcpPair};
use crate::model::{Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&WAITALL_FILLS];

pub static WAITALL_FILLS: Case = Case {
    id: "waitall.fills_buffer",
    source: Source::LectureNotes("5.4 MSG_WAITALL"),
    claim: "recv() with MSG_WAITALL does not return before the requested length has arrived",
    expectation:
        "a message sent in pieces: plain recv() returns the first piece alone; recv(MSG_WAITALL) \
                  stays asleep after each piece has arrived and returns the whole length at once",
    run: |lab| waitall_fills(lab, Family::V4),
    deadline: DEFAULT_DEADLINE,
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
    let verdict = if run.returned == total && waited {
        Verdict::Holds
    } else {
        Verdict::Refuted
    };
    ev.verdict(verdict, format!(
        "{PIECES} pieces of {PIECE} B: recv without the flag returned {plain} B; with MSG_WAITALL it slept through \
         pieces 1..{} and returned {} B", PIECES - 1, run.returned));
    ev.key(format!(
        "plain {plain} B, WAITALL {} of {total} B",
        run.returned
    ));
    Ok(ev)
}
