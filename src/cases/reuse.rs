//! SO_REUSEADDR and port reuse (004 §5.2).
//!
//! Each case binds sockets next to a port some other socket still holds (a
//! TIME_WAIT entry, a child's accepted connection, a listener on another
//! address, a twin socket) and records what bind(), listen() and the clients
//! got: "ok" or the errno name, as `result_name` writes them.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::{Deserialize, Serialize};

use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::procnet;
use crate::lab::sock::{peer_addr, result_name};
use crate::lab::topo::Link;
use crate::lab::{diag, phase, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &TIME_WAIT_REBIND,
    &TIME_WAIT_REBIND_V6,
    &BEFORE_BIND,
    &CHILD_SERVER_RESTART,
    &MULTIHOMED,
    &MULTIHOMED_V6,
    &TCP_DUPLICATE,
    &TCP_DUPLICATE_V6,
    &UDP_DUPLICATE,
];

pub static TIME_WAIT_REBIND: Case = Case {
    id: "reuseaddr.time_wait_rebind",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a server restarted while its old connection sits in TIME_WAIT gets \"address in use\" unless \
            SO_REUSEADDR is set before bind()",
    expectation: "while the server port has a TIME_WAIT entry, bind() fails with EADDRINUSE without \
                  SO_REUSEADDR and succeeds with it, provided the socket now in TIME_WAIT had SO_REUSEADDR \
                  as well (otherwise EADDRINUSE either way); the rebound socket listens and accepts",
    run: &Measure(|lab| time_wait_rebind(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR],
};

pub static TIME_WAIT_REBIND_V6: Case = Case {
    id: "reuseaddr.time_wait_rebind@v6",
    run: &Measure(|lab| time_wait_rebind(lab, Family::V6)),
    ..TIME_WAIT_REBIND
};

pub static BEFORE_BIND: Case = Case {
    id: "reuseaddr.before_bind",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "SO_REUSEADDR must be set before bind()",
    expectation: "the option is read when bind() runs: a bind refused with EADDRINUSE (port in TIME_WAIT) \
                  stays refused, setting the option afterwards and binding again succeeds; and an option set \
                  on an already bound UDP socket does count for later binds of other sockets",
    run: &Measure(before_bind),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR],
};

pub static CHILD_SERVER_RESTART: Case = Case {
    id: "reuseaddr.child_server_restart",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a server restarted while a child still holds an accepted connection gets \"address in use\" \
            without SO_REUSEADDR",
    expectation: "with the listener closed and the accepted connection alive, a new bind on the port fails \
                  with EADDRINUSE without SO_REUSEADDR and succeeds with it when the old listener had it too; \
                  the restarted server accepts while the child's connection still works",
    run: &Measure(child_server_restart),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR],
};

pub static MULTIHOMED: Case = Case {
    id: "reuseaddr.multihomed",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a host with several addresses may bind the same port on each of them",
    expectation: "the same port on two specific addresses binds and listens without any option; a specific \
                  address next to a listening wildcard is EADDRINUSE with or without SO_REUSEADDR (Linux \
                  refuses a bind that overlaps a listener); with SO_REUSEADDR on both and neither listening \
                  both bind, but the second listen() fails",
    run: &Measure(|lab| multihomed(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static MULTIHOMED_V6: Case = Case {
    id: "reuseaddr.multihomed@v6",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a host with several addresses may bind the same port on each of them (IPv6, dual stack)",
    expectation: "as for IPv4 on two IPv6 addresses; and an AF_INET6 wildcard with IPV6_V6ONLY=0 (the default \
                  when net.ipv6.bindv6only=0) also holds the IPv4 port: an AF_INET bind of it is EADDRINUSE \
                  and IPv4 clients reach the IPv6 socket as ::ffff:a.b.c.d; with IPV6_V6ONLY=1 both bind",
    run: &Measure(|lab| multihomed(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_V6ONLY],
};

pub static TCP_DUPLICATE: Case = Case {
    id: "reuseaddr.tcp_duplicate",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a complete duplicate binding (same address and port) is possible only for UDP",
    expectation: "two TCP sockets with SO_REUSEADDR both bind the same address and port while neither \
                  listens, but the second listen() fails with EADDRINUSE; SO_REUSEPORT on both lets both \
                  listen, and the kernel spreads new connections over them",
    run: &Measure(|lab| tcp_duplicate(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR, opt::SO_REUSEPORT],
};

pub static TCP_DUPLICATE_V6: Case = Case {
    id: "reuseaddr.tcp_duplicate@v6",
    run: &Measure(|lab| tcp_duplicate(lab, Family::V6)),
    ..TCP_DUPLICATE
};

pub static UDP_DUPLICATE: Case = Case {
    id: "reuseaddr.udp_duplicate",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "two UDP sockets may bind the same address and port with SO_REUSEADDR (e.g. several multicast \
            receivers on one host)",
    expectation: "both binds succeed; a multicast datagram is delivered to both sockets, a unicast datagram \
                  to only one of them",
    run: &Measure(udp_duplicate),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP, opt::SO_REUSEADDR],
};

/// A syscall that succeeded, as `result_name` writes it.
const OK: &str = "ok";
const EADDRINUSE: &str = "EADDRINUSE";
const TIME_WAIT: &str = "TIME_WAIT";

fn reuse(s: &Sock) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .context("SO_REUSEADDR")
}

/// A server's connection left in TIME_WAIT, by its two addresses.
pub struct TimeWait {
    pub server: SocketAddr,
    pub client: SocketAddr,
}

impl TimeWait {
    /// The kernel's state of the old connection (TIME_WAIT while it waits
    /// out 2 MSL), none once the entry is gone.
    pub fn state(&self) -> Result<Option<String>> {
        Ok(diag::tcp(self.server, self.client)?.map(|d| procnet::state_name(d.state).to_string()))
    }
}

/// Leaves the server side of a connection in TIME_WAIT: the server closes
/// first (active close), then the client. `reuse` is the server's own
/// SO_REUSEADDR (its TIME_WAIT entry inherits it).
pub fn server_in_time_wait(family: Family, reuse: bool) -> Result<TimeWait> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, reuse as i32)?),
        |_| Ok(()),
    )?;
    let (client, server) = pair.into_connected();
    let tw = TimeWait {
        server: server.local_addr()?,
        client: client.local_addr()?,
    };
    let _ = server.close();
    let _ = client.read_to_end();
    let _ = client.close();
    phase("waiting for the server's TIME_WAIT entry");
    wait::until(
        "a TIME_WAIT entry on the server port",
        Duration::from_secs(5),
        || Ok((tw.state()?.as_deref() == Some(TIME_WAIT)).then_some(())),
    )?;
    Ok(tw)
}

/// Has a client connect to `addr`, where `s` listens: the local address of
/// the connection `s` accepted, none when the client was refused.
fn accepted_at(s: &Sock, family: Family, addr: SocketAddr) -> Result<Option<SocketAddr>> {
    let c = Sock::tcp(family)?;
    if c.connect(addr).is_err() {
        return Ok(None);
    }
    let conn = s.accept().context("accept the new server's client")?;
    Ok(Some(conn.local_addr()?))
}

/// The new server's listen() when its bind succeeded, and then where it
/// accepted a client.
fn listen_and_serve(
    s: &Sock,
    bind: &std::io::Result<()>,
    family: Family,
    addr: SocketAddr,
) -> Result<(Option<String>, Option<SocketAddr>)> {
    if bind.is_err() {
        return Ok((None, None));
    }
    let listen = s.listen(4);
    let served_on = match listen {
        Ok(()) => accepted_at(s, family, addr)?,
        Err(_) => None,
    };
    Ok((Some(result_name(&listen)), served_on))
}

/// The claim's verdict for a server restarted on a port still held (by a
/// TIME_WAIT entry or a child's connection): refused without SO_REUSEADDR,
/// allowed with it. Linux also asks the old socket to have had the option:
/// when the new socket's option alone is refused, the claim holds only in
/// part.
fn restart_verdict(without: &str, with: &str, old_lacked: &str) -> Verdict {
    match (without != OK, with == OK, old_lacked == OK) {
        (true, true, true) => Verdict::Holds,
        (true, true, false) => Verdict::Differs,
        _ => Verdict::Refuted,
    }
}

/// What a restart needed besides its own SO_REUSEADDR, in words.
fn old_socket_words(old_lacked: &str) -> &'static str {
    if old_lacked == OK {
        "the new socket's option alone was enough"
    } else {
        "on Linux the old socket must have had the option too"
    }
}

/// "served a client" or "served no client".
fn served(yes: bool) -> &'static str {
    if yes {
        "served a client"
    } else {
        "served no client"
    }
}

/// A restart attempt on a port whose old connection is in TIME_WAIT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restart {
    /// SO_REUSEADDR on the old server (its TIME_WAIT entry keeps it).
    pub old_reuseaddr: bool,
    /// SO_REUSEADDR on the new socket.
    pub new_reuseaddr: bool,
    /// The old server's address, which the new socket binds.
    pub addr: SocketAddr,
    /// The old connection's state right after the new bind: TIME_WAIT.
    pub old_state: Option<String>,
    /// The new socket's bind(): ok or the errno.
    pub bind: String,
    /// Its listen(), tried after a successful bind only.
    pub listen: Option<String>,
    /// Where it accepted a client (the local address of that connection).
    pub served_on: Option<SocketAddr>,
}

fn restart(family: Family, old_reuse: bool, new_reuse: bool) -> Result<Restart> {
    let tw = server_in_time_wait(family, old_reuse)?;
    let s = Sock::tcp(family)?;
    if new_reuse {
        reuse(&s)?;
    }
    let bind = s.bind(tw.server);
    // Looked at before a client connects: on loopback the client's connect
    // may recycle the TIME_WAIT entry (net.ipv4.tcp_tw_reuse=2).
    let old_state = tw.state()?;
    let (listen, served_on) = listen_and_serve(&s, &bind, family, tw.server)?;
    Ok(Restart {
        old_reuseaddr: old_reuse,
        new_reuseaddr: new_reuse,
        addr: tw.server,
        old_state,
        bind: result_name(&bind),
        listen,
        served_on,
    })
}

/// Three restarts of a server whose old connection is in TIME_WAIT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeWaitRebind {
    /// The old server had SO_REUSEADDR, the new one not.
    pub without: Restart,
    /// Both had it.
    pub with: Restart,
    /// Only the new one had it.
    pub old_lacked: Restart,
}

fn time_wait_rebind(_lab: &mut Lab, family: Family) -> Result<TimeWaitRebind> {
    Ok(TimeWaitRebind {
        without: restart(family, true, false)?,
        with: restart(family, true, true)?,
        old_lacked: restart(family, false, true)?,
    })
}

impl Observation for TimeWaitRebind {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let runs = [&self.without, &self.with, &self.old_lacked];
        j.expect_eq(
            "the old connection is in TIME_WAIT at every rebind",
            &vec![Some(TIME_WAIT.to_string()); 3],
            &runs.map(|r| r.old_state.clone()).to_vec(),
        );
        j.expect_eq(
            "rebind without SO_REUSEADDR",
            EADDRINUSE,
            self.without.bind.as_str(),
        );
        j.expect_eq(
            "rebind with SO_REUSEADDR (old server had it too)",
            OK,
            self.with.bind.as_str(),
        );
        j.expect_eq(
            "the restarted server listens",
            &Some(OK.to_string()),
            &self.with.listen,
        );
        j.expect_eq(
            "restarted server accepts a client (on the old server's address)",
            &Some(self.with.addr),
            &self.with.served_on,
        );
        j.expect_eq(
            "rebind with SO_REUSEADDR when the old server lacked it",
            EADDRINUSE,
            self.old_lacked.bind.as_str(),
        );
        j.expect_eq(
            "a client is served after each successful bind, and only then",
            &runs.map(|r| r.bind == OK).to_vec(),
            &runs.map(|r| r.served_on.is_some()).to_vec(),
        );
        let (without, with, old_lacked) = (
            self.without.bind.as_str(),
            self.with.bind.as_str(),
            self.old_lacked.bind.as_str(),
        );
        j.verdict(
            restart_verdict(without, with, old_lacked),
            format!(
                "server port in TIME_WAIT: a new bind without SO_REUSEADDR -> {without}, with it -> {with} \
                 (the new server {}); when the old server had not set SO_REUSEADDR, the new bind with it -> \
                 {old_lacked}: {}",
                served(self.with.served_on.is_some()),
                old_socket_words(old_lacked)
            ),
        );
        j.key(format!(
            "without: {without}, with: {with}, with but not on the old server: {old_lacked}"
        ));
        j
    }
}

/// SO_REUSEADDR set after a refused bind, before a bind, and after a UDP
/// socket's own bind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeBind {
    /// The old connection's state when the first bind ran: TIME_WAIT.
    pub old_state: Option<String>,
    /// bind() on the port in TIME_WAIT, the option not set.
    pub tcp_bind_before_setting: String,
    /// The same socket's bind() again, after setting the option.
    pub tcp_bind_after_setting: String,
    /// A new socket with the option set before its bind (another port in TIME_WAIT).
    pub tcp_bind_set_before: String,
    /// setsockopt(SO_REUSEADDR) on a UDP socket bound without it.
    pub udp_late_setsockopt: String,
    /// A second UDP socket's bind (option set) on that socket's port.
    pub udp_second_bind: String,
}

fn before_bind(_lab: &mut Lab) -> Result<BeforeBind> {
    let family = Family::V4;
    let tw = server_in_time_wait(family, true)?;
    let s = Sock::tcp(family)?;
    let first = s.bind(tw.server);
    let old_state = tw.state()?;
    reuse(&s)?;
    let after_setting = s.bind(tw.server);
    let fresh = Sock::tcp(family)?;
    reuse(&fresh)?;
    let set_before = fresh.bind(server_in_time_wait(family, true)?.server);
    // UDP: the first socket binds without the option and sets it afterwards.
    let u1 = Sock::udp(family)?;
    u1.bind(SocketAddr::new(family.loopback(), 0))?;
    let uport = u1.local_addr()?;
    let late = u1.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    let u2 = Sock::udp(family)?;
    reuse(&u2)?;
    let second_udp = u2.bind(uport);
    Ok(BeforeBind {
        old_state,
        tcp_bind_before_setting: result_name(&first),
        tcp_bind_after_setting: result_name(&after_setting),
        tcp_bind_set_before: result_name(&set_before),
        udp_late_setsockopt: result_name(&late),
        udp_second_bind: result_name(&second_udp),
    })
}

impl Observation for BeforeBind {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "the port's old connection is in TIME_WAIT",
            &Some(TIME_WAIT.to_string()),
            &self.old_state,
        );
        j.expect_eq(
            "bind() before setting the option (port in TIME_WAIT)",
            EADDRINUSE,
            self.tcp_bind_before_setting.as_str(),
        );
        j.expect_eq(
            "the same socket binds once the option is set",
            OK,
            self.tcp_bind_after_setting.as_str(),
        );
        j.expect_eq(
            "option set before bind()",
            OK,
            self.tcp_bind_set_before.as_str(),
        );
        j.expect_eq(
            "UDP: the option can be set on a bound socket",
            OK,
            self.udp_late_setsockopt.as_str(),
        );
        j.expect_eq(
            "UDP: the option set after bind() counts for a later socket's bind",
            OK,
            self.udp_second_bind.as_str(),
        );
        let refused = self.tcp_bind_before_setting != OK;
        let late_counts = self.udp_second_bind == OK;
        let verdict = match (refused, late_counts) {
            (true, false) => Verdict::Holds,
            (true, true) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "a bind without the option -> {}; setting it, then binding the same socket again -> {} (the \
                 option is read when bind() runs); a UDP socket set it only after its own bind, and a second \
                 socket's bind on that port -> {}",
                self.tcp_bind_before_setting, self.tcp_bind_after_setting, self.udp_second_bind
            ),
        );
        j.key(format!(
            "before: {}, after setting: {}; UDP set late, 2nd bind: {}",
            self.tcp_bind_before_setting, self.tcp_bind_after_setting, self.udp_second_bind
        ));
        j
    }
}

/// A restart on the port of a closed listener whose accepted connection (a
/// child's) is still open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildRestart {
    /// SO_REUSEADDR on the old listener (the child's socket inherits it).
    pub old_reuseaddr: bool,
    /// SO_REUSEADDR on the new socket.
    pub new_reuseaddr: bool,
    /// The old listener's address, which the new socket binds.
    pub addr: SocketAddr,
    /// The new socket's bind(): ok or the errno.
    pub bind: String,
    /// Its listen(), tried after a successful bind only.
    pub listen: Option<String>,
    /// Where it accepted a new client (the local address of that connection).
    pub served_on: Option<SocketAddr>,
    /// Bytes the child sent still reached its client afterwards.
    pub child_connection_works: bool,
}

fn restart_with_child(family: Family, old_reuse: bool, new_reuse: bool) -> Result<ChildRestart> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, old_reuse as i32)?),
        |_| Ok(()),
    )?;
    let addr = pair.listener.local_addr()?;
    let (client, child) = pair.into_connected();
    let s = Sock::tcp(family)?;
    if new_reuse {
        reuse(&s)?;
    }
    let bind = s.bind(addr);
    let (listen, served_on) = listen_and_serve(&s, &bind, family, addr)?;
    child.send_all(b"ping").context("the child's send")?;
    let mut buf = [0u8; 4];
    let got = client
        .recv(&mut buf, libc::MSG_WAITALL)
        .context("the child's client reads")?;
    Ok(ChildRestart {
        old_reuseaddr: old_reuse,
        new_reuseaddr: new_reuse,
        addr,
        bind: result_name(&bind),
        listen,
        served_on,
        child_connection_works: got == buf.len(),
    })
}

/// Three restarts while a child still holds a connection on the port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildServerRestart {
    /// The old listener had SO_REUSEADDR, the new socket not.
    pub without: ChildRestart,
    /// Both had it.
    pub with: ChildRestart,
    /// Only the new socket had it.
    pub old_lacked: ChildRestart,
}

fn child_server_restart(_lab: &mut Lab) -> Result<ChildServerRestart> {
    let family = Family::V4;
    Ok(ChildServerRestart {
        without: restart_with_child(family, true, false)?,
        with: restart_with_child(family, true, true)?,
        old_lacked: restart_with_child(family, false, true)?,
    })
}

impl Observation for ChildServerRestart {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let runs = [&self.without, &self.with, &self.old_lacked];
        j.expect_eq(
            "rebind without SO_REUSEADDR",
            EADDRINUSE,
            self.without.bind.as_str(),
        );
        j.expect_eq(
            "rebind with SO_REUSEADDR (old listener had it)",
            OK,
            self.with.bind.as_str(),
        );
        j.expect_eq(
            "the restarted server listens",
            &Some(OK.to_string()),
            &self.with.listen,
        );
        j.expect_eq(
            "the restarted server accepts (on the old listener's address)",
            &Some(self.with.addr),
            &self.with.served_on,
        );
        j.expect_eq(
            "the child's connection still works (every restart)",
            &vec![true; 3],
            &runs.map(|r| r.child_connection_works).to_vec(),
        );
        j.expect_eq(
            "rebind with SO_REUSEADDR when the old listener lacked it",
            EADDRINUSE,
            self.old_lacked.bind.as_str(),
        );
        j.expect_eq(
            "a new client is accepted after each successful bind, and only then",
            &runs.map(|r| r.bind == OK).to_vec(),
            &runs.map(|r| r.served_on.is_some()).to_vec(),
        );
        let (without, with, old_lacked) = (
            self.without.bind.as_str(),
            self.with.bind.as_str(),
            self.old_lacked.bind.as_str(),
        );
        let child = if self.with.child_connection_works {
            "the child's connection still carried data"
        } else {
            "the child's connection no longer carried data"
        };
        j.verdict(
            restart_verdict(without, with, old_lacked),
            format!(
                "listener closed, a child's connection open: a new bind without SO_REUSEADDR -> {without}, with \
                 it -> {with} (the new server {}, and {child}); with it on the new socket only -> {old_lacked}: \
                 {}",
                served(self.with.served_on.is_some()),
                old_socket_words(old_lacked)
            ),
        );
        j.key(format!(
            "without: {without}, with: {with}, with but not on the old listener: {old_lacked}"
        ));
        j
    }
}

/// Two sockets binding one port: the second's bind and, when it was bound,
/// its listen() (the first socket listening by then).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwoBinds {
    pub first_bind: String,
    pub second_bind: String,
    /// The second socket's listen(), tried after a successful bind only.
    pub second_listen: Option<String>,
}

impl Show for TwoBinds {
    /// "bind ok, bind ok, listen EADDRINUSE" or "bind ok, bind EADDRINUSE".
    fn show(&self) -> String {
        let binds = format!("bind {}, bind {}", self.first_bind, self.second_bind);
        match &self.second_listen {
            Some(l) => format!("{binds}, listen {l}"),
            None => binds,
        }
    }
}

/// Two sockets on one port: the first binds `a` (the kernel picks the port)
/// and listens at once if `listen_first`; the second binds `b` on that port.
/// Both with SO_REUSEADDR when asked.
fn two_binds(a: IpAddr, b: IpAddr, reuse_both: bool, listen_first: bool) -> Result<TwoBinds> {
    let s1 = Sock::tcp(Family::of(&a))?;
    let s2 = Sock::tcp(Family::of(&b))?;
    if reuse_both {
        reuse(&s1)?;
        reuse(&s2)?;
    }
    let r1 = s1.bind(SocketAddr::new(a, 0));
    let port = s1.local_addr()?.port();
    if listen_first && r1.is_ok() {
        s1.listen(4).context("the first socket's listen")?;
    }
    let r2 = s2.bind(SocketAddr::new(b, port));
    let second_listen = if r2.is_ok() {
        if !listen_first {
            s1.listen(4).context("the first socket's listen")?;
        }
        Some(result_name(&s2.listen(4)))
    } else {
        None
    };
    Ok(TwoBinds {
        first_bind: result_name(&r1),
        second_bind: result_name(&r2),
        second_listen,
    })
}

/// The second address of the multihomed host (TEST-NET-2, documentation
/// range), only ever configured inside the case's namespace.
const SECOND_V4: [u8; 4] = [198, 51, 100, 1];
const SECOND_V6: [u16; 8] = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1];

/// Adds `addr` to lo. Binding needs only a local address, not a link: an
/// address on a veth pair made the case wait for the kernel's linkwatch to
/// declare the carrier up (up to a second after another link changed), and on
/// lo an IPv6 address is usable at once (no duplicate address detection).
fn add_local_address(addr: IpAddr) -> Result<()> {
    let prefix = if addr.is_ipv4() { 32 } else { 128 };
    Netlink::open()?.add_addr(ifindex("lo")?, addr, prefix)
}

/// Binding one port on several addresses of one host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Multihomed {
    /// The host's two addresses: loopback and a second one.
    pub addresses: [IpAddr; 2],
    /// One port on each address, no option.
    pub two_specific: TwoBinds,
    /// The wildcard listening, then a specific address, no option.
    pub wildcard_listening_then_specific: TwoBinds,
    /// The same with SO_REUSEADDR on both.
    pub wildcard_listening_then_specific_reuseaddr: TwoBinds,
    /// Both with SO_REUSEADDR, both bound before either listens.
    pub wildcard_then_specific_reuseaddr_then_listen: TwoBinds,
    /// IPv6 only: the AF_INET6 wildcard and the IPv4 port.
    pub dual_stack: Option<DualStack>,
}

fn multihomed(_lab: &mut Lab, family: Family) -> Result<Multihomed> {
    let other = match family {
        Family::V4 => IpAddr::from(SECOND_V4),
        Family::V6 => IpAddr::from(SECOND_V6),
    };
    add_local_address(other)?;
    let (lo, any) = (family.loopback(), family.any());
    let two_specific = two_binds(lo, other, false, true)?;
    let wildcard_plain = two_binds(any, lo, false, true)?;
    let wildcard_reuse = two_binds(any, lo, true, true)?;
    let wildcard_unlistened = two_binds(any, lo, true, false)?;
    let dual_stack = match family {
        Family::V4 => None,
        Family::V6 => Some(dual_stack()?),
    };
    Ok(Multihomed {
        addresses: [lo, other],
        two_specific,
        wildcard_listening_then_specific: wildcard_plain,
        wildcard_listening_then_specific_reuseaddr: wildcard_reuse,
        wildcard_then_specific_reuseaddr_then_listen: wildcard_unlistened,
        dual_stack,
    })
}

fn two(first: &str, second: &str, listen: Option<&str>) -> TwoBinds {
    TwoBinds {
        first_bind: first.into(),
        second_bind: second.into(),
        second_listen: listen.map(str::to_string),
    }
}

impl Observation for Multihomed {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "same port on two specific addresses, no option",
            &two(OK, OK, Some(OK)),
            &self.two_specific,
        );
        j.expect_eq(
            "specific next to a listening wildcard, no option",
            &two(OK, EADDRINUSE, None),
            &self.wildcard_listening_then_specific,
        );
        j.expect_eq(
            "specific next to a listening wildcard, SO_REUSEADDR",
            &two(OK, EADDRINUSE, None),
            &self.wildcard_listening_then_specific_reuseaddr,
        );
        j.expect_eq(
            "both SO_REUSEADDR, bound before either listens",
            &two(OK, OK, Some(EADDRINUSE)),
            &self.wildcard_then_specific_reuseaddr_then_listen,
        );
        let v6 = self.addresses.iter().all(IpAddr::is_ipv6);
        j.expect_eq(
            "the dual stack is looked at on IPv6 (and only there)",
            &v6,
            &self.dual_stack.is_some(),
        );
        let [lo, other] = self.addresses;
        let mut because = format!(
            "one port on {lo} and {other}: {}; a wildcard listening, then a specific address: {} without an \
             option, {} with SO_REUSEADDR; both with SO_REUSEADDR, bound before either listens: {}",
            self.two_specific.show(),
            self.wildcard_listening_then_specific.second_bind,
            self.wildcard_listening_then_specific_reuseaddr.second_bind,
            self.wildcard_then_specific_reuseaddr_then_listen.show()
        );
        if let Some(d) = &self.dual_stack {
            d.judge(&mut j);
            because.push_str(&format!("; dual stack: {}", d.summary()));
        }
        j.verdict(
            Verdict::holds_if(self.two_specific.second_bind == OK),
            because,
        );
        j.key(format!(
            "same port on two addresses: {}; next to a listening wildcard, SO_REUSEADDR: {}",
            self.two_specific.second_bind,
            self.wildcard_listening_then_specific_reuseaddr.second_bind
        ));
        j
    }
}

/// IPV6_V6ONLY and the IPv4 port of an AF_INET6 wildcard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DualStack {
    /// net.ipv6.bindv6only in the case's namespace.
    pub bindv6only_sysctl: i64,
    /// IPV6_V6ONLY as a new AF_INET6 socket reports it.
    pub v6only_default: i32,
    /// An AF_INET wildcard bind of the port of [::] with IPV6_V6ONLY=0.
    pub v4_bind_next_to_v6only_0: String,
    /// The address an IPv4 client has on the accepted AF_INET6 socket.
    pub v4_client_seen_as: IpAddr,
    /// An AF_INET wildcard bind of the port of [::] with IPV6_V6ONLY=1.
    pub v4_bind_next_to_v6only_1: String,
}

/// How an IPv4 loopback client shows up on an AF_INET6 socket.
const V4_MAPPED_LOOPBACK: IpAddr =
    IpAddr::V6(std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1));

impl DualStack {
    fn summary(&self) -> String {
        format!(
            "IPV6_V6ONLY defaults to {} (net.ipv6.bindv6only {}); an IPv4 bind of the port of [::] with \
             V6ONLY=0 -> {}, an IPv4 client shows up as {}; with V6ONLY=1 -> {}",
            self.v6only_default,
            self.bindv6only_sysctl,
            self.v4_bind_next_to_v6only_0,
            self.v4_client_seen_as,
            self.v4_bind_next_to_v6only_1
        )
    }

    fn judge(&self, j: &mut Judgement) {
        j.expect_eq(
            "IPV6_V6ONLY defaults to net.ipv6.bindv6only",
            &self.bindv6only_sysctl,
            &i64::from(self.v6only_default),
        );
        j.expect_eq(
            "V6ONLY=0: the IPv4 port is taken",
            EADDRINUSE,
            self.v4_bind_next_to_v6only_0.as_str(),
        );
        j.expect_eq(
            "V6ONLY=0: an IPv4 client arrives v4-mapped",
            &V4_MAPPED_LOOPBACK,
            &self.v4_client_seen_as,
        );
        j.expect_eq(
            "V6ONLY=1: the IPv4 port is free",
            OK,
            self.v4_bind_next_to_v6only_1.as_str(),
        );
    }
}

fn dual_stack() -> Result<DualStack> {
    let bindv6only = procnet::sysctl_int("net/ipv6/bindv6only")?;
    let v6only = |on: i32| -> Result<(Sock, u16)> {
        let s = Sock::tcp(Family::V6)?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, on)
            .context("IPV6_V6ONLY")?;
        s.bind(SocketAddr::new(Family::V6.any(), 0))?;
        s.listen(4)?;
        let port = s.local_addr()?.port();
        Ok((s, port))
    };
    let v6only_default = Sock::tcp(Family::V6)?
        .get_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
        .context("IPV6_V6ONLY of a new socket")?;
    let (dual, port0) = v6only(0)?;
    let v4 = Sock::tcp(Family::V4)?;
    let next_to_0 = result_name(&v4.bind(SocketAddr::new(Family::V4.any(), port0)));
    let client = Sock::tcp(Family::V4)?;
    client
        .connect(SocketAddr::new(Family::V4.loopback(), port0))
        .context("v4 client to the dual-stack port")?;
    let accepted = dual.accept().context("accept v4 client")?;
    // The address only: the client's port changes from run to run.
    let seen = peer_addr(&accepted)?.ip();
    let (_v6, port1) = v6only(1)?;
    let v4b = Sock::tcp(Family::V4)?;
    let next_to_1 = result_name(&v4b.bind(SocketAddr::new(Family::V4.any(), port1)));
    Ok(DualStack {
        bindv6only_sysctl: bindv6only,
        v6only_default,
        v4_bind_next_to_v6only_0: next_to_0,
        v4_client_seen_as: seen,
        v4_bind_next_to_v6only_1: next_to_1,
    })
}

const CONNECTIONS: usize = 32;

/// Two TCP sockets on one address and port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpDuplicate {
    /// SO_REUSEADDR on both: the two binds, then the second listen().
    pub reuseaddr: TwoBinds,
    /// SO_REUSEPORT on both: each socket's bind().
    pub reuseport_binds: [String; 2],
    /// And each socket's listen().
    pub reuseport_listens: [String; 2],
    /// Clients connected to the shared port.
    pub connections: usize,
    /// How many of them each listener accepted.
    pub accepted: [usize; 2],
}

/// Which of `listeners` has a connection to accept, waiting at most `timeout`.
fn ready_listener(listeners: [&Sock; 2], timeout: Duration) -> Result<usize> {
    let mut fds = listeners.map(|l| {
        // SAFETY: the listeners outlive this call.
        PollFd::new(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(l.as_raw_fd()) },
            PollFlags::POLLIN,
        )
    });
    let ms = PollTimeout::try_from(timeout.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    poll(&mut fds, ms).context("poll on the listeners")?;
    match fds
        .iter()
        .position(|f| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
    {
        Some(i) => Ok(i),
        None => bail!("waited {timeout:?} for a connection on either listener: none came"),
    }
}

fn tcp_duplicate(_lab: &mut Lab, family: Family) -> Result<TcpDuplicate> {
    let lo = family.loopback();
    let reuseaddr = two_binds(lo, lo, true, false)?;
    // SO_REUSEPORT on both: both listen and share the connections. The
    // second binds the port the kernel gave the first.
    let listeners = [Sock::tcp(family)?, Sock::tcp(family)?];
    let mut at = SocketAddr::new(lo, 0);
    let mut binds = Vec::new();
    let mut listens = Vec::new();
    for l in &listeners {
        l.set_int(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
            .context("SO_REUSEPORT")?;
        binds.push(result_name(&l.bind(at)));
        at = l.local_addr()?;
        listens.push(result_name(&l.listen(CONNECTIONS as i32)));
        // A listener the kernel queued nothing on refuses at once.
        l.set_nonblocking(true)?;
    }
    let mut clients = Vec::new();
    if binds.iter().chain(&listens).all(|r| r == OK) {
        for _ in 0..CONNECTIONS {
            let c = Sock::tcp(family)?;
            c.connect(at).context("connect to the shared port")?;
            clients.push(c);
        }
    }
    // Each connection is accepted from the listener the kernel queued it on.
    let mut accepted = [0usize; 2];
    for _ in &clients {
        let i = ready_listener([&listeners[0], &listeners[1]], Duration::from_secs(2))?;
        listeners[i].accept().context("accept on the shared port")?;
        accepted[i] += 1;
    }
    Ok(TcpDuplicate {
        reuseaddr,
        reuseport_binds: [binds[0].clone(), binds[1].clone()],
        reuseport_listens: [listens[0].clone(), listens[1].clone()],
        connections: clients.len(),
        accepted,
    })
}

impl Observation for TcpDuplicate {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SO_REUSEADDR: both bind, the second listen fails",
            &two(OK, OK, Some(EADDRINUSE)),
            &self.reuseaddr,
        );
        let oks = [OK.to_string(), OK.to_string()];
        j.expect(
            "SO_REUSEPORT: both bind and listen",
            self.reuseport_binds == oks && self.reuseport_listens == oks,
            "binds ok and ok, listens ok and ok",
            format!(
                "binds {} and {}, listens {} and {}",
                self.reuseport_binds[0],
                self.reuseport_binds[1],
                self.reuseport_listens[0],
                self.reuseport_listens[1]
            ),
        );
        let [a, b] = self.accepted;
        let spread = a > 0 && b > 0;
        j.expect(
            "connections spread over both listeners",
            spread && a + b == CONNECTIONS && self.connections == CONNECTIONS,
            format!("{CONNECTIONS} connections, accepted by both listeners"),
            format!("{} connections, accepted {a} + {b}", self.connections),
        );
        // With SO_REUSEADDR the duplicate is complete when the second socket
        // binds and listens; Linux refuses the listen(), BSD the bind().
        let duplicate =
            self.reuseaddr.second_bind == OK && self.reuseaddr.second_listen.as_deref() == Some(OK);
        let verdict = match (!duplicate, spread) {
            // Refused with SO_REUSEADDR, yet SO_REUSEPORT shares the port.
            (true, true) => Verdict::Differs,
            (true, false) => Verdict::Holds,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "SO_REUSEADDR: {}; SO_REUSEPORT: binds {} and {}, listens {} and {}, {} connections accepted \
                 {a} + {b}{}",
                self.reuseaddr.show(),
                self.reuseport_binds[0],
                self.reuseport_binds[1],
                self.reuseport_listens[0],
                self.reuseport_listens[1],
                self.connections,
                if spread {
                    ": TCP can share a port completely, with SO_REUSEPORT"
                } else {
                    ""
                }
            ),
        );
        j.key(format!(
            "SO_REUSEADDR 2nd listen: {}; SO_REUSEPORT accepts {a} + {b}",
            self.reuseaddr.second_listen.show()
        ));
        j
    }
}

const GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 1, 2, 3);

/// Two UDP sockets on one port, and who receives what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UdpDuplicate {
    /// The port both sockets bound (on 0.0.0.0).
    pub port: u16,
    /// Their two binds.
    pub binds: [String; 2],
    /// Which of the two got the datagram sent to the group.
    pub multicast_received_by: [bool; 2],
    /// Which of the two got the datagram sent to the host's address.
    pub unicast_received_by: [bool; 2],
}

/// "both sockets", "the first socket only", ...
fn receivers(seen: [bool; 2]) -> &'static str {
    match seen {
        [true, true] => "both sockets",
        [true, false] => "the first socket only",
        [false, true] => "the second socket only",
        [false, false] => "neither socket",
    }
}

/// What each of two receivers has read so far (payloads).
struct Inbox<'a> {
    socks: [&'a Sock; 2],
    got: [Vec<Vec<u8>>; 2],
}

impl Inbox<'_> {
    fn read(&mut self) {
        let mut buf = [0u8; 64];
        for (s, got) in self.socks.iter().zip(&mut self.got) {
            while let Ok(n) = s.recv(&mut buf, libc::MSG_DONTWAIT) {
                got.push(buf[..n].to_vec());
            }
        }
    }

    /// Which of the two sockets got `payload`.
    fn has(&self, payload: &[u8]) -> [bool; 2] {
        [0, 1].map(|i| self.got[i].iter().any(|p| p == payload))
    }
}

const TO_GROUP: &[u8] = b"to-the-group";
const TO_HOST: &[u8] = b"to-the-host";
const FENCE: &[u8] = b"fence";

fn udp_duplicate(lab: &mut Lab) -> Result<UdpDuplicate> {
    let link = Link::pair_v4(lab)?;
    let (b_addr, a_addr) = (link.b_end.addr, link.a_end.addr);
    let (IpAddr::V4(b4), IpAddr::V4(a4)) = (b_addr, a_addr) else {
        bail!("an IPv4 link expected, got {a_addr} and {b_addr}")
    };
    let (r1, r2, binds, port) = link.b.run(|| -> Result<(Sock, Sock, [String; 2], u16)> {
        let r1 = Sock::udp(Family::V4)?;
        reuse(&r1)?;
        let b1 = r1.bind(SocketAddr::new(Family::V4.any(), 0));
        let port = r1.local_addr()?.port();
        let r2 = Sock::udp(Family::V4)?;
        reuse(&r2)?;
        let b2 = r2.bind(SocketAddr::new(Family::V4.any(), port));
        let mut mreq = [0u8; 8];
        mreq[..4].copy_from_slice(&GROUP.octets());
        mreq[4..].copy_from_slice(&b4.octets());
        for r in [&r1, &r2] {
            r.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
                .context("IP_ADD_MEMBERSHIP")?;
        }
        Ok((r1, r2, [result_name(&b1), result_name(&b2)], port))
    })??;
    let tx = Sock::udp(Family::V4)?;
    tx.set_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &a4.octets())
        .context("IP_MULTICAST_IF")?;
    let group = SocketAddr::new(GROUP.into(), port);
    tx.send_to(TO_GROUP, 0, group)
        .context("send to the group")?;
    // Unicast from inside host b (no address resolution to wait for).
    link.b.run(|| -> Result<()> {
        Sock::udp(Family::V4)?
            .send_to(TO_HOST, 0, SocketAddr::new(b_addr, port))
            .context("send to the host's address")?;
        Ok(())
    })??;
    // The kernel hands a unicast datagram to one socket in one go. A second
    // group datagram (the fence), sent last from the first one's socket,
    // reaches both sockets after it: once each has the fence and one has the
    // unicast datagram, nothing more is coming. Whatever has not arrived
    // after 2 s is an observation, not an error.
    tx.send_to(FENCE, 0, group).context("send the fence")?;
    let mut inbox = Inbox {
        socks: [&r1, &r2],
        got: Default::default(),
    };
    phase("waiting for the datagrams at the two receivers");
    let _ = wait::until(
        "the fence at both receivers and the unicast datagram at one",
        Duration::from_secs(2),
        || {
            inbox.read();
            Ok(
                (inbox.has(FENCE) == [true, true] && inbox.has(TO_HOST).contains(&true))
                    .then_some(()),
            )
        },
    );
    Ok(UdpDuplicate {
        port,
        binds,
        multicast_received_by: inbox.has(TO_GROUP),
        unicast_received_by: inbox.has(TO_HOST),
    })
}

impl Observation for UdpDuplicate {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let oks = [OK.to_string(), OK.to_string()];
        j.expect(
            "both binds of the same address and port",
            self.binds == oks,
            "ok and ok",
            format!("{} and {}", self.binds[0], self.binds[1]),
        );
        j.expect(
            "a multicast datagram reaches both",
            self.multicast_received_by == [true, true],
            receivers([true, true]),
            receivers(self.multicast_received_by),
        );
        let unicast = receivers(self.unicast_received_by);
        j.expect(
            "a unicast datagram reaches exactly one",
            self.unicast_received_by.iter().filter(|r| **r).count() == 1,
            "one socket",
            unicast,
        );
        let holds = self.binds == oks && self.multicast_received_by == [true, true];
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "two UDP sockets on 0.0.0.0:{} with SO_REUSEADDR: binds {} and {}; a datagram to {GROUP}:{} \
                 reached {}, a unicast one reached {unicast}",
                self.port,
                self.binds[0],
                self.binds[1],
                self.port,
                receivers(self.multicast_received_by)
            ),
        );
        j.key(format!(
            "binds {} and {}; multicast -> {}, unicast -> {unicast}",
            self.binds[0],
            self.binds[1],
            receivers(self.multicast_received_by)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn port_addr() -> SocketAddr {
        "127.0.0.1:43210".parse().unwrap()
    }

    fn restart_run(old: bool, new: bool, bind: &str) -> Restart {
        Restart {
            old_reuseaddr: old,
            new_reuseaddr: new,
            addr: port_addr(),
            old_state: Some(TIME_WAIT.into()),
            bind: bind.into(),
            listen: (bind == OK).then(|| OK.to_string()),
            served_on: (bind == OK).then(port_addr),
        }
    }

    /// What Linux 6.18 did.
    fn time_wait_linux() -> TimeWaitRebind {
        TimeWaitRebind {
            without: restart_run(true, false, EADDRINUSE),
            with: restart_run(true, true, OK),
            old_lacked: restart_run(false, true, EADDRINUSE),
        }
    }

    const TW_OLD_LACKED: &str = "rebind with SO_REUSEADDR when the old server lacked it";
    const TW_LISTENS: &str = "the restarted server listens";
    const TW_ACCEPTS: &str = "restarted server accepts a client (on the old server's address)";
    const TW_SERVED_IFF_BOUND: &str =
        "a client is served after each successful bind, and only then";

    #[rstest]
    #[case::linux(time_wait_linux(), Verdict::Differs, &[])]
    // BSD: the new socket's SO_REUSEADDR alone lets it bind over TIME_WAIT.
    #[case::bsd(TimeWaitRebind { old_lacked: restart_run(false, true, OK), ..time_wait_linux() },
        Verdict::Holds, &[TW_OLD_LACKED])]
    // The entry expired before a rebind: that run shows nothing about TIME_WAIT.
    #[case::time_wait_gone(TimeWaitRebind { with: Restart { old_state: None, ..restart_run(true, true, OK) },
        ..time_wait_linux() }, Verdict::Differs, &["the old connection is in TIME_WAIT at every rebind"])]
    #[case::rebind_without_option(TimeWaitRebind { without: restart_run(true, false, OK), ..time_wait_linux() },
        Verdict::Refuted, &["rebind without SO_REUSEADDR"])]
    #[case::option_ignored(TimeWaitRebind { with: restart_run(true, true, EADDRINUSE), ..time_wait_linux() },
        Verdict::Refuted, &["rebind with SO_REUSEADDR (old server had it too)", TW_LISTENS, TW_ACCEPTS])]
    #[case::bound_but_serves_nobody(TimeWaitRebind {
        with: Restart { served_on: None, ..restart_run(true, true, OK) }, ..time_wait_linux() },
        Verdict::Differs, &[TW_ACCEPTS, TW_SERVED_IFF_BOUND])]
    #[case::listen_refused(TimeWaitRebind {
        with: Restart { listen: Some(EADDRINUSE.into()), served_on: None, ..restart_run(true, true, OK) },
        ..time_wait_linux() }, Verdict::Differs, &[TW_LISTENS, TW_ACCEPTS, TW_SERVED_IFF_BOUND])]
    // The client reached some other socket, not the rebound port.
    #[case::served_elsewhere(TimeWaitRebind {
        with: Restart { served_on: Some("127.0.0.1:1".parse().unwrap()), ..restart_run(true, true, OK) },
        ..time_wait_linux() }, Verdict::Differs, &[TW_ACCEPTS])]
    #[case::served_without_a_bind(TimeWaitRebind {
        without: Restart { served_on: Some(port_addr()), ..restart_run(true, false, EADDRINUSE) },
        ..time_wait_linux() }, Verdict::Differs, &[TW_SERVED_IFF_BOUND])]
    fn time_wait_judgement(
        #[case] o: TimeWaitRebind,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn time_wait_words() {
        let j = time_wait_linux().judge();
        assert_eq!(
            "without: EADDRINUSE, with: ok, with but not on the old server: EADDRINUSE",
            j.key
        );
        assert_eq!(
            "server port in TIME_WAIT: a new bind without SO_REUSEADDR -> EADDRINUSE, with it -> ok (the new \
             server served a client); when the old server had not set SO_REUSEADDR, the new bind with it -> \
             EADDRINUSE: on Linux the old socket must have had the option too",
            j.because
        );
        let bsd = TimeWaitRebind {
            with: Restart {
                served_on: None,
                ..restart_run(true, true, OK)
            },
            old_lacked: restart_run(false, true, OK),
            ..time_wait_linux()
        }
        .judge();
        assert!(bsd.because.contains("(the new server served no client)"));
        assert!(bsd
            .because
            .ends_with("-> ok: the new socket's option alone was enough"));
        let check = |j: &Judgement, what: &str| {
            j.checks
                .iter()
                .find(|c| c.what == what)
                .map(|c| (c.expected.clone(), c.observed.clone()))
        };
        let gone = TimeWaitRebind {
            old_lacked: Restart {
                old_state: None,
                ..restart_run(false, true, EADDRINUSE)
            },
            ..time_wait_linux()
        }
        .judge();
        assert_eq!(
            Some((
                "[TIME_WAIT, TIME_WAIT, TIME_WAIT]".to_string(),
                "[TIME_WAIT, TIME_WAIT, none]".to_string()
            )),
            check(&gone, "the old connection is in TIME_WAIT at every rebind")
        );
        assert_eq!(
            Some(("127.0.0.1:43210".to_string(), "none".to_string())),
            check(&bsd, TW_ACCEPTS)
        );
    }

    fn before_bind_linux() -> BeforeBind {
        BeforeBind {
            old_state: Some(TIME_WAIT.into()),
            tcp_bind_before_setting: EADDRINUSE.into(),
            tcp_bind_after_setting: OK.into(),
            tcp_bind_set_before: OK.into(),
            udp_late_setsockopt: OK.into(),
            udp_second_bind: OK.into(),
        }
    }

    const BB_UDP_COUNTS: &str = "UDP: the option set after bind() counts for a later socket's bind";

    #[rstest]
    #[case::linux(before_bind_linux(), Verdict::Differs, &[])]
    // As the notes have it: an option set after bind() counts for nothing.
    #[case::late_option_ignored(BeforeBind { udp_second_bind: EADDRINUSE.into(), ..before_bind_linux() },
        Verdict::Holds, &[BB_UDP_COUNTS])]
    // A system that refuses the option on a bound socket.
    #[case::late_option_refused(BeforeBind { udp_late_setsockopt: "EINVAL".into(),
        udp_second_bind: EADDRINUSE.into(), ..before_bind_linux() },
        Verdict::Holds, &["UDP: the option can be set on a bound socket", BB_UDP_COUNTS])]
    // setsockopt ignored (a libc that returns 0 and does nothing).
    #[case::option_lost(BeforeBind { tcp_bind_after_setting: EADDRINUSE.into(),
        tcp_bind_set_before: EADDRINUSE.into(), udp_second_bind: EADDRINUSE.into(), ..before_bind_linux() },
        Verdict::Holds, &["the same socket binds once the option is set", "option set before bind()",
        BB_UDP_COUNTS])]
    // Nothing held the port: the first bind proves nothing.
    #[case::no_time_wait(BeforeBind { old_state: None, tcp_bind_before_setting: OK.into(),
        tcp_bind_after_setting: "EINVAL".into(), ..before_bind_linux() },
        Verdict::Refuted, &["the port's old connection is in TIME_WAIT",
        "bind() before setting the option (port in TIME_WAIT)", "the same socket binds once the option is set"])]
    fn before_bind_judgement(
        #[case] o: BeforeBind,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn before_bind_words() {
        let j = before_bind_linux().judge();
        assert_eq!(
            "before: EADDRINUSE, after setting: ok; UDP set late, 2nd bind: ok",
            j.key
        );
        assert_eq!(
            "a bind without the option -> EADDRINUSE; setting it, then binding the same socket again -> ok \
             (the option is read when bind() runs); a UDP socket set it only after its own bind, and a second \
             socket's bind on that port -> ok",
            j.because
        );
    }

    fn child_run(old: bool, new: bool, bind: &str) -> ChildRestart {
        ChildRestart {
            old_reuseaddr: old,
            new_reuseaddr: new,
            addr: port_addr(),
            bind: bind.into(),
            listen: (bind == OK).then(|| OK.to_string()),
            served_on: (bind == OK).then(port_addr),
            child_connection_works: true,
        }
    }

    fn child_linux() -> ChildServerRestart {
        ChildServerRestart {
            without: child_run(true, false, EADDRINUSE),
            with: child_run(true, true, OK),
            old_lacked: child_run(false, true, EADDRINUSE),
        }
    }

    const CH_ACCEPTS: &str = "the restarted server accepts (on the old listener's address)";
    const CH_ACCEPTED_IFF_BOUND: &str =
        "a new client is accepted after each successful bind, and only then";

    #[rstest]
    #[case::linux(child_linux(), Verdict::Differs, &[])]
    #[case::bsd(ChildServerRestart { old_lacked: child_run(false, true, OK), ..child_linux() },
        Verdict::Holds, &["rebind with SO_REUSEADDR when the old listener lacked it"])]
    #[case::rebind_without_option(ChildServerRestart { without: child_run(true, false, OK), ..child_linux() },
        Verdict::Refuted, &["rebind without SO_REUSEADDR"])]
    #[case::option_ignored(ChildServerRestart { with: child_run(true, true, EADDRINUSE), ..child_linux() },
        Verdict::Refuted, &["rebind with SO_REUSEADDR (old listener had it)", "the restarted server listens",
        CH_ACCEPTS])]
    #[case::listen_refused(ChildServerRestart { with: ChildRestart { listen: Some(EADDRINUSE.into()),
        served_on: None, ..child_run(true, true, OK) }, ..child_linux() },
        Verdict::Differs, &["the restarted server listens", CH_ACCEPTS, CH_ACCEPTED_IFF_BOUND])]
    #[case::served_elsewhere(ChildServerRestart { with: ChildRestart {
        served_on: Some("127.0.0.1:1".parse().unwrap()), ..child_run(true, true, OK) }, ..child_linux() },
        Verdict::Differs, &[CH_ACCEPTS])]
    #[case::child_cut_off(ChildServerRestart { without: ChildRestart { child_connection_works: false,
        ..child_run(true, false, EADDRINUSE) }, ..child_linux() },
        Verdict::Differs, &["the child's connection still works (every restart)"])]
    #[case::accepted_without_a_bind(ChildServerRestart { old_lacked: ChildRestart { served_on: Some(port_addr()),
        ..child_run(false, true, EADDRINUSE) }, ..child_linux() },
        Verdict::Differs, &[CH_ACCEPTED_IFF_BOUND])]
    fn child_judgement(
        #[case] o: ChildServerRestart,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn child_words() {
        let j = child_linux().judge();
        assert_eq!(
            "without: EADDRINUSE, with: ok, with but not on the old listener: EADDRINUSE",
            j.key
        );
        assert_eq!(
            "listener closed, a child's connection open: a new bind without SO_REUSEADDR -> EADDRINUSE, with \
             it -> ok (the new server served a client, and the child's connection still carried data); with it \
             on the new socket only -> EADDRINUSE: on Linux the old socket must have had the option too",
            j.because
        );
        let cut = ChildServerRestart {
            with: ChildRestart {
                child_connection_works: false,
                served_on: None,
                ..child_run(true, true, OK)
            },
            ..child_linux()
        }
        .judge();
        assert!(cut.because.contains(
            "(the new server served no client, and the child's connection no longer carried data)"
        ));
    }

    fn v4_pair() -> [IpAddr; 2] {
        ["127.0.0.1".parse().unwrap(), IpAddr::from(SECOND_V4)]
    }

    fn v6_pair() -> [IpAddr; 2] {
        ["::1".parse().unwrap(), IpAddr::from(SECOND_V6)]
    }

    fn dual_linux() -> DualStack {
        DualStack {
            bindv6only_sysctl: 0,
            v6only_default: 0,
            v4_bind_next_to_v6only_0: EADDRINUSE.into(),
            v4_client_seen_as: "::ffff:127.0.0.1".parse().unwrap(),
            v4_bind_next_to_v6only_1: OK.into(),
        }
    }

    fn multihomed_linux(addresses: [IpAddr; 2], dual_stack: Option<DualStack>) -> Multihomed {
        Multihomed {
            addresses,
            two_specific: two(OK, OK, Some(OK)),
            wildcard_listening_then_specific: two(OK, EADDRINUSE, None),
            wildcard_listening_then_specific_reuseaddr: two(OK, EADDRINUSE, None),
            wildcard_then_specific_reuseaddr_then_listen: two(OK, OK, Some(EADDRINUSE)),
            dual_stack,
        }
    }

    const MH_DUAL: &str = "the dual stack is looked at on IPv6 (and only there)";

    #[rstest]
    #[case::linux_v4(multihomed_linux(v4_pair(), None), Verdict::Holds, &[])]
    #[case::linux_v6(multihomed_linux(v6_pair(), Some(dual_linux())), Verdict::Holds, &[])]
    #[case::v6_without_dual_stack(multihomed_linux(v6_pair(), None), Verdict::Holds, &[MH_DUAL])]
    #[case::v4_with_dual_stack(multihomed_linux(v4_pair(), Some(dual_linux())), Verdict::Holds, &[MH_DUAL])]
    // BSD: SO_REUSEADDR lets a specific address share a port with a listening
    // wildcard, and both listen.
    #[case::bsd(Multihomed { wildcard_listening_then_specific_reuseaddr: two(OK, OK, Some(OK)),
        wildcard_then_specific_reuseaddr_then_listen: two(OK, OK, Some(OK)), ..multihomed_linux(v4_pair(), None) },
        Verdict::Holds, &["specific next to a listening wildcard, SO_REUSEADDR",
        "both SO_REUSEADDR, bound before either listens"])]
    // A host that gave a port to one address only.
    #[case::port_per_host(Multihomed { two_specific: two(OK, EADDRINUSE, None),
        wildcard_listening_then_specific: two(OK, OK, Some(OK)), ..multihomed_linux(v4_pair(), None) },
        Verdict::Refuted, &["same port on two specific addresses, no option",
        "specific next to a listening wildcard, no option"])]
    #[case::second_listen_refused(Multihomed { two_specific: two(OK, OK, Some(EADDRINUSE)),
        ..multihomed_linux(v4_pair(), None) },
        Verdict::Holds, &["same port on two specific addresses, no option"])]
    // net.ipv6.bindv6only=1 (some BSDs' default): V6ONLY on by default, the
    // IPv4 port free, and no v4-mapped client.
    #[case::v6only_by_default(multihomed_linux(v6_pair(), Some(DualStack { bindv6only_sysctl: 1,
        v6only_default: 1, ..dual_linux() })), Verdict::Holds, &[])]
    #[case::default_not_from_sysctl(multihomed_linux(v6_pair(), Some(DualStack { v6only_default: 1,
        ..dual_linux() })), Verdict::Holds, &["IPV6_V6ONLY defaults to net.ipv6.bindv6only"])]
    #[case::no_dual_stack(multihomed_linux(v6_pair(), Some(DualStack { v4_bind_next_to_v6only_0: OK.into(),
        v4_client_seen_as: "::1".parse().unwrap(), v4_bind_next_to_v6only_1: EADDRINUSE.into(), ..dual_linux() })),
        Verdict::Holds, &["V6ONLY=0: the IPv4 port is taken", "V6ONLY=0: an IPv4 client arrives v4-mapped",
        "V6ONLY=1: the IPv4 port is free"])]
    fn multihomed_judgement(
        #[case] o: Multihomed,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn multihomed_words() {
        let j = multihomed_linux(v6_pair(), Some(dual_linux())).judge();
        assert_eq!(
            "same port on two addresses: ok; next to a listening wildcard, SO_REUSEADDR: EADDRINUSE",
            j.key
        );
        assert_eq!(
            "one port on ::1 and 2001:db8::1: bind ok, bind ok, listen ok; a wildcard listening, then a \
             specific address: EADDRINUSE without an option, EADDRINUSE with SO_REUSEADDR; both with \
             SO_REUSEADDR, bound before either listens: bind ok, bind ok, listen EADDRINUSE; dual stack: \
             IPV6_V6ONLY defaults to 0 (net.ipv6.bindv6only 0); an IPv4 bind of the port of [::] with V6ONLY=0 \
             -> EADDRINUSE, an IPv4 client shows up as ::ffff:127.0.0.1; with V6ONLY=1 -> ok",
            j.because
        );
        let v4 = multihomed_linux(v4_pair(), None).judge();
        assert!(v4
            .because
            .starts_with("one port on 127.0.0.1 and 198.51.100.1: "));
        assert!(!v4.because.contains("dual stack"));
        assert_eq!("2001:db8::1", IpAddr::from(SECOND_V6).to_string());
        assert_eq!("::ffff:127.0.0.1", V4_MAPPED_LOOPBACK.to_string());
    }

    #[test]
    fn two_binds_read_like_the_calls() {
        assert_eq!("bind ok, bind EADDRINUSE", two(OK, EADDRINUSE, None).show());
        assert_eq!(
            "bind ok, bind ok, listen EADDRINUSE",
            two(OK, OK, Some(EADDRINUSE)).show()
        );
    }

    fn ok2() -> [String; 2] {
        [OK.into(), OK.into()]
    }

    fn tcp_dup_linux() -> TcpDuplicate {
        TcpDuplicate {
            reuseaddr: two(OK, OK, Some(EADDRINUSE)),
            reuseport_binds: ok2(),
            reuseport_listens: ok2(),
            connections: 32,
            accepted: [16, 16],
        }
    }

    const TD_REUSEADDR: &str = "SO_REUSEADDR: both bind, the second listen fails";
    const TD_REUSEPORT: &str = "SO_REUSEPORT: both bind and listen";
    const TD_SPREAD: &str = "connections spread over both listeners";

    #[rstest]
    #[case::linux(tcp_dup_linux(), Verdict::Differs, &[])]
    #[case::lopsided(TcpDuplicate { accepted: [1, 31], ..tcp_dup_linux() }, Verdict::Differs, &[])]
    #[case::one_listener_takes_all(TcpDuplicate { accepted: [0, 32], ..tcp_dup_linux() },
        Verdict::Holds, &[TD_SPREAD])]
    #[case::other_takes_all(TcpDuplicate { accepted: [32, 0], ..tcp_dup_linux() }, Verdict::Holds, &[TD_SPREAD])]
    #[case::connections_lost(TcpDuplicate { accepted: [16, 15], ..tcp_dup_linux() }, Verdict::Differs, &[TD_SPREAD])]
    #[case::fewer_connections(TcpDuplicate { connections: 31, accepted: [16, 15], ..tcp_dup_linux() },
        Verdict::Differs, &[TD_SPREAD])]
    #[case::more_accepted_than_made(TcpDuplicate { connections: 31, accepted: [16, 16], ..tcp_dup_linux() },
        Verdict::Differs, &[TD_SPREAD])]
    // A kernel without SO_REUSEPORT (before 3.9): the second bind fails.
    #[case::no_reuseport(TcpDuplicate { reuseport_binds: [OK.into(), EADDRINUSE.into()], connections: 0,
        accepted: [0, 0], ..tcp_dup_linux() }, Verdict::Holds, &[TD_REUSEPORT, TD_SPREAD])]
    #[case::reuseport_listen_refused(TcpDuplicate { reuseport_listens: [OK.into(), EADDRINUSE.into()],
        connections: 0, accepted: [0, 0], ..tcp_dup_linux() }, Verdict::Holds, &[TD_REUSEPORT, TD_SPREAD])]
    // BSD: SO_REUSEADDR does not let a second TCP socket bind the same address
    // and port; plain SO_REUSEPORT hands every connection to one socket.
    #[case::bsd(TcpDuplicate { reuseaddr: two(OK, EADDRINUSE, None), accepted: [0, 32], ..tcp_dup_linux() },
        Verdict::Holds, &[TD_REUSEADDR, TD_SPREAD])]
    // Both listen with SO_REUSEADDR alone: a complete TCP duplicate.
    #[case::reuseaddr_shares(TcpDuplicate { reuseaddr: two(OK, OK, Some(OK)), ..tcp_dup_linux() },
        Verdict::Refuted, &[TD_REUSEADDR])]
    fn tcp_duplicate_judgement(
        #[case] o: TcpDuplicate,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn tcp_duplicate_words() {
        let j = tcp_dup_linux().judge();
        assert_eq!(
            "SO_REUSEADDR 2nd listen: EADDRINUSE; SO_REUSEPORT accepts 16 + 16",
            j.key
        );
        assert_eq!(
            "SO_REUSEADDR: bind ok, bind ok, listen EADDRINUSE; SO_REUSEPORT: binds ok and ok, listens ok and \
             ok, 32 connections accepted 16 + 16: TCP can share a port completely, with SO_REUSEPORT",
            j.because
        );
        let lost = TcpDuplicate {
            reuseport_binds: [OK.into(), EADDRINUSE.into()],
            reuseport_listens: [OK.into(), "EINVAL".into()],
            connections: 0,
            accepted: [0, 0],
            ..tcp_dup_linux()
        }
        .judge();
        assert!(lost.because.ends_with(
            "binds ok and EADDRINUSE, listens ok and EINVAL, 0 connections accepted 0 + 0"
        ));
        assert_eq!(
            vec![(
                "binds ok and ok, listens ok and ok".to_string(),
                "binds ok and EADDRINUSE, listens ok and EINVAL".to_string()
            )],
            lost.checks
                .iter()
                .filter(|c| c.what == TD_REUSEPORT)
                .map(|c| (c.expected.clone(), c.observed.clone()))
                .collect::<Vec<_>>()
        );
    }

    fn udp_linux() -> UdpDuplicate {
        UdpDuplicate {
            port: 41556,
            binds: ok2(),
            multicast_received_by: [true, true],
            unicast_received_by: [false, true],
        }
    }

    const UD_UNICAST: &str = "a unicast datagram reaches exactly one";

    #[rstest]
    #[case::linux(udp_linux(), Verdict::Holds, &[])]
    #[case::unicast_to_the_first(UdpDuplicate { unicast_received_by: [true, false], ..udp_linux() },
        Verdict::Holds, &[])]
    #[case::unicast_to_both(UdpDuplicate { unicast_received_by: [true, true], ..udp_linux() },
        Verdict::Holds, &[UD_UNICAST])]
    #[case::unicast_lost(UdpDuplicate { unicast_received_by: [false, false], ..udp_linux() },
        Verdict::Holds, &[UD_UNICAST])]
    // Without SO_REUSEADDR the second bind fails, and only the first socket receives.
    #[case::second_bind_refused(UdpDuplicate { binds: [OK.into(), EADDRINUSE.into()],
        multicast_received_by: [true, false], unicast_received_by: [true, false], ..udp_linux() },
        Verdict::Refuted, &["both binds of the same address and port", "a multicast datagram reaches both"])]
    #[case::first_bind_refused(UdpDuplicate { binds: [EADDRINUSE.into(), OK.into()], ..udp_linux() },
        Verdict::Refuted, &["both binds of the same address and port"])]
    // Group membership lost: the group datagram reaches nobody.
    #[case::no_membership(UdpDuplicate { multicast_received_by: [false, false], ..udp_linux() },
        Verdict::Refuted, &["a multicast datagram reaches both"])]
    #[case::group_datagram_to_one(UdpDuplicate { multicast_received_by: [false, true], ..udp_linux() },
        Verdict::Refuted, &["a multicast datagram reaches both"])]
    fn udp_duplicate_judgement(
        #[case] o: UdpDuplicate,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn udp_duplicate_words() {
        let j = udp_linux().judge();
        assert_eq!(
            "binds ok and ok; multicast -> both sockets, unicast -> the second socket only",
            j.key
        );
        assert_eq!(
            "two UDP sockets on 0.0.0.0:41556 with SO_REUSEADDR: binds ok and ok; a datagram to \
             239.1.2.3:41556 reached both sockets, a unicast one reached the second socket only",
            j.because
        );
        let refused = UdpDuplicate {
            binds: [OK.into(), EADDRINUSE.into()],
            multicast_received_by: [true, false],
            unicast_received_by: [false, false],
            ..udp_linux()
        }
        .judge();
        assert_eq!(
            "binds ok and EADDRINUSE; multicast -> the first socket only, unicast -> neither socket",
            refused.key
        );
        assert_eq!(
            vec![
                ("ok and ok".to_string(), "ok and EADDRINUSE".to_string()),
                (
                    "both sockets".to_string(),
                    "the first socket only".to_string()
                ),
                ("one socket".to_string(), "neither socket".to_string()),
            ],
            refused
                .checks
                .iter()
                .map(|c| (c.expected.clone(), c.observed.clone()))
                .collect::<Vec<_>>()
        );
    }
}
