//! The packet ladder: a case's captured frames and its own syscalls on one
//! time line, read like packetdrill or tcpdump. Each TCP connection has its
//! client on the left and its server on the right (roles read from the
//! handshake); other frames go from their sender on the left to their
//! destination on the right. Endpoints are labelled by role or by the name
//! the case gave them (`lab::record::endpoint`, the LAN's h1..h4); sequence
//! and acknowledgement numbers are relative to each side's first one, as
//! tcpdump prints them; the case's syscalls (`close() called`) are marked
//! where they happened.
//!
//! A long capture (a bulk transfer) keeps the start and the end of each
//! connection (`keep`), which is also what a JSON report stores: the ladder
//! of a saved report is the one `explain` showed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use super::wrap;
use crate::lab::headers::IpHeader;
use crate::lab::packet::{mac_text, Frame, Packet, Segment};
use crate::model::{CaseResult, FrameGap, Mark};

/// At most this many frames are shown (and kept in a report) per case.
pub const BUDGET: usize = 32;
/// Every connection keeps at least this many, however many there are.
const PER_FLOW_MIN: usize = 6;
/// The fewest frames a ladder leaves out of a connection.
const MIN_GAP: usize = 8;
/// The width of the arrow between the two endpoint columns.
const ARROW: usize = 12;

/// What a frame belongs to: one TCP connection (its two ends, in either
/// direction), or one flow of other traffic (protocol, from, to).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Flow {
    Tcp(SocketAddr, SocketAddr),
    Other(String),
}

fn flow_of(f: &Frame) -> Flow {
    match f.decode() {
        Packet::Tcp(s) => {
            let (a, b) = (
                SocketAddr::new(s.src, s.sport),
                SocketAddr::new(s.dst, s.dport),
            );
            Flow::Tcp(a.min(b), a.max(b))
        }
        Packet::Udp(u) => Flow::Other(format!("udp {} {}", u.src, u.dst)),
        Packet::Igmp(m) => Flow::Other(format!("igmp {}", m.src)),
        Packet::Mld(m) => Flow::Other(format!("mld {}", m.src)),
        Packet::Icmp(m) => Flow::Other(format!("icmp {} {}", m.src, m.dst)),
        Packet::Arp(_) => Flow::Other("arp".into()),
        Packet::Other => Flow::Other("other".into()),
    }
}

/// The frames of all captures on one time line. Each capture hands over its
/// frames in the order it saw them (a case may run several, one after the
/// other or side by side on two interfaces): they are merged by time, each
/// capture's own order kept (two CPUs' time stamps may disagree by a little).
fn in_time_order(frames: &[Frame]) -> Vec<&Frame> {
    let mut runs: Vec<&[Frame]> = Vec::new();
    let mut start = 0;
    for i in 1..=frames.len() {
        if i == frames.len() || frames[i].iface != frames[start].iface {
            runs.push(&frames[start..i]);
            start = i;
        }
    }
    let mut next = vec![0usize; runs.len()];
    let mut out = Vec::with_capacity(frames.len());
    while let Some(k) = (0..runs.len())
        .filter(|&k| next[k] < runs[k].len())
        .min_by_key(|&k| runs[k][next[k]].t_ns)
    {
        out.push(&runs[k][next[k]]);
        next[k] += 1;
    }
    out
}

/// What a kernel sends by itself when an interface comes up with IPv6:
/// neighbour discovery (router and neighbour solicitations and
/// advertisements) and MLD reports for its own solicited-node groups
/// (ff02::1:ffxx:xxxx). No case judges them; the pcap keeps them.
fn housekeeping(f: &Frame) -> bool {
    match f.decode() {
        Packet::Icmp(m) => m.v6 && (133..=137).contains(&m.kind),
        Packet::Mld(m) => {
            m.kind != 130
                && m.groups.iter().all(|g| {
                    let s = g.segments();
                    s[0] == 0xff02 && s[1..5] == [0; 4] && s[5] == 1 && s[6] & 0xff00 == 0xff00
                })
        }
        _ => false,
    }
}

/// The frames a ladder shows of `frames` (headers only), and where it leaves
/// some out: every connection or flow keeps its first and last frames, the
/// budget shared out so that a short connection is shown whole.
pub fn keep(frames: &[Frame]) -> (Vec<Frame>, Vec<FrameGap>) {
    let merged = in_time_order(frames);
    let frames: Vec<&Frame> = merged.into_iter().filter(|f| !housekeeping(f)).collect();
    if frames.len() <= BUDGET {
        return (frames.iter().map(|f| f.headers_only()).collect(), vec![]);
    }
    let flows: Vec<Flow> = frames.iter().map(|f| flow_of(f)).collect();
    let mut sizes: BTreeMap<&Flow, usize> = BTreeMap::new();
    for f in &flows {
        *sizes.entry(f).or_default() += 1;
    }
    // Water-filling: the smallest flows first, each gets its share of what
    // is left (and at least PER_FLOW_MIN).
    let mut by_size: Vec<(&Flow, usize)> = sizes.iter().map(|(f, n)| (*f, *n)).collect();
    by_size.sort_by_key(|(_, n)| *n);
    let mut left = BUDGET;
    let mut quota: HashMap<&Flow, usize> = HashMap::new();
    for (i, (flow, n)) in by_size.iter().enumerate() {
        let share = (left / (by_size.len() - i)).max(PER_FLOW_MIN);
        // Leaving out a few frames saves little and hides a part of the
        // exchange: a flow just over its share is kept whole.
        let given = if *n <= share + MIN_GAP { *n } else { share };
        left = left.saturating_sub(given);
        quota.insert(flow, given);
    }
    // Of each flow, the first two thirds of its quota and the last third.
    let mut seen: HashMap<&Flow, usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut gaps: Vec<FrameGap> = Vec::new();
    for (frame, flow) in frames.iter().zip(&flows) {
        let (n, q) = (sizes[flow], quota[flow]);
        let head = q - q / 3;
        let tail = q / 3;
        let k = seen.entry(flow).or_default();
        let index = *k;
        *k += 1;
        if index < head || index >= n - tail {
            kept.push(frame.headers_only());
        }
        if index + 1 == head && n > q {
            gaps.push(FrameGap {
                after: (kept.len() - 1) as u32,
                count: (n - q) as u32,
            });
        }
    }
    (kept, gaps)
}

/// One endpoint as the ladder names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Who {
    Sock(SocketAddr),
    Ip(IpAddr),
    /// A frame without IP: its Ethernet address.
    Mac([u8; 6]),
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Sock(s) => write!(f, "{s}"),
            Who::Ip(ip) => write!(f, "{ip}"),
            Who::Mac(m) => f.write_str(&mac_text(m)),
        }
    }
}

/// A frame as a ladder row: who is on the left and on the right, which way
/// the arrow goes, what is written in it and after it.
struct Row {
    left: Who,
    right: Who,
    rightwards: bool,
    tag: String,
    text: String,
    /// The TCP connection the frame belongs to.
    conn: Option<Conn>,
}

/// Roles and names of every endpoint in the capture.
struct Names {
    labels: HashMap<Who, String>,
    /// Label, address, and the host name when the label is not it.
    legend: Vec<(String, String)>,
}

/// A TCP connection by its ends, client (or first sender) first.
type Conn = (SocketAddr, SocketAddr);
/// Each connection with the roles of its two ends.
type Roles = Vec<(Conn, [&'static str; 2])>;

/// The role each endpoint of each TCP connection plays: the sender of the
/// SYN is the client (the SYN-ACK's receiver when only that was captured);
/// without a handshake, the first sender is "side A".
fn tcp_roles(segs: &[Segment]) -> Roles {
    let same = |a: Conn, b: Conn| a == b || a == (b.1, b.0);
    let mut conns: Roles = Vec::new();
    for s in segs {
        let d = direction(s);
        if conns.iter().any(|(c, _)| same(*c, d)) {
            continue;
        }
        let entry = match segs.iter().find(|x| x.flags.syn && same(direction(x), d)) {
            Some(x) if x.flags.ack => ((direction(x).1, direction(x).0), ["client", "server"]),
            Some(x) => (direction(x), ["client", "server"]),
            None => (d, ["side A", "side B"]),
        };
        conns.push(entry);
    }
    conns
}

fn names(rows: &[Row], tcp: &Roles, r: &CaseResult) -> Names {
    let given: HashMap<String, String> = r
        .endpoints
        .iter()
        .map(|e| (e.address.clone(), e.name.clone()))
        .collect();
    let role: HashMap<SocketAddr, &str> = tcp
        .iter()
        .flat_map(|((c, s), [rc, rs])| [(*c, *rc), (*s, *rs)])
        .collect();
    // Endpoints in order of appearance.
    let mut order: Vec<Who> = Vec::new();
    for row in rows {
        for w in [&row.left, &row.right] {
            if !order.contains(w) {
                order.push(w.clone());
            }
        }
    }
    let base = |w: &Who| -> (String, Option<String>) {
        let host = |ip: &IpAddr| given.get(&ip.to_string()).cloned();
        match w {
            Who::Sock(s) => {
                if let Some(n) = given.get(&s.to_string()) {
                    return (n.clone(), host(&s.ip()));
                }
                if let Some(r) = role.get(s) {
                    return (r.to_string(), host(&s.ip()));
                }
                match host(&s.ip()) {
                    Some(h) => (h, None),
                    None => (s.to_string(), None),
                }
            }
            Who::Ip(ip) => match host(ip) {
                Some(h) => (h, None),
                None => (ip.to_string(), None),
            },
            Who::Mac(_) => (w.to_string(), None),
        }
    };
    let mut labels = HashMap::new();
    let mut legend: Vec<(String, String)> = Vec::new();
    let mut used: HashMap<String, usize> = HashMap::new();
    for w in &order {
        let (name, host) = base(w);
        // A host is one name whatever its address (h1 has two); the ends
        // of connections are told apart by a number.
        let label = match w {
            Who::Sock(_) => {
                let n = used.entry(name.clone()).or_default();
                *n += 1;
                if *n == 1 {
                    name
                } else {
                    format!("{name} {n}")
                }
            }
            _ => name,
        };
        let address = match host {
            Some(h) if h != label => format!("{w} (host {h})"),
            _ => w.to_string(),
        };
        // A connection's ends are named where it starts (several
        // connections), or in the legend (one).
        let in_separator = tcp.len() > 1 && matches!(w, Who::Sock(s) if role.contains_key(s));
        if label != w.to_string() && !in_separator {
            match legend.iter_mut().find(|(l, _)| *l == label) {
                Some((_, a)) => {
                    a.push_str(", ");
                    a.push_str(&address);
                }
                None => legend.push((label.clone(), address)),
            }
        }
        labels.insert(w.clone(), label);
    }
    Names { labels, legend }
}

/// One direction of a TCP connection: from, to.
type Direction = (SocketAddr, SocketAddr);

fn direction(s: &Segment) -> Direction {
    (
        SocketAddr::new(s.src, s.sport),
        SocketAddr::new(s.dst, s.dport),
    )
}

/// Relative sequence numbers: in each direction of each connection, the
/// first sequence number (the SYN's when captured) is 0. A listener's
/// address is the server end of several connections: each has its own.
fn seq_bases(segs: &[Segment]) -> HashMap<Direction, u32> {
    let mut bases = HashMap::new();
    for s in segs.iter().filter(|s| s.flags.syn) {
        bases.entry(direction(s)).or_insert(s.seq);
    }
    for s in segs {
        bases.entry(direction(s)).or_insert(s.seq);
    }
    bases
}

/// TTL or hop limit, and TOS or traffic class when it is not 0.
fn ip_fields(h: &IpHeader, always_ttl: bool) -> String {
    let mut out = String::new();
    let ttl_name = if h.version == 6 { "hop limit" } else { "ttl" };
    if always_ttl || h.ttl != 64 {
        let _ = write!(out, " {ttl_name} {}", h.ttl);
    }
    if h.tos != 0 {
        let tos_name = if h.version == 6 { "tclass" } else { "tos" };
        let _ = write!(out, " {tos_name} 0x{:02x}", h.tos);
    }
    out
}

/// IGMPv3 / MLDv2 record types (RFC 3376 4.2.12, RFC 3810 5.2.12): a join
/// is a change to exclude mode with no source, a leave a change to include.
fn record_text(t: u8) -> String {
    match t {
        1 => "record 1 (is include)".into(),
        2 => "record 2 (is exclude)".into(),
        3 => "record 3 (leave)".into(),
        4 => "record 4 (join)".into(),
        5 => "record 5 (allow sources)".into(),
        6 => "record 6 (block sources)".into(),
        t => format!("record {t}"),
    }
}

fn groups_text<G: std::fmt::Display>(groups: &[G], types: &[u8]) -> String {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| match types.get(i) {
            Some(t) => format!("{g} {}", record_text(*t)),
            None => g.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn icmp_name(v6: bool, kind: u8, code: u8) -> String {
    let name = match (v6, kind, code) {
        (false, 0, _) => "echo reply",
        (false, 3, 0) => "net unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, _) => "unreachable",
        (false, 5, _) => "redirect",
        (false, 8, _) => "echo request",
        (false, 11, _) => "time exceeded",
        (true, 1, 4) => "port unreachable",
        (true, 1, _) => "unreachable",
        (true, 2, _) => "packet too big",
        (true, 3, _) => "time exceeded",
        (true, 128, _) => "echo request",
        (true, 129, _) => "echo reply",
        (true, 133, _) => "router solicitation",
        (true, 134, _) => "router advertisement",
        (true, 135, _) => "neighbour solicitation",
        (true, 136, _) => "neighbour advertisement",
        (true, 137, _) => "redirect",
        _ => "",
    };
    if name.is_empty() {
        format!("type {kind} code {code}")
    } else {
        format!("{name} (type {kind} code {code})")
    }
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "TCP".into(),
        17 => "UDP".into(),
        1 => "ICMP".into(),
        58 => "ICMPv6".into(),
        p => format!("protocol {p}"),
    }
}

fn row(f: &Frame, bases: &HashMap<Direction, u32>, roles: &Roles) -> Row {
    let ip = f.ip();
    let fields = |always: bool| {
        ip.as_ref()
            .map(|h| ip_fields(h, always))
            .unwrap_or_default()
    };
    let dst_mac = f.data.get(0..6).unwrap_or(&[]);
    let mac = if dst_mac.iter().any(|b| *b != 0) {
        format!(" to {}", mac_text(dst_mac))
    } else {
        String::new()
    };
    let plain = |left: Who, right: Who, tag: &str, text: String| Row {
        left,
        right,
        rightwards: true,
        tag: tag.into(),
        text,
        conn: None,
    };
    // IGMP and MLD: the message, then the IP fields and the MAC.
    let membership = |src: IpAddr, dst: IpAddr, tag: &str, text: String| {
        plain(
            Who::Ip(src),
            Who::Ip(dst),
            tag,
            format!("{text}{}{mac}", fields(true)),
        )
    };
    match f.decode() {
        Packet::Tcp(s) => {
            let (src, dst) = (
                SocketAddr::new(s.src, s.sport),
                SocketAddr::new(s.dst, s.dport),
            );
            let (client, server) = roles
                .iter()
                .map(|(c, _)| *c)
                .find(|(a, b)| (*a, *b) == (src, dst) || (*a, *b) == (dst, src))
                .unwrap_or((src, dst));
            let rel = |n: u32, d: Direction| match bases.get(&d) {
                Some(b) => n.wrapping_sub(*b).to_string(),
                None => n.to_string(),
            };
            let mut text = format!("seq {}", rel(s.seq, (src, dst)));
            if s.flags.ack {
                let _ = write!(text, " ack {}", rel(s.ack, (dst, src)));
            }
            if s.payload > 0 {
                let _ = write!(text, " len {}", s.payload);
            }
            let _ = write!(text, " win {}", s.window);
            if let Some(m) = s.mss {
                let _ = write!(text, " mss {m}");
            }
            if let Some(w) = s.wscale {
                let _ = write!(text, " ws {w}");
            }
            if s.flags.urg {
                let _ = write!(text, " urg {}", s.urgent);
            }
            text.push_str(&fields(false));
            Row {
                left: Who::Sock(client),
                right: Who::Sock(server),
                rightwards: src == client,
                tag: s.flags.to_string(),
                text,
                conn: Some((client, server)),
            }
        }
        Packet::Udp(u) => plain(
            Who::Ip(u.src),
            Who::Ip(u.dst),
            "UDP",
            format!(
                "{} > {} len {}{}{mac}",
                u.sport,
                u.dport,
                u.payload,
                fields(true)
            ),
        ),
        Packet::Igmp(m) => {
            let kind = match m.kind {
                0x11 => "query",
                0x12 => "v1 report",
                0x16 => "v2 report",
                0x17 => "v2 leave",
                0x22 => "v3 report",
                _ => "message",
            };
            let groups = groups_text(&m.groups, &m.record_types);
            membership(
                m.src,
                m.dst,
                "IGMP",
                format!("{kind} 0x{:02x}: {groups}", m.kind),
            )
        }
        Packet::Mld(m) => {
            let kind = match m.kind {
                130 => "query",
                131 => "v1 report",
                132 => "v1 done",
                143 => "v2 report",
                _ => "message",
            };
            let groups = groups_text(&m.groups, &m.record_types);
            membership(m.src, m.dst, "MLD", format!("{kind} {}: {groups}", m.kind))
        }
        Packet::Icmp(m) => {
            let mut text = icmp_name(m.v6, m.kind, m.code);
            if let Some(mtu) = m.mtu {
                let _ = write!(text, " mtu {mtu}");
            }
            if let Some(q) = &m.quoted {
                let ends = match (q.sport, q.dport) {
                    (Some(sp), Some(dp)) => format!(
                        "{} > {}",
                        SocketAddr::new(q.src, sp),
                        SocketAddr::new(q.dst, dp)
                    ),
                    _ => format!("{} > {}", q.src, q.dst),
                };
                let _ = write!(text, ", quoting {} {ends}", proto_name(q.protocol));
            }
            text.push_str(&fields(true));
            plain(
                Who::Ip(m.src),
                Who::Ip(m.dst),
                if m.v6 { "ICMP6" } else { "ICMP" },
                text,
            )
        }
        Packet::Arp(a) => {
            let text = match a.op {
                1 => format!("who-has {} tell {}", a.target_ip, a.sender_ip),
                2 => format!("{} is-at {}", a.sender_ip, mac_text(&a.sender_mac)),
                op => format!("operation {op}"),
            };
            plain(
                Who::Ip(a.sender_ip.into()),
                Who::Ip(a.target_ip.into()),
                "ARP",
                text,
            )
        }
        Packet::Other => match ip {
            Some(h) => plain(
                Who::Ip(h.src),
                Who::Ip(h.dst),
                "IP",
                format!(
                    "{}, {} B{}",
                    proto_name(h.protocol),
                    h.total_len,
                    ip_fields(&h, true)
                ),
            ),
            None => {
                let ethertype = f
                    .data
                    .get(12..14)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .unwrap_or(0);
                let who = |b: Option<&[u8]>| {
                    Who::Mac(b.and_then(|m| m.try_into().ok()).unwrap_or([0; 6]))
                };
                plain(
                    who(f.data.get(6..12)),
                    who(f.data.get(0..6)),
                    "ETH",
                    format!("ethertype 0x{ethertype:04x}, {} B", f.len),
                )
            }
        },
    }
}

/// One thing on the time line.
enum Event<'a> {
    Frame(usize),
    Mark(&'a Mark),
}

/// The ladder of a case's frames (all of them, or a report's kept ones) and
/// syscall marks, at most `width` columns wide where the text can be wrapped.
/// Empty when nothing was captured.
pub fn render(r: &CaseResult, width: usize) -> String {
    if r.captured() == 0 {
        return String::new();
    }
    // A case process hands over every frame; a report, the kept ones.
    let (frames, gaps) = if r.frames_captured == 0 && r.frame_gaps.is_empty() {
        keep(&r.frames)
    } else {
        (r.frames.clone(), r.frame_gaps.clone())
    };
    let segs: Vec<Segment> = frames.iter().filter_map(Frame::segment).collect();
    let roles = tcp_roles(&segs);
    let bases = seq_bases(&segs);
    let rows: Vec<Row> = frames.iter().map(|f| row(f, &bases, &roles)).collect();
    let names = names(&rows, &roles, r);
    let label = |w: &Who| {
        names
            .labels
            .get(w)
            .cloned()
            .unwrap_or_else(|| w.to_string())
    };
    let lw = rows
        .iter()
        .map(|r| label(&r.left).chars().count())
        .max()
        .unwrap_or(0);
    let rw = rows
        .iter()
        .map(|r| label(&r.right).chars().count())
        .max()
        .unwrap_or(0);
    let ifaces: Vec<&str> = {
        let mut v: Vec<&str> = frames.iter().map(|f| f.iface.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };

    // Frames in capture order, each mark before the first frame after it.
    let mut marks: Vec<&Mark> = r.marks.iter().collect();
    marks.sort_by_key(|m| m.t_ns);
    let mut events = Vec::new();
    let mut mi = 0;
    for (i, f) in frames.iter().enumerate() {
        while mi < marks.len() && marks[mi].t_ns < f.t_ns {
            events.push(Event::Mark(marks[mi]));
            mi += 1;
        }
        events.push(Event::Frame(i));
    }
    events.extend(marks[mi..].iter().map(|m| Event::Mark(m)));
    let t0 = frames
        .iter()
        .map(|f| f.t_ns)
        .chain(marks.first().map(|m| m.t_ns))
        .min()
        .unwrap_or(0);

    let mut out = String::new();
    let shown = frames.len();
    let captured = r.captured();
    let count = if captured > shown {
        format!("{shown} of {captured} frames")
    } else {
        format!("{captured} frames")
    };
    let gapped: usize = gaps.iter().map(|g| g.count as usize).sum();
    let housekeeping = captured.saturating_sub(shown + gapped);
    let mut head = format!(
        "packet ladder: {count} captured on {}; time in ms since the first event",
        ifaces.join(", ")
    );
    if !segs.is_empty() {
        head.push_str("; seq and ack relative to each side's first");
    }
    if !r.marks.is_empty() {
        head.push_str("; * marks the case's own syscalls");
    }
    if housekeeping > 0 {
        let _ = write!(
            head,
            "; {housekeeping} IPv6 neighbour discovery and MLD frames the kernel sent for its own \
             addresses are left out (the pcap has them)"
        );
    }
    for l in wrap(&head, width) {
        let _ = writeln!(out, "{l}");
    }
    if !names.legend.is_empty() {
        let w = names
            .legend
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        for (l, a) in &names.legend {
            let _ = writeln!(out, "  {l:<w$}  {a}");
        }
    }
    let prefix = 10 + 2 + lw + 1 + ARROW + 1 + rw + 2;
    let text_width = width.saturating_sub(prefix).max(16);
    let connections = roles.len();
    let mut conn_seen: Vec<Conn> = Vec::new();
    // Frames are listed in capture order; kernel stamps taken on two CPUs can
    // disagree by a little, so the time shown never runs backwards.
    let mut shown_t = t0;
    for e in events {
        match e {
            Event::Mark(m) => {
                shown_t = shown_t.max(m.t_ns);
                let t = (shown_t - t0) as f64 / 1e6;
                let _ = writeln!(out, "{t:>10.3}  {:lw$} * {}", "", m.what);
            }
            Event::Frame(i) => {
                let row = &rows[i];
                if let Some(c) = row.conn {
                    if connections > 1 && !conn_seen.contains(&c) {
                        conn_seen.push(c);
                        let end = |a: SocketAddr| format!("{} {a}", label(&Who::Sock(a)));
                        let sep = format!(
                            "-- connection {}: {} > {}",
                            conn_seen.len(),
                            end(c.0),
                            end(c.1)
                        );
                        for l in wrap(&sep, width.saturating_sub(12).max(30)) {
                            let _ = writeln!(out, "{:>10}  {l}", "");
                        }
                    }
                }
                shown_t = shown_t.max(frames[i].t_ns);
                let t = (shown_t - t0) as f64 / 1e6;
                let inner = format!(" {} ", row.tag);
                let arrow = if row.rightwards {
                    format!("|--{inner:-<w$}>|", w = ARROW - 5)
                } else {
                    format!("|<{inner:->w$}--|", w = ARROW - 5)
                };
                let mut text = row.text.clone();
                if ifaces.len() > 1 {
                    let _ = write!(text, " on {}", frames[i].iface);
                }
                let lines = wrap(&text, text_width);
                let _ = writeln!(
                    out,
                    "{t:>10.3}  {:>lw$} {arrow} {:<rw$}  {}",
                    label(&row.left),
                    label(&row.right),
                    lines[0]
                );
                for l in &lines[1..] {
                    let _ = writeln!(out, "{:prefix$}{l}", "");
                }
                for g in gaps.iter().filter(|g| g.after as usize == i) {
                    let _ = writeln!(
                        out,
                        "{:>10}  ... {} more frames between {} and {} not shown ...",
                        "",
                        g.count,
                        label(&row.left),
                        label(&row.right)
                    );
                }
            }
        }
    }
    out
}

/// What a report keeps of a case's capture: the frames the ladder shows,
/// headers only, and where the others were.
pub fn for_report(r: &mut CaseResult) {
    if r.frames.is_empty() || r.frames_captured != 0 {
        return;
    }
    let captured = r.frames.len();
    let (kept, gaps) = keep(&r.frames);
    r.frames = kept;
    r.frame_gaps = gaps;
    r.frames_captured = captured as u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Outcome};
    use etherparse::{IpNumber, PacketBuilder, TcpOptionElement};
    use pretty_assertions::assert_eq;

    const MS: i64 = 1_000_000;
    const T0: i64 = 1_700_000_000_000_000_000;
    const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
    const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);
    const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0x0b];

    fn frame(t_ms: f64, data: Vec<u8>) -> Frame {
        Frame {
            t_ns: T0 + (t_ms * MS as f64) as i64,
            len: data.len() as u32,
            iface: "veth-a".into(),
            data,
        }
    }

    /// A TCP segment `from` -> `to`: flags "S", "S.", ".", "P.", "F.", "R.".
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        t_ms: f64,
        from: ([u8; 4], u16),
        to: ([u8; 4], u16),
        flags: &str,
        seq: u32,
        ack: u32,
        payload: usize,
    ) -> Frame {
        let mut b = PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv4(from.0, to.0, 64)
            .tcp(from.1, to.1, seq, 512);
        if flags.contains('S') {
            b = b
                .syn()
                .options(&[
                    TcpOptionElement::MaximumSegmentSize(1460),
                    TcpOptionElement::Noop,
                    TcpOptionElement::WindowScale(7),
                ])
                .expect("options");
        }
        if flags.contains('.') {
            b = b.ack(ack);
        }
        if flags.contains('P') {
            b = b.psh();
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('R') {
            b = b.rst();
        }
        let mut out = Vec::new();
        b.write(&mut out, &vec![b'x'; payload]).expect("tcp frame");
        frame(t_ms, out)
    }

    fn result(frames: Vec<Frame>, marks: Vec<(f64, &str)>) -> CaseResult {
        let mut r = CaseResult::without_evidence(
            &crate::cases::linger::ZERO_RST,
            Outcome::Pass,
            String::new(),
            Default::default(),
        );
        r.frames = frames;
        r.marks = marks
            .into_iter()
            .map(|(t, what)| Mark {
                t_ns: T0 + (t * MS as f64) as i64,
                what: what.into(),
            })
            .collect();
        r
    }

    /// A client connects, sends 100 bytes, closes with an RST.
    fn exchange(base: u32) -> Vec<Frame> {
        let (c, s) = (1000 + base, 5000 + base);
        vec![
            tcp(0.0, CLIENT, SERVER, "S", c, 0, 0),
            tcp(0.05, SERVER, CLIENT, "S.", s, c + 1, 0),
            tcp(0.1, CLIENT, SERVER, ".", c + 1, s + 1, 0),
            tcp(1.5, CLIENT, SERVER, "P.", c + 1, s + 1, 100),
            tcp(41.5, SERVER, CLIENT, ".", s + 1, c + 101, 0),
            tcp(1250.25, CLIENT, SERVER, "R.", c + 101, s + 1, 0),
        ]
    }

    #[test]
    fn a_connection_reads_like_tcpdump_with_roles_relative_numbers_and_syscalls() {
        let r = result(
            exchange(0),
            vec![
                (1249.0, "close() called"),
                (1251.0, "close() returned 0 after 2 ms"),
            ],
        );
        let expected = "\
packet ladder: 6 frames captured on veth-a; time in ms since the first event; seq and ack relative to each side's first; * marks the case's own syscalls
  client  10.0.0.1:40000
  server  10.0.0.2:80
     0.000  client |-- S ---->| server  seq 0 win 512 mss 1460 ws 7
     0.050  client |<--- S. --| server  seq 0 ack 1 win 512 mss 1460 ws 7
     0.100  client |-- . ---->| server  seq 1 ack 1 win 512
     1.500  client |-- P. --->| server  seq 1 ack 1 len 100 win 512
    41.500  client |<---- . --| server  seq 1 ack 101 win 512
  1249.000         * close() called
  1250.250  client |-- R. --->| server  seq 101 ack 1 win 512
  1251.000         * close() returned 0 after 2 ms
";
        assert_eq!(expected, render(&r, 200));
    }

    /// The arrows stay in their column whatever the time: a long case's
    /// seconds do not push them right.
    #[test]
    fn the_columns_hold_at_any_time_offset() {
        let mut frames = exchange(0);
        frames[5].t_ns = T0 + 98_765 * MS;
        let ladder = render(&result(frames, vec![]), 200);
        let columns: Vec<usize> = ladder.lines().filter_map(|l| l.find('|')).collect();
        assert_eq!(vec![columns[0]; 6], columns, "{ladder}");
        assert!(ladder.contains(" 98765.000  client |-- R. "), "{ladder}");
    }

    #[test]
    fn connections_are_apart_and_numbered_each_from_its_own_start() {
        let mut frames = exchange(0);
        let other: ([u8; 4], u16) = ([10, 0, 0, 1], 40001);
        for mut f in exchange(7777) {
            // The same server, another client port, 2 s later.
            let d = &mut f.data;
            if d[34..36] == 40000u16.to_be_bytes() {
                d[34..36].copy_from_slice(&other.1.to_be_bytes());
            } else {
                d[36..38].copy_from_slice(&other.1.to_be_bytes());
            }
            f.t_ns += 2000 * MS;
            frames.push(f);
        }
        let ladder = render(&result(frames, vec![]), 200);
        assert!(
            ladder.contains("-- connection 1: client 10.0.0.1:40000 > server 10.0.0.2:80"),
            "{ladder}"
        );
        assert!(
            ladder.contains("-- connection 2: client 2 10.0.0.1:40001 > server 10.0.0.2:80"),
            "{ladder}"
        );
        // Relative to the second connection's own initial sequence numbers.
        assert!(
            ladder.contains("client 2 |<--- S. --| server  seq 0 ack 1 win 512"),
            "{ladder}"
        );
        assert!(
            ladder.contains("client 2 |-- R. --->| server  seq 101 ack 1"),
            "{ladder}"
        );
    }

    #[test]
    fn a_name_the_case_gave_wins_over_the_role() {
        let mut r = result(exchange(0), vec![]);
        r.endpoints = vec![Endpoint {
            address: "10.0.0.1:40000".into(),
            name: "closer".into(),
        }];
        let ladder = render(&r, 200);
        assert!(ladder.contains("  closer  10.0.0.1:40000\n"), "{ladder}");
        assert!(ladder.contains("closer |-- R. --->| server"), "{ladder}");
    }

    fn udp_multicast(t_ms: f64, ttl: u8, tos: u8) -> Frame {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(MAC_A, [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])
            .ipv4([198, 51, 100, 11], [239, 1, 2, 3], ttl)
            .udp(4000, 5000)
            .write(&mut out, b"hello")
            .expect("udp frame");
        out[15] = tos;
        frame(t_ms, out)
    }

    fn igmp_join(t_ms: f64) -> Frame {
        // IGMPv3 report: type 0x22, one record: change to exclude (4), no
        // source, group 239.1.2.3.
        let report = [0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 239, 1, 2, 3];
        let mut out = Vec::new();
        PacketBuilder::ethernet2(MAC_B, [0x01, 0x00, 0x5e, 0, 0, 0x16])
            .ipv4([198, 51, 100, 12], [224, 0, 0, 22], 1)
            .write(&mut out, IpNumber(2), &report)
            .expect("igmp frame");
        frame(t_ms, out)
    }

    fn arp(t_ms: f64) -> Frame {
        let mut d = vec![0xff; 6];
        d.extend(MAC_A);
        d.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        d.extend(MAC_A);
        d.extend([198, 51, 100, 11]);
        d.extend([0; 6]);
        d.extend([198, 51, 100, 12]);
        frame(t_ms, d)
    }

    #[test]
    fn frames_that_are_not_tcp_show_the_fields_cases_judge() {
        let mut r = result(
            vec![
                arp(0.0),
                igmp_join(0.5),
                udp_multicast(1.0, 1, 0),
                udp_multicast(2.0, 32, 0xb8),
            ],
            vec![],
        );
        r.endpoints = vec![
            Endpoint {
                address: "198.51.100.11".into(),
                name: "h1".into(),
            },
            Endpoint {
                address: "198.51.100.12".into(),
                name: "h2".into(),
            },
        ];
        let expected = "\
packet ladder: 4 frames captured on veth-a; time in ms since the first event
  h1  198.51.100.11
  h2  198.51.100.12
     0.000  h1 |-- ARP -->| h2          who-has 198.51.100.12 tell 198.51.100.11
     0.500  h2 |-- IGMP ->| 224.0.0.22  v3 report 0x22: 239.1.2.3 record 4 (join) ttl 1 to 01:00:5e:00:00:16
     1.000  h1 |-- UDP -->| 239.1.2.3   4000 > 5000 len 5 ttl 1 to 01:00:5e:01:02:03
     2.000  h1 |-- UDP -->| 239.1.2.3   4000 > 5000 len 5 ttl 32 tos 0xb8 to 01:00:5e:01:02:03
";
        assert_eq!(expected, render(&r, 200));
    }

    #[test]
    fn an_icmp_error_names_what_it_quotes() {
        let quoted = {
            let mut out = Vec::new();
            PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(4000, 5000)
                .write(&mut out, b"x")
                .expect("quoted");
            out
        };
        let mut out = Vec::new();
        PacketBuilder::ethernet2(MAC_B, MAC_A)
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut out, &quoted)
            .expect("icmp");
        let ladder = render(&result(vec![frame(0.0, out)], vec![]), 200);
        assert!(
            ladder.contains(
                "|-- ICMP ->| 10.0.0.1  port unreachable (type 3 code 3), quoting UDP \
                 10.0.0.1:4000 > 10.0.0.2:5000 ttl 64"
            ),
            "{ladder}"
        );
    }

    /// A bulk transfer: the report keeps the start and the end, and its
    /// ladder is the one a fresh run shows.
    #[test]
    fn a_long_capture_keeps_its_ends_and_a_report_draws_the_same_ladder() {
        let mut frames = exchange(0);
        let mut tail = frames.pop().expect("rst");
        // The RST after the bulk: seq 1101 + 500 * 1000.
        tail.data[38..42].copy_from_slice(&501_101u32.to_be_bytes());
        for i in 0..500u32 {
            let t = 42.0 + f64::from(i) * 0.01;
            frames.push(tcp(t, CLIENT, SERVER, ".", 1101 + i * 1000, 5001, 1000));
        }
        frames.push(tail);
        let live = result(frames.clone(), vec![]);
        let mut saved = live.clone();
        for_report(&mut saved);
        assert_eq!(BUDGET, saved.frames.len());
        assert_eq!(506, saved.frames_captured);
        assert_eq!(
            vec![FrameGap {
                after: (BUDGET - BUDGET / 3 - 1) as u32,
                count: (506 - BUDGET) as u32
            }],
            saved.frame_gaps
        );
        // Headers only: the payload is not kept.
        assert!(saved.frames.iter().all(|f| f.data.len() <= 14 + 20 + 28));
        let ladder = render(&live, 120);
        assert_eq!(ladder, render(&saved, 120));
        assert!(
            ladder.starts_with("packet ladder: 32 of 506 frames captured"),
            "{ladder}"
        );
        assert!(
            ladder.contains("... 474 more frames between client and server not shown ..."),
            "{ladder}"
        );
        assert!(
            ladder.contains("client |-- R. --->| server  seq 500101 ack 1"),
            "{ladder}"
        );
        // The saved report reads back as it was written.
        let text = serde_json::to_string(&saved).expect("json");
        let back: CaseResult = serde_json::from_str(&text).expect("read back");
        assert_eq!(ladder, render(&back, 120));
    }

    #[test]
    fn kernel_housekeeping_is_left_out_and_said_so() {
        let mut out = Vec::new();
        let solicited = [0xff02, 0, 0, 0, 0, 1, 0xff00, 0x000b];
        let group: std::net::Ipv6Addr = std::net::Ipv6Addr::from(solicited);
        // MLDv2 report (143) for the solicited-node group of the host's own address.
        let mut mld = vec![143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
        mld.extend(group.octets());
        PacketBuilder::ethernet2(MAC_A, [0x33, 0x33, 0, 0, 0, 0x16])
            .ipv6(
                [0; 16],
                "ff02::16"
                    .parse::<std::net::Ipv6Addr>()
                    .expect("ip")
                    .octets(),
                1,
            )
            .write(&mut out, IpNumber(58), &mld)
            .expect("mld");
        let r = result(vec![frame(0.0, out), udp_multicast(1.0, 1, 0)], vec![]);
        let ladder = render(&r, 300);
        assert!(ladder.contains("1 of 2 frames captured"), "{ladder}");
        assert!(
            ladder.contains("1 IPv6 neighbour discovery and MLD frames the kernel sent for its own addresses are left out"),
            "{ladder}"
        );
        assert!(!ladder.contains("|-- MLD"), "{ladder}");
    }

    /// Two captures (two interfaces) hand over their frames one after the
    /// other; the ladder puts them on one time line.
    #[test]
    fn frames_of_two_captures_are_merged_in_time() {
        let mut late = udp_multicast(5.0, 1, 0);
        late.iface = "eth1".into();
        let mut early = udp_multicast(1.0, 2, 0);
        early.iface = "eth0".into();
        let ladder = render(&result(vec![late, early], vec![]), 200);
        let rows: Vec<&str> = ladder.lines().filter(|l| l.contains("UDP")).collect();
        assert!(
            rows[0].contains("0.000") && rows[0].ends_with("on eth0"),
            "{ladder}"
        );
        assert!(
            rows[1].contains("4.000") && rows[1].ends_with("on eth1"),
            "{ladder}"
        );
    }

    #[test]
    fn a_narrow_ladder_wraps_its_text_under_itself() {
        let ladder = render(&result(exchange(0), vec![]), 60);
        for l in ladder.lines() {
            assert!(l.chars().count() <= 60, "{l:?} is wider than 60");
        }
        // Wrapped text stays in its column, under the first line's.
        let column = ladder.find("seq 0 win").expect("the SYN")
            - ladder[..ladder.find("seq 0 win").expect("SYN")]
                .rfind('\n')
                .map_or(0, |n| n + 1);
        assert!(
            ladder.contains(&format!("\n{:column$}1460 ws 7\n", "")),
            "{ladder}"
        );
    }
}
