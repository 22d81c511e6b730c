//! Path MTU discovery as IP_MTU_DISCOVER(2const), IP_MTU(2const),
//! IPV6_MTU_DISCOVER(2const) and IPV6_MTU(2const) describe it, across a real
//! router: host -> router -> far host, the far link's MTU lowered to 1400
//! (lab::router). The evidence is the host's link: the DF bit and the
//! fragments of each datagram, the router's ICMP "fragmentation needed"
//! (ICMPv6 "packet too big"), and what send() and getsockopt() return.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};

use crate::lab::headers::IpHeader;
use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::router::{Routed, HOST_IF};
use crate::lab::sock::{result_name, Returned};
use crate::lab::{phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&MODES, &MODES_V6, &IP_MTU, &IPV6_MTU];

pub static MODES: Case = Case {
    id: "ip_mtu_discover.modes",
    source: Source::ManPage("man-pages 6.20 IP_MTU_DISCOVER(2const)"),
    claim: "IP_PMTUDISC_DO sets DF on every datagram and datagrams larger than the known path MTU are \
            refused with EMSGSIZE; WANT fragments to the path MTU when needed and sets DF otherwise; DONT \
            never does path MTU discovery; PROBE sets DF but ignores the path MTU",
    expectation: "a 100-byte datagram leaves with DF under DO, WANT and PROBE, without under DONT; once the \
                  router's fragmentation-needed has taught the host the 1400-byte path MTU, a 1500-byte \
                  datagram is refused with EMSGSIZE under DO, leaves whole with DF under PROBE (and the \
                  router drops it), and is fragmented to the path MTU without DF under WANT and DONT (DONT \
                  too uses the path MTU others learnt) and delivered",
    run: &Measure(|lab| modes(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_MTU_DISCOVER],
};

pub static MODES_V6: Case = Case {
    id: "ipv6_mtu_discover.modes",
    source: Source::ManPage("man-pages 6.20 IPV6_MTU_DISCOVER(2const)"),
    claim: "the IPv6 path MTU discovery modes behave as IP_MTU_DISCOVER's: DO refuses datagrams larger than \
            the known path MTU with EMSGSIZE, WANT fragments to it, DONT does no path MTU discovery, PROBE \
            ignores the path MTU",
    expectation: "IPv6 has no DF bit (routers never fragment): once the router's packet-too-big has taught \
                  the host the 1400-byte path MTU, a 1500-byte datagram is refused with EMSGSIZE under DO, \
                  leaves whole under PROBE (and the router drops it), and is fragmented by the host to the \
                  path MTU under WANT and DONT and delivered",
    run: &Measure(|lab| modes(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MTU_DISCOVER],
};

pub static IP_MTU: Case = Case {
    id: "ip_mtu.path_mtu",
    source: Source::ManPage("man-pages 6.20 IP_MTU(2const)"),
    claim:
        "getsockopt(IP_MTU) gives the socket's current known path MTU, and only once the socket is \
            connected",
    expectation:
        "unconnected: ENOTCONN; connected to the far host: 1500 (the host's link) until the \
                  router's fragmentation-needed arrives, then 1400, the MTU the router reported",
    run: &Measure(|lab| path_mtu(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static IPV6_MTU: Case = Case {
    id: "ipv6_mtu.path_mtu",
    source: Source::ManPage("man-pages 6.20 IPV6_MTU(2const)"),
    claim: "getsockopt(IPV6_MTU) gives the known path MTU of a connected socket; setsockopt(IPV6_MTU) sets \
            the MTU the socket uses, limited by the device MTU or the path MTU",
    expectation: "unconnected: ENOTCONN; connected: 1500, then 1400 after the router's packet-too-big; \
                  with IPV6_MTU 1280 a 1500-byte datagram leaves in fragments of at most 1280 bytes (where \
                  the path alone would allow 1500 and the router would drop it); 1279 is EINVAL (below the \
                  IPv6 minimum)",
    run: &Measure(|lab| path_mtu(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_MTU],
};

/// The far link's MTU: the path MTU the router teaches.
const FAR_MTU: u32 = 1400;
/// The host's own link.
const LINK_MTU: u32 = 1500;

/// Bytes of IP and UDP header in front of a datagram's payload.
fn headers(family: Family) -> u32 {
    match family {
        Family::V4 => 28,
        Family::V6 => 48,
    }
}

/// A payload that fills the host's link exactly (1500 bytes of IP packet).
fn big(family: Family) -> Vec<u8> {
    vec![b'B'; (LINK_MTU - headers(family)) as usize]
}

/// Level and option numbers of one family.
struct Knobs {
    level: i32,
    discover: i32,
    mtu: i32,
}

fn knobs(family: Family) -> Knobs {
    match family {
        Family::V4 => Knobs {
            level: libc::IPPROTO_IP,
            discover: libc::IP_MTU_DISCOVER,
            mtu: libc::IP_MTU,
        },
        Family::V6 => Knobs {
            level: libc::IPPROTO_IPV6,
            discover: libc::IPV6_MTU_DISCOVER,
            mtu: libc::IPV6_MTU,
        },
    }
}

/// The four modes, by the names the page uses (IPv6's have the same values).
const MODE_NAMES: [(&str, i32); 4] = [
    ("DONT", libc::IP_PMTUDISC_DONT),
    ("WANT", libc::IP_PMTUDISC_WANT),
    ("DO", libc::IP_PMTUDISC_DO),
    ("PROBE", libc::IP_PMTUDISC_PROBE),
];

/// The host's side of the line: a receiver on the far host, a capture on the
/// host's link, and a marker socket whose small datagram, once received,
/// proves everything sent before it has passed the host's link.
struct Path {
    t: Routed,
    family: Family,
    rx: Sock,
    to: SocketAddr,
    cap: Capture,
    marker: Sock,
    marks: u8,
}

/// What one datagram did: send()'s answer, the frames that carried it on
/// the host's link, and whether the far host got it.
struct Exchange {
    sent: Returned,
    frames: Vec<IpHeader>,
    delivered: bool,
}

impl Path {
    fn new(lab: &mut Lab, family: Family) -> Result<Path> {
        let t = Routed::build(lab, family, FAR_MTU)?;
        let rx = t.far.run(|| -> Result<Sock> {
            let rx = Sock::udp(family)?;
            rx.bind(SocketAddr::new(t.far_addr, 0))
                .context("bind the far receiver")?;
            rx.set_nonblocking(true)?;
            Ok(rx)
        })??;
        let to = rx.local_addr()?;
        let cap = Capture::start(HOST_IF)?;
        let marker = Sock::udp(family)?;
        marker.connect(to).context("connect the marker socket")?;
        // The marker follows the datagram only if both are sent from one
        // CPU: each veth hop queues a packet on the sending CPU's backlog,
        // and two CPUs' backlogs drain side by side (a marker overtook the
        // fragments of a datagram once, under emulation).
        crate::lab::pin_thread()?;
        Ok(Path {
            t,
            family,
            rx,
            to,
            cap,
            marker,
            marks: 0,
        })
    }

    /// A UDP socket in `mode`, connected to the far receiver.
    fn socket(&self, mode: Option<i32>) -> Result<Sock> {
        let s = Sock::udp(self.family)?;
        if let Some(m) = mode {
            s.set_int(knobs(self.family).level, knobs(self.family).discover, m)
                .context("set the path MTU discovery mode")?;
        }
        s.connect(self.to).context("connect to the far host")?;
        Ok(s)
    }

    /// Runs `send`, then sends a marker and waits until the far host has it:
    /// by then every frame of the datagram has crossed the host's link (the
    /// link is FIFO) and a delivered datagram has been reassembled.
    fn exchange(&mut self, send: impl FnOnce() -> io::Result<usize>) -> Result<Exchange> {
        let from = self.cap.count()?;
        let sent = Returned::of(&send());
        self.marks += 1;
        let mark = [b'M', self.marks];
        self.marker.send(&mark, 0).context("send the marker")?;
        let mut delivered = false;
        let mut buf = vec![0u8; 2048];
        loop {
            if !wait::readable(self.rx.as_raw_fd(), Duration::from_secs(5))? {
                bail!("the marker datagram never reached the far host");
            }
            match self.rx.recv(&mut buf, 0) {
                Ok(2) if buf[..2] == mark => break,
                Ok(_) => delivered = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("recv on the far host"),
            }
        }
        let (host, far) = (self.t.host_addr, self.t.far_addr);
        let mut frames: Vec<IpHeader> = self.cap.frames()?[from..]
            .iter()
            .filter_map(|f| f.ip())
            .filter(|h| h.src == host && h.dst == far && h.protocol == 17)
            .collect();
        // The last frame is the marker's.
        frames.pop();
        Ok(Exchange {
            sent,
            frames,
            delivered,
        })
    }

    /// Sends a 1500-byte datagram with DF from a DO socket and waits until
    /// the router's answer has been processed (the connected socket's error
    /// is set). Returns that socket, the MTU the ICMP message reported and
    /// the socket's SO_ERROR.
    fn learn(&mut self) -> Result<(Sock, Option<u32>, String)> {
        let s = self.socket(Some(libc::IP_PMTUDISC_DO))?;
        phase("waiting for the router's ICMP error about a 1500-byte datagram");
        // A failure here (the path MTU already known) shows in SO_ERROR and
        // in the missing ICMP message.
        let _ = s.send(&big(self.family), 0);
        // The error arrives within a millisecond; the bound only keeps a
        // starved machine (CI's lanes on two cores) from ending the wait
        // before the router's answer is processed.
        wait::ready(s.as_raw_fd(), PollFlags::POLLERR, Duration::from_secs(10))?;
        let so_error = match s.get_int(libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok(0) => "0".to_string(),
            Ok(e) => crate::lab::sock::errno_name(&io::Error::from_raw_os_error(e)),
            Err(e) => crate::lab::sock::errno_name(&e),
        };
        let reported = self.cap.frames()?.iter().find_map(|f| match f.decode() {
            Packet::Icmp(m) => m.mtu,
            _ => None,
        });
        Ok((s, reported, so_error))
    }
}

/// What one mode did with a small datagram, and with a 1500-byte one once
/// the path MTU was known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeRun {
    /// DONT, WANT, DO or PROBE.
    pub mode: String,
    /// A 100-byte datagram left with DF (always false for IPv6).
    pub small_df: bool,
    /// send() of the 1500-byte datagram: bytes or errno.
    pub big_send: Returned,
    /// IP total length of each frame that carried it on the host's link.
    pub big_frames: Vec<u32>,
    /// Any of those frames had DF.
    pub big_df: bool,
    /// The far host received it.
    pub big_delivered: bool,
}

/// The four modes on one path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Modes {
    /// ipv4 or ipv6.
    pub family: String,
    /// The MTU the router's ICMP error reported.
    pub reported_mtu: Option<u32>,
    pub runs: Vec<ModeRun>,
}

fn modes(lab: &mut Lab, family: Family) -> Result<Modes> {
    let mut p = Path::new(lab, family)?;
    let socks = MODE_NAMES
        .iter()
        .map(|(_, m)| p.socket(Some(*m)))
        .collect::<Result<Vec<_>>>()?;
    let mut small_df = Vec::new();
    for s in &socks {
        let x = p.exchange(|| s.send(&[b's'; 100], 0))?;
        small_df.push(x.frames.iter().any(|h| h.dont_fragment));
    }
    let (_, reported_mtu, _) = p.learn()?;
    let mut runs = Vec::new();
    for ((name, _), (s, df)) in MODE_NAMES.iter().zip(socks.iter().zip(small_df)) {
        let x = p.exchange(|| s.send(&big(family), 0))?;
        runs.push(ModeRun {
            mode: name.to_string(),
            small_df: df,
            big_send: x.sent,
            big_frames: x.frames.iter().map(|h| h.total_len).collect(),
            big_df: x.frames.iter().any(|h| h.dont_fragment),
            big_delivered: x.delivered,
        });
    }
    Ok(Modes {
        family: family.name().to_string(),
        reported_mtu,
        runs,
    })
}

/// How a 1500-byte datagram goes once the path MTU is known.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    /// send() fails with EMSGSIZE and nothing leaves.
    Refused,
    /// Fragments of at most the path MTU, no DF, delivered.
    Fragmented,
    /// One 1500-byte frame (DF on IPv4), dropped by the router.
    Whole,
}

impl ModeRun {
    fn fate(&self) -> Option<Fate> {
        let sent = matches!(self.big_send, Returned::Bytes(_));
        let fits = self.big_frames.iter().all(|l| *l <= FAR_MTU);
        match (sent, self.big_frames.len()) {
            (false, 0) if self.big_send == Returned::errno("EMSGSIZE") => Some(Fate::Refused),
            (true, n) if n > 1 && fits && !self.big_df && self.big_delivered => {
                Some(Fate::Fragmented)
            }
            (true, 1) if self.big_frames[0] == LINK_MTU && !self.big_delivered => Some(Fate::Whole),
            _ => None,
        }
    }

    fn fate_words(&self) -> String {
        format!(
            "{} -> {} frames [{}]{}{}",
            self.big_send.show(),
            self.big_frames.len(),
            self.big_frames
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            if self.big_df { " DF" } else { "" },
            if self.big_delivered {
                ", delivered"
            } else {
                ""
            },
        )
    }
}

/// What Linux does per mode: DF on a small datagram (IPv4), and the fate of
/// a datagram beyond the path MTU.
fn linux(mode: &str, v4: bool) -> (bool, Fate) {
    match mode {
        "DONT" => (false, Fate::Fragmented),
        "WANT" => (v4, Fate::Fragmented),
        "DO" => (v4, Fate::Refused),
        _ => (v4, Fate::Whole),
    }
}

impl Observation for Modes {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let v4 = self.family == "ipv4";
        j.expect_eq(
            "the router reports the far link's MTU",
            &Some(FAR_MTU),
            &self.reported_mtu,
        );
        j.expect_eq("one run per mode", &MODE_NAMES.len(), &self.runs.len());
        let mut page = 0;
        for r in &self.runs {
            let (df, fate) = linux(&r.mode, v4);
            if v4 {
                j.expect_eq(
                    &format!("{}: DF on a 100-byte datagram", r.mode),
                    &df,
                    &r.small_df,
                );
            }
            let words = match fate {
                Fate::Refused => "EMSGSIZE, nothing on the wire",
                Fate::Fragmented => "fragments of at most 1400 B without DF, delivered",
                Fate::Whole => "one 1500-byte frame, dropped by the router",
            };
            j.expect(
                &format!("{}: a 1500-byte datagram once the path MTU is 1400", r.mode),
                r.fate() == Some(fate),
                words,
                r.fate_words(),
            );
            // The page's sentence for this mode.
            let holds = match r.mode.as_str() {
                "DO" => (r.small_df || !v4) && r.fate() == Some(Fate::Refused),
                "WANT" => (r.small_df || !v4) && r.fate() == Some(Fate::Fragmented),
                "DONT" => !r.small_df && !r.big_df,
                _ => (r.small_df || !v4) && r.fate() == Some(Fate::Whole),
            };
            page += usize::from(holds);
        }
        let do_run = self.runs.iter().find(|r| r.mode == "DO");
        let do_refuses = do_run.is_some_and(|r| r.fate() == Some(Fate::Refused));
        let verdict = if page == MODE_NAMES.len() && self.runs.len() == page {
            Verdict::Holds
        } else if !do_refuses {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        let per_mode: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{}: small {}; 1500 B {}",
                    r.mode,
                    if r.small_df { "DF" } else { "no DF" },
                    r.fate_words()
                )
            })
            .collect();
        j.verdict(
            verdict,
            format!(
                "router reported MTU {}; {} of {} modes as the page says; {}",
                self.reported_mtu.show(),
                page,
                MODE_NAMES.len(),
                per_mode.join("; ")
            ),
        );
        j.key(
            self.runs
                .iter()
                .map(|r| format!("{} {}", r.mode, r.big_send.show()))
                .collect::<Vec<_>>()
                .join(", "),
        );
        j
    }
}

/// getsockopt(IP_MTU / IPV6_MTU) before and after the path MTU is learnt,
/// and (IPv6) what setsockopt(IPV6_MTU) does to datagrams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathMtu {
    pub family: String,
    /// On an unconnected socket: a value or an errno name.
    pub unconnected: String,
    /// On a connected socket before any ICMP error.
    pub before: String,
    /// The MTU the router's ICMP error reported.
    pub reported_mtu: Option<u32>,
    /// SO_ERROR of the socket whose datagram was too big.
    pub so_error: String,
    /// On that socket afterwards.
    pub after: String,
    /// On the socket connected before, idle since the ICMP error.
    pub idle_after: String,
    /// On the same socket once it has sent a datagram.
    pub after_sending: String,
    /// IPv6 only: setsockopt(IPV6_MTU).
    pub set: Option<SetMtu>,
}

/// setsockopt(IPV6_MTU, 1280), then datagrams once the path MTU is 1400.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetMtu {
    /// setsockopt(IPV6_MTU, 1279): ok or errno.
    pub below_minimum: String,
    /// setsockopt(IPV6_MTU, 1280).
    pub set_1280: String,
    /// WANT: IP total length of each frame of a 1300-byte datagram (the
    /// path carries it whole).
    pub frames_1300: Vec<u32>,
    /// WANT: each frame of a 1500-byte datagram (the path needs fragments).
    pub frames_1500: Vec<u32>,
    /// Both reached the far host.
    pub delivered: bool,
    /// DO: send() of a 1300-byte datagram.
    pub do_1300: Returned,
}

fn int_or_errno(r: io::Result<i32>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => crate::lab::sock::errno_name(&e),
    }
}

fn set_mtu(p: &mut Path) -> Result<SetMtu> {
    let k = knobs(p.family);
    let m = p.socket(None)?;
    let below_minimum = result_name(&m.set_int(k.level, k.mtu, 1279));
    let set_1280 = result_name(&m.set_int(k.level, k.mtu, 1280));
    let x1300 = p.exchange(|| m.send(&[b'm'; 1300 - 48], 0))?;
    let payload = big(p.family);
    let x1500 = p.exchange(|| m.send(&payload, 0))?;
    let d = p.socket(Some(libc::IPV6_PMTUDISC_DO))?;
    d.set_int(k.level, k.mtu, 1280).context("IPV6_MTU 1280")?;
    let do_1300 = Returned::of(&d.send(&[b'd'; 1300 - 48], 0));
    let lens = |x: &Exchange| x.frames.iter().map(|h| h.total_len).collect();
    Ok(SetMtu {
        below_minimum,
        set_1280,
        frames_1300: lens(&x1300),
        frames_1500: lens(&x1500),
        delivered: x1300.delivered && x1500.delivered,
        do_1300,
    })
}

fn path_mtu(lab: &mut Lab, family: Family) -> Result<PathMtu> {
    let mut p = Path::new(lab, family)?;
    let k = knobs(family);
    let unconnected = int_or_errno(Sock::udp(family)?.get_int(k.level, k.mtu));
    let s = p.socket(None)?;
    let before = int_or_errno(s.get_int(k.level, k.mtu));
    let (learner, reported_mtu, so_error) = p.learn()?;
    let after = int_or_errno(learner.get_int(k.level, k.mtu));
    let idle_after = int_or_errno(s.get_int(k.level, k.mtu));
    p.exchange(|| s.send(b"small", 0))?;
    let after_sending = int_or_errno(s.get_int(k.level, k.mtu));
    let set = match family {
        Family::V4 => None,
        Family::V6 => Some(set_mtu(&mut p)?),
    };
    Ok(PathMtu {
        family: family.name().to_string(),
        unconnected,
        before,
        reported_mtu,
        so_error,
        after,
        idle_after,
        after_sending,
        set,
    })
}

/// The page's getsockopt sentence: the socket's current known path MTU,
/// only when connected.
fn get_verdict(o: &PathMtu) -> Verdict {
    let learnt = [&o.after, &o.idle_after, &o.after_sending].map(|v| *v == FAR_MTU.to_string());
    if learnt.iter().all(|l| *l) && o.unconnected == "ENOTCONN" {
        Verdict::Holds
    } else if learnt.iter().any(|l| *l) {
        Verdict::Differs
    } else {
        Verdict::Refuted
    }
}

impl SetMtu {
    /// The page's setsockopt sentence: the socket uses this MTU.
    fn verdict(&self) -> Verdict {
        let small = |f: &Vec<u32>| f.len() > 1 && f.iter().all(|l| *l <= 1280);
        let effects = [
            small(&self.frames_1300),
            small(&self.frames_1500),
            self.do_1300 == Returned::errno("EMSGSIZE"),
        ];
        match effects.iter().filter(|e| **e).count() {
            3 => Verdict::Holds,
            0 => Verdict::Refuted,
            _ => Verdict::Differs,
        }
    }
}

impl Observation for PathMtu {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let opt = if self.family == "ipv4" {
            "IP_MTU"
        } else {
            "IPV6_MTU"
        };
        let far = FAR_MTU.to_string();
        j.expect_eq(
            "getsockopt on an unconnected socket",
            &"ENOTCONN",
            &self.unconnected.as_str(),
        );
        j.expect_eq(
            "connected, before any ICMP error: the link's MTU",
            &LINK_MTU.to_string(),
            &self.before,
        );
        j.expect_eq(
            "the router reports the far link's MTU",
            &Some(FAR_MTU),
            &self.reported_mtu,
        );
        j.expect_eq(
            "the too-big datagram's socket gets",
            &"EMSGSIZE",
            &self.so_error.as_str(),
        );
        j.expect_eq("that socket, afterwards", &far, &self.after);
        j.expect_eq(
            "a socket connected before, idle since: its cached route's MTU",
            &LINK_MTU.to_string(),
            &self.idle_after,
        );
        j.expect_eq(
            "the same socket once it has sent again",
            &far,
            &self.after_sending,
        );
        let mut because = format!(
            "{opt} unconnected: {}; connected: {} before; after the router reported {}: {} on the socket \
             that got the error, {} on another connected socket until it sent again, then {}",
            self.unconnected,
            self.before,
            self.reported_mtu.show(),
            self.after,
            self.idle_after,
            self.after_sending
        );
        let mut verdict = get_verdict(self);
        if let Some(s) = &self.set {
            j.expect_eq(
                "IPV6_MTU 1279 (below the IPv6 minimum)",
                &"EINVAL",
                &s.below_minimum.as_str(),
            );
            j.expect_eq("IPV6_MTU 1280", &"ok", &s.set_1280.as_str());
            j.expect_eq(
                "IPV6_MTU 1280, a 1300-byte datagram the path carries: whole",
                &vec![1300u32],
                &s.frames_1300,
            );
            j.expect(
                "IPV6_MTU 1280, a 1500-byte datagram the path must fragment: fragments",
                s.frames_1500.len() > 1 && s.frames_1500.iter().all(|l| *l <= 1280),
                "2 or more frames of at most 1280 B",
                s.frames_1500.show(),
            );
            j.expect_eq("both delivered", &true, &s.delivered);
            j.expect_eq(
                "IPV6_MTU 1280 with DO: a 1300-byte datagram",
                &Returned::errno("EMSGSIZE"),
                &s.do_1300,
            );
            let set_v = s.verdict();
            verdict = match (verdict, set_v) {
                (Verdict::Holds, Verdict::Holds) => Verdict::Holds,
                (Verdict::Refuted, Verdict::Refuted) => Verdict::Refuted,
                _ => Verdict::Differs,
            };
            because.push_str(&format!(
                "; with IPV6_MTU 1280 a 1300-byte datagram left as {}, a 1500-byte one as {}, and with DO \
                 send() of 1300 bytes returned {}",
                s.frames_1300.show(),
                s.frames_1500.show(),
                s.do_1300.show()
            ));
        }
        j.verdict(verdict, because);
        j.key(format!(
            "{opt}: unconnected {}, {} -> {} (idle socket {})",
            self.unconnected, self.before, self.after, self.idle_after
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn run(
        mode: &str,
        small_df: bool,
        send: Returned,
        frames: &[u32],
        df: bool,
        delivered: bool,
    ) -> ModeRun {
        ModeRun {
            mode: mode.into(),
            small_df,
            big_send: send,
            big_frames: frames.to_vec(),
            big_df: df,
            big_delivered: delivered,
        }
    }

    fn modes_linux(v4: bool) -> Modes {
        let sent = Returned::Bytes(if v4 { 1472 } else { 1452 });
        let frags: &[u32] = if v4 { &[1396, 124] } else { &[1392, 156] };
        Modes {
            family: if v4 { "ipv4" } else { "ipv6" }.into(),
            reported_mtu: Some(1400),
            runs: vec![
                run("DONT", false, sent.clone(), frags, false, true),
                run("WANT", v4, sent.clone(), frags, false, true),
                run("DO", v4, Returned::errno("EMSGSIZE"), &[], false, false),
                run("PROBE", v4, sent, &[1500], v4, false),
            ],
        }
    }

    fn with_run(mut m: Modes, i: usize, r: ModeRun) -> Modes {
        m.runs[i] = r;
        m
    }

    const BIG: [&str; 4] = [
        "DONT: a 1500-byte datagram once the path MTU is 1400",
        "WANT: a 1500-byte datagram once the path MTU is 1400",
        "DO: a 1500-byte datagram once the path MTU is 1400",
        "PROBE: a 1500-byte datagram once the path MTU is 1400",
    ];

    #[rstest]
    #[case::linux(modes_linux(true), Verdict::Holds, &[])]
    #[case::linux_v6(modes_linux(false), Verdict::Holds, &[])]
    // A libc that ignores the option: every socket stays WANT.
    #[case::all_want(Modes { runs: ["DONT", "WANT", "DO", "PROBE"].iter().map(|m|
        run(m, true, Returned::Bytes(1472), &[1396, 124], false, true)).collect(), ..modes_linux(true) },
        Verdict::Refuted, &["DONT: DF on a 100-byte datagram", BIG[2], BIG[3]])]
    // DONT setting DF: the page's "never" is broken, DO still refuses.
    #[case::dont_sets_df(with_run(modes_linux(true), 0, run("DONT", true, Returned::Bytes(1472),
        &[1396, 124], false, true)), Verdict::Differs, &["DONT: DF on a 100-byte datagram"])]
    // WANT sending the big datagram whole: not fragmented.
    #[case::want_whole(with_run(modes_linux(true), 1, run("WANT", true, Returned::Bytes(1472),
        &[1500], true, false)), Verdict::Differs, &[BIG[1]])]
    // Fragments just over the path MTU.
    #[case::fragments_too_big(with_run(modes_linux(true), 1, run("WANT", true, Returned::Bytes(1472),
        &[1401, 120], false, true)), Verdict::Differs, &[BIG[1]])]
    #[case::fragments_at_mtu(with_run(modes_linux(true), 1, run("WANT", true, Returned::Bytes(1472),
        &[1400, 120], false, true)), Verdict::Holds, &[])]
    #[case::fragments_lost(with_run(modes_linux(true), 1, run("WANT", true, Returned::Bytes(1472),
        &[1396, 124], false, false)), Verdict::Differs, &[BIG[1]])]
    #[case::fragments_with_df(with_run(modes_linux(true), 1, run("WANT", true, Returned::Bytes(1472),
        &[1396, 124], true, true)), Verdict::Differs, &[BIG[1]])]
    // DO with another errno, or DO without DF on small datagrams.
    #[case::do_other_errno(with_run(modes_linux(true), 2, run("DO", true, Returned::errno("EINVAL"),
        &[], false, false)), Verdict::Refuted, &[BIG[2]])]
    #[case::do_no_df(with_run(modes_linux(true), 2, run("DO", false, Returned::errno("EMSGSIZE"),
        &[], false, false)), Verdict::Differs, &["DO: DF on a 100-byte datagram"])]
    // PROBE honouring the path MTU instead.
    #[case::probe_fragments(with_run(modes_linux(true), 3, run("PROBE", true, Returned::Bytes(1472),
        &[1396, 124], false, true)), Verdict::Differs, &[BIG[3]])]
    #[case::probe_delivered(with_run(modes_linux(true), 3, run("PROBE", true, Returned::Bytes(1472),
        &[1500], true, true)), Verdict::Differs, &[BIG[3]])]
    #[case::probe_no_df(with_run(modes_linux(true), 3, run("PROBE", false, Returned::Bytes(1472),
        &[1500], true, false)), Verdict::Differs, &["PROBE: DF on a 100-byte datagram"])]
    #[case::v6_probe_whole_no_df(with_run(modes_linux(false), 3, run("PROBE", false, Returned::Bytes(1452),
        &[1500], false, false)), Verdict::Holds, &[])]
    #[case::no_icmp(Modes { reported_mtu: None, ..modes_linux(true) }, Verdict::Holds,
        &["the router reports the far link's MTU"])]
    #[case::missing_run(Modes { runs: modes_linux(true).runs[..3].to_vec(), ..modes_linux(true) },
        Verdict::Differs, &["one run per mode"])]
    fn modes_judgement(#[case] o: Modes, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn modes_words() {
        let j = modes_linux(true).judge();
        assert_eq!("DONT 1472 B, WANT 1472 B, DO EMSGSIZE, PROBE 1472 B", j.key);
        assert_eq!(
            "router reported MTU 1400; 4 of 4 modes as the page says; DONT: small no DF; 1500 B 1472 B -> 2 \
             frames [1396 124], delivered; WANT: small DF; 1500 B 1472 B -> 2 frames [1396 124], delivered; \
             DO: small DF; 1500 B EMSGSIZE -> 0 frames []; PROBE: small DF; 1500 B 1472 B -> 1 frames [1500] DF",
            j.because
        );
    }

    fn path_linux(v4: bool) -> PathMtu {
        PathMtu {
            family: if v4 { "ipv4" } else { "ipv6" }.into(),
            unconnected: "ENOTCONN".into(),
            before: "1500".into(),
            reported_mtu: Some(1400),
            so_error: "EMSGSIZE".into(),
            after: "1400".into(),
            idle_after: "1500".into(),
            after_sending: "1400".into(),
            set: (!v4).then(set_linux),
        }
    }

    fn set_linux() -> SetMtu {
        SetMtu {
            below_minimum: "EINVAL".into(),
            set_1280: "ok".into(),
            frames_1300: vec![1300],
            frames_1500: vec![1280, 268],
            delivered: true,
            do_1300: Returned::errno("EMSGSIZE"),
        }
    }

    const IDLE: &str = "a socket connected before, idle since: its cached route's MTU";
    const SET_1300: &str = "IPV6_MTU 1280, a 1300-byte datagram the path carries: whole";
    const SET_1500: &str = "IPV6_MTU 1280, a 1500-byte datagram the path must fragment: fragments";
    const SET_DO: &str = "IPV6_MTU 1280 with DO: a 1300-byte datagram";

    #[rstest]
    #[case::linux(path_linux(true), Verdict::Differs, &[])]
    #[case::linux_v6(path_linux(false), Verdict::Differs, &[])]
    // The page's world: every connected socket knows the new path MTU.
    #[case::page(PathMtu { idle_after: "1400".into(), ..path_linux(true) }, Verdict::Holds, &[IDLE])]
    #[case::page_v6(PathMtu { idle_after: "1400".into(), set: Some(SetMtu { frames_1300: vec![1280, 68],
        ..set_linux() }), ..path_linux(false) }, Verdict::Holds, &[IDLE, SET_1300])]
    // An unconnected socket answering with the device MTU.
    #[case::unconnected_answers(PathMtu { unconnected: "1500".into(), idle_after: "1400".into(),
        ..path_linux(true) }, Verdict::Differs, &["getsockopt on an unconnected socket", IDLE])]
    // Never learnt.
    #[case::not_learnt(PathMtu { after: "1500".into(), after_sending: "1500".into(), so_error: "0".into(),
        reported_mtu: None, ..path_linux(true) }, Verdict::Refuted, &["the router reports the far link's MTU",
        "the too-big datagram's socket gets", "that socket, afterwards", "the same socket once it has sent again"])]
    #[case::before_other(PathMtu { before: "65536".into(), ..path_linux(true) }, Verdict::Differs,
        &["connected, before any ICMP error: the link's MTU"])]
    // IPV6_MTU ignored: fragments at the path MTU, DO sends 1300 bytes.
    #[case::set_ignored(PathMtu { set: Some(SetMtu { frames_1500: vec![1400, 148],
        do_1300: Returned::Bytes(1252), ..set_linux() }), ..path_linux(false) }, Verdict::Differs,
        &[SET_1500, SET_DO])]
    #[case::set_ignored_page(PathMtu { idle_after: "1400".into(), set: Some(SetMtu { frames_1500: vec![1400, 148],
        do_1300: Returned::Bytes(1252), ..set_linux() }), ..path_linux(false) }, Verdict::Differs,
        &[IDLE, SET_1500, SET_DO])]
    #[case::all_refuted(PathMtu { after: "1500".into(), idle_after: "1500".into(), after_sending: "1500".into(),
        set: Some(SetMtu { frames_1500: vec![1500], do_1300: Returned::Bytes(1252), delivered: false,
        ..set_linux() }), ..path_linux(false) }, Verdict::Refuted,
        &["that socket, afterwards", "the same socket once it has sent again", SET_1500, "both delivered", SET_DO])]
    #[case::set_just_over(PathMtu { set: Some(SetMtu { frames_1500: vec![1281, 267], ..set_linux() }),
        ..path_linux(false) }, Verdict::Differs, &[SET_1500])]
    #[case::set_one_frame(PathMtu { set: Some(SetMtu { frames_1500: vec![1280], ..set_linux() }),
        ..path_linux(false) }, Verdict::Differs, &[SET_1500])]
    #[case::set_refusals(PathMtu { set: Some(SetMtu { below_minimum: "ok".into(), set_1280: "EINVAL".into(),
        ..set_linux() }), ..path_linux(false) }, Verdict::Differs,
        &["IPV6_MTU 1279 (below the IPv6 minimum)", "IPV6_MTU 1280"])]
    fn path_judgement(#[case] o: PathMtu, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[rstest]
    #[case::linux(set_linux(), Verdict::Differs)]
    #[case::all(SetMtu { frames_1300: vec![1280, 68], ..set_linux() }, Verdict::Holds)]
    #[case::none(SetMtu { frames_1500: vec![1500], do_1300: Returned::Bytes(1252), ..set_linux() },
        Verdict::Refuted)]
    fn set_verdict(#[case] s: SetMtu, #[case] verdict: Verdict) {
        assert_eq!(verdict, s.verdict());
    }

    #[test]
    fn path_words() {
        let j = path_linux(false).judge();
        assert_eq!(
            "IPV6_MTU: unconnected ENOTCONN, 1500 -> 1400 (idle socket 1500)",
            j.key
        );
        assert_eq!(
            "IPV6_MTU unconnected: ENOTCONN; connected: 1500 before; after the router reported 1400: 1400 on \
             the socket that got the error, 1500 on another connected socket until it sent again, then 1400; \
             with IPV6_MTU 1280 a 1300-byte datagram left as [1300], a 1500-byte one as [1280, 268], and with \
             DO send() of 1300 bytes returned EMSGSIZE",
            j.because
        );
        assert!(path_linux(true).judge().key.starts_with("IP_MTU: "));
    }
}
