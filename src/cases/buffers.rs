//! SO_RCVBUF / SO_SNDBUF (004 §5.1, §5.2).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::packet::Segment;
use crate::lab::sock::result_name;
use crate::lab::{flow, phase, procnet, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&POST_CONNECT, &SET_1024];

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
    ev.frames(frames.into_iter().take(400).collect());
    Ok(ev)
}

pub static SET_1024: Case = Case {
    id: "rcvbuf.set_1024",
    source: Source::LectureNotes("5.1 chg_rcvbuf"),
    claim: "a new TCP socket has a default receive buffer, and setting SO_RCVBUF to 1024 makes it 1024 bytes",
    expectation: "the default reads back as net.ipv4.tcp_rmem[1]; after setting 1024, getsockopt reports \
                  2304 on x86_64: the kernel doubles the value (room for its bookkeeping) and raises it to \
                  SOCK_MIN_RCVBUF (2048 + sizeof(struct sk_buff)). On the wire the socket's SYN offers a window \
                  far below a default socket's, and a peer writing into it stalls after a few hundred bytes to \
                  ~1 KiB, against tens of KiB for a default socket",
    run: set_1024,
    deadline: DEFAULT_DEADLINE,
};

/// The notes' example value.
const NOTES_RCVBUF: i32 = 1024;

/// The three values of a tcp_rmem / tcp_wmem style sysctl (min, default, max).
fn sysctl_triple(name: &str) -> Result<[i64; 3]> {
    let text = procnet::sysctl(name)?;
    let v: Vec<i64> = text
        .split_whitespace()
        .map(|x| x.parse().with_context(|| format!("{name} = {text:?}")))
        .collect::<Result<_>>()?;
    v.try_into()
        .map_err(|_| anyhow::anyhow!("{name} = {text:?}: expected three values"))
}

/// What one receiving socket did: its SYN, the windows it advertised and the
/// bytes it took in while its application read nothing.
#[derive(Debug, serde::Serialize)]
struct Receiver {
    syn_window: u16,
    syn_wscale: Option<u8>,
    largest_window: u64,
    bytes_accepted: i32,
    bytes_written_by_peer: usize,
}

/// A client (prepared by `prep`) connects on loopback and reads nothing; the
/// accepted side writes until the client's window is closed.
fn receiving_client(cap: &mut Capture, prep: impl FnOnce(&Sock) -> Result<()>) -> Result<Receiver> {
    let pair = TcpPair::connect_with(SocketAddr::new(Family::V4.loopback(), 0), |_| Ok(()), prep)?;
    let port = pair.client.local_addr()?.port();
    phase("writing until the client's window is closed");
    let written = flow::fill_until_window_closed(&pair.server, 4096, Duration::from_secs(5))?;
    let accepted = pair.client.queued(libc::FIONREAD)?;
    let segs = cap.segments()?;
    let syn = segs
        .iter()
        .find(|s| s.sport == port && s.flags.syn)
        .context("no SYN captured from the client")?;
    let synack = segs
        .iter()
        .find(|s| s.dport == port && s.flags.syn && s.flags.ack)
        .context("no SYN-ACK captured")?;
    // Window scaling is in force only when both SYNs carry the option.
    let scale = match (syn.wscale, synack.wscale) {
        (Some(c), Some(_)) => c,
        _ => 0,
    };
    Ok(Receiver {
        syn_window: syn.window,
        syn_wscale: syn.wscale,
        largest_window: largest_window(&segs, port, scale),
        bytes_accepted: accepted,
        bytes_written_by_peer: written,
    })
}

fn set_1024(_lab: &mut Lab) -> Result<Evidence> {
    let tcp_rmem = sysctl_triple("net/ipv4/tcp_rmem")?;
    let fresh = Sock::tcp(Family::V4)?;
    let default = fresh.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let set = fresh.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NOTES_RCVBUF);
    let reported = fresh.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;

    let mut cap = Capture::start("lo")?;
    let plain = receiving_client(&mut cap, |_| Ok(()))?;
    let mut cap = Capture::start("lo")?;
    let small = receiving_client(&mut cap, |c| {
        Ok(c.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, NOTES_RCVBUF)?)
    })?;
    let frames = cap.frames()?;

    let mut ev = Evidence::new();
    ev.observe("net_ipv4_tcp_rmem", tcp_rmem)
        .observe("default_rcvbuf", default)
        .observe("setsockopt_1024", result_name(&set))
        .observe("rcvbuf_reported_after_1024", reported)
        .observe("default_socket", &plain)
        .observe("socket_with_1024", &small);
    ev.expect_eq(
        "a new socket's SO_RCVBUF is tcp_rmem[1]",
        tcp_rmem[1],
        default as i64,
    );
    ev.expect_eq(
        "setsockopt(SO_RCVBUF, 1024)",
        "ok".to_string(),
        result_name(&set),
    );
    let doubled = 2 * NOTES_RCVBUF;
    ev.expect(
        "getsockopt reports 1024 doubled, raised to SOCK_MIN_RCVBUF",
        reported > doubled && reported <= 2 * doubled,
        format!("{doubled} < value <= {} (2304 on x86_64)", 2 * doubled),
        format!("{reported}"),
    );
    ev.expect(
        "the SYN offers a smaller window than a default socket's",
        small.syn_window < plain.syn_window && (small.syn_window as i32) <= reported,
        format!("< {} and <= {reported}", plain.syn_window),
        format!("{}", small.syn_window),
    );
    ev.expect(
        "no window advertised while receiving exceeds the buffer",
        small.largest_window <= reported as u64,
        format!("<= {reported}"),
        format!("{}", small.largest_window),
    );
    ev.expect(
        "a non-reading receiver takes in no more than the buffer",
        small.bytes_accepted > 0 && small.bytes_accepted <= reported,
        format!("1..={reported} bytes"),
        format!("{}", small.bytes_accepted),
    );
    ev.expect(
        "a default socket takes in far more",
        plain.bytes_accepted > 8 * small.bytes_accepted,
        format!("> 8 x {}", small.bytes_accepted),
        format!("{}", plain.bytes_accepted),
    );

    let no_effect = small.bytes_accepted * 2 >= plain.bytes_accepted;
    let verdict = if no_effect {
        Verdict::Refuted
    } else if reported == NOTES_RCVBUF && small.bytes_accepted <= NOTES_RCVBUF {
        Verdict::Holds
    } else {
        Verdict::Differs
    };
    ev.verdict(verdict, format!(
        "default SO_RCVBUF {default} (tcp_rmem[1] = {}); after setting {NOTES_RCVBUF} getsockopt says {reported}; \
         its SYN offered a {}-byte window (default socket: {}), the largest window it advertised was {} bytes and \
         it took in {} bytes before the window closed (default socket: {} bytes)",
        tcp_rmem[1], small.syn_window, plain.syn_window, small.largest_window, small.bytes_accepted,
        plain.bytes_accepted));
    ev.key(format!(
        "default {default}, set 1024 -> {reported}; SYN win {} (default {}), takes {} B (default {} B)",
        small.syn_window, plain.syn_window, small.bytes_accepted, plain.bytes_accepted
    ));
    ev.frames(frames.into_iter().take(400).collect());
    Ok(ev)
}
