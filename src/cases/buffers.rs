//! SO_RCVBUF / SO_SNDBUF (004 §5.1, §5.2).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::opt;
use crate::lab::packet::Segment;
use crate::lab::sock::result_name;
use crate::lab::{flow, phase, procnet, wait, Capture, Family, Lab, Privilege, Sock, TcpPair};
use crate::model::{ms, Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &POST_CONNECT,
    &SET_1024,
    &DOUBLING,
    &EXCESS_DISCARDED,
    &WRITE_BLOCKS,
    &RCVLOWAT,
    &SNDLOWAT,
    &SO_TIMEOUT,
];

pub static POST_CONNECT: Case = Case {
    id: "bufsize.post_connect",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "the buffer size cannot be changed once the three-way handshake is done",
    expectation: "setsockopt(SO_RCVBUF) after the handshake succeeds and getsockopt reports the new (doubled) \
                  size, but the change is without effect on the wire: the receive window clamp and the window \
                  scale were fixed at handshake time, and the advertised window does not grow past the \
                  handshake-time maximum",
    run: &Legacy(post_connect),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

/// Receive buffer the listener has at handshake time (small: its SYN-ACK
/// announces the window scale this size calls for).
const SYN_RCVBUF: i32 = 4096;
/// Receive buffer set after the handshake.
const NEW_RCVBUF: i32 = 1 << 20;
const PHASE1: usize = 64 * 1024;
// Enough segments for the receiver to grow its window if it could, few
// enough for the capture to keep every frame.
const PHASE2: usize = 512 * 1024;

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

/// A loopback pair whose accepted side (`server`) receives with `rcv_opt`
/// (SO_RCVBUF or SO_RCVBUFFORCE) = `rcvbuf`, set on the listener before the
/// handshake and inherited, and whose `client` sends with SO_SNDBUF `sndbuf`.
fn sized_pair(rcv_opt: i32, rcvbuf: i32, sndbuf: i32) -> Result<TcpPair> {
    TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, rcv_opt, rcvbuf)?),
        |c| Ok(c.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, sndbuf)?),
    )
}

/// Whether thread `tid`, writing on `sender`, falls asleep in sendto while
/// the peer's window is closed (a full buffer that cannot drain).
fn asleep_at_closed_window(tid: i32, sender: &Sock) -> bool {
    phase("waiting for the writer to sleep in sendto at a closed window");
    wait::until(
        "the writer asleep in sendto while the peer's window is closed",
        Duration::from_secs(5),
        || {
            Ok(
                (wait::blocked_in(tid, libc::SYS_sendto)? && flow::window_closed(sender)?)
                    .then_some(()),
            )
        },
    )
    .is_ok()
}

const ASLEEP_AT_CLOSED_WINDOW: &str = "asleep in sendto, zero-window probe timer armed";

pub static SET_1024: Case = Case {
    id: "rcvbuf.set_1024",
    source: Source::LectureNotes("5.1 chg_rcvbuf"),
    claim: "a new TCP socket has a default receive buffer, and setting SO_RCVBUF to 1024 makes it 1024 bytes",
    expectation: "the default reads back as net.ipv4.tcp_rmem[1]; after setting 1024, getsockopt reports \
                  2304 on x86_64: the kernel doubles the value (room for its bookkeeping) and raises it to \
                  SOCK_MIN_RCVBUF (2048 + sizeof(struct sk_buff)). On the wire the socket's SYN offers a window \
                  far below a default socket's, and a peer writing into it stalls after a few hundred bytes to \
                  ~1 KiB, against tens of KiB for a default socket",
    run: &Legacy(set_1024),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
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

pub static DOUBLING: Case = Case {
    id: "rcvbuf.doubling",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "the user sets the send and receive buffer sizes: the size set is the size used",
    expectation: "getsockopt reports twice the value set (socket(7): the kernel doubles it to allow for \
                  bookkeeping), never below SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF, and the value is first clamped to \
                  net.core.rmem_max / wmem_max (a negative value clamps to the maximum). The effect follows the \
                  doubled value: a non-reading receiver takes in between the size set and twice it, a sender \
                  queues up to about the doubled size before EAGAIN, and above the clamp nothing grows. \
                  SO_RCVBUFFORCE / SO_SNDBUFFORCE pass the clamp with CAP_NET_ADMIN (root), and fail with EPERM \
                  in a user namespace",
    run: &Legacy(doubling),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF, opt::SO_SNDBUF, opt::SO_RCVBUFFORCE, opt::SO_SNDBUFFORCE],
};

/// Sizes whose effect is measured: each a factor 4 above the previous one.
const EFFECT_SIZES: [i32; 4] = [4096, 16384, 65536, 262144];
/// Largest rmem_max / wmem_max whose clamp is measured by filling a buffer.
const CLAMP_EFFECT_LIMIT: i64 = 32 << 20;

#[derive(Debug, serde::Serialize)]
struct ReadBack {
    set: i32,
    reported: i32,
    expected: i64,
}

/// SO_RCVBUF / SO_SNDBUF read back on a fresh socket for each of `sizes`;
/// the expectation is sock_setsockopt's: max(2 * min((u32)v, max), floor).
fn read_backs(opt: i32, sizes: &[i32], max: i64, floor: i64) -> Result<Vec<ReadBack>> {
    sizes
        .iter()
        .map(|&set| {
            let s = Sock::tcp(Family::V4)?;
            s.set_int(libc::SOL_SOCKET, opt, set)
                .with_context(|| format!("setsockopt({opt}, {set})"))?;
            let reported = s.get_int(libc::SOL_SOCKET, opt)?;
            let clamped = (set as u32 as i64).min(max);
            Ok(ReadBack {
                set,
                reported,
                expected: (2 * clamped).max(floor),
            })
        })
        .collect()
}

/// The effect of one setting: what getsockopt says and the bytes it let in.
#[derive(Debug, serde::Serialize)]
struct Effect {
    set: i32,
    reported: i32,
    bytes: i64,
}

/// Sender-side buffer used while measuring a receive buffer: fixed, so that
/// only the receiver's setting varies.
const PROBE_SNDBUF: i32 = 1 << 20;
/// Receive buffer of the peer while measuring a send buffer: small, so its
/// window closes at once and everything else stays in the sender's queue.
const PROBE_RCVBUF: i32 = 4096;

/// Bytes a non-reading receiver with SO_RCVBUF `size` (set on the listener,
/// before the handshake) takes in (`opt` SO_RCVBUF or SO_RCVBUFFORCE).
fn rcv_effect(opt: i32, size: i32) -> Result<Effect> {
    let pair = sized_pair(opt, size, PROBE_SNDBUF)?;
    phase(&format!("filling a receiver with SO_RCVBUF {size}"));
    flow::fill_until_window_closed(&pair.client, 65536, Duration::from_secs(5))?;
    Ok(Effect {
        set: size,
        reported: pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?,
        bytes: pair.server.queued(libc::FIONREAD)? as i64,
    })
}

/// Bytes a sender with SO_SNDBUF `size` queues (unsent, its peer's window
/// closed) before EAGAIN.
fn snd_effect(size: i32) -> Result<Effect> {
    let pair = sized_pair(libc::SO_RCVBUF, PROBE_RCVBUF, size)?;
    phase(&format!("filling a sender with SO_SNDBUF {size}"));
    flow::fill_until_window_closed(&pair.client, 16384, Duration::from_secs(5))?;
    Ok(Effect {
        set: size,
        reported: pair.client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?,
        bytes: pair.client.queued(libc::TIOCOUTQ)? as i64,
    })
}

fn strictly_increasing(e: &[Effect]) -> bool {
    e.windows(2).all(|w| w[1].bytes > w[0].bytes)
}

/// Within `pct` percent of each other.
fn close_to(a: i64, b: i64, pct: i64) -> bool {
    (a - b).abs() * 100 <= a.max(b) * pct
}

/// Sizes read back: tiny ones (floor), ordinary ones, and around the clamp.
fn probe_sizes(max: i64) -> Vec<i32> {
    let max = max.min(i32::MAX as i64 / 2) as i32;
    vec![0, 1, 1024, 4096, 65536, 1 << 20, max, max + 1, 2 * max, -1]
}

fn doubling(lab: &mut Lab) -> Result<Evidence> {
    flow::loopback_quickack(Family::V4)?;
    let rmem_max = procnet::sysctl_int("net/core/rmem_max")?;
    let wmem_max = procnet::sysctl_int("net/core/wmem_max")?;
    // SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF (= 2 x the former) as a socket shows them.
    let rcv_floor = read_backs(libc::SO_RCVBUF, &[0], rmem_max, 0)?[0].reported as i64;
    let snd_floor = read_backs(libc::SO_SNDBUF, &[0], wmem_max, 0)?[0].reported as i64;
    let rcv_table = read_backs(libc::SO_RCVBUF, &probe_sizes(rmem_max), rmem_max, rcv_floor)?;
    let snd_table = read_backs(libc::SO_SNDBUF, &probe_sizes(wmem_max), wmem_max, snd_floor)?;

    let rcv: Vec<Effect> = EFFECT_SIZES
        .iter()
        .map(|&n| rcv_effect(libc::SO_RCVBUF, n))
        .collect::<Result<_>>()?;
    let snd: Vec<Effect> = EFFECT_SIZES
        .iter()
        .map(|&n| snd_effect(n))
        .collect::<Result<_>>()?;
    let rmax = rmem_max.min(i32::MAX as i64 / 2) as i32;
    let wmax = wmem_max.min(i32::MAX as i64 / 2) as i32;
    // Filling buffers at the clamp moves about 2 x rmem_max: skipped (and
    // said so) where the maxima are too large for a quick case.
    let at_clamp = rmem_max.max(wmem_max) <= CLAMP_EFFECT_LIMIT;
    let (rcv_clamp, snd_clamp) = if at_clamp {
        (
            Some([
                rcv_effect(libc::SO_RCVBUF, rmax)?,
                rcv_effect(libc::SO_RCVBUF, 2 * rmax)?,
            ]),
            Some([snd_effect(wmax)?, snd_effect(2 * wmax)?]),
        )
    } else {
        (None, None)
    };

    // Past the clamp with privilege: the FORCE variants.
    let forced = Sock::tcp(Family::V4)?;
    let rcv_force = forced.set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 2 * rmax);
    let snd_force = forced.set_int(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 2 * wmax);
    let rcv_forced = forced.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let snd_forced = forced.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?;
    let root = lab.privilege == Privilege::Root;
    let rcv_force_effect = if at_clamp && root && rcv_force.is_ok() {
        Some(rcv_effect(libc::SO_RCVBUFFORCE, 2 * rmax)?)
    } else {
        None
    };

    let mut ev = Evidence::new();
    ev.observe("net_core_rmem_max", rmem_max)
        .observe("net_core_wmem_max", wmem_max)
        .observe("so_rcvbuf_read_back", &rcv_table)
        .observe("so_sndbuf_read_back", &snd_table)
        .observe("receiver_bytes_taken_in", &rcv)
        .observe("sender_bytes_queued", &snd)
        .observe("receiver_at_and_past_clamp", &rcv_clamp)
        .observe("sender_at_and_past_clamp", &snd_clamp)
        .observe("privilege", lab.privilege)
        .observe("so_rcvbufforce", result_name(&rcv_force))
        .observe("so_sndbufforce", result_name(&snd_force))
        .observe("rcvbuf_after_force", rcv_forced)
        .observe("sndbuf_after_force", snd_forced)
        .observe("receiver_forced_past_clamp", &rcv_force_effect)
        .observe("effect_at_clamp_measured", at_clamp);

    ev.expect(
        "SOCK_MIN_RCVBUF: 2048 + sizeof(struct sk_buff)",
        rcv_floor > 2048 && rcv_floor <= 4096,
        "2048 < floor <= 4096 (2304 on x86_64)",
        format!("{rcv_floor}"),
    );
    ev.expect_eq(
        "SOCK_MIN_SNDBUF is twice SOCK_MIN_RCVBUF",
        2 * rcv_floor,
        snd_floor,
    );
    for (name, table) in [("SO_RCVBUF", &rcv_table), ("SO_SNDBUF", &snd_table)] {
        let wrong: Vec<String> = table
            .iter()
            .filter(|r| r.reported as i64 != r.expected)
            .map(|r| format!("{} -> {} (expected {})", r.set, r.reported, r.expected))
            .collect();
        ev.expect(
            &format!("{name} reads back max(2 x min(value, max), floor)"),
            wrong.is_empty(),
            "every size",
            if wrong.is_empty() {
                "every size".to_string()
            } else {
                wrong.join(", ")
            },
        );
    }
    for (what, effects) in [("receiver takes in", &rcv), ("sender queues", &snd)] {
        ev.expect(
            &format!("{what} more for each larger setting"),
            strictly_increasing(effects),
            "strictly increasing",
            format!("{:?}", effects.iter().map(|e| e.bytes).collect::<Vec<_>>()),
        );
        let outside: Vec<String> = effects
            .iter()
            .filter(|e| e.bytes < e.set as i64 / 2 || e.bytes > e.reported as i64)
            .map(|e| format!("set {} (reported {}): {} B", e.set, e.reported, e.bytes))
            .collect();
        ev.expect(
            &format!("{what} between half the size set and the reported size"),
            outside.is_empty(),
            "set/2 <= bytes <= reported, every size",
            if outside.is_empty() {
                "every size".to_string()
            } else {
                outside.join(", ")
            },
        );
    }
    for (what, pair) in [
        (
            "receiver: twice rmem_max takes in no more than rmem_max (clamp)",
            &rcv_clamp,
        ),
        (
            "sender: twice wmem_max queues no more than wmem_max (clamp)",
            &snd_clamp,
        ),
    ] {
        if let Some([at, past]) = pair {
            ev.expect(
                what,
                close_to(at.bytes, past.bytes, 10),
                format!("within 10% of {}", at.bytes),
                format!("{}", past.bytes),
            );
        }
    }
    let want_force = if root { "ok" } else { "EPERM" };
    ev.expect_eq(
        "SO_RCVBUFFORCE past the clamp (root: ok; user namespace: EPERM)",
        want_force.to_string(),
        result_name(&rcv_force),
    );
    ev.expect_eq(
        "SO_SNDBUFFORCE past the clamp (root: ok; user namespace: EPERM)",
        want_force.to_string(),
        result_name(&snd_force),
    );
    if let (Some(f), Some([at, _])) = (&rcv_force_effect, &rcv_clamp) {
        ev.expect(
            "a forced receive buffer past the clamp takes in more",
            f.bytes > at.bytes + at.bytes / 2,
            format!("> 1.5 x {}", at.bytes),
            format!("{} (reported {})", f.bytes, f.reported),
        );
    }
    let clamp_bytes = |c: &Option<[Effect; 2]>| {
        c.as_ref()
            .map_or("(not measured: maxima above 32 MiB)".to_string(), |c| {
                format!("{} B", c[0].bytes)
            })
    };

    let grows = strictly_increasing(&rcv) && strictly_increasing(&snd);
    let as_set = rcv_table
        .iter()
        .chain(&snd_table)
        .all(|r| r.reported == r.set || r.set <= 0);
    let verdict = match (grows, as_set) {
        (false, _) => Verdict::Refuted,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
    };
    let bytes = |e: &[Effect]| {
        e.iter()
            .map(|e| format!("{}->{} B", e.set, e.bytes))
            .collect::<Vec<_>>()
            .join(", ")
    };
    ev.verdict(verdict, format!(
        "SO_RCVBUF 4096 reads back {}, 1024 reads back {} (floor), {} (rmem_max) and {} both read back {}; \
         a non-reading receiver took in {} and {} at/past the clamp; a sender queued {} and {} at/past the \
         wmem_max clamp; SO_RCVBUFFORCE {} -> {} as {:?}",
        reported_for(&rcv_table, 4096), reported_for(&rcv_table, 1024), rmax, 2 * rmax,
        reported_for(&rcv_table, rmax), bytes(&rcv), clamp_bytes(&rcv_clamp), bytes(&snd), clamp_bytes(&snd_clamp),
        2 * rmax, result_name(&rcv_force), lab.privilege));
    ev.key(format!(
        "4096 -> {}; takes in {:?} B; clamp {}; FORCE {}",
        reported_for(&rcv_table, 4096),
        rcv.iter().map(|e| e.bytes).collect::<Vec<_>>(),
        2 * rmem_max,
        result_name(&rcv_force)
    ));
    Ok(ev)
}

/// An optional measurement as a report shows it.
fn shown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
}

fn reported_for(table: &[ReadBack], set: i32) -> i32 {
    table
        .iter()
        .find(|r| r.set == set)
        .map_or(-1, |r| r.reported)
}

pub static EXCESS_DISCARDED: Case = Case {
    id: "rcvbuf.excess_discarded",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "TCP tells the peer its free receive space (the window); data beyond that free space is thrown away",
    expectation: "TCP: the window stops the sender before the buffer overflows, so nothing is thrown away: a \
                  blocking sender sleeps in send() (a non-blocking one gets EAGAIN) while the receiver advertises \
                  a zero window, and once the receiver reads, every byte arrives intact (count and checksum). \
                  UDP has no window: datagrams arriving at a full receive buffer are dropped, counted in \
                  Udp RcvbufErrors and the socket's drop counter (SO_RXQ_OVFL)",
    run: &Legacy(excess_discarded),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF, opt::SO_RXQ_OVFL],
};

/// Bytes the fast TCP sender writes into the non-reading receiver.
const TCP_TOTAL: usize = 1 << 20;
/// The TCP receiver's SO_RCVBUF: a sixty-fourth of what is sent.
const SMALL_RCVBUF: i32 = 8192;
/// The TCP sender's SO_SNDBUF: an eighth of what is sent.
const SENDER_SNDBUF: i32 = 65536;
const DATAGRAMS: usize = 64;
const DATAGRAM: usize = 1000;
/// UDP receive buffer: room for a handful of the datagrams.
const UDP_RCVBUF: i32 = 4096;

/// Bytes that are not all alike, so a lost or reordered piece changes the checksum.
fn pattern(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// FNV-1a, 64 bit.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn tcp_ext(name: &str) -> Result<i64> {
    flow::mib_counter("netstat", "TcpExt", name)
}

/// The TCP half: a blocking sender into a receiver that does not read.
#[derive(Debug, serde::Serialize)]
struct TcpRun {
    sent: usize,
    sent_checksum: u64,
    rcvbuf_reported: i32,
    sndbuf_reported: i32,
    /// Seen together: writer asleep in sendto, peer's window closed.
    writer_asleep_at_closed_window: bool,
    receiver_queued_at_stall: i32,
    sender_queued_at_stall: i32,
    delivered: usize,
    delivered_checksum: u64,
    to_zero_window_adverts: i64,
    zero_window_drops: i64,
    rcvq_drops: i64,
    retransmitted_segments: i64,
    /// The same with O_NONBLOCK: bytes accepted before EAGAIN, bytes delivered.
    nonblocking_accepted: usize,
    nonblocking_delivered: usize,
}

fn tcp_excess() -> Result<TcpRun> {
    let data = pattern(TCP_TOTAL);
    let counters = ["TCPToZeroWindowAdv", "TCPZeroWindowDrop", "TCPRcvQDrop"];
    let before: Vec<i64> = counters.iter().map(|c| tcp_ext(c)).collect::<Result<_>>()?;
    let retrans_before = flow::mib_counter("snmp", "Tcp", "RetransSegs")?;
    // The sender's buffer is fixed too: left to autotuning it grows to
    // tcp_wmem[2] and could swallow the whole stream without ever blocking.
    let pair = sized_pair(libc::SO_RCVBUF, SMALL_RCVBUF, SENDER_SNDBUF)?;
    let rcvbuf_reported = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let (asleep, receiver_queued, sender_queued, delivered) =
        std::thread::scope(|s| -> Result<_> {
            let client = &pair.client;
            let data = &data;
            let (writer, tid) = wait::spawn_with_tid(s, move || -> Result<()> {
                client
                    .send_all(data)
                    .context("blocking send of the whole stream")?;
                client.shutdown(libc::SHUT_WR).context("shutdown(SHUT_WR)")
            })?;
            let asleep = asleep_at_closed_window(tid, client) && !writer.is_finished();
            let receiver_queued = pair.server.queued(libc::FIONREAD)?;
            let sender_queued = client.queued(libc::TIOCOUTQ)?;
            phase("reading the whole stream");
            let (got, err) = pair.server.read_to_end();
            if let Some(e) = err {
                return Err(e).context("reading the stream");
            }
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("writer panicked"))??;
            Ok((asleep, receiver_queued, sender_queued, got))
        })?;
    let after: Vec<i64> = counters.iter().map(|c| tcp_ext(c)).collect::<Result<_>>()?;
    let retrans = flow::mib_counter("snmp", "Tcp", "RetransSegs")? - retrans_before;

    // The same stream shape without blocking: EAGAIN instead of sleep.
    let nb = sized_pair(libc::SO_RCVBUF, SMALL_RCVBUF, SENDER_SNDBUF)?;
    let sndbuf_reported = nb.client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?;
    let accepted = flow::fill_until_window_closed(&nb.client, 65536, Duration::from_secs(5))?;
    nb.client
        .shutdown(libc::SHUT_WR)
        .context("shutdown(SHUT_WR)")?;
    let (nb_got, nb_err) = nb.server.read_to_end();
    if let Some(e) = nb_err {
        return Err(e).context("reading the non-blocking stream");
    }

    Ok(TcpRun {
        sent: data.len(),
        sent_checksum: checksum(&data),
        rcvbuf_reported,
        sndbuf_reported,
        writer_asleep_at_closed_window: asleep,
        receiver_queued_at_stall: receiver_queued,
        sender_queued_at_stall: sender_queued,
        delivered: delivered.len(),
        delivered_checksum: checksum(&delivered),
        to_zero_window_adverts: after[0] - before[0],
        zero_window_drops: after[1] - before[1],
        rcvq_drops: after[2] - before[2],
        retransmitted_segments: retrans,
        nonblocking_accepted: accepted,
        nonblocking_delivered: nb_got.len(),
    })
}

/// recvmsg() that also returns the SO_RXQ_OVFL drop counter, when the kernel
/// attached one.
fn recv_with_drops(s: &Sock, buf: &mut [u8], flags: i32) -> std::io::Result<(usize, Option<u32>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = [0u64; 8];
    // SAFETY: msghdr is plain data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg);
    // SAFETY: msg points at live buffers of the sizes it declares.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, flags) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut drops = None;
    // SAFETY: walking the control buffer the kernel just filled, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SO_RXQ_OVFL {
                drops = Some(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<u32>()));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, drops))
}

/// The UDP half: datagrams into a small buffer nobody reads.
#[derive(Debug, serde::Serialize)]
struct UdpRun {
    sent: usize,
    rcvbuf_reported: i32,
    /// Per datagram, as the receiving socket's accounting changed: queued or dropped.
    queued: usize,
    dropped: usize,
    received: usize,
    /// Sequence numbers of the datagrams read back.
    received_seq: Vec<u32>,
    socket_drop_counter: u32,
    rxq_ovfl_on_next_datagram: Option<u32>,
    udp_rcvbuf_errors: i64,
}

fn udp_excess() -> Result<UdpRun> {
    let errors_before = flow::mib_counter("snmp", "Udp", "RcvbufErrors")?;
    let rx = Sock::udp(Family::V4)?;
    rx.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, UDP_RCVBUF)
        .context("SO_RCVBUF on the UDP receiver")?;
    rx.set_int(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1)
        .context("SO_RXQ_OVFL")?;
    rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind UDP receiver")?;
    let to = rx.local_addr()?;
    let tx = Sock::udp(Family::V4)?;
    let (mut queued, mut dropped) = (0, 0);
    phase("sending datagrams into a buffer nobody reads");
    for seq in 0..DATAGRAMS as u32 {
        let before = flow::meminfo(&rx)?;
        let mut d = vec![0x44u8; DATAGRAM];
        d[..4].copy_from_slice(&seq.to_be_bytes());
        tx.send_to(&d, 0, to).context("sendto")?;
        // Each datagram either joins the queue or bumps the drop counter.
        let queued_now = wait::until(
            "the datagram to be queued or dropped at the receiver",
            Duration::from_secs(2),
            || {
                let m = flow::meminfo(&rx)?;
                Ok(if m.drops > before.drops {
                    Some(false)
                } else if m.rmem_alloc > before.rmem_alloc {
                    Some(true)
                } else {
                    None
                })
            },
        )?;
        if queued_now {
            queued += 1;
        } else {
            dropped += 1;
        }
    }
    let socket_drop_counter = flow::meminfo(&rx)?.drops;
    let mut received_seq = Vec::new();
    let mut buf = vec![0u8; 2 * DATAGRAM];
    loop {
        match rx.recv(&mut buf, libc::MSG_DONTWAIT) {
            Ok(n) if n >= 4 => {
                received_seq.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]))
            }
            Ok(_) => anyhow::bail!("a short datagram"),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).context("draining the UDP receiver"),
        }
    }
    // With room again, the next datagram carries the drop count so far.
    tx.send_to(b"next", 0, to).context("sendto")?;
    wait::readable(rx.as_raw_fd(), Duration::from_secs(2))?;
    let (_, ovfl) = recv_with_drops(&rx, &mut buf, libc::MSG_DONTWAIT).context("recvmsg")?;
    let errors = flow::mib_counter("snmp", "Udp", "RcvbufErrors")? - errors_before;
    Ok(UdpRun {
        sent: DATAGRAMS,
        rcvbuf_reported: rx.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?,
        queued,
        dropped,
        received: received_seq.len(),
        received_seq,
        socket_drop_counter,
        rxq_ovfl_on_next_datagram: ovfl,
        udp_rcvbuf_errors: errors,
    })
}

fn excess_discarded(_lab: &mut Lab) -> Result<Evidence> {
    flow::loopback_quickack(Family::V4)?;
    let tcp = tcp_excess()?;
    let udp = udp_excess()?;

    let mut ev = Evidence::new();
    ev.observe("tcp", &tcp).observe("udp", &udp);
    ev.expect(
        "TCP: the blocking writer sleeps in send() while the receiver's window is closed",
        tcp.writer_asleep_at_closed_window,
        ASLEEP_AT_CLOSED_WINDOW,
        format!("{}", tcp.writer_asleep_at_closed_window),
    );
    ev.expect(
        "TCP: the receiver holds no more than its buffer at the stall",
        tcp.receiver_queued_at_stall > 0 && tcp.receiver_queued_at_stall <= tcp.rcvbuf_reported,
        format!("1..={} bytes", tcp.rcvbuf_reported),
        format!("{}", tcp.receiver_queued_at_stall),
    );
    ev.expect(
        "TCP: the receiver advertised a zero window",
        tcp.to_zero_window_adverts > 0,
        "TcpExt TCPToZeroWindowAdv > 0",
        format!("{}", tcp.to_zero_window_adverts),
    );
    ev.expect_eq("TCP: every byte delivered", tcp.sent, tcp.delivered);
    ev.expect_eq(
        "TCP: checksum of the delivered stream",
        format!("{:016x}", tcp.sent_checksum),
        format!("{:016x}", tcp.delivered_checksum),
    );
    ev.expect_eq(
        "TCP: segments dropped at the receiver (TCPZeroWindowDrop + TCPRcvQDrop)",
        0,
        tcp.zero_window_drops + tcp.rcvq_drops,
    );
    let bound = (tcp.sndbuf_reported + tcp.rcvbuf_reported) as usize;
    ev.expect(
        "TCP non-blocking: EAGAIN once both buffers are full, and all of it delivered",
        tcp.nonblocking_accepted <= bound && tcp.nonblocking_delivered == tcp.nonblocking_accepted,
        format!("accepted <= {bound} (SO_SNDBUF + SO_RCVBUF), delivered == accepted"),
        format!(
            "accepted {}, delivered {}",
            tcp.nonblocking_accepted, tcp.nonblocking_delivered
        ),
    );
    ev.expect(
        "UDP: the first datagrams are queued, the rest dropped",
        udp.queued > 0 && udp.dropped > 0 && udp.queued + udp.dropped == udp.sent,
        format!("queued + dropped = {}, both > 0", udp.sent),
        format!("queued {}, dropped {}", udp.queued, udp.dropped),
    );
    ev.expect_eq(
        "UDP: the datagrams read back are the first ones, in order",
        (0..udp.queued as u32).collect::<Vec<_>>(),
        udp.received_seq.clone(),
    );
    ev.expect_eq(
        "UDP: the socket's drop counter (SO_MEMINFO)",
        udp.dropped as u32,
        udp.socket_drop_counter,
    );
    ev.expect_eq(
        "UDP: SO_RXQ_OVFL on the next datagram",
        Some(udp.dropped as u32),
        udp.rxq_ovfl_on_next_datagram,
    );
    ev.expect_eq(
        "UDP: Udp RcvbufErrors in the namespace",
        udp.dropped as i64,
        udp.udp_rcvbuf_errors,
    );

    let tcp_lost = tcp.delivered != tcp.sent || tcp.delivered_checksum != tcp.sent_checksum;
    let verdict = match (tcp_lost, udp.dropped > 0) {
        (true, _) => Verdict::Holds,
        (false, true) => Verdict::Differs,
        (false, false) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "TCP: {} B written into a receiver with SO_RCVBUF {} (holding {} B at the stall, window advertised zero {} \
         times); the writer slept in send(): {}; {} B delivered, checksum {}; receiver drops {}. Non-blocking: EAGAIN \
         after {} B, all delivered. UDP: {} datagrams of {} B into a {}-byte buffer: {} queued, {} dropped \
         (RcvbufErrors {}, SO_RXQ_OVFL {})",
        tcp.sent, tcp.rcvbuf_reported, tcp.receiver_queued_at_stall, tcp.to_zero_window_adverts,
        tcp.writer_asleep_at_closed_window, tcp.delivered,
        if tcp.delivered_checksum == tcp.sent_checksum { "equal" } else { "different" },
        tcp.zero_window_drops + tcp.rcvq_drops, tcp.nonblocking_accepted, udp.sent, DATAGRAM,
        udp.rcvbuf_reported, udp.queued, udp.dropped, udp.udp_rcvbuf_errors, shown(udp.rxq_ovfl_on_next_datagram)));
    ev.key(format!(
        "TCP {}/{} B delivered, sender blocked={}; UDP {}/{} dropped",
        tcp.delivered, tcp.sent, tcp.writer_asleep_at_closed_window, udp.dropped, udp.sent
    ));
    Ok(ev)
}

pub static WRITE_BLOCKS: Case = Case {
    id: "sndbuf.write_blocks_when_full",
    source: Source::LectureNotes("5.2 SO_RCVBUF/SO_SNDBUF"),
    claim: "write() copies data into the send buffer, and blocks when the send buffer is full",
    expectation: "with the peer's window closed and the send buffer full, a blocking send() sleeps in the kernel \
                  (the thread sits in sendto) until the peer reads, then returns the whole count; with O_NONBLOCK \
                  send() fails with EAGAIN instead, and once some space is free (poll says POLLOUT) a large send() \
                  returns a partial count",
    run: &Legacy(write_blocks),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUF],
};

/// Both ends' buffers are small so that a modest write overfills them.
const WB_SNDBUF: i32 = 16384;
const WB_RCVBUF: i32 = 16384;
/// One send() call, several times what both buffers hold.
const WB_WRITE: usize = 256 * 1024;

#[derive(Debug, serde::Serialize)]
struct BlockingWrite {
    sndbuf_reported: i32,
    asleep_in_sendto: bool,
    /// The sender's memory accounting while it sleeps: queued against sndbuf.
    meminfo_at_stall: flow::MemInfo,
    unsent_or_unacked_at_stall: i32,
    receiver_queued_at_stall: i32,
    send_returned: usize,
}

fn blocking_write() -> Result<BlockingWrite> {
    let pair = sized_pair(libc::SO_RCVBUF, WB_RCVBUF, WB_SNDBUF)?;
    std::thread::scope(|s| -> Result<BlockingWrite> {
        let client = &pair.client;
        let (writer, tid) = wait::spawn_with_tid(s, move || -> Result<usize> {
            client
                .send(&vec![0x77u8; WB_WRITE], 0)
                .context("blocking send")
        })?;
        let asleep = asleep_at_closed_window(tid, client) && !writer.is_finished();
        let meminfo = flow::meminfo(client)?;
        let outq = client.queued(libc::TIOCOUTQ)?;
        let inq = pair.server.queued(libc::FIONREAD)?;
        phase("reading to release the writer");
        read_exact(&pair.server, WB_WRITE)?;
        let returned = writer
            .join()
            .map_err(|_| anyhow::anyhow!("writer panicked"))??;
        Ok(BlockingWrite {
            sndbuf_reported: client.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF)?,
            asleep_in_sendto: asleep,
            meminfo_at_stall: meminfo,
            unsent_or_unacked_at_stall: outq,
            receiver_queued_at_stall: inq,
            send_returned: returned,
        })
    })
}

#[derive(Debug, serde::Serialize)]
struct NonBlockingWrite {
    accepted_until_full: usize,
    send_when_full: String,
    freed_by_reading: i32,
    writable_after_reading: bool,
    partial_send: usize,
}

fn nonblocking_write() -> Result<NonBlockingWrite> {
    let pair = sized_pair(libc::SO_RCVBUF, WB_RCVBUF, WB_SNDBUF)?;
    let accepted = flow::fill_until_window_closed(&pair.client, 4096, Duration::from_secs(5))?;
    let when_full = pair.client.send(&[0u8; 1024], 0);
    // Room comes back once the peer reads: its window opens, queued data
    // leaves and is acknowledged.
    let freed = pair.server.queued(libc::FIONREAD)?;
    read_exact(&pair.server, freed as usize)?;
    phase("waiting for POLLOUT after the peer read");
    let writable = wait::ready(
        pair.client.as_raw_fd(),
        nix::poll::PollFlags::POLLOUT,
        Duration::from_secs(2),
    )?;
    let partial = pair
        .client
        .send(&vec![0x55u8; WB_WRITE], 0)
        .context("non-blocking send with some room")?;
    Ok(NonBlockingWrite {
        accepted_until_full: accepted,
        send_when_full: result_name(&when_full),
        freed_by_reading: freed,
        writable_after_reading: writable,
        partial_send: partial,
    })
}

fn write_blocks(_lab: &mut Lab) -> Result<Evidence> {
    flow::loopback_quickack(Family::V4)?;
    let b = blocking_write()?;
    let nb = nonblocking_write()?;

    let mut ev = Evidence::new();
    ev.observe("blocking", &b).observe("nonblocking", &nb);
    ev.expect(
        "blocking send() sleeps in sendto while the peer's window is closed",
        b.asleep_in_sendto,
        ASLEEP_AT_CLOSED_WINDOW,
        format!("{}", b.asleep_in_sendto),
    );
    let m = &b.meminfo_at_stall;
    ev.expect(
        "the send buffer is full while it sleeps",
        m.wmem_queued >= m.sndbuf,
        format!("wmem_queued >= sndbuf {}", m.sndbuf),
        format!("wmem_queued {}", m.wmem_queued),
    );
    ev.expect_eq(
        "once the peer reads, send() returns the whole count",
        WB_WRITE,
        b.send_returned,
    );
    ev.expect_eq(
        "non-blocking send() on a full buffer",
        "EAGAIN".to_string(),
        nb.send_when_full.clone(),
    );
    ev.expect_eq(
        "POLLOUT after the peer read",
        true,
        nb.writable_after_reading,
    );
    ev.expect(
        "non-blocking send() with some room returns a partial count",
        nb.partial_send > 0 && nb.partial_send < WB_WRITE,
        format!("0 < n < {WB_WRITE}"),
        format!("{}", nb.partial_send),
    );

    let verdict = Verdict::holds_if(b.asleep_in_sendto && b.send_returned == WB_WRITE);
    ev.verdict(verdict, format!(
        "a blocking send() of {WB_WRITE} B with SO_SNDBUF {} slept in sendto: {} (wmem_queued {} of sndbuf {}, peer \
         holding {} B) and returned {} once the peer read; non-blocking: {} B taken, then {}; after the peer read \
         {} B, POLLOUT {} and send({WB_WRITE}) returned {}",
        b.sndbuf_reported, b.asleep_in_sendto, m.wmem_queued, m.sndbuf, b.receiver_queued_at_stall,
        b.send_returned, nb.accepted_until_full, nb.send_when_full, nb.freed_by_reading,
        nb.writable_after_reading, nb.partial_send));
    ev.key(format!(
        "blocking: asleep={} then {} B; non-blocking: {} then partial {} B",
        b.asleep_in_sendto, b.send_returned, nb.send_when_full, nb.partial_send
    ));
    Ok(ev)
}

pub static RCVLOWAT: Case = Case {
    id: "lowat.rcvlowat",
    source: Source::LectureNotes("5.2 SO_RCVLOWAT/SO_SNDLOWAT"),
    claim: "select() reports a socket readable once 1 byte has arrived; SO_RCVLOWAT raises that threshold",
    expectation: "SO_RCVLOWAT defaults to 1 and can be set on Linux: with it at 1000 and 500 bytes queued, \
                  select() and poll() do not report the socket readable, and with 1100 queued they do. Linux \
                  goes further than the notes: a blocking recv() also honours the mark. It takes the 500 bytes \
                  there and sleeps on; it is woken only when the bytes still unread reach the mark, so 600 more \
                  (1100 in all for this call) leave it asleep and it returns 1700 after another 600. A \
                  non-blocking recv() returns what is there",
    run: &Legacy(rcvlowat),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVLOWAT],
};

const LOWAT: i32 = 1000;
const BELOW: usize = 500;
const ABOVE: usize = 1100;
const TOP_UP: usize = 600;

/// select(2) on one descriptor with a zero timeout: is it readable (or writable)?
fn select_ready(fd: i32, write: bool) -> Result<bool> {
    anyhow::ensure!(fd < libc::FD_SETSIZE as i32, "fd {fd} too large for select");
    // SAFETY: fd_set is plain data; FD_ZERO / FD_SET / FD_ISSET work on our own
    // set, and fd is below FD_SETSIZE (checked above).
    unsafe {
        let mut set: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut set);
        libc::FD_SET(fd, &mut set);
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let (r, w) = if write {
            (std::ptr::null_mut(), &mut set as *mut libc::fd_set)
        } else {
            (&mut set as *mut libc::fd_set, std::ptr::null_mut())
        };
        let n = libc::select(fd + 1, r, w, std::ptr::null_mut(), &mut tv);
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("select");
        }
        Ok(n > 0 && libc::FD_ISSET(fd, &set))
    }
}

/// Readiness for reading, as select() and poll() (zero timeout) report it.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
struct Readiness {
    queued: i32,
    select: bool,
    poll: bool,
}

/// Sends `n` bytes and waits until the receiver has `unread` bytes queued and
/// the sender has its data acknowledged (the receiver's processing of it,
/// wake-ups included, is over).
fn send_and_settle(pair: &TcpPair, n: usize, unread: i32) -> Result<()> {
    pair.client.send_all(&vec![0x61u8; n]).context("send")?;
    wait::until(
        &format!("{unread} bytes queued at the receiver and acknowledged"),
        Duration::from_secs(2),
        || {
            Ok((pair.server.queued(libc::FIONREAD)? == unread
                && pair.client.queued(libc::TIOCOUTQ)? == 0)
                .then_some(()))
        },
    )
}

fn readable(pair: &TcpPair) -> Result<Readiness> {
    let fd = pair.server.as_raw_fd();
    Ok(Readiness {
        queued: pair.server.queued(libc::FIONREAD)?,
        select: select_ready(fd, false)?,
        poll: wait::ready(fd, nix::poll::PollFlags::POLLIN, Duration::ZERO)?,
    })
}

/// A blocking recv() under the mark, step by step.
#[derive(Debug, serde::Serialize)]
struct BlockingRecv {
    /// Asleep in recvfrom with the first 500 bytes taken off the queue.
    asleep_after_taking_first: bool,
    /// Still asleep once 600 more (1100 for this call) are queued.
    asleep_with_mark_reached_in_total: bool,
    returned: usize,
}

fn blocking_recv_under_mark(pair: &TcpPair) -> Result<BlockingRecv> {
    send_and_settle(pair, BELOW, BELOW as i32)?;
    std::thread::scope(|s| -> Result<BlockingRecv> {
        let server = &pair.server;
        let (reader, tid) = wait::spawn_with_tid(s, move || -> Result<usize> {
            let mut buf = vec![0u8; 4096];
            server.recv(&mut buf, 0).context("blocking recv")
        })?;
        phase("waiting for recv() to take the bytes below the mark and sleep");
        let asleep = |unread: i32| -> Result<bool> {
            Ok(wait::blocked_in(tid, libc::SYS_recvfrom)?
                && server.queued(libc::FIONREAD)? == unread
                && !reader.is_finished())
        };
        let first = wait::until(
            "the reader asleep in recvfrom with the queue emptied",
            Duration::from_secs(2),
            || Ok(asleep(0)?.then_some(())),
        )
        .is_ok();
        send_and_settle(pair, TOP_UP, TOP_UP as i32)?;
        let second = asleep(TOP_UP as i32)?;
        // Enough unread bytes to reach the mark on their own: that wakes it.
        pair.client
            .send_all(&vec![0x62u8; TOP_UP])
            .context("send the second top-up")?;
        phase("waiting for recv() to return");
        let returned = reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))??;
        Ok(BlockingRecv {
            asleep_after_taking_first: first,
            asleep_with_mark_reached_in_total: second,
            returned,
        })
    })
}

fn rcvlowat(_lab: &mut Lab) -> Result<Evidence> {
    flow::loopback_quickack(Family::V4)?;
    let pair = TcpPair::loopback(Family::V4)?;
    let default = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT)?;
    let set = pair
        .server
        .set_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT, LOWAT);
    let reported = pair.server.get_int(libc::SOL_SOCKET, libc::SO_RCVLOWAT)?;

    send_and_settle(&pair, BELOW, BELOW as i32)?;
    let below = readable(&pair)?;
    send_and_settle(&pair, ABOVE - BELOW, ABOVE as i32)?;
    let above = readable(&pair)?;
    read_exact(&pair.server, ABOVE)?;

    send_and_settle(&pair, BELOW, BELOW as i32)?;
    let mut buf = vec![0u8; 4096];
    let nonblocking = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);

    let blocking = blocking_recv_under_mark(&pair)?;

    let mut ev = Evidence::new();
    ev.observe("default_so_rcvlowat", default)
        .observe("setsockopt_so_rcvlowat", result_name(&set))
        .observe("so_rcvlowat", reported)
        .observe("below_mark", &below)
        .observe("above_mark", &above)
        .observe("nonblocking_recv_below_mark", result_name(&nonblocking))
        .observe("nonblocking_recv_returned", nonblocking.as_ref().ok())
        .observe("blocking_recv", &blocking);
    ev.expect_eq("default SO_RCVLOWAT", 1, default);
    ev.expect_eq(
        "setsockopt(SO_RCVLOWAT, 1000)",
        "ok".to_string(),
        result_name(&set),
    );
    ev.expect_eq(
        "500 bytes queued, mark 1000: readable? (select, poll)",
        (false, false),
        (below.select, below.poll),
    );
    ev.expect_eq(
        "1100 bytes queued, mark 1000: readable? (select, poll)",
        (true, true),
        (above.select, above.poll),
    );
    ev.expect_eq(
        "a non-blocking recv() below the mark returns what is there",
        Some(BELOW),
        nonblocking.as_ref().ok().copied(),
    );
    ev.expect_eq(
        "a blocking recv() takes the 500 bytes and sleeps on",
        true,
        blocking.asleep_after_taking_first,
    );
    ev.expect_eq(
        "and is still asleep with 500 taken and 600 queued",
        true,
        blocking.asleep_with_mark_reached_in_total,
    );
    ev.expect_eq(
        "it returns once the unread bytes reach the mark",
        BELOW + 2 * TOP_UP,
        blocking.returned,
    );

    let verdict = match (below.select, above.select) {
        (false, true) => Verdict::Holds,
        (true, true) => Verdict::Refuted,
        _ => Verdict::Differs,
    };
    ev.verdict(verdict, format!(
        "SO_RCVLOWAT {default} by default, set to {reported}: with {BELOW} B queued select()={} poll()={}, with \
         {ABOVE} B select()={} poll()={}. A blocking recv() took {BELOW} B and slept on: {}; still asleep after \
         {TOP_UP} more: {}; returned {} B after another {TOP_UP}. MSG_DONTWAIT below the mark returned {}",
        below.select, below.poll, above.select, above.poll, blocking.asleep_after_taking_first,
        blocking.asleep_with_mark_reached_in_total, blocking.returned, shown(nonblocking.as_ref().ok())));
    ev.key(format!(
        "mark {reported}: {BELOW} B readable={}, {ABOVE} B readable={}; blocking recv -> {} B",
        below.select, above.select, blocking.returned
    ));
    Ok(ev)
}

pub static SNDLOWAT: Case = Case {
    id: "lowat.sndlowat",
    source: Source::LectureNotes("5.2 SO_RCVLOWAT/SO_SNDLOWAT"),
    claim: "select() reports a socket writable once 2048 bytes of the send buffer are free; SO_SNDLOWAT changes \
            that amount",
    expectation: "on Linux SO_SNDLOWAT cannot be set (setsockopt fails with ENOPROTOOPT, socket(7)) and reads \
                  back as 1. A TCP socket is writable for select()/poll() while its free send-buffer space is at \
                  least half of what is queued (sk_stream_wspace >= sk_stream_min_wspace: a third of the buffer \
                  free), so it stops being writable with tens of KiB free. What moves the threshold on Linux is \
                  TCP_NOTSENT_LOWAT: poll reports writable only while twice the unsent bytes stay below it, and \
                  send() gets EAGAIN once the unsent bytes reach it, with the buffer mostly empty",
    run: &Legacy(sndlowat),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDLOWAT, opt::TCP_NOTSENT_LOWAT],
};

/// The notes' write threshold.
const NOTES_SNDLOWAT: i64 = 2048;
const SL_SNDBUF: i32 = 32768;
const SL_CHUNK: usize = 1024;
const NOTSENT_LOWAT: i32 = 8192;

/// The sender's state after one write, with the peer's window closed.
#[derive(Debug, serde::Serialize)]
struct WriteSample {
    unsent: i32,
    wmem_queued: i64,
    sndbuf: i64,
    select_writable: bool,
    poll_writable: bool,
}

impl WriteSample {
    fn free(&self) -> i64 {
        self.sndbuf - self.wmem_queued
    }
    /// sk_stream_is_writeable: free space >= half the queued bytes.
    fn linux_rule(&self) -> bool {
        self.free() >= self.wmem_queued / 2
    }
    /// The notes: writable while 2048 bytes are free.
    fn notes_rule(&self) -> bool {
        self.free() >= NOTES_SNDLOWAT
    }
}

/// Writes SL_CHUNK bytes at a time (non-blocking) into a peer that does not
/// read, until EAGAIN. After each write it waits for the connection to settle
/// (nothing in flight: everything acknowledged, or the window closed) and
/// samples the writer once its peer's window is closed.
fn write_samples(notsent_lowat: Option<i32>) -> Result<(Vec<WriteSample>, i32)> {
    let pair = sized_pair(libc::SO_RCVBUF, 4096, SL_SNDBUF)?;
    let c = &pair.client;
    if let Some(l) = notsent_lowat {
        c.set_int(libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, l)
            .context("TCP_NOTSENT_LOWAT")?;
    }
    c.set_nonblocking(true)?;
    let fd = c.as_raw_fd();
    let chunk = [0x5au8; SL_CHUNK];
    let mut samples = Vec::new();
    phase("writing into a peer that does not read");
    loop {
        match c.send(&chunk, 0) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).context("send"),
        }
        let closed = wait::until(
            "the write to be acknowledged or to wait at a closed window",
            Duration::from_secs(5),
            || {
                let unsent = c.queued(libc::SIOCOUTQNSD)?;
                let in_flight = c.queued(libc::TIOCOUTQ)? - unsent;
                Ok(if in_flight > 0 {
                    None
                } else if unsent == 0 {
                    Some(false)
                } else {
                    flow::window_closed(c)?.then_some(true)
                })
            },
        )?;
        if !closed {
            continue;
        }
        let m = flow::meminfo(c)?;
        samples.push(WriteSample {
            unsent: c.queued(libc::SIOCOUTQNSD)?,
            wmem_queued: m.wmem_queued as i64,
            sndbuf: m.sndbuf as i64,
            select_writable: select_ready(fd, true)?,
            poll_writable: wait::ready(fd, nix::poll::PollFlags::POLLOUT, Duration::ZERO)?,
        });
    }
    let unsent_at_eagain = c.queued(libc::SIOCOUTQNSD)?;
    Ok((samples, unsent_at_eagain))
}

fn sndlowat(_lab: &mut Lab) -> Result<Evidence> {
    flow::loopback_quickack(Family::V4)?;
    let s = Sock::tcp(Family::V4)?;
    let set = s.set_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT, 4096);
    let reported = s.get_int(libc::SOL_SOCKET, libc::SO_SNDLOWAT)?;

    let (plain, _) = write_samples(None)?;
    let (notsent, unsent_at_eagain) = write_samples(Some(NOTSENT_LOWAT))?;

    let flip = plain.iter().find(|s| !s.poll_writable);
    let free_at_flip = flip.map(WriteSample::free);
    let notes_broken: Vec<&WriteSample> = plain
        .iter()
        .filter(|s| s.notes_rule() && !s.poll_writable)
        .collect();

    let mut ev = Evidence::new();
    ev.observe("setsockopt_so_sndlowat_4096", result_name(&set))
        .observe("so_sndlowat", reported)
        .observe("samples", &plain)
        .observe("free_bytes_when_writability_ends", free_at_flip)
        .observe("tcp_notsent_lowat", NOTSENT_LOWAT)
        .observe("samples_with_notsent_lowat", &notsent)
        .observe("unsent_at_eagain_with_notsent_lowat", unsent_at_eagain);
    ev.expect_eq(
        "setsockopt(SO_SNDLOWAT)",
        "ENOPROTOOPT".to_string(),
        result_name(&set),
    );
    ev.expect_eq("getsockopt(SO_SNDLOWAT)", 1, reported);
    let describe = |v: &[&WriteSample]| {
        v.iter()
            .map(|s| {
                format!(
                    "queued {} free {}: {}",
                    s.wmem_queued,
                    s.free(),
                    s.poll_writable
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let off_rule: Vec<&WriteSample> = plain
        .iter()
        .filter(|s| s.poll_writable != s.linux_rule() || s.select_writable != s.poll_writable)
        .collect();
    ev.expect(
        "select() and poll() writable exactly while free >= queued / 2",
        off_rule.is_empty() && plain.len() > 8,
        "every sample",
        if off_rule.is_empty() {
            format!("every one of {}", plain.len())
        } else {
            describe(&off_rule)
        },
    );
    ev.expect(
        "writability ends with far more than 2048 bytes free",
        free_at_flip.is_some_and(|f| f > 4 * NOTES_SNDLOWAT),
        format!("> {}", 4 * NOTES_SNDLOWAT),
        shown(free_at_flip),
    );
    let off_notsent: Vec<&WriteSample> = notsent
        .iter()
        .filter(|s| {
            s.poll_writable != (s.linux_rule() && 2 * s.unsent < NOTSENT_LOWAT)
                || s.select_writable != s.poll_writable
        })
        .collect();
    ev.expect(
        "TCP_NOTSENT_LOWAT: writable exactly while 2 x unsent < it (and free >= queued / 2)",
        off_notsent.is_empty() && notsent.iter().any(|s| !s.poll_writable),
        "every sample, some not writable",
        if off_notsent.is_empty() {
            format!("every one of {}", notsent.len())
        } else {
            describe(&off_notsent)
        },
    );
    let last = notsent.last();
    ev.expect(
        "TCP_NOTSENT_LOWAT: EAGAIN once the unsent bytes reach it, the buffer still half empty",
        unsent_at_eagain >= NOTSENT_LOWAT && last.is_some_and(|s| s.free() > s.sndbuf / 2),
        format!("unsent >= {NOTSENT_LOWAT}, free > sndbuf / 2"),
        format!(
            "unsent {unsent_at_eagain}, free {} of {}",
            shown(last.map(WriteSample::free)),
            shown(last.map(|s| s.sndbuf))
        ),
    );

    let verdict = match (set.is_ok(), notes_broken.is_empty()) {
        (false, false) => Verdict::Refuted,
        (true, true) => Verdict::Holds,
        _ => Verdict::Differs,
    };
    ev.verdict(verdict, format!(
        "setsockopt(SO_SNDLOWAT, 4096) -> {}, getsockopt -> {reported}; with SO_SNDBUF {} and the peer's window \
         closed, select()/poll() stopped reporting writable at {} free bytes (queued {}), {} samples had \
         >= 2048 free and were not writable; TCP_NOTSENT_LOWAT {NOTSENT_LOWAT} ended writability at {} unsent \
         bytes and send() got EAGAIN at {unsent_at_eagain} unsent",
        result_name(&set), plain.first().map_or(0, |s| s.sndbuf), shown(free_at_flip), shown(flip.map(|s| s.wmem_queued)),
        notes_broken.len(), shown(notsent.iter().find(|s| !s.poll_writable).map(|s| s.unsent))));
    ev.key(format!(
        "SO_SNDLOWAT set -> {}, get {reported}; unwritable at {} B free; NOTSENT_LOWAT EAGAIN at {unsent_at_eagain}",
        result_name(&set),
        shown(free_at_flip)
    ));
    Ok(ev)
}

pub static SO_TIMEOUT: Case = Case {
    id: "timeout.so_timeout",
    source: Source::BlogPost,
    claim: "setsockopt(SOL_SOCKET, SO_TIMEOUT, 10) sets how long a blocking socket waits for input",
    expectation: "Linux has no SO_TIMEOUT (neither do its headers nor Python's socket module): option number \
                  0x1006, which is SO_TIMEOUT in Java and SO_RCVTIMEO on the BSDs, is refused with ENOPROTOOPT. \
                  The Linux options are SO_RCVTIMEO and SO_SNDTIMEO, and they take a struct timeval: the blog's \
                  plain integer is refused with EINVAL. With SO_RCVTIMEO 200 ms a blocking recv() on an idle \
                  connection fails with EAGAIN after 200 ms; with SO_SNDTIMEO 200 ms a send() into a full buffer \
                  returns the partial count it copied after 200 ms, and the next one fails with EAGAIN after 200 ms",
    run: &Legacy(so_timeout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVTIMEO, opt::SO_SNDTIMEO, opt::SO_TIMEOUT_BSD],
};

/// SO_TIMEOUT's number in Java's SocketOptions, SO_RCVTIMEO's on the BSDs.
const SO_TIMEOUT_ELSEWHERE: i32 = 0x1006;
const TIMEOUT: Duration = Duration::from_millis(200);
const TO_WRITE: usize = 1 << 20;

/// A blocking call's result and how long it took.
#[derive(Debug, serde::Serialize)]
struct Timed {
    result: String,
    count: Option<usize>,
    ms: f64,
}

fn timed(f: impl FnOnce() -> std::io::Result<usize>) -> Timed {
    let t = std::time::Instant::now();
    let r = f();
    Timed {
        result: result_name(&r),
        count: r.as_ref().ok().copied(),
        ms: ms(t.elapsed()),
    }
}

fn so_timeout(_lab: &mut Lab) -> Result<Evidence> {
    // Without it the receiver's delayed ACK frees send-buffer space in the
    // middle of a timed send().
    flow::loopback_quickack(Family::V4)?;
    let probe = Sock::tcp(Family::V4)?;
    let foreign = probe.set_int(libc::SOL_SOCKET, SO_TIMEOUT_ELSEWHERE, 10);
    let as_int = probe.set_int(libc::SOL_SOCKET, libc::SO_RCVTIMEO, 10);

    let pair = sized_pair(libc::SO_RCVBUF, 4096, 16384)?;
    pair.server
        .set_timeout(libc::SO_RCVTIMEO, TIMEOUT)
        .context("SO_RCVTIMEO")?;
    let mut tv = [0u8; std::mem::size_of::<libc::timeval>()];
    pair.server
        .get_raw(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &mut tv)
        .context("getsockopt SO_RCVTIMEO")?;
    let usec = i64::from_ne_bytes(tv[8..16].try_into().context("tv_usec")?);
    phase("in a recv() with SO_RCVTIMEO");
    let mut buf = [0u8; 16];
    // Guards: were the options ignored, the calls would block for good.
    let guard_rx = wait::shutdown_after(pair.server.as_raw_fd(), TIMEOUT + Duration::from_secs(3));
    let guard_tx = wait::shutdown_after(
        pair.client.as_raw_fd(),
        2 * TIMEOUT + Duration::from_secs(3),
    );
    let recv = timed(|| pair.server.recv(&mut buf, 0));

    pair.client
        .set_timeout(libc::SO_SNDTIMEO, TIMEOUT)
        .context("SO_SNDTIMEO")?;
    let data = vec![0x21u8; TO_WRITE];
    phase("in a send() with SO_SNDTIMEO");
    let first = timed(|| pair.client.send(&data, 0));
    let second = timed(|| pair.client.send(&data, 0));
    drop((guard_rx, guard_tx));

    let mut ev = Evidence::new();
    ev.observe("setsockopt_0x1006", result_name(&foreign))
        .observe("setsockopt_so_rcvtimeo_int_10", result_name(&as_int))
        .observe("so_rcvtimeo_read_back_usec", usec)
        .observe("recv_idle", &recv)
        .observe("send_into_full_buffer", &first)
        .observe("send_again", &second);
    ev.expect_eq(
        "option 0x1006 (SO_TIMEOUT in Java, SO_RCVTIMEO on BSD)",
        "ENOPROTOOPT".to_string(),
        result_name(&foreign),
    );
    ev.expect_eq(
        "SO_RCVTIMEO given an int, as the blog passes it",
        "EINVAL".to_string(),
        result_name(&as_int),
    );
    // Timeouts run on jiffies, rounded up: never more than one tick (10 ms at
    // HZ=100) early; a loaded machine may be up to a second late.
    let lo = ms(TIMEOUT) - 10.0;
    let hi = ms(TIMEOUT) + 1000.0;
    let in_time = |t: &Timed| t.ms >= lo && t.ms <= hi;
    let window = format!("{lo:.0}..{hi:.0} ms");
    ev.expect(
        "SO_RCVTIMEO: recv() on an idle connection fails with EAGAIN after the timeout",
        recv.result == "EAGAIN" && in_time(&recv),
        format!("EAGAIN in {window}"),
        format!("{} in {:.1} ms", recv.result, recv.ms),
    );
    ev.expect(
        "SO_SNDTIMEO: a send() larger than the buffers returns a partial count after the timeout",
        first.count.is_some_and(|n| n > 0 && n < TO_WRITE) && in_time(&first),
        format!("0 < n < {TO_WRITE} in {window}"),
        format!(
            "{} ({}) in {:.1} ms",
            first.result,
            shown(first.count),
            first.ms
        ),
    );
    ev.expect(
        "SO_SNDTIMEO: the next send() into the full buffer fails with EAGAIN after the timeout",
        second.result == "EAGAIN" && in_time(&second),
        format!("EAGAIN in {window}"),
        format!("{} in {:.1} ms", second.result, second.ms),
    );

    let works = recv.result == "EAGAIN" && in_time(&recv);
    let verdict = match (foreign.is_ok(), works) {
        (true, _) => Verdict::Holds,
        (false, true) => Verdict::Differs,
        (false, false) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "option 0x1006 -> {}; SO_RCVTIMEO with an int -> {}; with a timeval of {} ms: recv() -> {} after {:.0} ms; \
         SO_SNDTIMEO {} ms: send({TO_WRITE}) -> {} after {:.0} ms, then {} after {:.0} ms",
        result_name(&foreign), result_name(&as_int), ms(TIMEOUT), recv.result, recv.ms, ms(TIMEOUT),
        shown(first.count), first.ms, second.result, second.ms));
    ev.key(format!(
        "0x1006 {}; RCVTIMEO recv {} {:.0} ms; SNDTIMEO send {} B then {}",
        result_name(&foreign),
        recv.result,
        recv.ms,
        shown(first.count),
        second.result
    ));
    Ok(ev)
}
