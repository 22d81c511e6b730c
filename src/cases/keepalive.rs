//! SO_KEEPALIVE and the TCP keep-alive timers (004 §5.1, §5.2).
//!
//! Keep-alive probes are seen on the wire: a bare ACK whose sequence number is
//! one below what the sender has sent (tcp_write_wakeup), so the peer must
//! answer with an ACK. Times are shrunk with TCP_KEEPIDLE/INTVL/CNT or the
//! namespace's own net.ipv4.tcp_keepalive_time.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::packet::Segment;
use crate::lab::sock::{errno_name, result_name};
use crate::lab::topo::Link;
use crate::lab::{phase, procnet, wire, Capture, Family, Lab, Sock, TcpPair};
use crate::model::{ms, Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &DEFAULT_OFF,
    &DEFAULT_TIMING,
    &PROBE_ON_IDLE,
    &DEAD_PEER_ETIMEDOUT,
    &RST_ECONNRESET,
    &OPTION_NAME,
];

pub static DEFAULT_OFF: Case = Case {
    id: "keepalive.default_off",
    source: Source::LectureNotes("5.2 SO_KEEPALIVE"),
    claim: "SO_KEEPALIVE is off by default",
    expectation: "a new socket reads SO_KEEPALIVE 0, and an idle connection without it gets no probe while \
                  one with it (same namespace, tcp_keepalive_time lowered to 1 s) is probed after ~1 s",
    run: &Legacy(default_off),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_KEEPALIVE],
};

pub static DEFAULT_TIMING: Case = Case {
    id: "keepalive.default_timing",
    source: Source::LectureNotes("5.2 SO_KEEPALIVE"),
    claim: "probes start after about 2 hours idle; BSD sends 8 probes 75 s apart",
    expectation: "a fresh socket's TCP_KEEPIDLE/INTVL/CNT equal net.ipv4.tcp_keepalive_time/intvl/probes \
                  (7200 s, 75 s, 9 by default), and a socket that sets none of them follows the sysctl: \
                  with tcp_keepalive_time=1 in the namespace its first probe comes after ~1 s",
    run: &Legacy(default_timing),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PROBE_ON_IDLE: Case = Case {
    id: "keepalive.probe_on_idle",
    source: Source::LectureNotes("5.2 SO_KEEPALIVE"),
    claim: "an idle connection with keep-alive gets a probe that a live peer acknowledges",
    expectation:
        "with TCP_KEEPIDLE=1 the probe (seq one below the next byte, no data) leaves after ~1 s of \
                  idleness, the peer ACKs it, and the connection carries data afterwards",
    run: &Legacy(probe_on_idle),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_KEEPALIVE, opt::TCP_KEEPIDLE],
};

pub static DEAD_PEER_ETIMEDOUT: Case = Case {
    id: "keepalive.dead_peer_etimedout",
    source: Source::LectureNotes("5.2 SO_KEEPALIVE"),
    claim: "when the probes get no answer the connection is closed with ETIMEDOUT",
    expectation: "with a silent peer, KEEPIDLE=1, KEEPINTVL=1, KEEPCNT=1: one unanswered probe, then the \
                  connection fails with ETIMEDOUT after idle + intvl*cnt = 2 s, and the kernel sends a RST",
    run: &Legacy(dead_peer_etimedout),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_KEEPALIVE, opt::TCP_KEEPCNT, opt::TCP_KEEPINTVL],
};

pub static RST_ECONNRESET: Case = Case {
    id: "keepalive.rst_econnreset",
    source: Source::LectureNotes("5.2 SO_KEEPALIVE"),
    claim: "a rebooted peer answers the probe with RST, and the connection fails with ECONNRESET",
    expectation:
        "a peer that forgot the connection (closed silently in TCP_REPAIR mode) answers the probe \
                  with RST; recv then fails with ECONNRESET",
    run: &Legacy(rst_econnreset),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_KEEPALIVE, opt::TCP_REPAIR],
};

pub static OPTION_NAME: Case = Case {
    id: "tcp_keepalive.option_name",
    source: Source::LectureNotes("5.1 IPPROTO_TCP options"),
    claim: "TCP_KEEPALIVE sets the time before keep-alive probes start",
    expectation: "Linux has no TCP_KEEPALIVE; its number on BSD/macOS (0x10) is TCP_THIN_LINEAR_TIMEOUTS on \
                  Linux, accepted but without effect on keep-alive (no probe after 1 s); TCP_KEEPIDLE=1 is \
                  the Linux option that does it (probe after ~1 s)",
    run: &Legacy(option_name),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_KEEPIDLE],
};

/// The number BSD and macOS give TCP_KEEPALIVE.
const BSD_TCP_KEEPALIVE: i32 = 0x10;

/// Keep-alive probes sent from `port`: bare ACKs whose sequence number is one
/// below the highest sequence number that side had used.
fn probes(segs: &[Segment], port: u16) -> Vec<Segment> {
    let mut next: Option<u32> = None;
    let mut out = Vec::new();
    for s in segs.iter().filter(|s| s.sport == port) {
        let end = s
            .seq
            .wrapping_add(s.payload + s.flags.syn as u32 + s.flags.fin as u32);
        let bare = s.flags.ack && !s.flags.syn && !s.flags.fin && !s.flags.rst && s.payload <= 1;
        if bare && next.is_some_and(|n| s.seq == n.wrapping_sub(1)) {
            out.push(s.clone());
        } else {
            next = Some(next.map_or(end, |n| {
                if end.wrapping_sub(n) as i32 > 0 {
                    end
                } else {
                    n
                }
            }));
        }
    }
    out
}

fn set_timers(s: &Sock, idle: i32, intvl: i32, cnt: i32) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE")?;
    s.set_int(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle)
        .context("TCP_KEEPIDLE")?;
    s.set_int(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, intvl)
        .context("TCP_KEEPINTVL")?;
    s.set_int(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, cnt)
        .context("TCP_KEEPCNT")?;
    Ok(())
}

/// When the first probe from `port` left, measured from `since` (wall ns).
fn first_probe_after(cap: &mut Capture, port: u16, within: Duration) -> Result<Option<Segment>> {
    phase(&format!(
        "waiting up to {within:?} for a keep-alive probe from port {port}"
    ));
    let start = Instant::now();
    loop {
        let seen = cap.count()?;
        if let Some(p) = probes(&cap.segments()?, port).into_iter().next() {
            return Ok(Some(p));
        }
        let left = within.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        // Sleep until a frame not looked at yet arrives, or the window ends.
        cap.wait_beyond(seen, left)?;
    }
}

/// Seconds from the connection's last segment before idleness to the probe.
fn idle_before(cap: &mut Capture, port: u16, probe: &Segment) -> Result<Duration> {
    let frames = cap.frames()?;
    let probe_t = frames
        .iter()
        .find(|f| f.segment().as_ref() == Some(probe))
        .map(|f| f.t_ns);
    let last_before = frames
        .iter()
        .filter(|f| {
            f.segment()
                .is_some_and(|s| s.sport == port || s.dport == port)
        })
        .map(|f| f.t_ns)
        .take_while(|t| Some(*t) != probe_t)
        .last();
    Ok(match (probe_t, last_before) {
        (Some(p), Some(l)) if p > l => Duration::from_nanos((p - l) as u64),
        _ => Duration::ZERO,
    })
}

fn default_off(_lab: &mut Lab) -> Result<Evidence> {
    procnet::set_sysctl("net/ipv4/tcp_keepalive_time", "1")?;
    let mut cap = Capture::start("lo")?;
    let fresh = Sock::tcp(Family::V4)?;
    let default = fresh.get_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE)?;
    let plain = TcpPair::loopback(Family::V4)?;
    let with = TcpPair::loopback(Family::V4)?;
    with.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE")?;
    let (plain_port, with_port) = (
        plain.client.local_addr()?.port(),
        with.client.local_addr()?.port(),
    );
    let t = Instant::now();
    let probed = first_probe_after(&mut cap, with_port, Duration::from_secs(4))?;
    // The plain connection has been idle as long (it was opened first); half
    // a second more is ample for its probe, were there one.
    let _ = first_probe_after(&mut cap, plain_port, Duration::from_millis(500))?;
    let window = t.elapsed();
    let segs = cap.segments()?;
    let plain_probes = probes(&segs, plain_port).len();
    let with_probes = probes(&segs, with_port).len();

    let mut ev = Evidence::new();
    ev.observe("so_keepalive_on_new_socket", default)
        .observe("ns_tcp_keepalive_time", 1)
        .observe("watched_ms", ms(window))
        .observe("probes_without_so_keepalive", plain_probes)
        .observe("probes_with_so_keepalive", with_probes);
    ev.expect_eq("SO_KEEPALIVE on a new socket", 0, default);
    ev.expect(
        "with SO_KEEPALIVE: probed",
        probed.is_some(),
        "a probe within 4 s",
        format!("{with_probes} probes"),
    );
    ev.expect_eq("without SO_KEEPALIVE: no probe", 0, plain_probes);
    let holds = default == 0 && plain_probes == 0;
    ev.verdict(Verdict::holds_if(holds), format!(
        "new socket SO_KEEPALIVE={default}; over {:.0} ms idle with tcp_keepalive_time=1 s the connection without \
         the option got {plain_probes} probes, the one with it {with_probes}", ms(window)));
    ev.key(format!(
        "default {default}; probes without {plain_probes}, with {with_probes}"
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn default_timing(_lab: &mut Lab) -> Result<Evidence> {
    let sys = |n: &str| procnet::sysctl_int(&format!("net/ipv4/tcp_keepalive_{n}"));
    let (time, intvl, probes_n) = (sys("time")?, sys("intvl")?, sys("probes")?);
    let fresh = Sock::tcp(Family::V4)?;
    let get = |o| fresh.get_int(libc::IPPROTO_TCP, o).map(i64::from);
    let (idle_s, intvl_s, cnt_s) = (
        get(libc::TCP_KEEPIDLE)?,
        get(libc::TCP_KEEPINTVL)?,
        get(libc::TCP_KEEPCNT)?,
    );
    // The effect: a socket that sets none of the timers follows the sysctl.
    procnet::set_sysctl("net/ipv4/tcp_keepalive_time", "1")?;
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    pair.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE")?;
    let port = pair.client.local_addr()?.port();
    let probe = first_probe_after(&mut cap, port, Duration::from_secs(4))?;
    let idle = match &probe {
        Some(p) => idle_before(&mut cap, port, p)?,
        None => Duration::ZERO,
    };

    let mut ev = Evidence::new();
    ev.observe("sysctl", [time, intvl, probes_n])
        .observe("fresh_socket_idle_intvl_cnt", [idle_s, intvl_s, cnt_s])
        .observe("first_probe_after_ms_with_sysctl_1s", ms(idle));
    ev.expect_eq(
        "a fresh socket's timers are the sysctls",
        [time, intvl, probes_n],
        [idle_s, intvl_s, cnt_s],
    );
    ev.expect(
        "with tcp_keepalive_time=1 the first probe follows it",
        idle >= Duration::from_millis(900) && idle <= Duration::from_millis(2500),
        "900..2500 ms",
        format!("{:.0} ms", ms(idle)),
    );
    let verdict = match (time == 7200, intvl == 75 && probes_n == 8) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "idle {time} s ({:.1} h), interval {intvl} s, {probes_n} probes (BSD: 8 probes 75 s apart); a socket setting \
         no timer probed {:.0} ms after the namespace's tcp_keepalive_time was set to 1 s", time as f64 / 3600.0, ms(idle)));
    ev.key(format!(
        "idle {time} s, intvl {intvl} s, {probes_n} probes; sysctl 1 s -> probe at {:.0} ms",
        ms(idle)
    ));
    Ok(ev)
}

fn probe_on_idle(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    set_timers(&pair.client, 1, 1, 3)?;
    let port = pair.client.local_addr()?.port();
    let probe = first_probe_after(&mut cap, port, Duration::from_secs(4))?;
    let idle = match &probe {
        Some(p) => idle_before(&mut cap, port, p)?,
        None => Duration::ZERO,
    };
    let acked = probe.as_ref().is_some_and(|p| {
        let want = p.seq.wrapping_add(1);
        cap.wait_segment("the peer's ACK of the probe", Duration::from_secs(1), |s| {
            s.dport == port && s.flags.ack && s.ack == want
        })
        .is_ok()
    });
    pair.client.send_all(b"still-alive")?;
    let mut buf = [0u8; 32];
    let got = pair.server.recv(&mut buf, 0)?;

    let mut ev = Evidence::new();
    ev.observe("probe", &probe)
        .observe("idle_before_probe_ms", ms(idle))
        .observe("probe_acked", acked)
        .observe("bytes_after_probe", got);
    ev.expect_eq("a probe on the wire", true, probe.is_some());
    ev.expect(
        "after TCP_KEEPIDLE=1 s of idleness",
        idle >= Duration::from_millis(900) && idle <= Duration::from_millis(2500),
        "900..2500 ms",
        format!("{:.0} ms", ms(idle)),
    );
    ev.expect_eq("the peer ACKs it", true, acked);
    ev.expect_eq("the connection still carries data", 11, got);
    let holds = probe.is_some() && acked && got == 11;
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "probe (seq {:?}, {} B) after {:.0} ms idle, ACKed {acked}; then {got} B went through",
            probe.as_ref().map(|p| p.seq),
            probe.as_ref().map_or(0, |p| p.payload),
            ms(idle)
        ),
    );
    ev.key(format!(
        "probe after {:.0} ms, acked {acked}, usable after: {}",
        ms(idle),
        got == 11
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn dead_peer_etimedout(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    // The keep-alive timer starts when the connection is established: time
    // from just before connecting, so the measure can only be late, not early.
    let t = Instant::now();
    let pair = wire::tcp_across(&link, |_| Ok(()), |c| set_timers(c, 1, 1, 1))?;
    let port = pair.client.local_addr()?.port();
    let b_addr = link.b_end.addr;
    // The peer vanishes: without its address host b drops everything, silently.
    link.b.run(|| -> Result<()> {
        Netlink::open()?.del_addr(ifindex(&link.b_end.ifname)?, b_addr, 24)
    })??;
    // A guard beyond any plausible keep-alive failure, so a silently ignored
    // option fails the case instead of hanging it.
    pair.client
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(6))?;
    phase("waiting for the keep-alive to give up on the silent peer");
    let mut buf = [0u8; 8];
    let r = pair.client.recv(&mut buf, 0);
    let took = t.elapsed();
    let segs = cap.segments()?;
    let sent_probes = probes(&segs, port).len();
    let answers = segs
        .iter()
        .filter(|s| s.dport == port && !s.flags.syn)
        .count();
    let rst = segs.iter().any(|s| s.sport == port && s.flags.rst);

    let expected = Duration::from_secs(2);
    let mut ev = Evidence::new();
    ev.observe("keepidle_intvl_cnt", [1, 1, 1])
        .observe("recv_result", result_name(&r))
        .observe("failed_after_ms", ms(took))
        .observe("probes_sent", sent_probes)
        .observe("segments_from_peer_after_handshake", answers)
        .observe("rst_sent_on_giving_up", rst);
    ev.expect_eq(
        "the connection fails with",
        "ETIMEDOUT",
        result_name(&r).as_str(),
    );
    ev.expect(
        "after idle + intvl * cnt = 2 s",
        took >= expected - Duration::from_millis(100)
            && took <= expected + Duration::from_millis(1500),
        "1900..3500 ms",
        format!("{:.0} ms", ms(took)),
    );
    ev.expect_eq("unanswered probes sent", 1, sent_probes);
    ev.expect_eq("a RST when giving up", true, rst);
    let verdict =
        Verdict::holds_if(r.as_ref().err().map(errno_name).as_deref() == Some("ETIMEDOUT"));
    ev.verdict(verdict, format!(
        "silent peer: {sent_probes} probe(s), no answer ({answers} segments from it), then recv -> {} after {:.0} ms \
         (idle 1 + 1 x 1 s); the kernel sent a RST on giving up: {rst}", result_name(&r), ms(took)));
    ev.key(format!(
        "{} after {:.0} ms, {sent_probes} probe(s)",
        result_name(&r),
        ms(took)
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn rst_econnreset(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    set_timers(&pair.client, 1, 1, 3)?;
    let (port, server_port) = (pair.client.local_addr()?.port(), pair.port()?);
    let (client, server) = pair.into_connected();
    // The peer "reboots": in repair mode its socket closes without FIN or RST.
    server
        .set_int(libc::IPPROTO_TCP, libc::TCP_REPAIR, 1)
        .context("TCP_REPAIR")?;
    let _ = server.close();
    let silent_close = !cap
        .segments()?
        .iter()
        .any(|s| s.sport == server_port && (s.flags.fin || s.flags.rst));
    client.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    phase("waiting for the probe to meet the forgetful peer");
    let mut buf = [0u8; 8];
    let t = Instant::now();
    let r = client.recv(&mut buf, 0);
    let took = t.elapsed();
    let segs = cap.segments()?;
    let probe = probes(&segs, port).into_iter().next();
    let rst = segs.iter().any(|s| s.sport == server_port && s.flags.rst);

    let mut ev = Evidence::new();
    ev.observe("peer_closed_silently", silent_close)
        .observe("probe_sent", probe.is_some())
        .observe("rst_from_peer", rst)
        .observe("recv_result", result_name(&r))
        .observe("failed_after_ms", ms(took));
    ev.expect_eq("the peer forgot without a word", true, silent_close);
    ev.expect_eq("a probe went out", true, probe.is_some());
    ev.expect_eq("the peer answered with RST", true, rst);
    ev.expect_eq("recv fails with", "ECONNRESET", result_name(&r).as_str());
    let holds = rst && result_name(&r) == "ECONNRESET";
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "peer forgot the connection; probe sent {}, RST back {rst}, recv -> {} after {:.0} ms",
            probe.is_some(),
            result_name(&r),
            ms(took)
        ),
    );
    ev.key(format!("probe -> RST {rst}, recv {}", result_name(&r)));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn option_name(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let bsd = TcpPair::loopback(Family::V4)?;
    bsd.client
        .set_int(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
        .context("SO_KEEPALIVE")?;
    let bsd_set = bsd.client.set_int(libc::IPPROTO_TCP, BSD_TCP_KEEPALIVE, 1);
    let linux = TcpPair::loopback(Family::V4)?;
    set_timers(&linux.client, 1, 1, 3)?;
    let (bsd_port, linux_port) = (
        bsd.client.local_addr()?.port(),
        linux.client.local_addr()?.port(),
    );
    let linux_probe = first_probe_after(&mut cap, linux_port, Duration::from_secs(4))?;
    let linux_idle = match &linux_probe {
        Some(p) => idle_before(&mut cap, linux_port, p)?,
        None => Duration::ZERO,
    };
    // The BSD-numbered socket has been idle longer (opened first), plus half a second.
    let bsd_probe = first_probe_after(&mut cap, bsd_port, Duration::from_millis(500))?;
    let thin = libc::TCP_THIN_LINEAR_TIMEOUTS;

    let mut ev = Evidence::new();
    ev.observe(
        "linux_meaning_of_0x10",
        if thin == BSD_TCP_KEEPALIVE {
            "TCP_THIN_LINEAR_TIMEOUTS"
        } else {
            "other"
        },
    )
    .observe("setsockopt_0x10_result", result_name(&bsd_set))
    .observe("probe_with_0x10_set_1", bsd_probe.is_some())
    .observe("probe_with_tcp_keepidle_1_ms", ms(linux_idle));
    ev.expect_eq(
        "0x10 on Linux is TCP_THIN_LINEAR_TIMEOUTS",
        BSD_TCP_KEEPALIVE,
        thin,
    );
    ev.expect_eq(
        "setsockopt(IPPROTO_TCP, 0x10, 1) is accepted",
        "ok",
        result_name(&bsd_set).as_str(),
    );
    ev.expect_eq("yet no probe follows after 1 s", false, bsd_probe.is_some());
    ev.expect(
        "TCP_KEEPIDLE=1: probe after ~1 s",
        linux_idle >= Duration::from_millis(900) && linux_idle <= Duration::from_millis(2500),
        "900..2500 ms",
        format!("{:.0} ms", ms(linux_idle)),
    );
    let verdict = if bsd_probe.is_some() {
        Verdict::Holds
    } else {
        Verdict::Differs
    };
    ev.verdict(verdict, format!(
        "no TCP_KEEPALIVE on Linux: its BSD number 0x10 is TCP_THIN_LINEAR_TIMEOUTS here (set -> {}, probe after 1 s: \
         {}); TCP_KEEPIDLE=1 gave a probe after {:.0} ms", result_name(&bsd_set), bsd_probe.is_some(), ms(linux_idle)));
    ev.key(format!(
        "0x10 -> {} (no probe); TCP_KEEPIDLE probe at {:.0} ms",
        result_name(&bsd_set),
        ms(linux_idle)
    ));
    Ok(ev)
}
