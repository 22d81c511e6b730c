//! IPPROTO_IP options: IP_TTL and IPv6 hop limits (004 §5.1). The TTL that
//! counts is the one in the IP header on the wire, captured on lo.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock};
use crate::model::{Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &TTL_DEFAULT_THEN_32,
    &TTL_DEFAULT_THEN_32_V6,
    &TTL_BOUNDS,
    &TTL_BOUNDS_V6,
];

pub static TTL_DEFAULT_THEN_32: Case = Case {
    id: "ip_ttl.default_then_32",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "getsockopt(IP_TTL) reads the default TTL, setsockopt(IP_TTL, 32) changes it to 32",
    expectation: "getsockopt reports net.ipv4.ip_default_ttl of the namespace and datagrams leave with that TTL; \
                  after IP_TTL 32 they leave with TTL 32; the default is read at send time, so changing the \
                  sysctl changes the TTL of sockets that never set one, not of this one",
    run: &Legacy(|lab| default_then_32(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_TTL],
};

pub static TTL_DEFAULT_THEN_32_V6: Case = Case {
    id: "ip_ttl.default_then_32@v6",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "getsockopt reads the default hop limit, setsockopt(IPV6_UNICAST_HOPS, 32) changes it to 32",
    expectation: "the default is the hop_limit of the outgoing device (net.ipv6.conf.lo.hop_limit here); an \
                  unconnected socket's getsockopt reports net.ipv6.conf.all.hop_limit instead, a connected one \
                  its route's; after 32 packets leave with hop limit 32",
    run: &Legacy(|lab| default_then_32(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_UNICAST_HOPS],
};

pub static TTL_BOUNDS: Case = Case {
    id: "ip_ttl.bounds",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "(implied) the TTL is an integer option that can be set to any value",
    expectation: "IP_TTL accepts 1..=255 and -1 (back to the namespace default); 0, 256 and -2 are EINVAL and \
                  leave the previous TTL in force; accepted values are the TTL on the wire",
    run: &Legacy(|lab| bounds(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static TTL_BOUNDS_V6: Case = Case {
    id: "ip_ttl.bounds@v6",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "(implied) the hop limit is an integer option that can be set to any value",
    expectation: "IPV6_UNICAST_HOPS accepts 0..=255 and -1 (route default); 256 and -2 are EINVAL and leave the \
                  previous value; unlike IPv4, 0 is accepted and goes on the wire as hop limit 0",
    run: &Legacy(|lab| bounds(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

/// The socket option and the sysctl that holds the default, per family.
struct TtlKnob {
    level: i32,
    opt: i32,
    name: &'static str,
    /// Sysctl that sets the TTL of packets from sockets that set none.
    default_sysctl: &'static str,
}

fn knob(family: Family) -> TtlKnob {
    match family {
        Family::V4 => TtlKnob {
            level: libc::IPPROTO_IP,
            opt: libc::IP_TTL,
            name: "IP_TTL",
            default_sysctl: "net/ipv4/ip_default_ttl",
        },
        // The route's hop limit comes from the outgoing device: lo here.
        Family::V6 => TtlKnob {
            level: libc::IPPROTO_IPV6,
            opt: libc::IPV6_UNICAST_HOPS,
            name: "IPV6_UNICAST_HOPS",
            default_sysctl: "net/ipv6/conf/lo/hop_limit",
        },
    }
}

/// A receiver on loopback and a capture on lo; each `send` makes a datagram
/// with a payload length of its own so its frame is told apart.
struct TtlProbe {
    cap: Capture,
    rx: Sock,
    to: SocketAddr,
    sent: usize,
}

/// What one datagram showed.
#[derive(Clone, Debug, Serialize)]
struct Sent {
    wire_ttl: u8,
    delivered: bool,
}

impl TtlProbe {
    fn new(family: Family) -> Result<TtlProbe> {
        let cap = Capture::start("lo")?;
        let rx = Sock::udp(family)?;
        rx.bind(SocketAddr::new(family.loopback(), 0))
            .context("bind receiver")?;
        rx.set_nonblocking(true)?;
        let to = rx.local_addr()?;
        Ok(TtlProbe {
            cap,
            rx,
            to,
            sent: 0,
        })
    }

    fn send(&mut self, tx: &Sock) -> Result<Sent> {
        self.sent += 1;
        let len = self.sent;
        tx.send_to(&vec![b't'; len], 0, self.to)
            .context("sendto the receiver")?;
        let sport = tx.local_addr()?.port();
        let dport = self.to.port();
        let frame = self.cap.wait_for(
            &format!("datagram #{len} from port {sport}"),
            Duration::from_secs(2),
            |f| matches!(f.decode(), Packet::Udp(d) if d.sport == sport && d.dport == dport && d.payload as usize == len),
        )?;
        let Packet::Udp(d) = frame.decode() else {
            anyhow::bail!("captured frame is not UDP");
        };
        // The frame is captured on its way out; delivery follows in the
        // softirq pass, so a bounded poll of the receiver tells whether it came.
        crate::lab::wait::readable(
            std::os::fd::AsRawFd::as_raw_fd(&self.rx),
            Duration::from_secs(2),
        )?;
        let mut buf = [0u8; 64];
        let mut delivered = false;
        while let Ok(n) = self.rx.recv(&mut buf, 0) {
            delivered |= n == len;
        }
        Ok(Sent {
            wire_ttl: d.ttl,
            delivered,
        })
    }
}

fn sysctl_u8(name: &str) -> Result<u8> {
    u8::try_from(procnet::sysctl_int(name)?).with_context(|| format!("{name} out of range"))
}

/// A different default for the namespace, to show where the default comes from.
const OTHER_DEFAULT: u8 = 100;

fn default_then_32(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let k = knob(family);
    let ns_default = sysctl_u8(k.default_sysctl)?;
    let mut probe = TtlProbe::new(family)?;
    let tx = Sock::udp(family)?;
    let read_default = tx.get_int(k.level, k.opt)?;
    let before = probe.send(&tx)?;
    let set32 = tx.set_int(k.level, k.opt, 32);
    let after = probe.send(&tx)?;
    // Another default in the namespace: a socket that set nothing follows it,
    // the one that set 32 keeps 32.
    procnet::set_sysctl(k.default_sysctl, &OTHER_DEFAULT.to_string())?;
    let fresh = Sock::udp(family)?;
    let fresh_read = fresh.get_int(k.level, k.opt)?;
    let fresh_sent = probe.send(&fresh)?;
    let kept = probe.send(&tx)?;

    let mut ev = Evidence::new();
    ev.observe("default_sysctl", k.default_sysctl)
        .observe("namespace_default", ns_default)
        .observe("getsockopt_default", read_default)
        .observe("wire_before", &before)
        .observe("setsockopt_32", result_name(&set32))
        .observe("wire_after_32", &after)
        .observe("other_namespace_default", OTHER_DEFAULT)
        .observe("fresh_socket_getsockopt", fresh_read)
        .observe("fresh_socket_wire", &fresh_sent)
        .observe("socket_with_32_wire", &kept);
    if family == Family::V6 {
        let all = procnet::sysctl_int("net/ipv6/conf/all/hop_limit")?;
        ev.observe("conf_all_hop_limit", all);
        // An unconnected socket has no route to ask: getsockopt falls back to
        // conf/all, while the packet takes the device's value.
        ev.expect_eq(
            "getsockopt on a fresh unconnected socket (conf.all.hop_limit)",
            all as i32,
            fresh_read,
        );
        let connected = Sock::udp(family)?;
        connected.connect(probe.to).context("connect UDP")?;
        let connected_read = connected.get_int(k.level, k.opt)?;
        ev.observe("connected_socket_getsockopt", connected_read);
        ev.expect_eq(
            "getsockopt on a connected socket (its route's device)",
            OTHER_DEFAULT as i32,
            connected_read,
        );
    } else {
        ev.expect_eq(
            "getsockopt on a fresh socket follows the sysctl",
            OTHER_DEFAULT as i32,
            fresh_read,
        );
    }
    ev.expect_eq(
        "getsockopt before any setsockopt",
        ns_default as i32,
        read_default,
    );
    ev.expect_eq(
        "TTL on the wire before setsockopt",
        ns_default,
        before.wire_ttl,
    );
    ev.expect_eq(
        &format!("setsockopt({}, 32)", k.name),
        "ok".to_string(),
        result_name(&set32),
    );
    ev.expect_eq("TTL on the wire after 32", 32, after.wire_ttl);
    ev.expect_eq(
        "TTL of a fresh socket after the sysctl changed",
        OTHER_DEFAULT,
        fresh_sent.wire_ttl,
    );
    ev.expect_eq("the socket set to 32 keeps 32", 32, kept.wire_ttl);
    ev.expect_eq(
        "every datagram delivered",
        true,
        [&before, &after, &fresh_sent, &kept]
            .iter()
            .all(|s| s.delivered),
    );

    let holds = read_default == before.wire_ttl as i32 && after.wire_ttl == 32;
    ev.verdict(
        Verdict::holds_if(holds),
        format!(
            "{} read {read_default} ({} = {ns_default}), wire {}; set 32: {}, wire {}; with the sysctl at \
             {OTHER_DEFAULT} a fresh socket reads {fresh_read} and sends with {}, the one set to 32 still {}",
            k.name,
            k.default_sysctl,
            before.wire_ttl,
            result_name(&set32),
            after.wire_ttl,
            fresh_sent.wire_ttl,
            kept.wire_ttl
        ),
    );
    ev.key(format!(
        "default {read_default} (wire {}), after 32: wire {}",
        before.wire_ttl, after.wire_ttl
    ));
    ev.frames(probe.cap.frames()?);
    Ok(ev)
}

/// One setsockopt in the bounds sequence and what followed.
#[derive(Clone, Debug, Serialize)]
struct Step {
    value: i32,
    result: String,
    getsockopt: i32,
    wire_ttl: u8,
    delivered: bool,
}

fn accepted(family: Family, v: i32) -> bool {
    match family {
        Family::V4 => v == -1 || (1..=255).contains(&v),
        Family::V6 => (-1..=255).contains(&v),
    }
}

/// Values in an order where each refused one follows an accepted one, so
/// "the previous value stays" is visible.
const BOUNDS: [i32; 6] = [1, 0, 255, 256, -1, -2];

fn bounds(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let k = knob(family);
    let ns_default = sysctl_u8(k.default_sysctl)?;
    let mut probe = TtlProbe::new(family)?;
    let tx = Sock::udp(family)?;
    let mut steps = Vec::new();
    for v in BOUNDS {
        let r = tx.set_int(k.level, k.opt, v);
        let getsockopt = tx.get_int(k.level, k.opt)?;
        let sent = probe.send(&tx)?;
        steps.push(Step {
            value: v,
            result: result_name(&r),
            getsockopt,
            wire_ttl: sent.wire_ttl,
            delivered: sent.delivered,
        });
    }

    let mut ev = Evidence::new();
    ev.observe("namespace_default", ns_default)
        .observe("steps", &steps);
    let mut in_force = ns_default;
    for s in &steps {
        let ok = accepted(family, s.value);
        if ok {
            in_force = if s.value == -1 {
                ns_default
            } else {
                s.value as u8
            };
        }
        ev.expect_eq(
            &format!("{}={}: result, TTL on the wire", k.name, s.value),
            (if ok { "ok" } else { "EINVAL" }.to_string(), in_force),
            (s.result.clone(), s.wire_ttl),
        );
    }
    ev.expect_eq(
        "every datagram delivered (TTL only matters when forwarding)",
        true,
        steps.iter().all(|s| s.delivered),
    );

    let refused: Vec<i32> = steps
        .iter()
        .filter(|s| s.result != "ok")
        .map(|s| s.value)
        .collect();
    let honoured = steps.iter().filter(|s| s.result == "ok").all(|s| {
        s.wire_ttl
            == if s.value == -1 {
                ns_default
            } else {
                s.value as u8
            }
    });
    let verdict = match (honoured, refused.is_empty()) {
        (false, _) => Verdict::Refuted,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::Differs,
    };
    let table: Vec<String> = steps
        .iter()
        .map(|s| format!("{}:{}->wire {}", s.value, s.result, s.wire_ttl))
        .collect();
    ev.verdict(
        verdict,
        format!(
            "{} (default {ns_default}): {}; refused {refused:?}",
            k.name,
            table.join(", ")
        ),
    );
    ev.key(table.join(" "));
    ev.frames(probe.cap.frames()?);
    Ok(ev)
}
