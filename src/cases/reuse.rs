//! SO_REUSEADDR and port reuse (004 §5.2).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::opt;
use crate::lab::procnet;
use crate::lab::sock::result_name;
use crate::lab::topo::Link;
use crate::lab::{diag, phase, wait, Family, Lab, Sock, TcpPair};
use crate::model::{Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

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
    run: &Legacy(|lab| time_wait_rebind(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR],
};

/// A server's connection left in TIME_WAIT, by its two addresses.
pub struct TimeWait {
    pub server: SocketAddr,
    pub client: SocketAddr,
}

impl TimeWait {
    /// Whether the kernel still holds the TIME_WAIT entry.
    pub fn present(&self) -> Result<bool> {
        Ok(diag::tcp(self.server, self.client)?.is_some_and(|d| d.state == procnet::TIME_WAIT))
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
        || Ok(tw.present()?.then_some(())),
    )?;
    Ok(tw)
}

/// A restart attempt: bind (and listen, and serve one client) on `port`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
struct Restart {
    old_server_reuseaddr: bool,
    new_server_reuseaddr: bool,
    time_wait_present: bool,
    bind: String,
    served_a_client: bool,
}

fn restart(family: Family, old_reuse: bool, new_reuse: bool) -> Result<Restart> {
    let tw = server_in_time_wait(family, old_reuse)?;
    let addr = tw.server;
    let s = Sock::tcp(family)?;
    if new_reuse {
        s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .context("SO_REUSEADDR")?;
    }
    let bind = s.bind(addr);
    let time_wait_present = tw.present()?;
    // A client reaching the restarted server shows the bind is real.
    let served_a_client = bind.is_ok() && s.listen(4).is_ok() && {
        let c = Sock::tcp(family)?;
        c.connect(addr).is_ok() && s.accept().is_ok()
    };
    Ok(Restart {
        old_server_reuseaddr: old_reuse,
        new_server_reuseaddr: new_reuse,
        time_wait_present,
        bind: result_name(&bind),
        served_a_client,
    })
}

fn time_wait_rebind(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let mut runs = Vec::new();
    for (old, new) in [(true, false), (true, true), (false, true)] {
        runs.push(restart(family, old, new)?);
    }
    let [without, with, old_without] = [&runs[0], &runs[1], &runs[2]];

    let mut ev = Evidence::new();
    ev.observe("restarts", &runs);
    ev.expect_eq(
        "TIME_WAIT entry present at every rebind",
        vec![true; 3],
        runs.iter().map(|r| r.time_wait_present).collect::<Vec<_>>(),
    );
    ev.expect_eq(
        "rebind without SO_REUSEADDR",
        "EADDRINUSE",
        without.bind.as_str(),
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR (old server had it too)",
        "ok",
        with.bind.as_str(),
    );
    ev.expect_eq(
        "restarted server accepts a client",
        true,
        with.served_a_client,
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR when the old server lacked it",
        "EADDRINUSE",
        old_without.bind.as_str(),
    );

    let verdict = match (
        without.bind != "ok",
        with.bind == "ok",
        old_without.bind == "ok",
    ) {
        (true, true, true) => Verdict::Holds,
        (true, true, false) => Verdict::Differs,
        _ => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "server port in TIME_WAIT: new bind without SO_REUSEADDR -> {}, with -> {} (served a client: {}); \
         but when the old server had not set SO_REUSEADDR the new bind with it -> {}: on Linux the socket \
         in TIME_WAIT must have had the option too",
        without.bind, with.bind, with.served_a_client, old_without.bind));
    ev.key(format!(
        "without: {}, with: {}, with (old lacked it): {}",
        without.bind, with.bind, old_without.bind
    ));
    Ok(ev)
}

pub static TIME_WAIT_REBIND_V6: Case = Case {
    id: "reuseaddr.time_wait_rebind@v6",
    run: &Legacy(|lab| time_wait_rebind(lab, Family::V6)),
    ..TIME_WAIT_REBIND
};

pub static BEFORE_BIND: Case = Case {
    id: "reuseaddr.before_bind",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "SO_REUSEADDR must be set before bind()",
    expectation: "the option is read when bind() runs: a bind refused with EADDRINUSE (port in TIME_WAIT) \
                  stays refused, setting the option afterwards and binding again succeeds; and an option set \
                  on an already bound UDP socket does count for later binds of other sockets",
    run: &Legacy(before_bind),
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
    run: &Legacy(child_server_restart),
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
    run: &Legacy(|lab| multihomed(lab, Family::V4)),
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
    run: &Legacy(|lab| multihomed(lab, Family::V6)),
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
    run: &Legacy(|lab| tcp_duplicate(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR, opt::SO_REUSEPORT],
};

pub static TCP_DUPLICATE_V6: Case = Case {
    id: "reuseaddr.tcp_duplicate@v6",
    run: &Legacy(|lab| tcp_duplicate(lab, Family::V6)),
    ..TCP_DUPLICATE
};

pub static UDP_DUPLICATE: Case = Case {
    id: "reuseaddr.udp_duplicate",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "two UDP sockets may bind the same address and port with SO_REUSEADDR (e.g. several multicast \
            receivers on one host)",
    expectation: "both binds succeed; a multicast datagram is delivered to both sockets, a unicast datagram \
                  to only one of them",
    run: &Legacy(udp_duplicate),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ADD_MEMBERSHIP, opt::SO_REUSEADDR],
};

fn reuse(s: &Sock) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .context("SO_REUSEADDR")
}

fn before_bind(_lab: &mut Lab) -> Result<Evidence> {
    let family = Family::V4;
    let addr = server_in_time_wait(family, true)?.server;
    let s = Sock::tcp(family)?;
    let first = s.bind(addr);
    reuse(&s)?;
    let after_setting = s.bind(addr);
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

    let mut ev = Evidence::new();
    ev.observe("tcp_bind_before_setting", result_name(&first))
        .observe("tcp_bind_after_setting", result_name(&after_setting))
        .observe("tcp_bind_set_before", result_name(&set_before))
        .observe("udp_late_setsockopt", result_name(&late))
        .observe("udp_second_bind", result_name(&second_udp));
    ev.expect_eq(
        "bind() before setting the option (port in TIME_WAIT)",
        "EADDRINUSE",
        result_name(&first).as_str(),
    );
    ev.expect_eq(
        "the same socket binds once the option is set",
        "ok",
        result_name(&after_setting).as_str(),
    );
    ev.expect_eq(
        "option set before bind()",
        "ok",
        result_name(&set_before).as_str(),
    );
    ev.expect_eq(
        "UDP: the option set after bind() counts for a later socket's bind",
        "ok",
        result_name(&second_udp).as_str(),
    );
    let verdict = match (first.is_err(), second_udp.is_ok()) {
        (true, false) => Verdict::Holds,
        (true, true) => Verdict::Differs,
        (false, _) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "a bind without the option -> {}; setting it then binding again -> {} (the option is read at bind time); \
         a UDP socket that set it only after its own bind still let a second socket bind -> {}",
        result_name(&first), result_name(&after_setting), result_name(&second_udp)));
    ev.key(format!(
        "before: {}, after setting: {}; UDP late option lets 2nd bind: {}",
        result_name(&first),
        result_name(&after_setting),
        result_name(&second_udp)
    ));
    Ok(ev)
}

#[derive(Debug, serde::Serialize)]
struct ChildRestart {
    old_listener_reuseaddr: bool,
    new_server_reuseaddr: bool,
    bind: String,
    listen: Option<String>,
    new_client_accepted: bool,
    child_connection_still_works: bool,
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
    let listen = bind.is_ok().then(|| s.listen(4));
    let new_client_accepted = matches!(listen, Some(Ok(()))) && {
        let c = Sock::tcp(family)?;
        c.connect(addr).is_ok() && s.accept().is_ok()
    };
    child.send_all(b"ping")?;
    let mut buf = [0u8; 4];
    let child_connection_still_works = client.recv(&mut buf, libc::MSG_WAITALL)? == 4;
    Ok(ChildRestart {
        old_listener_reuseaddr: old_reuse,
        new_server_reuseaddr: new_reuse,
        bind: result_name(&bind),
        listen: listen.as_ref().map(result_name),
        new_client_accepted,
        child_connection_still_works,
    })
}

fn child_server_restart(_lab: &mut Lab) -> Result<Evidence> {
    let family = Family::V4;
    let runs = [
        restart_with_child(family, true, false)?,
        restart_with_child(family, true, true)?,
        restart_with_child(family, false, true)?,
    ];
    let [without, with, old_lacked] = &runs;
    let mut ev = Evidence::new();
    ev.observe("restarts", &runs);
    ev.expect_eq(
        "rebind without SO_REUSEADDR",
        "EADDRINUSE",
        without.bind.as_str(),
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR (old listener had it)",
        "ok",
        with.bind.as_str(),
    );
    ev.expect_eq(
        "the restarted server accepts",
        true,
        with.new_client_accepted,
    );
    ev.expect_eq(
        "the child's connection still works",
        true,
        with.child_connection_still_works,
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR when the old listener lacked it",
        "EADDRINUSE",
        old_lacked.bind.as_str(),
    );
    let verdict = match (
        without.bind != "ok",
        with.bind == "ok",
        old_lacked.bind == "ok",
    ) {
        (true, true, true) => Verdict::Holds,
        (true, true, false) => Verdict::Differs,
        _ => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "listener closed, child connection alive: bind without SO_REUSEADDR -> {}, with -> {} (accepted a new client: \
         {}, child still talking: {}); with it only on the new socket -> {}: the child's socket inherited the old \
         listener's setting and that is what counts", without.bind, with.bind, with.new_client_accepted,
        with.child_connection_still_works, old_lacked.bind));
    ev.key(format!(
        "without: {}, with: {}, old lacked it: {}",
        without.bind, with.bind, old_lacked.bind
    ));
    Ok(ev)
}

/// Two binds on `port`: the first on `a`, listening if `listen_first`, the
/// second on `b`; each with SO_REUSEADDR when asked. Returns (bind a, bind b,
/// listen b) as errno names.
fn two_binds(
    a: SocketAddr,
    b: SocketAddr,
    reuse_both: bool,
    listen_first: bool,
) -> Result<[String; 3]> {
    let s1 = Sock::tcp(Family::of(&a.ip()))?;
    let s2 = Sock::tcp(Family::of(&b.ip()))?;
    if reuse_both {
        reuse(&s1)?;
        reuse(&s2)?;
    }
    let r1 = s1.bind(a);
    if listen_first && r1.is_ok() {
        s1.listen(4)?;
    }
    let r2 = s2.bind(b);
    let l2 = if r2.is_ok() {
        if !listen_first {
            s1.listen(4)?;
        }
        result_name(&s2.listen(4))
    } else {
        "-".into()
    };
    Ok([result_name(&r1), result_name(&r2), l2])
}

fn free_port(family: Family) -> Result<u16> {
    let s = Sock::tcp(family)?;
    s.bind(SocketAddr::new(family.loopback(), 0))?;
    Ok(s.local_addr()?.port())
}

fn multihomed(lab: &mut Lab, family: Family) -> Result<Evidence> {
    let link = match family {
        Family::V4 => Link::pair_v4(lab)?,
        Family::V6 => Link::pair_v6(lab)?,
    };
    let (lo, other, any) = (family.loopback(), link.a_end.addr, family.any());
    let at = |ip, port| SocketAddr::new(ip, port);
    let p = free_port(family)?;
    let specific = two_binds(at(lo, p), at(other, p), false, true)?;
    let p = free_port(family)?;
    let wildcard_plain = two_binds(at(any, p), at(lo, p), false, true)?;
    let p = free_port(family)?;
    let wildcard_reuse = two_binds(at(any, p), at(lo, p), true, true)?;
    let p = free_port(family)?;
    let wildcard_reuse_unlistened = two_binds(at(any, p), at(lo, p), true, false)?;

    let mut ev = Evidence::new();
    ev.observe("addresses", [lo.to_string(), other.to_string()])
        .observe("two_specific_no_option", &specific)
        .observe(
            "wildcard_listening_then_specific_no_option",
            &wildcard_plain,
        )
        .observe(
            "wildcard_listening_then_specific_reuseaddr",
            &wildcard_reuse,
        )
        .observe(
            "wildcard_then_specific_reuseaddr_then_listen",
            &wildcard_reuse_unlistened,
        );
    let s = |v: &[&str; 3]| v.map(|x| x.to_string());
    ev.expect_eq(
        "same port on two specific addresses, no option",
        s(&["ok", "ok", "ok"]),
        specific.clone(),
    );
    ev.expect_eq(
        "specific next to a listening wildcard, no option",
        s(&["ok", "EADDRINUSE", "-"]),
        wildcard_plain.clone(),
    );
    ev.expect_eq(
        "specific next to a listening wildcard, SO_REUSEADDR",
        s(&["ok", "EADDRINUSE", "-"]),
        wildcard_reuse.clone(),
    );
    ev.expect_eq(
        "both SO_REUSEADDR, bound before either listens",
        s(&["ok", "ok", "EADDRINUSE"]),
        wildcard_reuse_unlistened.clone(),
    );
    let mut because = format!(
        "port on {lo} and {other}: {}/{}; wildcard+specific: no option {}, SO_REUSEADDR {} (listening) or bind {} \
         then listen {}", specific[0], specific[1], wildcard_plain[1], wildcard_reuse[1], wildcard_reuse_unlistened[1],
        wildcard_reuse_unlistened[2]);
    if family == Family::V6 {
        let dual = dual_stack()?;
        because.push_str(&format!("; dual stack: {}", dual.summary()));
        dual.judge(&mut ev);
    }
    let verdict = Verdict::holds_if(specific[1] == "ok");
    ev.verdict(verdict, because);
    ev.key(format!(
        "two addresses: {}; wildcard+specific w/ REUSEADDR: {}",
        specific[1], wildcard_reuse[1]
    ));
    Ok(ev)
}

/// IPV6_V6ONLY and the IPv4 port of an AF_INET6 wildcard.
#[derive(Debug, serde::Serialize)]
struct DualStack {
    bindv6only_sysctl: i64,
    v6only_default: i32,
    v4_bind_next_to_v6only_0: String,
    v4_client_seen_by_v6_socket_as: String,
    v4_bind_next_to_v6only_1: String,
}

impl DualStack {
    fn summary(&self) -> String {
        format!(
            "IPV6_V6ONLY default {} (bindv6only {}), v4 bind next to [::] with V6ONLY=0 -> {}, v4 client seen as {}, \
             with V6ONLY=1 -> {}",
            self.v6only_default, self.bindv6only_sysctl, self.v4_bind_next_to_v6only_0,
            self.v4_client_seen_by_v6_socket_as, self.v4_bind_next_to_v6only_1
        )
    }
    fn judge(&self, ev: &mut Evidence) {
        ev.observe("dual_stack", self);
        ev.expect_eq(
            "IPV6_V6ONLY defaults to net.ipv6.bindv6only",
            self.bindv6only_sysctl as i32,
            self.v6only_default,
        );
        ev.expect_eq(
            "V6ONLY=0: the IPv4 port is taken",
            "EADDRINUSE",
            self.v4_bind_next_to_v6only_0.as_str(),
        );
        ev.expect(
            "V6ONLY=0: an IPv4 client arrives v4-mapped",
            self.v4_client_seen_by_v6_socket_as == "::ffff:127.0.0.1",
            "::ffff:127.0.0.1",
            self.v4_client_seen_by_v6_socket_as.clone(),
        );
        ev.expect_eq(
            "V6ONLY=1: the IPv4 port is free",
            "ok",
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
    let v6only_default = Sock::tcp(Family::V6)?.get_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)?;
    let (dual, port0) = v6only(0)?;
    let v4 = Sock::tcp(Family::V4)?;
    let next_to_0 = result_name(&v4.bind(SocketAddr::new(Family::V4.any(), port0)));
    let client = Sock::tcp(Family::V4)?;
    client
        .connect(SocketAddr::new(Family::V4.loopback(), port0))
        .context("v4 client to the dual-stack port")?;
    let accepted = dual.accept().context("accept v4 client")?;
    // The address only: the client's port changes from run to run.
    let seen = crate::lab::sock::peer_addr(&accepted)?.ip().to_string();
    let (_v6, port1) = v6only(1)?;
    let v4b = Sock::tcp(Family::V4)?;
    let next_to_1 = result_name(&v4b.bind(SocketAddr::new(Family::V4.any(), port1)));
    Ok(DualStack {
        bindv6only_sysctl: bindv6only,
        v6only_default,
        v4_bind_next_to_v6only_0: next_to_0,
        v4_client_seen_by_v6_socket_as: seen,
        v4_bind_next_to_v6only_1: next_to_1,
    })
}

const CONNECTIONS: usize = 32;

fn tcp_duplicate(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let addr = SocketAddr::new(family.loopback(), free_port(family)?);
    let reuseaddr = two_binds(addr, addr, true, false)?;
    // SO_REUSEPORT on both: both listen and share the connections.
    let port = free_port(family)?;
    let at = SocketAddr::new(family.loopback(), port);
    let (l1, l2) = (Sock::tcp(family)?, Sock::tcp(family)?);
    let mut rp = Vec::new();
    for l in [&l1, &l2] {
        l.set_int(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
            .context("SO_REUSEPORT")?;
        rp.push(result_name(&l.bind(at)));
        rp.push(result_name(&l.listen(CONNECTIONS as i32)));
    }
    let mut clients = Vec::new();
    if rp.iter().all(|r| r == "ok") {
        for _ in 0..CONNECTIONS {
            let c = Sock::tcp(family)?;
            c.connect(at).context("connect to the shared port")?;
            clients.push(c);
        }
    }
    let mut accepted = [0usize; 2];
    for (i, l) in [&l1, &l2].iter().enumerate() {
        l.set_nonblocking(true)?;
        while l.accept().is_ok() {
            accepted[i] += 1;
        }
    }

    let mut ev = Evidence::new();
    ev.observe("reuseaddr_bind1_bind2_listen2", &reuseaddr)
        .observe("reuseport_bind_listen", &rp)
        .observe("connections", clients.len())
        .observe("accepted_per_listener", accepted);
    let s = |v: &[&str; 3]| v.map(|x| x.to_string());
    ev.expect_eq(
        "SO_REUSEADDR: both bind, the second listen fails",
        s(&["ok", "ok", "EADDRINUSE"]),
        reuseaddr.clone(),
    );
    ev.expect_eq(
        "SO_REUSEPORT: both bind and listen",
        vec!["ok"; 4],
        rp.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
    );
    ev.expect(
        "connections spread over both listeners",
        accepted[0] > 0 && accepted[1] > 0 && accepted[0] + accepted[1] == CONNECTIONS,
        format!("both > 0, sum {CONNECTIONS}"),
        format!("{accepted:?}"),
    );
    let verdict = if reuseaddr[2] == "EADDRINUSE" && accepted.iter().all(|n| *n > 0) {
        Verdict::Differs
    } else {
        Verdict::holds_if(reuseaddr[2] == "EADDRINUSE")
    };
    ev.verdict(verdict, format!(
        "SO_REUSEADDR: bind {} and {}, then the second listen -> {}; SO_REUSEPORT: {rp:?}, {CONNECTIONS} connections \
         accepted {accepted:?}: TCP can share a port completely, with SO_REUSEPORT", reuseaddr[0], reuseaddr[1],
        reuseaddr[2]));
    ev.key(format!(
        "REUSEADDR 2nd listen {}; REUSEPORT accepts {accepted:?}",
        reuseaddr[2]
    ));
    Ok(ev)
}

const GROUP: [u8; 4] = [239, 1, 2, 3];

fn udp_duplicate(lab: &mut Lab) -> Result<Evidence> {
    let link = Link::pair_v4(lab)?;
    let (b_addr, a_addr) = (link.b_end.addr, link.a_end.addr);
    let std::net::IpAddr::V4(b4) = b_addr else {
        anyhow::bail!("v4 link expected")
    };
    let std::net::IpAddr::V4(a4) = a_addr else {
        anyhow::bail!("v4 link expected")
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
        mreq[..4].copy_from_slice(&GROUP);
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
    // Which receivers get a datagram: wait for the first (up to 2 s); then,
    // unless both have it, give the other 200 ms more, as it would have come
    // with the first.
    let got = |what: &str| -> Result<[bool; 2]> {
        let mut buf = [0u8; 64];
        let mut seen = [false; 2];
        let mut look = |seen: &mut [bool; 2]| {
            for (i, r) in [&r1, &r2].iter().enumerate() {
                if r.recv(&mut buf, libc::MSG_DONTWAIT).is_ok() {
                    seen[i] = true;
                }
            }
        };
        phase(&format!("waiting for the {what} datagram"));
        let _ = wait::until(
            &format!("the {what} datagram at a receiver"),
            Duration::from_secs(2),
            || {
                look(&mut seen);
                Ok(seen.iter().any(|s| *s).then_some(()))
            },
        );
        let _ = wait::until(
            &format!("the {what} datagram at both receivers"),
            Duration::from_millis(200),
            || {
                look(&mut seen);
                Ok(seen.iter().all(|s| *s).then_some(()))
            },
        );
        Ok(seen)
    };
    tx.send_to(
        b"to-the-group",
        0,
        SocketAddr::new(std::net::Ipv4Addr::from(GROUP).into(), port),
    )?;
    let multicast = got("multicast")?;
    // Unicast from inside host b (no address resolution to wait for).
    link.b.run(|| -> Result<()> {
        Sock::udp(Family::V4)?.send_to(b"to-the-host", 0, SocketAddr::new(b_addr, port))?;
        Ok(())
    })??;
    let unicast = got("unicast")?;

    let mut ev = Evidence::new();
    ev.observe("binds", &binds)
        .observe("multicast_received_by", multicast)
        .observe("unicast_received_by", unicast);
    ev.expect_eq(
        "both binds of the same address and port",
        ["ok".to_string(), "ok".to_string()],
        binds.clone(),
    );
    ev.expect_eq("a multicast datagram reaches both", [true, true], multicast);
    ev.expect_eq(
        "a unicast datagram reaches exactly one",
        1,
        unicast.iter().filter(|s| **s).count(),
    );
    let holds = binds.iter().all(|b| b == "ok") && multicast == [true, true];
    ev.verdict(Verdict::holds_if(holds), format!(
        "two UDP sockets on 0.0.0.0:{port} with SO_REUSEADDR: binds {binds:?}; a datagram to {}:{port} reached \
         {multicast:?}, a unicast one reached {unicast:?}", std::net::Ipv4Addr::from(GROUP)));
    ev.key(format!(
        "binds {binds:?}; multicast -> {multicast:?}, unicast -> {unicast:?}"
    ));
    Ok(ev)
}
