//! SO_RCVBUF / SO_SNDBUF (004 §5.1, §5.2).

use std::net::SocketAddr;
use std::sync::mpsc;

use anyhow::{Context, Result};

use crate::lab::packet::Segment;
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&POST_CONNECT];

pub static POST_CONNECT: Case = Case {
    id: "bufsize.post_connect",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "the buffer size cannot be changed once the three-way handshake is done",
    expectation: "setsockopt(SO_RCVBUF) after the handshake succeeds and getsockopt reports the new (doubled) \
                  size, but the change is without effect on the wire: the receive window clamp and the window \
                  scale were fixed at handshake time, and the advertised window does not grow past the \
                  handshake-time maximum",
    run: post_connect,
    deadline: DEFAULT_DEADLINE,
};

/// Receive buffer the listener has at handshake time (small: its SYN-ACK
/// announces the window scale this size calls for).
const SYN_RCVBUF: i32 = 4096;
/// Receive buffer set after the handshake.
const NEW_RCVBUF: i32 = 1 << 20;
const PHASE1: usize = 256 * 1024;
const PHASE2: usize = 4 << 20;

fn read_exact(s: &Sock, mut n: usize) -> Result<()> {
    let mut buf = vec![0u8; 65536];
    while n > 0 {
        let want = n.min(buf.len());
        let got = s.recv(&mut buf[..want], 0).context("recv")?;
        anyhow::ensure!(got > 0, "peer closed early with {n} bytes to go");
        n -= got;
    }
    Ok(())
}

fn largest_window(segs: &[Segment], from_port: u16, scale: u8) -> u64 {
    segs.iter()
        .filter(|s| s.sport == from_port && !s.flags.syn)
        .map(|s| (s.window as u64) << scale)
        .max()
        .unwrap_or(0)
}

fn post_connect(_lab: &mut Lab) -> Result<Evidence> {
    let rmem_max = procnet::sysctl_int("net/core/rmem_max")?;
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, SYN_RCVBUF)?),
        |_| Ok(()),
    )?;
    let port = pair.port()?;
    let TcpPair {
        client,
        server,
        listener: _l,
    } = pair;
    let before = server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;

    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (set_result, after, mark) = std::thread::scope(|s| -> Result<_> {
        let writer = s.spawn(move || -> Result<()> {
            let data = vec![0x33u8; PHASE1.max(PHASE2)];
            client.send_all(&data[..PHASE1]).context("phase 1 send")?;
            go_rx.recv().context("waiting for the buffer change")?;
            client.send_all(&data[..PHASE2]).context("phase 2 send")?;
            client.shutdown(libc::SHUT_WR).context("shutdown")?;
            Ok(())
        });
        read_exact(&server, PHASE1)?;
        let mark = cap.frames()?.len();
        let set_result = server.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NEW_RCVBUF);
        let after = server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        go_tx.send(()).context("release the writer")?;
        read_exact(&server, PHASE2)?;
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
        Ok((set_result, after, mark))
    })?;

    let frames = cap.frames()?;
    let segs_before: Vec<Segment> = frames[..mark].iter().filter_map(|f| f.segment()).collect();
    let segs_after: Vec<Segment> = frames[mark..].iter().filter_map(|f| f.segment()).collect();
    let synack = segs_before
        .iter()
        .find(|s| s.sport == port && s.flags.syn)
        .context("no SYN-ACK captured")?;
    let scale = synack.wscale.unwrap_or(0);
    let cap_bytes = 65535u64 << scale;
    let win_before = largest_window(&segs_before, port, scale);
    let win_after = largest_window(&segs_after, port, scale);
    let expected_after = (NEW_RCVBUF as i64).min(rmem_max) * 2;

    let mut ev = Evidence::new();
    ev.observe("rcvbuf_at_handshake", before)
        .observe("setsockopt_after_handshake", result_name(&set_result))
        .observe("rcvbuf_reported_after", after)
        .observe("net_core_rmem_max", rmem_max)
        .observe("synack_window_scale", scale)
        .observe("window_limit_from_scale", cap_bytes)
        .observe("largest_window_before_change", win_before)
        .observe("largest_window_after_change", win_after);
    ev.expect_eq(
        "setsockopt after the handshake",
        "ok".to_string(),
        result_name(&set_result),
    );
    ev.expect_eq(
        "getsockopt reports min(size, rmem_max) doubled",
        expected_after,
        after as i64,
    );
    ev.expect(
        "the new size would allow a larger window",
        (after as u64) / 2 > win_before.max(1) * 4,
        format!("> {}", win_before * 4),
        format!("{}", after / 2),
    );
    ev.expect(
        "the window stays at its handshake-time clamp",
        win_after <= win_before,
        format!("<= {win_before}"),
        format!("{win_after}"),
    );
    ev.expect(
        "the window stays within 65535 << SYN scale",
        win_after <= cap_bytes,
        format!("<= {cap_bytes}"),
        format!("{win_after}"),
    );

    let verdict = match (set_result.is_ok(), win_after > win_before) {
        (false, _) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (true, true) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "setsockopt after the handshake -> {} and getsockopt {before} -> {after}, yet the largest advertised \
         window went {win_before} -> {win_after} bytes: accepted, but the window stays at the clamp computed \
         from the {before}-byte buffer at handshake time (SYN-ACK window scale {scale}, hard limit {cap_bytes})",
        result_name(&set_result)));
    ev.key(format!("set {} rcvbuf {before}->{after}, window {win_before}->{win_after} (cap {cap_bytes}, ws {scale})",
        result_name(&set_result)));
    ev.frames(frames);
    Ok(ev)
}
