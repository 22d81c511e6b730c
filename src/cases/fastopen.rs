//! tcp(7) on TCP Fast Open: TCP_FASTOPEN on a listener, TCP_FASTOPEN_CONNECT
//! on a client. Every case turns Fast Open on in its own namespace
//! (net.ipv4.tcp_fastopen: 1 client, 2 server) and reads the handshake off
//! the wire: the cookie options, the data a SYN carries, and what the
//! SYN-ACK acknowledges.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::flow::mib_counter;
use crate::lab::packet::Frame;
use crate::lab::sock::result_name;
use crate::lab::tcpinfo::tcp_info;
use crate::lab::tcpopt::fastopen_cookie;
use crate::lab::{opt, procnet, record, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &DATA_IN_SYN,
    &QLEN,
    &NEEDS_SYSCTL,
    &CONNECT_DEFERS_SYN,
    &CONNECT_SOLICITS,
];

pub static DATA_IN_SYN: Case = Case {
    id: "tcp_fastopen.data_in_syn",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_FASTOPEN"),
    claim: "a listener with TCP_FASTOPEN grants cookies, accepts the data of a SYN carrying a valid cookie, \
            acknowledges data and SYN in its SYN-ACK, and accept() returns a socket usable for reading and \
            writing before the handshake completes",
    expectation: "the first connection gets a cookie in the SYN-ACK; the second SYN carries the cookie and \
                  the client's 5 bytes, the SYN-ACK acknowledges SYN + 5; accept() returns a socket still in \
                  SYN_RECV (the client delays its final ACK: TCP_QUICKACK 0) whose data can be read, and the \
                  server's reply leaves before the client's ACK",
    run: &Measure(data_in_syn),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_FASTOPEN, opt::TCP_QUICKACK],
};

pub static QLEN: Case = Case {
    id: "tcp_fastopen.qlen_limits_pending",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_FASTOPEN"),
    claim: "the TCP_FASTOPEN value is the maximum number of pending Fast Open SYNs, like listen()'s backlog",
    expectation: "with TCP_FASTOPEN 1, a second SYN with data and a valid cookie that arrives while the first \
                  Fast Open connection is still waiting for its final ACK is answered as a plain SYN: the \
                  SYN-ACK acknowledges the SYN only, the client sends its data again after the handshake, \
                  and TcpExtTCPFastOpenListenOverflow counts it",
    run: &Measure(qlen),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_FASTOPEN, opt::TCP_QUICKACK],
};

pub static NEEDS_SYSCTL: Case = Case {
    id: "tcp_fastopen.needs_server_sysctl",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_FASTOPEN"),
    claim: "TCP_FASTOPEN on a listener needs the server side enabled in net.ipv4.tcp_fastopen",
    expectation: "with net.ipv4.tcp_fastopen 1 (client only, the default) setsockopt(TCP_FASTOPEN) succeeds \
                  but the listener grants no cookie, so the next SYN carries no data; with 3 (client and \
                  server) the same listener grants a cookie and accepts the next SYN's data",
    run: &Measure(needs_sysctl),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_FASTOPEN],
};

pub static CONNECT_DEFERS_SYN: Case = Case {
    id: "tcp_fastopen_connect.defers_syn",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_FASTOPEN_CONNECT"),
    claim: "with TCP_FASTOPEN_CONNECT and a cookie for the destination, connect() returns 0 at once and the \
            SYN waits for the first write, which sends it with the data and the cookie; a read before any \
            write blocks",
    expectation: "with a cookie cached, connect() returns 0 in well under a millisecond (the check allows \
                  500 ms) and no SYN leaves during the 50 ms the case waits; a read (100 ms timeout) fails \
                  with EAGAIN and sends nothing; write() then sends a SYN with the 5 bytes and the cookie",
    run: &Measure(connect_defers_syn),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_FASTOPEN_CONNECT, opt::TCP_FASTOPEN],
};

pub static CONNECT_SOLICITS: Case = Case {
    id: "tcp_fastopen_connect.no_cookie_solicits",
    source: Source::ManPage("man-pages 6.20 tcp(7) TCP_FASTOPEN_CONNECT"),
    claim: "with TCP_FASTOPEN_CONNECT and no cookie for the destination, connect() sends its SYN at once, as \
            usual, with an empty Fast Open option asking for a cookie",
    expectation: "on first contact connect() sends a SYN without data carrying an empty Fast Open option, \
                  returns once the handshake is done, and the SYN-ACK brings a cookie",
    run: &Measure(connect_solicits),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::TCP_FASTOPEN_CONNECT],
};

const CLIENT_AND_SERVER: &str = "3";
const CLIENT_ONLY: &str = "1";

fn fastopen_sysctl(v: &str) -> Result<()> {
    procnet::set_sysctl("net/ipv4/tcp_fastopen", v)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ms_text(t: f64) -> String {
    Duration::from_secs_f64(t.max(0.0) / 1e3).show()
}

/// A loopback listener with TCP_FASTOPEN `qlen`.
fn listener(qlen: i32) -> Result<(Sock, SocketAddr)> {
    let l = Sock::tcp(Family::V4)?;
    l.set_int(libc::IPPROTO_TCP, libc::TCP_FASTOPEN, qlen)
        .with_context(|| format!("TCP_FASTOPEN {qlen}"))?;
    l.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind")?;
    l.listen(16).context("listen")?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// What the wire showed of one client's handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// Bytes of data the SYN carried.
    pub syn_data: u32,
    /// The SYN's Fast Open option: the cookie's length (0: a request), none
    /// when it had no such option.
    pub syn_cookie: Option<usize>,
    /// The SYN-ACK's Fast Open cookie length, none when it granted none.
    pub synack_cookie: Option<usize>,
    /// How many bytes beyond the SYN the SYN-ACK acknowledged.
    pub synack_acked_data: u32,
}

/// The handshake of the client on `port`, as captured so far.
fn handshake(cap: &mut Capture, port: u16) -> Result<Handshake> {
    let frames = cap.drain()?;
    let of = |pred: &dyn Fn(&crate::lab::packet::Segment) -> bool| -> Option<Frame> {
        frames
            .iter()
            .find(|f| f.segment().is_some_and(|s| pred(&s)))
            .cloned()
    };
    let syn = of(&|s| s.sport == port && s.flags.syn && !s.flags.ack);
    let synack = of(&|s| s.dport == port && s.flags.syn && s.flags.ack);
    let syn_seg = syn.as_ref().and_then(Frame::segment);
    let synack_seg = synack.as_ref().and_then(Frame::segment);
    Ok(Handshake {
        syn_data: syn_seg.as_ref().map_or(0, |s| s.payload),
        syn_cookie: syn.as_ref().and_then(fastopen_cookie).map(|c| c.len()),
        synack_cookie: synack.as_ref().and_then(fastopen_cookie).map(|c| c.len()),
        synack_acked_data: match (syn_seg, synack_seg) {
            (Some(s), Some(a)) => a.ack.wrapping_sub(s.seq).saturating_sub(1),
            _ => 0,
        },
    })
}

/// One client sending `data` with MSG_FASTOPEN (connect and send in one
/// call); `delay_ack` puts it in delayed-ACK mode first (TCP_QUICKACK 0), so
/// its final ACK of the handshake waits up to 200 ms.
fn fastopen_send(to: SocketAddr, data: &[u8], delay_ack: bool) -> Result<Sock> {
    let c = Sock::tcp(Family::V4)?;
    if delay_ack {
        c.set_int(libc::IPPROTO_TCP, libc::TCP_QUICKACK, 0)
            .context("TCP_QUICKACK 0")?;
    }
    c.send_to(data, libc::MSG_FASTOPEN, to)
        .context("sendto(MSG_FASTOPEN)")?;
    Ok(c)
}

/// A first connection that asks for (and caches) a cookie; its handshake.
/// The blocking sendto() returns once the SYN-ACK is in: the cookie it
/// brought is cached by then.
fn warm_up(cap: &mut Capture, l: &Sock, to: SocketAddr) -> Result<Handshake> {
    let c = fastopen_send(to, b"hello", false)?;
    l.accept().context("accept the warm-up connection")?;
    handshake(cap, c.local_addr()?.port())
}

fn read_some(s: &Sock) -> Result<usize> {
    s.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(2))?;
    let mut buf = [0u8; 64];
    s.recv(&mut buf, 0).context("recv")
}

/// The Fast Open connection after the warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInSyn {
    pub warm_up: Handshake,
    pub fast: Handshake,
    /// TCP state of the accepted socket right after accept().
    pub accepted_state: String,
    /// What a non-blocking read on it gave at once: bytes, or the errno.
    pub read_at_accept: String,
    /// The server's reply left before the client's final ACK.
    pub reply_before_final_ack: bool,
}

fn data_in_syn(_lab: &mut Lab) -> Result<DataInSyn> {
    fastopen_sysctl(CLIENT_AND_SERVER)?;
    let mut cap = Capture::start("lo")?;
    let (l, to) = listener(16)?;
    let warm_up = warm_up(&mut cap, &l, to)?;
    let c = fastopen_send(to, b"hello", true)?;
    let port = c.local_addr()?.port();
    let s = l.accept().context("accept")?;
    let accepted_state = procnet::state_name(tcp_info(&s).context("TCP_INFO")?.state).to_string();
    s.set_nonblocking(true)?;
    let mut buf = [0u8; 64];
    let read_at_accept = match s.recv(&mut buf, 0) {
        Ok(n) => n.to_string(),
        Err(e) => result_name::<()>(&Err(e)),
    };
    record::mark("server replies");
    s.send(b"world", 0).context("server reply")?;
    let fast = handshake(&mut cap, port)?;
    // Wait for the client's final ACK (its delayed ACK, or the ACK of the reply).
    let reply = cap.find_from(0, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|g| g.dport == port && g.payload > 0)
    })?;
    let final_ack = cap.find_from(0, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|g| g.sport == port && !g.flags.syn && g.flags.ack)
    })?;
    Ok(DataInSyn {
        warm_up,
        fast,
        accepted_state,
        read_at_accept,
        reply_before_final_ack: matches!((reply, final_ack), (Some((r, _)), Some((a, _))) if r < a),
    })
}

impl Observation for DataInSyn {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "the first SYN-ACK grants a cookie",
            self.warm_up.synack_cookie.is_some_and(|n| n > 0),
            "a cookie",
            self.warm_up.synack_cookie.show(),
        );
        j.expect(
            "the next SYN carries the cookie and the data",
            self.fast.syn_cookie.is_some_and(|n| n > 0) && self.fast.syn_data == 5,
            "cookie, 5 B",
            format!(
                "cookie {} B, {} B",
                self.fast.syn_cookie.show(),
                self.fast.syn_data
            ),
        );
        j.expect_eq(
            "bytes of data its SYN-ACK acknowledges",
            &5,
            &self.fast.synack_acked_data,
        );
        j.expect_eq(
            "state of the accepted socket",
            &"SYN_RECV",
            &self.accepted_state.as_str(),
        );
        j.expect_eq(
            "bytes read at once after accept()",
            &"5",
            &self.read_at_accept.as_str(),
        );
        j.expect_eq(
            "the server's reply leaves before the client's final ACK",
            &true,
            &self.reply_before_final_ack,
        );
        let data_accepted = self.fast.synack_acked_data == 5;
        let early = self.accepted_state == "SYN_RECV" && self.read_at_accept == "5";
        j.verdict(
            match (data_accepted, early) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "cookie of {} B granted; the next SYN carried {} B and a cookie of {} B, its SYN-ACK acknowledged \
                 {} B of data; accept() returned a socket in {} from which {} B could be read at once",
                self.warm_up.synack_cookie.show(),
                self.fast.syn_data,
                self.fast.syn_cookie.show(),
                self.fast.synack_acked_data,
                self.accepted_state,
                self.read_at_accept
            ),
        );
        j.key(format!(
            "SYN data {} B, acked {} B; accepted in {}",
            self.fast.syn_data, self.fast.synack_acked_data, self.accepted_state
        ));
        j
    }
}

/// Two Fast Open SYNs against a listener whose queue holds one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Qlen {
    pub qlen: i32,
    pub first: Handshake,
    pub second: Handshake,
    /// Bytes the second connection's server read: its data, sent again.
    pub second_delivered: usize,
    /// TcpExtTCPFastOpenListenOverflow's increase.
    pub overflows: i64,
}

fn overflow_count() -> Result<i64> {
    mib_counter("netstat", "TcpExt", "TCPFastOpenListenOverflow")
}

fn qlen(_lab: &mut Lab) -> Result<Qlen> {
    fastopen_sysctl(CLIENT_AND_SERVER)?;
    let mut cap = Capture::start("lo")?;
    let (l, to) = listener(1)?;
    warm_up(&mut cap, &l, to)?;
    let before = overflow_count()?;
    // The first stays pending while its final ACK is delayed (up to 200 ms);
    // the second comes meanwhile.
    let first = fastopen_send(to, b"hello", true)?;
    let second = fastopen_send(to, b"hello", true)?;
    let (p1, p2) = (first.local_addr()?.port(), second.local_addr()?.port());
    let overflows = overflow_count()? - before;
    // The second's data, sent again after its handshake, arrives in the end.
    let _a = l.accept().context("accept the first")?;
    let b = l.accept().context("accept the second")?;
    Ok(Qlen {
        qlen: 1,
        first: handshake(&mut cap, p1)?,
        second: handshake(&mut cap, p2)?,
        second_delivered: read_some(&b)?,
        overflows,
    })
}

impl Observation for Qlen {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the first pending SYN's data is acknowledged in its SYN-ACK",
            &5,
            &self.first.synack_acked_data,
        );
        j.expect_eq(
            "the second SYN carries data and the cookie",
            &(5, true),
            &(
                self.second.syn_data,
                self.second.syn_cookie.is_some_and(|n| n > 0),
            ),
        );
        j.expect_eq(
            "bytes of data the second SYN-ACK acknowledges",
            &0,
            &self.second.synack_acked_data,
        );
        j.expect_eq(
            "the second client's data, sent again after its handshake, arrives",
            &5,
            &self.second_delivered,
        );
        j.expect_eq(
            "TcpExtTCPFastOpenListenOverflow increase",
            &1,
            &self.overflows,
        );
        let limited = self.first.synack_acked_data == 5 && self.second.synack_acked_data == 0;
        j.verdict(
            Verdict::holds_if(limited),
            format!(
                "TCP_FASTOPEN {}: the first SYN-ACK acknowledged {} B of SYN data, the second (sent while the \
                 first was pending) {} B; {} listen overflow(s) counted",
                self.qlen, self.first.synack_acked_data, self.second.synack_acked_data, self.overflows
            ),
        );
        j.key(format!(
            "qlen {}: SYN data accepted {} B then {} B",
            self.qlen, self.first.synack_acked_data, self.second.synack_acked_data
        ));
        j
    }
}

/// The same listener with the server bit of net.ipv4.tcp_fastopen off, then on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeedsSysctl {
    /// setsockopt(TCP_FASTOPEN) with the server side off.
    pub set_with_client_only: String,
    /// tcp_fastopen 1: a connection asking for a cookie, then another.
    pub client_only: [Handshake; 2],
    /// tcp_fastopen 3: the same.
    pub client_and_server: [Handshake; 2],
}

fn two_connections(cap: &mut Capture, l: &Sock, to: SocketAddr) -> Result<[Handshake; 2]> {
    Ok([warm_up(cap, l, to)?, warm_up(cap, l, to)?])
}

fn needs_sysctl(_lab: &mut Lab) -> Result<NeedsSysctl> {
    fastopen_sysctl(CLIENT_ONLY)?;
    let mut cap = Capture::start("lo")?;
    let l = Sock::tcp(Family::V4)?;
    let set_with_client_only = result_name(&l.set_int(libc::IPPROTO_TCP, libc::TCP_FASTOPEN, 16));
    l.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind")?;
    l.listen(16).context("listen")?;
    let to = l.local_addr()?;
    let client_only = two_connections(&mut cap, &l, to)?;
    fastopen_sysctl(CLIENT_AND_SERVER)?;
    let client_and_server = two_connections(&mut cap, &l, to)?;
    Ok(NeedsSysctl {
        set_with_client_only,
        client_only,
        client_and_server,
    })
}

impl Observation for NeedsSysctl {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let [off1, off2] = &self.client_only;
        let [on1, on2] = &self.client_and_server;
        j.expect_eq(
            "setsockopt(TCP_FASTOPEN) with the server side off",
            &"ok",
            &self.set_with_client_only.as_str(),
        );
        j.expect_eq("client only: cookie granted", &None, &off1.synack_cookie);
        j.expect_eq("client only: data in the next SYN", &0, &off2.syn_data);
        j.expect(
            "client and server: cookie granted",
            on1.synack_cookie.is_some_and(|n| n > 0),
            "a cookie",
            on1.synack_cookie.show(),
        );
        j.expect_eq(
            "client and server: SYN data acknowledged in the next SYN-ACK",
            &5,
            &on2.synack_acked_data,
        );
        let blocked = off1.synack_cookie.is_none() && off2.synack_acked_data == 0;
        let works = on2.synack_acked_data == 5;
        j.verdict(
            match (blocked, works) {
                (true, true) => Verdict::Holds,
                (false, _) => Verdict::Refuted,
                (true, false) => Verdict::Differs,
            },
            format!(
                "tcp_fastopen 1: cookie {}, next SYN {} B of data; tcp_fastopen 3: cookie {}, next SYN {} B \
                 of data, {} B acknowledged",
                off1.synack_cookie.show(),
                off2.syn_data,
                on1.synack_cookie.show(),
                on2.syn_data,
                on2.synack_acked_data
            ),
        );
        j.key(format!(
            "server bit off: cookie {}; on: cookie {}, SYN data acked {} B",
            off1.synack_cookie.show(),
            on1.synack_cookie.show(),
            on2.synack_acked_data
        ));
        j
    }
}

/// A TCP_FASTOPEN_CONNECT client with a cookie cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefersSyn {
    pub warm_up: Handshake,
    /// What connect() returned and how long it took, ms.
    pub connect: String,
    pub connect_ms: f64,
    /// SYNs from the client before it wrote.
    pub syns_before_write: usize,
    /// A read before the write (100 ms timeout): the errno, or bytes.
    pub read_before_write: String,
    /// The handshake the write started.
    pub after_write: Handshake,
    /// Bytes the server read.
    pub delivered: usize,
}

/// connect() "at once": well under the 1 s of a SYN's first retransmission.
const AT_ONCE_MS: f64 = 500.0;

fn fastopen_connect_client() -> Result<Sock> {
    let c = Sock::tcp(Family::V4)?;
    c.set_int(libc::IPPROTO_TCP, libc::TCP_FASTOPEN_CONNECT, 1)
        .context("TCP_FASTOPEN_CONNECT 1")?;
    Ok(c)
}

fn connect_defers_syn(_lab: &mut Lab) -> Result<DefersSyn> {
    fastopen_sysctl(CLIENT_AND_SERVER)?;
    let mut cap = Capture::start("lo")?;
    let (l, to) = listener(16)?;
    let first = fastopen_connect_client()?;
    first.connect(to).context("first connect")?;
    first.send_all(b"hello").context("first write")?;
    l.accept().context("accept the first")?;
    let warm_up = handshake(&mut cap, first.local_addr()?.port())?;
    let c = fastopen_connect_client()?;
    let t = Instant::now();
    let r = c.connect(to);
    let connect_ms = ms(t.elapsed());
    let port = c.local_addr()?.port();
    let is_syn = move |f: &Frame| f.segment().is_some_and(|g| g.sport == port && g.flags.syn);
    let from = cap.count()?;
    cap.find_from(from, Duration::from_millis(50), is_syn)?;
    c.set_timeout(libc::SO_RCVTIMEO, Duration::from_millis(100))?;
    let mut buf = [0u8; 16];
    let read_before_write = match c.recv(&mut buf, 0) {
        Ok(n) => n.to_string(),
        Err(e) => result_name::<()>(&Err(e)),
    };
    let syns_before_write = cap.drain()?.iter().filter(|f| is_syn(f)).count();
    record::mark("client writes 5 bytes");
    c.send_all(b"hello").context("write after connect")?;
    let s2 = l.accept().context("accept")?;
    Ok(DefersSyn {
        delivered: read_some(&s2)?,
        warm_up,
        connect: result_name(&r),
        connect_ms,
        syns_before_write,
        read_before_write,
        after_write: handshake(&mut cap, port)?,
    })
}

impl Observation for DefersSyn {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect(
            "a first connection gets a cookie",
            self.warm_up.synack_cookie.is_some_and(|n| n > 0),
            "a cookie",
            self.warm_up.synack_cookie.show(),
        );
        // "At once" is what the next check shows: no SYN left, so connect()
        // waited for no handshake. The time only bounds it: well under a
        // SYN's first retransmission (1 s), which an emulated machine's
        // preemption (22 ms seen under TCG) cannot reach.
        j.expect(
            "connect() returns 0 at once",
            self.connect == "ok" && self.connect_ms < AT_ONCE_MS,
            format!("ok in < {AT_ONCE_MS} ms"),
            format!("{} in {}", self.connect, ms_text(self.connect_ms)),
        );
        j.expect_eq("SYNs before the first write", &0, &self.syns_before_write);
        j.expect_eq(
            "a read before the write",
            &"EAGAIN",
            &self.read_before_write.as_str(),
        );
        j.expect(
            "the write sends a SYN with the data and the cookie",
            self.after_write.syn_data == 5 && self.after_write.syn_cookie.is_some_and(|n| n > 0),
            "5 B and a cookie",
            format!(
                "{} B, cookie {} B",
                self.after_write.syn_data,
                self.after_write.syn_cookie.show()
            ),
        );
        j.expect_eq("the server reads the 5 bytes", &5, &self.delivered);
        let deferred = self.connect == "ok" && self.syns_before_write == 0;
        let with_data = self.after_write.syn_data > 0;
        j.verdict(
            match (deferred, with_data) {
                (true, true) => Verdict::Holds,
                (false, false) => Verdict::Refuted,
                _ => Verdict::Differs,
            },
            format!(
                "with a cookie cached connect() returned {} in {}, {} SYN(s) left before the write, a read \
                 gave {}; the write's SYN carried {} B and a cookie of {} B",
                self.connect,
                ms_text(self.connect_ms),
                self.syns_before_write,
                self.read_before_write,
                self.after_write.syn_data,
                self.after_write.syn_cookie.show()
            ),
        );
        j.key(format!(
            "connect {} in {}; SYN with {} B at write",
            self.connect,
            ms_text(self.connect_ms),
            self.after_write.syn_data
        ));
        j
    }
}

/// A TCP_FASTOPEN_CONNECT client's first contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Solicits {
    pub connect: String,
    /// connect() returned after the SYN-ACK was on the wire.
    pub returned_after_synack: bool,
    pub handshake: Handshake,
    /// Bytes the server read after the client's write.
    pub delivered: usize,
}

fn connect_solicits(_lab: &mut Lab) -> Result<Solicits> {
    fastopen_sysctl(CLIENT_AND_SERVER)?;
    let mut cap = Capture::start("lo")?;
    let (l, to) = listener(16)?;
    let c = fastopen_connect_client()?;
    let r = c.connect(to);
    let returned_ns = crate::lab::capture::wall_ns();
    let port = c.local_addr()?.port();
    let synack = cap.find_from(0, Duration::from_secs(1), |f| {
        f.segment()
            .is_some_and(|g| g.dport == port && g.flags.syn && g.flags.ack)
    })?;
    c.send_all(b"hello").context("write")?;
    let s = l.accept().context("accept")?;
    Ok(Solicits {
        delivered: read_some(&s)?,
        connect: result_name(&r),
        returned_after_synack: synack.is_some_and(|(_, f)| f.t_ns <= returned_ns),
        handshake: handshake(&mut cap, port)?,
    })
}

impl Observation for Solicits {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let h = &self.handshake;
        j.expect_eq(
            "the SYN's Fast Open option (cookie length)",
            &Some(0),
            &h.syn_cookie,
        );
        j.expect_eq("data in the SYN", &0, &h.syn_data);
        j.expect_eq(
            "connect() returns 0 once the handshake is done",
            &("ok", true),
            &(self.connect.as_str(), self.returned_after_synack),
        );
        j.expect(
            "the SYN-ACK brings a cookie",
            h.synack_cookie.is_some_and(|n| n > 0),
            "a cookie",
            h.synack_cookie.show(),
        );
        j.expect_eq("the server reads the 5 bytes", &5, &self.delivered);
        let solicited = h.syn_cookie == Some(0) && h.syn_data == 0;
        j.verdict(
            Verdict::holds_if(solicited && self.returned_after_synack),
            format!(
                "first contact: connect() returned {} {} the SYN-ACK; the SYN carried {} B and a Fast Open \
                 option with a cookie of {} B; the SYN-ACK's cookie: {} B",
                self.connect,
                if self.returned_after_synack { "after" } else { "before" },
                h.syn_data,
                h.syn_cookie.show(),
                h.synack_cookie.show()
            ),
        );
        j.key(format!(
            "SYN cookie option {} B, data {} B; cookie granted {} B",
            h.syn_cookie.show(),
            h.syn_data,
            h.synack_cookie.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn hs(
        syn_data: u32,
        syn_cookie: Option<usize>,
        synack_cookie: Option<usize>,
        acked: u32,
    ) -> Handshake {
        Handshake {
            syn_data,
            syn_cookie,
            synack_cookie,
            synack_acked_data: acked,
        }
    }

    fn requested() -> Handshake {
        hs(0, Some(0), Some(8), 0)
    }

    fn fast() -> Handshake {
        hs(5, Some(8), None, 5)
    }

    fn data_linux() -> DataInSyn {
        DataInSyn {
            warm_up: requested(),
            fast: fast(),
            accepted_state: "SYN_RECV".into(),
            read_at_accept: "5".into(),
            reply_before_final_ack: true,
        }
    }

    const GRANTS: &str = "the first SYN-ACK grants a cookie";
    const CARRIES: &str = "the next SYN carries the cookie and the data";
    const ACKED: &str = "bytes of data its SYN-ACK acknowledges";
    const STATE: &str = "state of the accepted socket";
    const READ: &str = "bytes read at once after accept()";
    const REPLY: &str = "the server's reply leaves before the client's final ACK";

    #[rstest]
    #[case::linux(data_linux(), Verdict::Holds, &[])]
    // TCP_FASTOPEN ignored on the listener: no cookie, no SYN data, a plain handshake.
    #[case::ignored(DataInSyn { warm_up: hs(0, Some(0), None, 0), fast: hs(0, Some(0), None, 0),
        accepted_state: "ESTABLISHED".into(), read_at_accept: "EAGAIN".into(), reply_before_final_ack: false },
        Verdict::Refuted, &[GRANTS, CARRIES, ACKED, STATE, READ, REPLY])]
    // TCP_QUICKACK ignored: the client's ACK completes the handshake before accept().
    #[case::quick_client(DataInSyn { accepted_state: "ESTABLISHED".into(), reply_before_final_ack: false,
        ..data_linux() }, Verdict::Differs, &[STATE, REPLY])]
    // Data in the SYN ignored by the server (acknowledged only after the handshake).
    #[case::data_not_acked(DataInSyn { fast: hs(5, Some(8), None, 0), ..data_linux() }, Verdict::Differs,
        &[ACKED])]
    #[case::nothing_to_read(DataInSyn { read_at_accept: "EAGAIN".into(), ..data_linux() }, Verdict::Differs,
        &[READ])]
    fn data_judgement(#[case] o: DataInSyn, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn durations_in_milliseconds() {
        assert_eq!(1_500.0, ms(Duration::from_millis(1_500)));
        assert_eq!("0.3 ms", ms_text(0.25));
    }

    #[test]
    fn data_words() {
        let j = data_linux().judge();
        assert_eq!("SYN data 5 B, acked 5 B; accepted in SYN_RECV", j.key);
        assert_eq!(
            "cookie of 8 B granted; the next SYN carried 5 B and a cookie of 8 B, its SYN-ACK acknowledged 5 B \
             of data; accept() returned a socket in SYN_RECV from which 5 B could be read at once",
            j.because
        );
    }

    fn qlen_linux() -> Qlen {
        Qlen {
            qlen: 1,
            first: fast(),
            second: hs(5, Some(8), None, 0),
            second_delivered: 5,
            overflows: 1,
        }
    }

    #[rstest]
    #[case::linux(qlen_linux(), Verdict::Holds, &[])]
    // No limit: both accepted.
    #[case::lost(Qlen { second_delivered: 0, ..qlen_linux() }, Verdict::Holds,
        &["the second client's data, sent again after its handshake, arrives"])]
    #[case::unlimited(Qlen { second: fast(), overflows: 0, ..qlen_linux() }, Verdict::Refuted,
        &["bytes of data the second SYN-ACK acknowledges", "TcpExtTCPFastOpenListenOverflow increase"])]
    // TCP_FASTOPEN ignored: no data accepted at all (and no cookie to send).
    #[case::ignored(Qlen { first: hs(0, Some(0), None, 0), second: hs(0, Some(0), None, 0), overflows: 0,
        ..qlen_linux() }, Verdict::Refuted,
        &["the first pending SYN's data is acknowledged in its SYN-ACK", "the second SYN carries data and the cookie",
          "TcpExtTCPFastOpenListenOverflow increase"])]
    fn qlen_judgement(#[case] o: Qlen, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn qlen_words() {
        let j = qlen_linux().judge();
        assert_eq!("qlen 1: SYN data accepted 5 B then 0 B", j.key);
        assert_eq!(
            "TCP_FASTOPEN 1: the first SYN-ACK acknowledged 5 B of SYN data, the second (sent while the first \
             was pending) 0 B; 1 listen overflow(s) counted",
            j.because
        );
    }

    fn sysctl_linux() -> NeedsSysctl {
        NeedsSysctl {
            set_with_client_only: "ok".into(),
            client_only: [hs(0, Some(0), None, 0), hs(0, Some(0), None, 0)],
            client_and_server: [requested(), fast()],
        }
    }

    const OFF_COOKIE: &str = "client only: cookie granted";
    const OFF_DATA: &str = "client only: data in the next SYN";
    const ON_COOKIE: &str = "client and server: cookie granted";
    const ON_DATA: &str = "client and server: SYN data acknowledged in the next SYN-ACK";

    #[rstest]
    #[case::linux(sysctl_linux(), Verdict::Holds, &[])]
    // A kernel that needs no server bit.
    #[case::no_bit_needed(NeedsSysctl { client_only: [requested(), fast()], ..sysctl_linux() }, Verdict::Refuted,
        &[OFF_COOKIE, OFF_DATA])]
    // TCP_FASTOPEN ignored: nothing with the bit on either.
    #[case::ignored(NeedsSysctl { client_and_server: [hs(0, Some(0), None, 0), hs(0, Some(0), None, 0)],
        ..sysctl_linux() }, Verdict::Differs, &[ON_COOKIE, ON_DATA])]
    #[case::refused(NeedsSysctl { set_with_client_only: "EINVAL".into(), ..sysctl_linux() }, Verdict::Holds,
        &["setsockopt(TCP_FASTOPEN) with the server side off"])]
    fn sysctl_judgement(#[case] o: NeedsSysctl, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn sysctl_words() {
        let j = sysctl_linux().judge();
        assert_eq!(
            "server bit off: cookie none; on: cookie 8, SYN data acked 5 B",
            j.key
        );
        assert_eq!(
            "tcp_fastopen 1: cookie none, next SYN 0 B of data; tcp_fastopen 3: cookie 8, next SYN 5 B of data, \
             5 B acknowledged",
            j.because
        );
    }

    fn defers_linux() -> DefersSyn {
        DefersSyn {
            warm_up: requested(),
            connect: "ok".into(),
            connect_ms: 0.01,
            syns_before_write: 0,
            read_before_write: "EAGAIN".into(),
            after_write: hs(5, Some(8), None, 5),
            delivered: 5,
        }
    }

    const COOKIE: &str = "a first connection gets a cookie";
    const AT_ONCE: &str = "connect() returns 0 at once";
    const NO_SYN: &str = "SYNs before the first write";
    const READ_FIRST: &str = "a read before the write";
    const WRITE_SYN: &str = "the write sends a SYN with the data and the cookie";

    #[rstest]
    #[case::linux(defers_linux(), Verdict::Holds, &[])]
    // TCP_FASTOPEN_CONNECT ignored: a plain connect() and handshake.
    #[case::ignored(DefersSyn { warm_up: hs(0, None, None, 0), syns_before_write: 1, read_before_write: "EAGAIN".into(),
        after_write: hs(0, None, None, 0), ..defers_linux() }, Verdict::Refuted, &[COOKIE, NO_SYN, WRITE_SYN])]
    // A SYN at connect() that still carries no data.
    #[case::eager(DefersSyn { syns_before_write: 1, ..defers_linux() }, Verdict::Differs, &[NO_SYN])]
    #[case::slow(DefersSyn { connect_ms: 500.0, ..defers_linux() }, Verdict::Holds, &[AT_ONCE])]
    #[case::preempted(DefersSyn { connect_ms: 22.0, ..defers_linux() }, Verdict::Holds, &[])]
    #[case::data_read(DefersSyn { read_before_write: "0".into(), ..defers_linux() }, Verdict::Holds, &[READ_FIRST])]
    #[case::no_data(DefersSyn { after_write: hs(0, Some(8), None, 0), ..defers_linux() }, Verdict::Differs,
        &[WRITE_SYN])]
    #[case::lost(DefersSyn { delivered: 0, ..defers_linux() }, Verdict::Holds, &["the server reads the 5 bytes"])]
    fn defers_judgement(#[case] o: DefersSyn, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn defers_words() {
        let j = defers_linux().judge();
        assert_eq!("connect ok in 0 ms; SYN with 5 B at write", j.key);
        assert_eq!(
            "with a cookie cached connect() returned ok in 0 ms, 0 SYN(s) left before the write, a read gave \
             EAGAIN; the write's SYN carried 5 B and a cookie of 8 B",
            j.because
        );
    }

    fn solicits_linux() -> Solicits {
        Solicits {
            connect: "ok".into(),
            returned_after_synack: true,
            handshake: requested(),
            delivered: 5,
        }
    }

    #[rstest]
    #[case::linux(solicits_linux(), Verdict::Holds, &[])]
    // TCP_FASTOPEN_CONNECT ignored: a SYN without the option, no cookie.
    #[case::ignored(Solicits { handshake: hs(0, None, None, 0), ..solicits_linux() }, Verdict::Refuted,
        &["the SYN's Fast Open option (cookie length)", "the SYN-ACK brings a cookie"])]
    #[case::early_return(Solicits { returned_after_synack: false, ..solicits_linux() }, Verdict::Refuted,
        &["connect() returns 0 once the handshake is done"])]
    #[case::data_in_syn(Solicits { handshake: hs(5, Some(0), Some(8), 0), ..solicits_linux() },
        Verdict::Refuted, &["data in the SYN"])]
    #[case::lost(Solicits { delivered: 0, ..solicits_linux() }, Verdict::Holds, &["the server reads the 5 bytes"])]
    fn solicits_judgement(#[case] o: Solicits, #[case] v: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(v), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn solicits_words() {
        let j = solicits_linux().judge();
        assert_eq!("SYN cookie option 0 B, data 0 B; cookie granted 8 B", j.key);
        assert_eq!(
            "first contact: connect() returned ok after the SYN-ACK; the SYN carried 0 B and a Fast Open option \
             with a cookie of 0 B; the SYN-ACK's cookie: 8 B",
            j.because
        );
        let early = Solicits {
            returned_after_synack: false,
            ..solicits_linux()
        }
        .judge();
        assert!(early.because.contains("ok before the SYN-ACK"));
    }
}
