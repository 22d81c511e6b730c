//! IPPROTO_IP options: IP_TTL and IPv6 hop limits (004 §5.1). The TTL that
//! counts is the one in the IP header on the wire, captured on lo.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{procnet, Capture, Family, Lab, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

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
    run: &Measure(|lab| default_then_32(lab, Family::V4)),
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
    run: &Measure(|lab| default_then_32(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_UNICAST_HOPS],
};

pub static TTL_BOUNDS: Case = Case {
    id: "ip_ttl.bounds",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "(implied) the TTL is an integer option that can be set to any value",
    expectation: "IP_TTL accepts 1..=255 and -1 (back to the namespace default); 0, 256 and -2 are EINVAL and \
                  leave the previous TTL in force; accepted values are the TTL on the wire",
    run: &Measure(|lab| bounds(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static TTL_BOUNDS_V6: Case = Case {
    id: "ip_ttl.bounds@v6",
    source: Source::LectureNotes("5.1 IP_TTL example"),
    claim: "(implied) the hop limit is an integer option that can be set to any value",
    expectation: "IPV6_UNICAST_HOPS accepts 0..=255 and -1 (route default); 256 and -2 are EINVAL and leave the \
                  previous value; unlike IPv4, 0 is accepted and goes on the wire as hop limit 0",
    run: &Measure(|lab| bounds(lab, Family::V6)),
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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    /// The TTL (IPv6: hop limit) in the IP header on lo.
    pub wire_ttl: u8,
    /// The receiver got it.
    pub delivered: bool,
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

/// A sysctl's path as people write its name: net.ipv4.ip_default_ttl.
fn dotted(path: &str) -> String {
    path.replace('/', ".")
}

/// A different default for the namespace, to show where the default comes from.
const OTHER_DEFAULT: u8 = 100;

/// The default TTL (hop limit) of a new socket, then 32, then another
/// namespace default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefaultThen32 {
    /// IP_TTL or IPV6_UNICAST_HOPS.
    pub option: String,
    /// The sysctl that holds the default of sockets that set none, and its
    /// value at the start.
    pub default_sysctl: String,
    pub namespace_default: u8,
    /// getsockopt on a new socket, before any setsockopt.
    pub getsockopt_default: i32,
    pub before: Sent,
    /// setsockopt(option, 32): ok or the errno name.
    pub set_32: String,
    pub after_32: Sent,
    /// The sysctl set to this next; what a new socket then read and sent.
    pub other_default: u8,
    pub fresh_getsockopt: i32,
    pub fresh: Sent,
    /// The socket set to 32, sending again after the sysctl changed.
    pub kept: Sent,
    /// IPv6 only: where getsockopt's answer comes from.
    pub hop_limit_sources: Option<HopLimitSources>,
}

/// Where IPv6 getsockopt finds the hop limit of a socket that set none.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopLimitSources {
    /// net.ipv6.conf.all.hop_limit: what an unconnected socket reads.
    pub conf_all_hop_limit: i32,
    /// What a connected socket reads: its route's device's hop limit.
    pub connected_getsockopt: i32,
}

fn default_then_32(_lab: &mut Lab, family: Family) -> Result<DefaultThen32> {
    let k = knob(family);
    let namespace_default = sysctl_u8(k.default_sysctl)?;
    let mut probe = TtlProbe::new(family)?;
    let tx = Sock::udp(family)?;
    let getsockopt_default = tx.get_int(k.level, k.opt)?;
    let before = probe.send(&tx)?;
    let set_32 = result_name(&tx.set_int(k.level, k.opt, 32));
    let after_32 = probe.send(&tx)?;
    // Another default in the namespace: a socket that set nothing follows it,
    // the one that set 32 keeps 32.
    procnet::set_sysctl(k.default_sysctl, &OTHER_DEFAULT.to_string())?;
    let fresh = Sock::udp(family)?;
    let fresh_getsockopt = fresh.get_int(k.level, k.opt)?;
    let fresh_sent = probe.send(&fresh)?;
    let kept = probe.send(&tx)?;
    let hop_limit_sources = match family {
        Family::V4 => None,
        Family::V6 => {
            let connected = Sock::udp(family)?;
            connected.connect(probe.to).context("connect UDP")?;
            Some(HopLimitSources {
                conf_all_hop_limit: procnet::sysctl_int("net/ipv6/conf/all/hop_limit")? as i32,
                connected_getsockopt: connected.get_int(k.level, k.opt)?,
            })
        }
    };
    Ok(DefaultThen32 {
        option: k.name.into(),
        default_sysctl: dotted(k.default_sysctl),
        namespace_default,
        getsockopt_default,
        before,
        set_32,
        after_32,
        other_default: OTHER_DEFAULT,
        fresh_getsockopt,
        fresh: fresh_sent,
        kept,
        hop_limit_sources,
    })
}

/// What the IP header field is called: TTL, or hop limit in IPv6.
fn field(ipv6: bool) -> &'static str {
    if ipv6 {
        "hop limit"
    } else {
        "TTL"
    }
}

impl Observation for DefaultThen32 {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let other = i32::from(self.other_default);
        match self.hop_limit_sources {
            // An unconnected socket has no route to ask: getsockopt falls
            // back to conf/all, while the packet takes the device's value.
            Some(v6) => {
                j.expect_eq(
                    "getsockopt on a fresh unconnected socket (conf.all.hop_limit)",
                    &v6.conf_all_hop_limit,
                    &self.fresh_getsockopt,
                );
                j.expect_eq(
                    "getsockopt on a connected socket (its route's device)",
                    &other,
                    &v6.connected_getsockopt,
                );
            }
            None => {
                j.expect_eq(
                    "getsockopt on a fresh socket follows the sysctl",
                    &other,
                    &self.fresh_getsockopt,
                );
            }
        }
        j.expect_eq(
            "getsockopt before any setsockopt",
            &i32::from(self.namespace_default),
            &self.getsockopt_default,
        );
        j.expect_eq(
            "TTL on the wire before setsockopt",
            &self.namespace_default,
            &self.before.wire_ttl,
        );
        j.expect_eq(
            &format!("setsockopt({}, 32)", self.option),
            "ok",
            self.set_32.as_str(),
        );
        j.expect_eq("TTL on the wire after 32", &32, &self.after_32.wire_ttl);
        j.expect_eq(
            "TTL of a fresh socket after the sysctl changed",
            &self.other_default,
            &self.fresh.wire_ttl,
        );
        j.expect_eq("the socket set to 32 keeps 32", &32, &self.kept.wire_ttl);
        let sent = [self.before, self.after_32, self.fresh, self.kept];
        j.expect(
            "every datagram delivered",
            sent.iter().all(|s| s.delivered),
            "4 of 4",
            format!("{} of 4", sent.iter().filter(|s| s.delivered).count()),
        );
        let ttl = field(self.hop_limit_sources.is_some());
        let holds = self.getsockopt_default == i32::from(self.before.wire_ttl)
            && self.after_32.wire_ttl == 32;
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "getsockopt({opt}) read {} ({} is {}) and datagrams left with {ttl} {}; setsockopt({opt}, \
                 32) returned {} and they left with {ttl} {}; with the sysctl at {}, a new socket read {} and \
                 sent with {ttl} {}, while the one set to 32 kept {ttl} {}",
                self.getsockopt_default,
                self.default_sysctl,
                self.namespace_default,
                self.before.wire_ttl,
                self.set_32,
                self.after_32.wire_ttl,
                self.other_default,
                self.fresh_getsockopt,
                self.fresh.wire_ttl,
                self.kept.wire_ttl,
                opt = self.option,
            ),
        );
        j.key(format!(
            "reads {}, sends {ttl} {}; after 32, {ttl} {}",
            self.getsockopt_default, self.before.wire_ttl, self.after_32.wire_ttl
        ));
        j
    }
}

/// One setsockopt in the bounds sequence and what followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The value given to setsockopt, and what it returned (ok or the errno
    /// name).
    pub value: i32,
    pub result: String,
    /// getsockopt right after.
    pub getsockopt: i32,
    /// A datagram sent right after: its TTL (hop limit) on lo.
    pub wire_ttl: u8,
    pub delivered: bool,
}

/// setsockopt with each of `BOUNDS` in turn on one socket, each followed by
/// a datagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// IP_TTL or IPV6_UNICAST_HOPS.
    pub option: String,
    pub ipv6: bool,
    /// The namespace's default TTL (hop limit of lo).
    pub namespace_default: u8,
    pub steps: Vec<Step>,
}

/// The values Linux accepts: 1..=255 for IP_TTL, 0..=255 for the hop limit,
/// and -1 (back to the default) for both.
fn accepted(ipv6: bool, v: i32) -> bool {
    let lowest = if ipv6 { 0 } else { 1 };
    v == -1 || (lowest..=255).contains(&v)
}

/// Values in an order where each refused one follows an accepted one, so
/// "the previous value stays" is visible.
const BOUNDS: [i32; 6] = [1, 0, 255, 256, -1, -2];

fn bounds(_lab: &mut Lab, family: Family) -> Result<Bounds> {
    let k = knob(family);
    let namespace_default = sysctl_u8(k.default_sysctl)?;
    let mut probe = TtlProbe::new(family)?;
    let tx = Sock::udp(family)?;
    let mut steps = Vec::new();
    for value in BOUNDS {
        let result = result_name(&tx.set_int(k.level, k.opt, value));
        let getsockopt = tx.get_int(k.level, k.opt)?;
        let sent = probe.send(&tx)?;
        steps.push(Step {
            value,
            result,
            getsockopt,
            wire_ttl: sent.wire_ttl,
            delivered: sent.delivered,
        });
    }
    Ok(Bounds {
        option: k.name.into(),
        ipv6: family == Family::V6,
        namespace_default,
        steps,
    })
}

impl Bounds {
    /// The TTL a value sets, when it is accepted: -1 is the default.
    fn sets(&self, value: i32) -> u8 {
        u8::try_from(value).unwrap_or(self.namespace_default)
    }
}

impl Observation for Bounds {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let ttl = field(self.ipv6);
        let mut in_force = self.namespace_default;
        for s in &self.steps {
            let ok = accepted(self.ipv6, s.value);
            if ok {
                in_force = self.sets(s.value);
            }
            let expected = if ok { "ok" } else { "EINVAL" };
            j.expect(
                &format!("{}={}: result, TTL on the wire", self.option, s.value),
                s.result == expected && s.wire_ttl == in_force,
                format!("{expected}, {ttl} {in_force}"),
                format!("{}, {ttl} {}", s.result, s.wire_ttl),
            );
        }
        let reset = self.steps.iter().find(|s| s.value == -1);
        j.expect(
            "-1 brings the namespace default back",
            reset.is_some_and(|s| s.result == "ok" && s.wire_ttl == self.namespace_default),
            format!("ok, {ttl} {}", self.namespace_default),
            reset.map_or_else(
                || "not tried".into(),
                |s| format!("{}, {ttl} {}", s.result, s.wire_ttl),
            ),
        );
        let below: Vec<&Step> = self.steps.iter().filter(|s| s.value < -1).collect();
        j.expect(
            "values below -1 are refused",
            !below.is_empty() && below.iter().all(|s| s.result != "ok"),
            "refused",
            if below.is_empty() {
                "none tried".to_string()
            } else {
                below
                    .iter()
                    .map(|s| format!("{} {}", s.value, s.result))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        let delivered = self.steps.iter().filter(|s| s.delivered).count();
        j.expect(
            "every datagram delivered (TTL only matters when forwarding)",
            delivered == self.steps.len(),
            format!("{n} of {n}", n = self.steps.len()),
            format!("{delivered} of {}", self.steps.len()),
        );

        let (taken, refused): (Vec<&Step>, Vec<&Step>) =
            self.steps.iter().partition(|s| s.result == "ok");
        let honoured = taken.iter().all(|s| s.wire_ttl == self.sets(s.value));
        let verdict = match (honoured, refused.is_empty()) {
            (false, _) => Verdict::Refuted,
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
        };
        let values = |steps: &[&Step]| -> String {
            if steps.is_empty() {
                return "nothing".into();
            }
            steps
                .iter()
                .map(|s| s.value.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let table: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                format!(
                    "{} {} (getsockopt {}, {ttl} {})",
                    s.value, s.result, s.getsockopt, s.wire_ttl
                )
            })
            .collect();
        j.verdict(
            verdict,
            format!(
                "{} with a default of {}: {}",
                self.option,
                self.namespace_default,
                table.join("; ")
            ),
        );
        j.key(format!(
            "accepts {}; refuses {}",
            values(&taken),
            values(&refused)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn sent(wire_ttl: u8) -> Sent {
        Sent {
            wire_ttl,
            delivered: true,
        }
    }

    fn outcome(o: &impl Observation) -> (Option<Verdict>, Vec<String>) {
        let j = o.judge();
        (
            j.verdict,
            j.failed().into_iter().map(String::from).collect(),
        )
    }

    fn expect(verdict: Verdict, failed: &[&str]) -> (Option<Verdict>, Vec<String>) {
        (
            Some(verdict),
            failed.iter().map(|f| f.to_string()).collect(),
        )
    }

    /// What Linux 6.18 did (a real run's numbers).
    fn v4_linux() -> DefaultThen32 {
        DefaultThen32 {
            option: "IP_TTL".into(),
            default_sysctl: "net.ipv4.ip_default_ttl".into(),
            namespace_default: 64,
            getsockopt_default: 64,
            before: sent(64),
            set_32: "ok".into(),
            after_32: sent(32),
            other_default: 100,
            fresh_getsockopt: 100,
            fresh: sent(100),
            kept: sent(32),
            hop_limit_sources: None,
        }
    }

    fn v6_linux() -> DefaultThen32 {
        DefaultThen32 {
            option: "IPV6_UNICAST_HOPS".into(),
            default_sysctl: "net.ipv6.conf.lo.hop_limit".into(),
            fresh_getsockopt: 64,
            hop_limit_sources: Some(HopLimitSources {
                conf_all_hop_limit: 64,
                connected_getsockopt: 100,
            }),
            ..v4_linux()
        }
    }

    const AFTER_32: &str = "TTL on the wire after 32";
    const KEEPS_32: &str = "the socket set to 32 keeps 32";
    const UNCONNECTED: &str = "getsockopt on a fresh unconnected socket (conf.all.hop_limit)";

    #[rstest]
    #[case::v4_linux(v4_linux(), Verdict::Holds, &[])]
    #[case::v6_linux(v6_linux(), Verdict::Holds, &[])]
    // A libc that ignores IP_TTL: the datagrams keep the default.
    #[case::ignored(DefaultThen32 { after_32: sent(64), kept: sent(100), ..v4_linux() },
        Verdict::Refuted, &[AFTER_32, KEEPS_32])]
    #[case::refused(DefaultThen32 { set_32: "EPERM".into(), after_32: sent(64), kept: sent(100),
        ..v4_linux() }, Verdict::Refuted, &["setsockopt(IP_TTL, 32)", AFTER_32, KEEPS_32])]
    // getsockopt says -1 ("the default") instead of the value in force.
    #[case::reads_minus_one(DefaultThen32 { getsockopt_default: -1, ..v4_linux() }, Verdict::Refuted,
        &["getsockopt before any setsockopt"])]
    #[case::wire_disagrees(DefaultThen32 { before: sent(255), ..v4_linux() }, Verdict::Refuted,
        &["TTL on the wire before setsockopt"])]
    // Reads what goes on the wire, but that is not the namespace's default.
    #[case::other_default(DefaultThen32 { getsockopt_default: 128, before: sent(128), ..v4_linux() },
        Verdict::Holds, &["getsockopt before any setsockopt", "TTL on the wire before setsockopt"])]
    // A default read once at boot, not at send time.
    #[case::sysctl_ignored(DefaultThen32 { fresh_getsockopt: 64, fresh: sent(64), ..v4_linux() },
        Verdict::Holds, &["getsockopt on a fresh socket follows the sysctl",
        "TTL of a fresh socket after the sysctl changed"])]
    #[case::lost(DefaultThen32 { kept: Sent { wire_ttl: 32, delivered: false }, ..v4_linux() },
        Verdict::Holds, &["every datagram delivered"])]
    // A kernel whose unconnected getsockopt asks the device after all.
    #[case::v6_reads_device(DefaultThen32 { fresh_getsockopt: 100, ..v6_linux() }, Verdict::Holds,
        &[UNCONNECTED])]
    #[case::v6_connected_reads_all(DefaultThen32 { hop_limit_sources: Some(HopLimitSources {
        conf_all_hop_limit: 64, connected_getsockopt: 64 }), ..v6_linux() }, Verdict::Holds,
        &["getsockopt on a connected socket (its route's device)"])]
    fn default_then_32_judgement(
        #[case] o: DefaultThen32,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn default_then_32_words() {
        let j = v4_linux().judge();
        assert_eq!("reads 64, sends TTL 64; after 32, TTL 32", j.key);
        assert_eq!(
            "getsockopt(IP_TTL) read 64 (net.ipv4.ip_default_ttl is 64) and datagrams left with TTL 64; \
             setsockopt(IP_TTL, 32) returned ok and they left with TTL 32; with the sysctl at 100, a new \
             socket read 100 and sent with TTL 100, while the one set to 32 kept TTL 32",
            j.because
        );
        let j = v6_linux().judge();
        assert_eq!(
            "reads 64, sends hop limit 64; after 32, hop limit 32",
            j.key
        );
        assert!(j.because.starts_with(
            "getsockopt(IPV6_UNICAST_HOPS) read 64 (net.ipv6.conf.lo.hop_limit is 64)"
        ));
        let lost = DefaultThen32 {
            kept: Sent {
                wire_ttl: 32,
                delivered: false,
            },
            ..v4_linux()
        }
        .judge();
        let c = lost.checks.last().expect("the delivery check");
        assert_eq!(
            ("4 of 4", "3 of 4"),
            (c.expected.as_str(), c.observed.as_str())
        );
        assert_eq!("net.ipv4.ip_default_ttl", dotted("net/ipv4/ip_default_ttl"));
    }

    fn steps(rows: &[(i32, &str, i32, u8)]) -> Vec<Step> {
        rows.iter()
            .map(|&(value, result, getsockopt, wire_ttl)| Step {
                value,
                result: result.into(),
                getsockopt,
                wire_ttl,
                delivered: true,
            })
            .collect()
    }

    fn bounds_v4() -> Bounds {
        Bounds {
            option: "IP_TTL".into(),
            ipv6: false,
            namespace_default: 64,
            steps: steps(&[
                (1, "ok", 1, 1),
                (0, "EINVAL", 1, 1),
                (255, "ok", 255, 255),
                (256, "EINVAL", 255, 255),
                (-1, "ok", 64, 64),
                (-2, "EINVAL", 64, 64),
            ]),
        }
    }

    fn bounds_v6() -> Bounds {
        Bounds {
            option: "IPV6_UNICAST_HOPS".into(),
            ipv6: true,
            steps: steps(&[
                (1, "ok", 1, 1),
                (0, "ok", 0, 0),
                (255, "ok", 255, 255),
                (256, "EINVAL", 255, 255),
                (-1, "ok", 64, 64),
                (-2, "EINVAL", 64, 64),
            ]),
            ..bounds_v4()
        }
    }

    const DELIVERED: &str = "every datagram delivered (TTL only matters when forwarding)";

    /// `base` with step `i` replaced by `row`.
    fn with_step(base: Bounds, i: usize, row: (i32, &str, i32, u8)) -> Bounds {
        let mut o = base;
        o.steps[i] = steps(&[row]).remove(0);
        o
    }

    const BELOW: &str = "values below -1 are refused";
    const RESET: &str = "-1 brings the namespace default back";

    #[rstest]
    #[case::v4_linux(bounds_v4(), Verdict::Differs, &[])]
    #[case::v6_linux(bounds_v6(), Verdict::Differs, &[])]
    // The claim's world: any value goes (out of range ones mean the default).
    #[case::anything_goes(Bounds { steps: steps(&[(1, "ok", 1, 1), (0, "ok", 0, 0),
        (255, "ok", 255, 255), (256, "ok", 64, 64), (-1, "ok", 64, 64), (-2, "ok", 64, 64)]),
        ..bounds_v4() }, Verdict::Holds,
        &["IP_TTL=0: result, TTL on the wire", "IP_TTL=256: result, TTL on the wire",
          "IP_TTL=-2: result, TTL on the wire", BELOW])]
    // A libc that ignores IP_TTL: every call "works", nothing changes.
    #[case::ignored(Bounds { steps: steps(&[(1, "ok", 1, 64), (0, "ok", 0, 64),
        (255, "ok", 255, 64), (256, "ok", 256, 64), (-1, "ok", -1, 64), (-2, "ok", -2, 64)]),
        ..bounds_v4() }, Verdict::Refuted,
        &["IP_TTL=1: result, TTL on the wire", "IP_TTL=0: result, TTL on the wire",
          "IP_TTL=255: result, TTL on the wire", "IP_TTL=256: result, TTL on the wire",
          "IP_TTL=-2: result, TTL on the wire", BELOW])]
    // A refusal that resets the TTL instead of keeping the previous one.
    #[case::refusal_resets(with_step(bounds_v4(), 1, (0, "EINVAL", 64, 64)), Verdict::Differs,
        &["IP_TTL=0: result, TTL on the wire"])]
    #[case::refused_with_another_errno(with_step(bounds_v4(), 3, (256, "ERANGE", 255, 255)),
        Verdict::Differs, &["IP_TTL=256: result, TTL on the wire"])]
    #[case::v6_zero_refused(with_step(bounds_v6(), 1, (0, "EINVAL", 1, 1)), Verdict::Differs,
        &["IPV6_UNICAST_HOPS=0: result, TTL on the wire"])]
    // -1 refused: the previous TTL stays.
    #[case::minus_one_refused(with_step(bounds_v4(), 4, (-1, "EINVAL", 255, 255)), Verdict::Differs,
        &["IP_TTL=-1: result, TTL on the wire", RESET])]
    // -1 accepted, yet the TTL does not go back to the default.
    #[case::minus_one_keeps(with_step(bounds_v4(), 4, (-1, "ok", 255, 255)), Verdict::Refuted,
        &["IP_TTL=-1: result, TTL on the wire", RESET])]
    #[case::minus_one_untried(Bounds { steps: bounds_v4().steps[..4].to_vec(), ..bounds_v4() },
        Verdict::Differs, &[RESET, BELOW])]
    #[case::minus_two_untried(Bounds { steps: bounds_v4().steps[..5].to_vec(), ..bounds_v4() },
        Verdict::Differs, &[BELOW])]
    #[case::lost(Bounds { steps: vec![Step { delivered: false, ..bounds_v4().steps[0].clone() }],
        ..bounds_v4() }, Verdict::Holds, &[RESET, BELOW, DELIVERED])]
    fn bounds_judgement(#[case] o: Bounds, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        assert_eq!(expect(verdict, failed), outcome(&o));
    }

    #[test]
    fn bounds_words() {
        let j = bounds_v4().judge();
        assert_eq!("accepts 1, 255, -1; refuses 0, 256, -2", j.key);
        assert_eq!(
            "IP_TTL with a default of 64: 1 ok (getsockopt 1, TTL 1); 0 EINVAL (getsockopt 1, TTL 1); \
             255 ok (getsockopt 255, TTL 255); 256 EINVAL (getsockopt 255, TTL 255); -1 ok (getsockopt \
             64, TTL 64); -2 EINVAL (getsockopt 64, TTL 64)",
            j.because
        );
        let c = &j.checks[1];
        assert_eq!(
            ("EINVAL, TTL 1", "EINVAL, TTL 1"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let j = bounds_v6().judge();
        assert_eq!("accepts 1, 0, 255, -1; refuses 256, -2", j.key);
        assert_eq!("ok, hop limit 0", j.checks[1].expected);
        let c = j.checks.last().expect("the delivery check");
        assert_eq!(
            ("6 of 6", "6 of 6"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let c = &j.checks[6];
        assert_eq!(
            ("ok, hop limit 64", "ok, hop limit 64"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let c = &j.checks[7];
        assert_eq!(
            ("refused", "-2 EINVAL"),
            (c.expected.as_str(), c.observed.as_str())
        );
        let none = Bounds {
            steps: vec![],
            ..bounds_v4()
        }
        .judge();
        assert_eq!("accepts nothing; refuses nothing", none.key);
        let observed: Vec<&str> = none.checks.iter().map(|c| c.observed.as_str()).collect();
        assert_eq!(vec!["not tried", "none tried", "0 of 0"], observed);
    }
}
