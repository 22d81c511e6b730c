//! What the man pages say about choosing a socket's local address and port:
//! IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_LOCAL_PORT_RANGE,
//! IPV6_ADDRFORM and IPV6_V6ONLY. Each case binds or connects on `lo` of its
//! own namespace and reads back what the kernel chose (getsockname, errno,
//! SO_DOMAIN, what a listener accepted).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::caps::{self, CAP_NET_ADMIN, CAP_NET_RAW};
use crate::lab::netlink::Netlink;
use crate::lab::opt;
use crate::lab::sock::{peer_addr, result_name};
use crate::lab::{procnet, wait, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &FREEBIND,
    &TRANSPARENT,
    &NO_PORT,
    &PORT_RANGE,
    &ADDRFORM,
    &V6ONLY_DEFAULT,
    &V6ONLY_SET,
];

pub static FREEBIND: Case = Case {
    id: "ip_freebind.nonlocal_bind",
    source: Source::ManPage("man-pages 6.20 IP_FREEBIND(2const)"),
    claim: "the option lets a socket bind to an address that is not local or does not exist yet, so a \
            server can listen before its address is configured",
    expectation: "without it bind() to 192.0.2.1 (not on any interface) fails with EADDRNOTAVAIL; with it \
                  bind() succeeds and getsockname shows 192.0.2.1; once the address is added to lo, a \
                  connect() to it reaches the listener",
    run: &Measure(freebind),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_FREEBIND],
};

pub static TRANSPARENT: Case = Case {
    id: "ip_transparent.privilege_and_bind",
    source: Source::ManPage("man-pages 6.20 IP_TRANSPARENT(2const)"),
    claim: "enabling the option needs CAP_NET_ADMIN or CAP_NET_RAW, and lets the socket bind to a nonlocal \
            address",
    expectation: "a thread without CAP_NET_RAW and CAP_NET_ADMIN gets EPERM; CAP_NET_RAW alone or CAP_NET_ADMIN \
                  alone is enough (in the namespace's own user namespace, so rootless too); with it, \
                  bind() to 192.0.2.2 succeeds",
    run: &Measure(transparent),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_TRANSPARENT],
};

pub static NO_PORT: Case = Case {
    id: "ip_bind_address_no_port.port_at_connect",
    source: Source::ManPage("man-pages 6.20 IP_BIND_ADDRESS_NO_PORT(2const)"),
    claim: "bind() with port 0 reserves no ephemeral port; connect() chooses it later, and two sockets may \
            share a source port as long as their 4-tuples differ",
    expectation: "with the namespace's ephemeral range cut to the single port 40000, two sockets bound \
                  to 127.0.0.1:0 both show port 0 until connect(); then both connect, to two different \
                  listeners, from the same port 40000",
    run: &Measure(no_port),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_BIND_ADDRESS_NO_PORT],
};

pub static PORT_RANGE: Case = Case {
    id: "ip_local_port_range.per_socket",
    source: Source::ManPage("man-pages 6.20 IP_LOCAL_PORT_RANGE(2const)"),
    claim: "a per-socket range (lower bound in the low 16 bits, upper in the high 16) clamps the ports \
            bind(port 0) and connect() choose; the lower bound must be less than the upper when both \
            are nonzero, or setting fails with EINVAL",
    expectation: "ports chosen by bind(0) and connect() on sockets with 8-port ranges all fall inside \
                  them; lower > upper fails with EINVAL; lower == upper is accepted (the kernel only \
                  rejects lower > upper) and bind(0) then gets exactly that port",
    run: &Measure(port_range),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_LOCAL_PORT_RANGE],
};

pub static ADDRFORM: Case = Case {
    id: "ipv6_addrform.to_inet",
    source: Source::ManPage("man-pages 6.20 IPV6_ADDRFORM(2const)"),
    claim: "the option turns an AF_INET6 socket into an AF_INET one, allowed only for a socket connected \
            and bound to a v4-mapped address",
    expectation: "a UDP AF_INET6 socket connected to ::ffff:127.0.0.1 becomes AF_INET (SO_DOMAIN 10 -> 2, \
                  getsockname returns an IPv4 address); an unconnected socket gets ENOTCONN, one \
                  connected to ::1 gets EADDRNOTAVAIL",
    run: &Measure(addrform),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_ADDRFORM],
};

pub static V6ONLY_DEFAULT: Case = Case {
    id: "ipv6_v6only.default_dual_stack",
    source: Source::ManPage("man-pages 6.20 IPV6_V6ONLY(2const)"),
    claim: "the default comes from net.ipv6.bindv6only, itself 0 by default; with the flag off the socket \
            talks to IPv6 and IPv4-mapped addresses",
    expectation: "bindv6only is 0 in a new namespace, a new socket reads IPV6_V6ONLY 0, and a listener on \
                  [::] accepts a connection from 127.0.0.1, seen as ::ffff:127.0.0.1",
    run: &Measure(v6only_default),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static V6ONLY_SET: Case = Case {
    id: "ipv6_v6only.refuses_v4",
    source: Source::ManPage("man-pages 6.20 IPV6_V6ONLY(2const)"),
    claim: "with the flag set the socket sends and receives IPv6 only, so an IPv4 and an IPv6 program can \
            bind the same port at the same time",
    expectation: "a v6-only listener on [::] is not reached from 127.0.0.1 (ECONNREFUSED); an IPv4 socket \
                  binds 0.0.0.0 on the same port; changing the flag after bind() fails with EINVAL",
    run: &Measure(v6only_set),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_V6ONLY],
};

/// TEST-NET-1 addresses (RFC 5737): never local unless a case adds them.
const FREE_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const TPROXY_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const FREE_PORT: u16 = 4242;

/// What a syscall returned, as a report shows it ("ok" or the errno name).
fn res(r: &io::Result<()>) -> String {
    result_name(r)
}

fn v4(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

/// A listener on 127.0.0.1 (or `addr`) with a backlog for a few connections.
fn listener(addr: SocketAddr) -> Result<Sock> {
    let fam = Family::of(&addr.ip());
    let l = Sock::tcp(fam)?;
    l.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .context("SO_REUSEADDR on a listener")?;
    l.bind(addr)
        .with_context(|| format!("bind listener {addr}"))?;
    l.listen(16).context("listen")?;
    Ok(l)
}

/// Accepts one connection if one is (or within a second becomes) pending.
fn accept_one(l: &Sock) -> Result<Option<Sock>> {
    use std::os::fd::AsRawFd;
    if !wait::readable(l.as_raw_fd(), Duration::from_secs(1))? {
        return Ok(None);
    }
    Ok(Some(l.accept().context("accept")?))
}

// ---------------------------------------------------------------- IP_FREEBIND

/// bind() to an address the namespace does not have, without and with
/// IP_FREEBIND, and whether the bound listener works once the address exists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Freebind {
    /// bind() to 192.0.2.1:4242 on a plain socket.
    pub bind_plain: String,
    /// The same bind() on a socket with IP_FREEBIND 1.
    pub bind_freebind: String,
    /// getsockname of the IP_FREEBIND socket.
    pub bound_to: Option<SocketAddr>,
    /// connect() to 192.0.2.1:4242 after the address was added to lo.
    pub connect_after_add: String,
    /// Whether the IP_FREEBIND listener accepted that connection.
    pub accepted: bool,
}

fn freebind(_lab: &mut Lab) -> Result<Freebind> {
    let addr = v4(FREE_ADDR, FREE_PORT);
    let plain = Sock::tcp(Family::V4)?;
    let bind_plain = res(&plain.bind(addr));
    let s = Sock::tcp(Family::V4)?;
    s.set_int(libc::IPPROTO_IP, libc::IP_FREEBIND, 1)
        .context("IP_FREEBIND 1")?;
    let bind_freebind = res(&s.bind(addr));
    let bound_to = s.local_addr().ok();
    let mut connect_after_add = "not tried".to_string();
    let mut accepted = false;
    if bind_freebind == "ok" {
        s.listen(4).context("listen on the freebound socket")?;
        Netlink::open()?.add_addr(1, IpAddr::V4(FREE_ADDR), 32)?;
        let c = Sock::tcp(Family::V4)?;
        connect_after_add = res(&c.connect(addr));
        accepted = accept_one(&s)?.is_some();
    }
    Ok(Freebind {
        bind_plain,
        bind_freebind,
        bound_to,
        connect_after_add,
        accepted,
    })
}

impl Observation for Freebind {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let addr = v4(FREE_ADDR, FREE_PORT);
        j.expect_eq(
            "bind() to a nonlocal address without the option",
            "EADDRNOTAVAIL",
            self.bind_plain.as_str(),
        );
        j.expect_eq("bind() with IP_FREEBIND", "ok", self.bind_freebind.as_str());
        j.expect_eq("getsockname", &Some(addr), &self.bound_to);
        j.expect_eq(
            "connect() once the address exists",
            "ok",
            self.connect_after_add.as_str(),
        );
        j.expect_eq("the listener accepts it", &true, &self.accepted);
        let bound = self.bind_freebind == "ok";
        let verdict = match (bound, self.accepted) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "bind() to {addr}: {} without the option, {} with it (getsockname {}); after adding the \
                 address, connect() {} and the listener accepted: {}",
                self.bind_plain,
                self.bind_freebind,
                self.bound_to.show(),
                self.connect_after_add,
                self.accepted
            ),
        );
        j.key(format!(
            "bind nonlocal: {} plain, {} freebind",
            self.bind_plain, self.bind_freebind
        ));
        j
    }
}

// ------------------------------------------------------------- IP_TRANSPARENT

/// setsockopt(IP_TRANSPARENT, 1) from threads holding different effective
/// capabilities, and a nonlocal bind with the option on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transparent {
    /// With no effective capability.
    pub set_no_caps: String,
    /// With CAP_NET_RAW only.
    pub set_net_raw: String,
    /// With CAP_NET_ADMIN only.
    pub set_net_admin: String,
    /// bind() to 192.0.2.2:4242 on the socket that got the option.
    pub bind_nonlocal: String,
    pub bound_to: Option<SocketAddr>,
}

/// Enables IP_TRANSPARENT on `s` with `lowered` taken out of this thread's
/// effective capabilities (the kernel asks for CAP_NET_RAW or CAP_NET_ADMIN).
fn set_transparent_without(s: &Sock, lowered: &[u32]) -> Result<String> {
    caps::without(lowered, || {
        res(&s.set_int(libc::IPPROTO_IP, libc::IP_TRANSPARENT, 1))
    })
}

fn transparent(_lab: &mut Lab) -> Result<Transparent> {
    let none = Sock::tcp(Family::V4)?;
    let set_no_caps = set_transparent_without(&none, &[CAP_NET_RAW, CAP_NET_ADMIN])?;
    let raw = Sock::tcp(Family::V4)?;
    let set_net_raw = set_transparent_without(&raw, &[CAP_NET_ADMIN])?;
    let admin = Sock::tcp(Family::V4)?;
    let set_net_admin = set_transparent_without(&admin, &[CAP_NET_RAW])?;
    let bind_nonlocal = res(&raw.bind(v4(TPROXY_ADDR, FREE_PORT)));
    Ok(Transparent {
        set_no_caps,
        set_net_raw,
        set_net_admin,
        bind_nonlocal,
        bound_to: raw.local_addr().ok(),
    })
}

impl Observation for Transparent {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setting it without capabilities",
            "EPERM",
            self.set_no_caps.as_str(),
        );
        j.expect_eq(
            "setting it with CAP_NET_RAW only",
            "ok",
            self.set_net_raw.as_str(),
        );
        j.expect_eq(
            "setting it with CAP_NET_ADMIN only",
            "ok",
            self.set_net_admin.as_str(),
        );
        j.expect_eq(
            "bind() to a nonlocal address with it",
            "ok",
            self.bind_nonlocal.as_str(),
        );
        j.expect_eq(
            "getsockname",
            &Some(v4(TPROXY_ADDR, FREE_PORT)),
            &self.bound_to,
        );
        let privileged = self.set_no_caps == "EPERM";
        let either_cap = self.set_net_raw == "ok" && self.set_net_admin == "ok";
        let binds = self.bind_nonlocal == "ok";
        let verdict = match (privileged, either_cap, binds) {
            (true, true, true) => Verdict::Holds,
            // A privilege rule other than "either capability".
            (true, false, true) => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "IP_TRANSPARENT 1: {} with no capability, {} with CAP_NET_RAW only, {} with CAP_NET_ADMIN \
                 only; bind() to {}: {}",
                self.set_no_caps,
                self.set_net_raw,
                self.set_net_admin,
                v4(TPROXY_ADDR, FREE_PORT),
                self.bind_nonlocal
            ),
        );
        j.key(format!(
            "no caps {}, NET_RAW {}, NET_ADMIN {}; nonlocal bind {}",
            self.set_no_caps, self.set_net_raw, self.set_net_admin, self.bind_nonlocal
        ));
        j
    }
}

// ---------------------------------------------------- IP_BIND_ADDRESS_NO_PORT

/// The single ephemeral port the no-port case leaves the namespace.
const ONLY_PORT: u16 = 40_000;

/// Two sockets bound to 127.0.0.1:0 with IP_BIND_ADDRESS_NO_PORT, in a
/// namespace whose ephemeral range is one port, each connecting to its own
/// listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoPort {
    /// bind(127.0.0.1:0) of each socket.
    pub binds: Vec<String>,
    /// getsockname's port right after each bind.
    pub ports_after_bind: Vec<Option<u16>>,
    /// connect() of each to its listener.
    pub connects: Vec<String>,
    /// getsockname's port after each connect.
    pub ports_after_connect: Vec<Option<u16>>,
}

fn no_port(_lab: &mut Lab) -> Result<NoPort> {
    procnet::set_sysctl(
        "net/ipv4/ip_local_port_range",
        &format!("{ONLY_PORT} {ONLY_PORT}"),
    )?;
    let lo = Ipv4Addr::LOCALHOST;
    let listeners = [listener(v4(lo, 5001))?, listener(v4(lo, 5002))?];
    let mut o = NoPort {
        binds: vec![],
        ports_after_bind: vec![],
        connects: vec![],
        ports_after_connect: vec![],
    };
    let mut socks = vec![];
    for l in &listeners {
        let s = Sock::tcp(Family::V4)?;
        s.set_int(libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)
            .context("IP_BIND_ADDRESS_NO_PORT 1")?;
        o.binds.push(res(&s.bind(v4(lo, 0))));
        o.ports_after_bind
            .push(s.local_addr().ok().map(|a| a.port()));
        socks.push((s, l.local_addr()?));
    }
    for (s, dst) in &socks {
        o.connects.push(res(&s.connect(*dst)));
        o.ports_after_connect
            .push(s.local_addr().ok().map(|a| a.port()));
    }
    Ok(o)
}

impl Observation for NoPort {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "bind(127.0.0.1:0) of both",
            &vec!["ok".to_string(); 2],
            &self.binds,
        );
        j.expect_eq(
            "port after bind",
            &vec![Some(0u16); 2],
            &self.ports_after_bind,
        );
        j.expect_eq(
            "connect() of both",
            &vec!["ok".to_string(); 2],
            &self.connects,
        );
        j.expect_eq(
            "port after connect",
            &vec![Some(ONLY_PORT); 2],
            &self.ports_after_connect,
        );
        let deferred = self.ports_after_bind.iter().all(|p| *p == Some(0));
        let shared = self.connects.iter().all(|c| c == "ok")
            && self.ports_after_connect.len() == 2
            && self.ports_after_connect[0] == self.ports_after_connect[1]
            && self.ports_after_connect[0].is_some_and(|p| p != 0);
        let verdict = match (deferred, shared) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "ephemeral range {ONLY_PORT}..{ONLY_PORT}: bind(0) {} left ports {}; connect() to two \
                 listeners {} from ports {}",
                self.binds.show(),
                self.ports_after_bind.show(),
                self.connects.show(),
                self.ports_after_connect.show()
            ),
        );
        j.key(format!(
            "ports after bind {}, after connect {}",
            self.ports_after_bind.show(),
            self.ports_after_connect.show()
        ));
        j
    }
}

// -------------------------------------------------------- IP_LOCAL_PORT_RANGE

/// The option's value: lower bound in the low 16 bits, upper in the high 16.
fn packed(lo: u16, hi: u16) -> i32 {
    ((hi as u32) << 16 | lo as u32) as i32
}

const BIND_RANGE: (u16, u16) = (50_000, 50_007);
const CONNECT_RANGE: (u16, u16) = (50_100, 50_107);
const EQUAL_PORT: u16 = 50_200;
/// How many sockets bind and how many connect.
const SOCKETS: usize = 3;

/// Ports chosen under per-socket ranges, and the answers to a range whose
/// bounds are equal and to one whose bounds are inverted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortRange {
    /// The namespace's ephemeral range (net.ipv4.ip_local_port_range).
    pub global: String,
    pub bind_range: (u16, u16),
    /// Ports bind(127.0.0.1:0) chose, one per socket.
    pub bind_ports: Vec<u16>,
    pub connect_range: (u16, u16),
    /// Ports connect() chose, one per socket.
    pub connect_ports: Vec<u16>,
    /// setsockopt with lower == upper.
    pub set_equal: String,
    /// The port bind(0) chose under that range, when it was accepted.
    pub equal_port: Option<u16>,
    /// setsockopt with lower > upper.
    pub set_inverted: String,
}

fn with_range(lo: u16, hi: u16) -> Result<Sock> {
    let s = Sock::tcp(Family::V4)?;
    s.set_int(
        libc::IPPROTO_IP,
        opt::IP_LOCAL_PORT_RANGE.number,
        packed(lo, hi),
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ENOPROTOOPT) => anyhow::Error::from(Skip::missing(
            "IP_LOCAL_PORT_RANGE (Linux 6.3)",
            "ENOPROTOOPT",
        )),
        _ => anyhow::Error::from(e).context(format!("IP_LOCAL_PORT_RANGE {lo}..{hi}")),
    })?;
    Ok(s)
}

fn port_range(_lab: &mut Lab) -> Result<PortRange> {
    let global = procnet::sysctl("net/ipv4/ip_local_port_range")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("..");
    let lo = Ipv4Addr::LOCALHOST;
    let mut keep = vec![];
    let mut bind_ports = vec![];
    for _ in 0..SOCKETS {
        let s = with_range(BIND_RANGE.0, BIND_RANGE.1)?;
        s.bind(v4(lo, 0))
            .context("bind(127.0.0.1:0) under a range")?;
        bind_ports.push(s.local_addr()?.port());
        keep.push(s);
    }
    let l = listener(v4(lo, 5003))?;
    let mut connect_ports = vec![];
    for _ in 0..SOCKETS {
        let s = with_range(CONNECT_RANGE.0, CONNECT_RANGE.1)?;
        s.connect(l.local_addr()?)
            .context("connect under a range")?;
        connect_ports.push(s.local_addr()?.port());
        keep.push(s);
    }
    let eq = Sock::tcp(Family::V4)?;
    let set = eq.set_int(
        libc::IPPROTO_IP,
        opt::IP_LOCAL_PORT_RANGE.number,
        packed(EQUAL_PORT, EQUAL_PORT),
    );
    let set_equal = res(&set);
    let equal_port = match set {
        Ok(()) => {
            eq.bind(v4(lo, 0)).context("bind(0) under an equal range")?;
            Some(eq.local_addr()?.port())
        }
        Err(_) => None,
    };
    let inv = Sock::tcp(Family::V4)?;
    let set_inverted = res(&inv.set_int(
        libc::IPPROTO_IP,
        opt::IP_LOCAL_PORT_RANGE.number,
        packed(EQUAL_PORT + 1, EQUAL_PORT),
    ));
    Ok(PortRange {
        global,
        bind_range: BIND_RANGE,
        bind_ports,
        connect_range: CONNECT_RANGE,
        connect_ports,
        set_equal,
        equal_port,
        set_inverted,
    })
}

fn all_within(ports: &[u16], (lo, hi): (u16, u16)) -> bool {
    !ports.is_empty() && ports.iter().all(|p| (lo..=hi).contains(p))
}

impl Observation for PortRange {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let range = |r: (u16, u16)| format!("{}..{}", r.0, r.1);
        let binds_in = all_within(&self.bind_ports, self.bind_range);
        let connects_in = all_within(&self.connect_ports, self.connect_range);
        j.expect(
            "bind(0) ports within the socket's range",
            binds_in,
            range(self.bind_range),
            self.bind_ports.show(),
        );
        j.expect(
            "connect() ports within the socket's range",
            connects_in,
            range(self.connect_range),
            self.connect_ports.show(),
        );
        j.expect_eq("lower > upper", "EINVAL", self.set_inverted.as_str());
        j.expect_eq("lower == upper", "ok", self.set_equal.as_str());
        j.expect_eq(
            "bind(0) under lower == upper",
            &Some(EQUAL_PORT),
            &self.equal_port,
        );
        let clamps = binds_in && connects_in && self.set_inverted == "EINVAL";
        let verdict = match (clamps, self.set_equal.as_str()) {
            (false, _) => Verdict::Refuted,
            (true, "EINVAL") => Verdict::Holds,
            // The page wants lower < upper; Linux takes lower == upper.
            (true, _) => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "global range {}; bind(0) under {} chose {}, connect() under {} chose {}; lower > upper: \
                 {}; lower == upper ({EQUAL_PORT}): {}, bind(0) then got {}",
                self.global,
                range(self.bind_range),
                self.bind_ports.show(),
                range(self.connect_range),
                self.connect_ports.show(),
                self.set_inverted,
                self.set_equal,
                self.equal_port.show()
            ),
        );
        j.key(format!(
            "ports {} and {} in range; equal bounds {}",
            self.bind_ports.show(),
            self.connect_ports.show(),
            self.set_equal
        ));
        j
    }
}

// -------------------------------------------------------------- IPV6_ADDRFORM

/// An AF_INET6 UDP socket turned into AF_INET, and the refusals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Addrform {
    /// SO_DOMAIN of the socket connected to ::ffff:127.0.0.1, before.
    pub domain_before: i32,
    /// setsockopt(IPV6_ADDRFORM, AF_INET) on it.
    pub set_mapped: String,
    /// SO_DOMAIN afterwards.
    pub domain_after: i32,
    /// getsockname afterwards.
    pub local_after: Option<SocketAddr>,
    /// The same on an unconnected AF_INET6 socket.
    pub set_unconnected: String,
    /// The same on a socket connected to ::1.
    pub set_native_v6: String,
}

fn set_addrform(s: &Sock) -> String {
    res(&s.set_int(libc::IPPROTO_IPV6, libc::IPV6_ADDRFORM, libc::AF_INET))
}

fn addrform(_lab: &mut Lab) -> Result<Addrform> {
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    let s = Sock::udp(Family::V6)?;
    s.connect(SocketAddr::new(IpAddr::V6(mapped), 5004))
        .context("connect to ::ffff:127.0.0.1")?;
    let domain_before = s
        .get_int(libc::SOL_SOCKET, libc::SO_DOMAIN)
        .context("SO_DOMAIN")?;
    let set_mapped = set_addrform(&s);
    let domain_after = s
        .get_int(libc::SOL_SOCKET, libc::SO_DOMAIN)
        .context("SO_DOMAIN")?;
    let local_after = s.local_addr().ok();
    let unconnected = Sock::udp(Family::V6)?;
    let native = Sock::udp(Family::V6)?;
    native
        .connect(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 5004))
        .context("connect to ::1")?;
    Ok(Addrform {
        domain_before,
        set_mapped,
        domain_after,
        local_after,
        set_unconnected: set_addrform(&unconnected),
        set_native_v6: set_addrform(&native),
    })
}

impl Observation for Addrform {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("SO_DOMAIN before", &libc::AF_INET6, &self.domain_before);
        j.expect_eq(
            "IPV6_ADDRFORM on a v4-mapped connected socket",
            "ok",
            self.set_mapped.as_str(),
        );
        j.expect_eq("SO_DOMAIN after", &libc::AF_INET, &self.domain_after);
        let v4_after = self.local_after.is_some_and(|a| a.is_ipv4());
        j.expect(
            "getsockname after",
            v4_after,
            "an IPv4 address",
            self.local_after.show(),
        );
        j.expect_eq(
            "on an unconnected socket",
            "ENOTCONN",
            self.set_unconnected.as_str(),
        );
        j.expect_eq(
            "on a socket connected to ::1",
            "EADDRNOTAVAIL",
            self.set_native_v6.as_str(),
        );
        let converted = self.domain_after == libc::AF_INET && v4_after;
        let refused = self.set_unconnected != "ok" && self.set_native_v6 != "ok";
        let verdict = match (converted, refused) {
            (true, true) => Verdict::Holds,
            // Converted, but also sockets the page says it refuses.
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "connected to ::ffff:127.0.0.1: {} and SO_DOMAIN {} -> {}, getsockname {}; unconnected: {}; \
                 connected to ::1: {}",
                self.set_mapped,
                self.domain_before,
                self.domain_after,
                self.local_after.show(),
                self.set_unconnected,
                self.set_native_v6
            ),
        );
        j.key(format!(
            "SO_DOMAIN {} -> {}; refusals {} and {}",
            self.domain_before, self.domain_after, self.set_unconnected, self.set_native_v6
        ));
        j
    }
}

// ---------------------------------------------------------------- IPV6_V6ONLY

/// A listener on [::] without touching IPV6_V6ONLY, reached from 127.0.0.1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V6onlyDefault {
    /// net.ipv6.bindv6only of the fresh namespace.
    pub bindv6only: i64,
    /// IPV6_V6ONLY of a new AF_INET6 socket.
    pub v6only: i32,
    /// connect() from an IPv4 socket to 127.0.0.1 on the listener's port.
    pub connect_v4: String,
    /// The peer the listener accepted, as an AF_INET6 address.
    pub accepted_peer: Option<SocketAddr>,
}

fn v6only_default(_lab: &mut Lab) -> Result<V6onlyDefault> {
    let bindv6only = procnet::sysctl_int("net/ipv6/bindv6only")?;
    let l = Sock::tcp(Family::V6)?;
    let v6only = l
        .get_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
        .context("IPV6_V6ONLY")?;
    l.bind(SocketAddr::new(Family::V6.any(), 0))
        .context("bind [::]:0")?;
    l.listen(4).context("listen")?;
    let port = l.local_addr()?.port();
    let c = Sock::tcp(Family::V4)?;
    let connect_v4 = res(&c.connect(v4(Ipv4Addr::LOCALHOST, port)));
    let accepted_peer = match accept_one(&l)? {
        Some(a) => Some(peer_addr(&a)?),
        None => None,
    };
    Ok(V6onlyDefault {
        bindv6only,
        v6only,
        connect_v4,
        accepted_peer,
    })
}

impl Observation for V6onlyDefault {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("net.ipv6.bindv6only", &0, &self.bindv6only);
        j.expect_eq("IPV6_V6ONLY of a new socket", &0, &self.v6only);
        j.expect_eq("connect() from 127.0.0.1", "ok", self.connect_v4.as_str());
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        j.expect_eq(
            "accepted peer address",
            &Some(mapped),
            &self.accepted_peer.map(|a| a.ip()),
        );
        let dual = self.connect_v4 == "ok" && self.accepted_peer.is_some();
        let verdict = match (self.bindv6only == 0 && self.v6only == 0, dual) {
            (true, true) => Verdict::Holds,
            // Default off, yet no IPv4 reached the socket.
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "bindv6only {}, a new socket's IPV6_V6ONLY {}; connect() from 127.0.0.1 to the [::] \
                 listener: {}, accepted peer {}",
                self.bindv6only,
                self.v6only,
                self.connect_v4,
                self.accepted_peer.show()
            ),
        );
        j.key(format!(
            "default {}; v4 connect {}",
            self.v6only, self.connect_v4
        ));
        j
    }
}

/// A v6-only listener on [::]: IPv4 reaches it or not, an IPv4 socket binds
/// the same port or not, and the flag changes after bind() or not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V6onlySet {
    /// connect() from 127.0.0.1 to the listener's port.
    pub connect_v4: String,
    /// bind() of an IPv4 socket to 0.0.0.0 on the same port.
    pub bind_v4_same_port: String,
    /// setsockopt(IPV6_V6ONLY, 0) on the bound listener.
    pub clear_after_bind: String,
}

fn v6only_set(_lab: &mut Lab) -> Result<V6onlySet> {
    let l = Sock::tcp(Family::V6)?;
    l.set_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)
        .context("IPV6_V6ONLY 1")?;
    l.bind(SocketAddr::new(Family::V6.any(), 0))
        .context("bind [::]:0")?;
    l.listen(4).context("listen")?;
    let port = l.local_addr()?.port();
    let c = Sock::tcp(Family::V4)?;
    let connect_v4 = res(&c.connect(v4(Ipv4Addr::LOCALHOST, port)));
    let s4 = Sock::tcp(Family::V4)?;
    let bind_v4_same_port = res(&s4.bind(v4(Ipv4Addr::UNSPECIFIED, port)));
    let clear_after_bind = res(&l.set_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0));
    Ok(V6onlySet {
        connect_v4,
        bind_v4_same_port,
        clear_after_bind,
    })
}

impl Observation for V6onlySet {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "connect() from 127.0.0.1",
            "ECONNREFUSED",
            self.connect_v4.as_str(),
        );
        j.expect_eq(
            "IPv4 bind() to the same port",
            "ok",
            self.bind_v4_same_port.as_str(),
        );
        j.expect_eq(
            "clearing the flag after bind()",
            "EINVAL",
            self.clear_after_bind.as_str(),
        );
        let v6_only = self.connect_v4 != "ok";
        let shares = self.bind_v4_same_port == "ok";
        let verdict = match (v6_only, shares) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "v6-only listener on [::]: connect() from 127.0.0.1 {}; IPv4 bind() of the same port {}; \
                 IPV6_V6ONLY 0 after bind() {}",
                self.connect_v4, self.bind_v4_same_port, self.clear_after_bind
            ),
        );
        j.key(format!(
            "v4 connect {}; v4 bind same port {}",
            self.connect_v4, self.bind_v4_same_port
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn verdict_and_failed(j: Judgement) -> (Option<Verdict>, Vec<String>) {
        (
            j.verdict,
            j.failed().iter().map(|f| f.to_string()).collect(),
        )
    }

    fn names(f: &[&str]) -> Vec<String> {
        f.iter().map(|x| x.to_string()).collect()
    }

    fn freebind_linux() -> Freebind {
        Freebind {
            bind_plain: s("EADDRNOTAVAIL"),
            bind_freebind: s("ok"),
            bound_to: Some(v4(FREE_ADDR, FREE_PORT)),
            connect_after_add: s("ok"),
            accepted: true,
        }
    }

    #[rstest]
    #[case::linux(freebind_linux(), Verdict::Holds, &[])]
    // A libc that drops the option: the bind fails like the plain one.
    #[case::ignored(Freebind { bind_freebind: s("EADDRNOTAVAIL"), bound_to: None,
        connect_after_add: s("not tried"), accepted: false, ..freebind_linux() }, Verdict::Refuted,
        &["bind() with IP_FREEBIND", "getsockname", "connect() once the address exists",
          "the listener accepts it"])]
    // ip_nonlocal_bind on: even the plain bind succeeds.
    #[case::nonlocal_bind_sysctl(Freebind { bind_plain: s("ok"), ..freebind_linux() }, Verdict::Holds,
        &["bind() to a nonlocal address without the option"])]
    #[case::bound_but_deaf(Freebind { connect_after_add: s("ECONNREFUSED"), accepted: false,
        ..freebind_linux() }, Verdict::Differs,
        &["connect() once the address exists", "the listener accepts it"])]
    #[case::other_address(Freebind { bound_to: Some(v4(FREE_ADDR, 1)), ..freebind_linux() },
        Verdict::Holds, &["getsockname"])]
    fn freebind_judgement(#[case] o: Freebind, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn freebind_words() {
        let j = freebind_linux().judge();
        assert_eq!("bind nonlocal: EADDRNOTAVAIL plain, ok freebind", j.key);
        assert_eq!(
            "bind() to 192.0.2.1:4242: EADDRNOTAVAIL without the option, ok with it (getsockname \
             192.0.2.1:4242); after adding the address, connect() ok and the listener accepted: true",
            j.because
        );
    }

    fn transparent_linux() -> Transparent {
        Transparent {
            set_no_caps: s("EPERM"),
            set_net_raw: s("ok"),
            set_net_admin: s("ok"),
            bind_nonlocal: s("ok"),
            bound_to: Some(v4(TPROXY_ADDR, FREE_PORT)),
        }
    }

    #[rstest]
    #[case::linux(transparent_linux(), Verdict::Holds, &[])]
    // A libc that drops the option: "succeeds" everywhere, the bind fails.
    #[case::ignored(Transparent { set_no_caps: s("ok"), bind_nonlocal: s("EADDRNOTAVAIL"),
        bound_to: None, ..transparent_linux() }, Verdict::Refuted,
        &["setting it without capabilities", "bind() to a nonlocal address with it", "getsockname"])]
    // Older kernels wanted CAP_NET_ADMIN alone.
    #[case::admin_only(Transparent { set_net_raw: s("EPERM"), ..transparent_linux() },
        Verdict::Differs, &["setting it with CAP_NET_RAW only"])]
    #[case::raw_only(Transparent { set_net_admin: s("EPERM"), ..transparent_linux() },
        Verdict::Differs, &["setting it with CAP_NET_ADMIN only"])]
    #[case::unprivileged(Transparent { set_no_caps: s("ok"), ..transparent_linux() },
        Verdict::Refuted, &["setting it without capabilities"])]
    #[case::other_address(Transparent { bound_to: Some(v4(FREE_ADDR, 1)), ..transparent_linux() },
        Verdict::Holds, &["getsockname"])]
    fn transparent_judgement(#[case] o: Transparent, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn transparent_words() {
        let j = transparent_linux().judge();
        assert_eq!(
            "no caps EPERM, NET_RAW ok, NET_ADMIN ok; nonlocal bind ok",
            j.key
        );
        assert_eq!(
            "IP_TRANSPARENT 1: EPERM with no capability, ok with CAP_NET_RAW only, ok with CAP_NET_ADMIN \
             only; bind() to 192.0.2.2:4242: ok",
            j.because
        );
    }

    fn no_port_linux() -> NoPort {
        NoPort {
            binds: vec![s("ok"); 2],
            ports_after_bind: vec![Some(0); 2],
            connects: vec![s("ok"); 2],
            ports_after_connect: vec![Some(ONLY_PORT); 2],
        }
    }

    #[rstest]
    #[case::linux(no_port_linux(), Verdict::Holds, &[])]
    // Option dropped: the first bind takes the only port, the second finds none.
    #[case::ignored(NoPort { binds: vec![s("ok"), s("EADDRINUSE")], ports_after_bind: vec![Some(ONLY_PORT),
        Some(0)], connects: vec![s("ok"), s("EADDRNOTAVAIL")], ports_after_connect: vec![Some(ONLY_PORT),
        Some(0)] }, Verdict::Refuted,
        &["bind(127.0.0.1:0) of both", "port after bind", "connect() of both", "port after connect"])]
    // Deferred, but connect() never shares a port.
    #[case::no_sharing(NoPort { connects: vec![s("ok"), s("EADDRNOTAVAIL")],
        ports_after_connect: vec![Some(ONLY_PORT), Some(0)], ..no_port_linux() }, Verdict::Differs,
        &["connect() of both", "port after connect"])]
    #[case::other_port(NoPort { ports_after_connect: vec![Some(40_001); 2], ..no_port_linux() },
        Verdict::Holds, &["port after connect"])]
    #[case::zero_after_connect(NoPort { ports_after_connect: vec![Some(0); 2], ..no_port_linux() },
        Verdict::Differs, &["port after connect"])]
    #[case::one_connect(NoPort { connects: vec![s("ok")], ports_after_connect: vec![Some(ONLY_PORT)],
        ..no_port_linux() }, Verdict::Differs, &["connect() of both", "port after connect"])]
    fn no_port_judgement(#[case] o: NoPort, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn no_port_words() {
        let j = no_port_linux().judge();
        assert_eq!(
            "ports after bind [0, 0], after connect [40000, 40000]",
            j.key
        );
        assert_eq!(
            "ephemeral range 40000..40000: bind(0) [ok, ok] left ports [0, 0]; connect() to two listeners \
             [ok, ok] from ports [40000, 40000]",
            j.because
        );
    }

    fn port_range_linux() -> PortRange {
        PortRange {
            global: s("32768..60999"),
            bind_range: BIND_RANGE,
            bind_ports: vec![50_001, 50_003, 50_005],
            connect_range: CONNECT_RANGE,
            connect_ports: vec![50_100, 50_102, 50_104],
            set_equal: s("ok"),
            equal_port: Some(EQUAL_PORT),
            set_inverted: s("EINVAL"),
        }
    }

    #[rstest]
    #[case::linux(port_range_linux(), Verdict::Differs, &[])]
    // The page's world: equal bounds refused too.
    #[case::page(PortRange { set_equal: s("EINVAL"), equal_port: None, ..port_range_linux() },
        Verdict::Holds, &["lower == upper", "bind(0) under lower == upper"])]
    // A libc that drops the option: ports from the global range.
    #[case::ignored(PortRange { bind_ports: vec![33_001, 40_011, 51_203], connect_ports: vec![34_000,
        41_002, 58_000], set_inverted: s("ok"), equal_port: Some(45_000), ..port_range_linux() },
        Verdict::Refuted, &["bind(0) ports within the socket's range",
        "connect() ports within the socket's range", "lower > upper", "bind(0) under lower == upper"])]
    #[case::bounds_inclusive(PortRange { bind_ports: vec![50_000, 50_007], connect_ports: vec![50_100,
        50_107], ..port_range_linux() }, Verdict::Differs, &[])]
    #[case::just_above(PortRange { bind_ports: vec![50_008], ..port_range_linux() },
        Verdict::Refuted, &["bind(0) ports within the socket's range"])]
    #[case::just_below(PortRange { connect_ports: vec![50_099], ..port_range_linux() },
        Verdict::Refuted, &["connect() ports within the socket's range"])]
    #[case::none_chosen(PortRange { bind_ports: vec![], ..port_range_linux() },
        Verdict::Refuted, &["bind(0) ports within the socket's range"])]
    #[case::inverted_accepted(PortRange { set_inverted: s("ok"), ..port_range_linux() },
        Verdict::Refuted, &["lower > upper"])]
    fn port_range_judgement(#[case] o: PortRange, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn port_range_words() {
        let j = port_range_linux().judge();
        assert_eq!(
            "ports [50001, 50003, 50005] and [50100, 50102, 50104] in range; equal bounds ok",
            j.key
        );
        assert_eq!(
            "global range 32768..60999; bind(0) under 50000..50007 chose [50001, 50003, 50005], connect() \
             under 50100..50107 chose [50100, 50102, 50104]; lower > upper: EINVAL; lower == upper \
             (50200): ok, bind(0) then got 50200",
            j.because
        );
        assert_eq!(0x0002_0001, packed(1, 2));
        assert_eq!(-1, packed(0xffff, 0xffff));
    }

    fn addrform_linux() -> Addrform {
        Addrform {
            domain_before: libc::AF_INET6,
            set_mapped: s("ok"),
            domain_after: libc::AF_INET,
            local_after: Some(v4(Ipv4Addr::LOCALHOST, 40_123)),
            set_unconnected: s("ENOTCONN"),
            set_native_v6: s("EADDRNOTAVAIL"),
        }
    }

    #[rstest]
    #[case::linux(addrform_linux(), Verdict::Holds, &[])]
    // A libc that drops the option: still AF_INET6.
    #[case::ignored(Addrform { domain_after: libc::AF_INET6, local_after: Some(SocketAddr::new(
        IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()), 40_123)), set_unconnected: s("ok"),
        set_native_v6: s("ok"), ..addrform_linux() }, Verdict::Refuted,
        &["SO_DOMAIN after", "getsockname after", "on an unconnected socket", "on a socket connected to ::1"])]
    // A kernel that removed the option.
    #[case::removed(Addrform { set_mapped: s("ENOPROTOOPT"), domain_after: libc::AF_INET6,
        local_after: None, set_unconnected: s("ENOPROTOOPT"), set_native_v6: s("ENOPROTOOPT"),
        ..addrform_linux() }, Verdict::Refuted,
        &["IPV6_ADDRFORM on a v4-mapped connected socket", "SO_DOMAIN after", "getsockname after",
          "on an unconnected socket", "on a socket connected to ::1"])]
    #[case::lax_native(Addrform { set_native_v6: s("ok"), ..addrform_linux() }, Verdict::Differs,
        &["on a socket connected to ::1"])]
    #[case::lax_unconnected(Addrform { set_unconnected: s("ok"), ..addrform_linux() },
        Verdict::Differs, &["on an unconnected socket"])]
    #[case::other_errno(Addrform { set_unconnected: s("EINVAL"), ..addrform_linux() },
        Verdict::Holds, &["on an unconnected socket"])]
    #[case::odd_before(Addrform { domain_before: libc::AF_INET, ..addrform_linux() },
        Verdict::Holds, &["SO_DOMAIN before"])]
    fn addrform_judgement(#[case] o: Addrform, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn addrform_words() {
        let j = addrform_linux().judge();
        assert_eq!(
            "SO_DOMAIN 10 -> 2; refusals ENOTCONN and EADDRNOTAVAIL",
            j.key
        );
        assert!(j.because.contains("getsockname 127.0.0.1:40123"));
    }

    fn default_linux() -> V6onlyDefault {
        V6onlyDefault {
            bindv6only: 0,
            v6only: 0,
            connect_v4: s("ok"),
            accepted_peer: Some(SocketAddr::new(
                IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
                45_678,
            )),
        }
    }

    #[rstest]
    #[case::linux(default_linux(), Verdict::Holds, &[])]
    // A distribution that sets bindv6only = 1.
    #[case::bindv6only_set(V6onlyDefault { bindv6only: 1, v6only: 1, connect_v4: s("ECONNREFUSED"),
        accepted_peer: None }, Verdict::Refuted,
        &["net.ipv6.bindv6only", "IPV6_V6ONLY of a new socket", "connect() from 127.0.0.1",
          "accepted peer address"])]
    #[case::off_but_unreached(V6onlyDefault { connect_v4: s("ECONNREFUSED"), accepted_peer: None,
        ..default_linux() }, Verdict::Differs, &["connect() from 127.0.0.1", "accepted peer address"])]
    #[case::not_accepted(V6onlyDefault { accepted_peer: None, ..default_linux() }, Verdict::Differs,
        &["accepted peer address"])]
    #[case::socket_default_on(V6onlyDefault { v6only: 1, ..default_linux() }, Verdict::Refuted,
        &["IPV6_V6ONLY of a new socket"])]
    fn default_judgement(#[case] o: V6onlyDefault, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn default_words() {
        let j = default_linux().judge();
        assert_eq!("default 0; v4 connect ok", j.key);
        assert!(j
            .because
            .ends_with("accepted peer [::ffff:127.0.0.1]:45678"));
    }

    fn set_linux() -> V6onlySet {
        V6onlySet {
            connect_v4: s("ECONNREFUSED"),
            bind_v4_same_port: s("ok"),
            clear_after_bind: s("EINVAL"),
        }
    }

    #[rstest]
    #[case::linux(set_linux(), Verdict::Holds, &[])]
    // A libc that drops the option: a dual-stack listener.
    #[case::ignored(V6onlySet { connect_v4: s("ok"), bind_v4_same_port: s("EADDRINUSE"),
        clear_after_bind: s("ok") }, Verdict::Refuted,
        &["connect() from 127.0.0.1", "IPv4 bind() to the same port", "clearing the flag after bind()"])]
    #[case::no_port_sharing(V6onlySet { bind_v4_same_port: s("EADDRINUSE"), ..set_linux() },
        Verdict::Differs, &["IPv4 bind() to the same port"])]
    #[case::changeable(V6onlySet { clear_after_bind: s("ok"), ..set_linux() }, Verdict::Holds,
        &["clearing the flag after bind()"])]
    #[case::timed_out(V6onlySet { connect_v4: s("ETIMEDOUT"), ..set_linux() }, Verdict::Holds,
        &["connect() from 127.0.0.1"])]
    fn set_judgement(#[case] o: V6onlySet, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), names(failed)), verdict_and_failed(o.judge()));
    }

    #[test]
    fn set_words() {
        let j = set_linux().judge();
        assert_eq!("v4 connect ECONNREFUSED; v4 bind same port ok", j.key);
    }
}
