//! socket(7) on where a socket's packets are received: SO_INCOMING_CPU,
//! SO_INCOMING_NAPI_ID and SO_BUSY_POLL.
//!
//! On loopback (and on a veth without NAPI) a packet is received in the
//! softirq of the CPU that sent it, so pinning the sender (sched_setaffinity)
//! chooses the receiving CPU. A NAPI context exists only on a device that
//! has one: a veth gets it when GRO is switched on (and its peer hands it
//! packets only when the peer has TSO off).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::time::{clock_gettime, ClockId};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::lab::netlink::ifindex;
use crate::lab::netlink::Netlink;
use crate::lab::ns::Host;
use crate::lab::sock::result_name;
use crate::lab::topo::{End, Link};
use crate::lab::wire::{await_traffic, set_offload, Offload};
use crate::lab::{
    caps, dgram, genl, opt, phase, procnet, wait, Family, Lab, Privilege, Sock, TcpPair,
};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &CPU_REPORTS_RX_CPU,
    &CPU_STEERS_REUSEPORT,
    &NAPI_ID_RX_QUEUE,
    &NAPI_ID_LAST_PACKET,
    &BUSY_POLL_PRIVILEGE,
    &BUSY_POLL_SPINS,
];

pub static CPU_REPORTS_RX_CPU: Case = Case {
    id: "so_incoming_cpu.reports_rx_cpu",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_INCOMING_CPU"),
    claim: "getsockopt(SO_INCOMING_CPU) gets the CPU that handles the socket's incoming packets",
    expectation: "-1 before any packet; then the CPU whose softirq received the last packet (the sender's, \
                  on loopback) for a TCP connection and a connected UDP socket, following the sender from \
                  CPU to CPU; an unconnected UDP socket is never updated and stays -1",
    run: &Measure(reports_rx_cpu),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static CPU_STEERS_REUSEPORT: Case = Case {
    id: "so_incoming_cpu.steers_reuseport",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_INCOMING_CPU"),
    claim: "setting SO_INCOMING_CPU gives a socket a CPU affinity, so that a flow is handled by the \
            listener on the CPU that receives it (one listener per RX queue)",
    expectation: "in a SO_REUSEPORT group of two UDP sockets, 24 flows spread over both by hash; once each \
                  socket has SO_INCOMING_CPU set to a CPU, every flow received on a CPU goes to that CPU's \
                  socket (Linux 6.2 on, and 6.1's stable updates). Before, the group's hash decides \
                  whatever the option says, while two sockets sharing the port by SO_REUSEADDR show the \
                  option at work: each flow goes to the one set to its CPU",
    run: &Measure(steers_reuseport),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEPORT, opt::SO_INCOMING_CPU],
};

pub static NAPI_ID_RX_QUEUE: Case = Case {
    id: "so_incoming_napi_id.rx_queue",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_INCOMING_NAPI_ID"),
    claim: "SO_INCOMING_NAPI_ID returns the system-wide unique NAPI id of the RX queue that received the \
            socket's last packet",
    expectation: "0 for packets received without NAPI (loopback, a veth with GRO off); through a veth with \
                  GRO on, an id above NR_CPUS (the range NAPI ids start at), one of the NAPI instances the \
                  kernel lists for the veth (netdev netlink NAPI_GET, Linux 6.9 on; a veth lists no NAPI \
                  for its RX queues). Before Linux 5.13 a veth has NAPI only with XDP: the case skips",
    run: &Measure(napi_id_rx_queue),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static NAPI_ID_LAST_PACKET: Case = Case {
    id: "so_incoming_napi_id.last_packet",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_INCOMING_NAPI_ID"),
    claim: "SO_INCOMING_NAPI_ID gives the NAPI id of the RX queue of the socket's last packet",
    expectation: "with two veth links into one host, each with its own NAPI (GRO on), a datagram through \
                  the first then one (same addresses, rerouted) through the second: a connected UDP socket \
                  reports the second link's id, an unconnected one keeps the first link's (the kernel records the id once for \
                  unconnected UDP sockets, sk_mark_napi_id_once); before Linux 5.13 (no veth NAPI without \
                  XDP) the case skips",
    run: &Measure(napi_id_last_packet),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static BUSY_POLL_PRIVILEGE: Case = Case {
    id: "so_busy_poll.privilege",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BUSY_POLL"),
    claim: "SO_BUSY_POLL defaults to net.core.busy_read, and increasing it requires CAP_NET_ADMIN",
    expectation: "a new socket reads net.core.busy_read (0 here); raising it is allowed to anyone, a thread \
                  without CAP_NET_ADMIN included (the check is gone from the kernel: Debian's 6.12 has no \
                  check, its 6.1 and 5.10 refuse with EPERM); a negative value is EINVAL",
    run: &Measure(busy_poll_privilege),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BUSY_POLL],
};

pub static BUSY_POLL_SPINS: Case = Case {
    id: "so_busy_poll.spins_on_napi",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_BUSY_POLL"),
    claim: "a blocking receive with no data busy-polls for about SO_BUSY_POLL microseconds, but only when \
            the socket last received data from a device that supports it; select and poll busy-poll for \
            net.core.busy_poll",
    expectation: "with SO_BUSY_POLL 10 ms, a 20 ms blocking recv that finds nothing burns about 10 ms of CPU \
                  on a socket fed through a veth's NAPI, next to nothing on one fed over loopback (no NAPI \
                  id) or with SO_BUSY_POLL 0; poll() spins only if net.core.busy_poll is set (0 here). \
                  Before Linux 5.13 (no veth NAPI without XDP) the case skips",
    run: &Measure(busy_poll_spins),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_BUSY_POLL],
};

/// The CPUs the case may run on, at most two.
fn cpus() -> Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    Ok((0..CpuSet::count())
        .filter(|c| set.is_set(*c).unwrap_or(false))
        .take(2)
        .collect())
}

/// How many CPUs this process may run on (its affinity mask), counted apart
/// from `cpus` so that the judgement can check the plan: every CPU there is,
/// up to two, gets a round.
fn affinity_count() -> Result<usize> {
    let set = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    Ok((0..CpuSet::count())
        .filter(|c| set.is_set(*c).unwrap_or(false))
        .count())
}

/// Checks that the case sent from every CPU it may run on, up to two.
fn expect_cpus_tried(j: &mut Judgement, available: usize, tried: &[i32]) {
    j.expect_eq(
        "a round from each CPU available, up to two",
        &available.min(2),
        &tried.len(),
    );
}

/// The calling thread pinned to one CPU; the old mask comes back on drop.
struct Pinned {
    before: CpuSet,
}

fn pin(cpu: usize) -> Result<Pinned> {
    let before = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity")?;
    let mut one = CpuSet::new();
    one.set(cpu).context("CpuSet::set")?;
    sched_setaffinity(Pid::from_raw(0), &one).with_context(|| format!("pin to CPU {cpu}"))?;
    Ok(Pinned { before })
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = sched_setaffinity(Pid::from_raw(0), &self.before);
    }
}

fn incoming_cpu(s: &Sock) -> Result<i32> {
    s.get_int(libc::SOL_SOCKET, libc::SO_INCOMING_CPU)
        .context("getsockopt SO_INCOMING_CPU")
}

/// SO_INCOMING_CPU of three kinds of receiving socket, after a packet sent
/// from each CPU in turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportsRxCpu {
    /// The CPUs the process may run on.
    pub available_cpus: usize,
    /// The CPUs the sender was pinned to, in turn.
    pub cpus: Vec<i32>,
    /// A new socket, before any packet.
    pub before_any: i32,
    /// After each round: the accepted TCP socket, a connected and an
    /// unconnected UDP socket.
    pub tcp: Vec<i32>,
    pub udp_connected: Vec<i32>,
    pub udp_unconnected: Vec<i32>,
}

fn reports_rx_cpu(_lab: &mut Lab) -> Result<ReportsRxCpu> {
    let lo = SocketAddr::new(Family::V4.loopback(), 0);
    let pair = TcpPair::loopback(Family::V4)?;
    let tx = Sock::udp(Family::V4)?;
    tx.bind(lo).context("bind the UDP sender")?;
    let connected = Sock::udp(Family::V4)?;
    connected.bind(lo).context("bind the connected receiver")?;
    connected
        .connect(tx.local_addr()?)
        .context("connect the receiver to the sender")?;
    let unconnected = Sock::udp(Family::V4)?;
    unconnected
        .bind(lo)
        .context("bind the unconnected receiver")?;
    let before_any = incoming_cpu(&unconnected)?;
    let mut o = ReportsRxCpu {
        available_cpus: affinity_count()?,
        cpus: Vec::new(),
        before_any,
        tcp: Vec::new(),
        udp_connected: Vec::new(),
        udp_unconnected: Vec::new(),
    };
    let mut buf = [0u8; 16];
    for cpu in cpus()? {
        let _pinned = pin(cpu)?;
        pair.client.send_all(b"x").context("TCP send")?;
        for to in [&connected, &unconnected] {
            tx.send_to(b"x", 0, to.local_addr()?).context("UDP send")?;
        }
        phase("reading what the pinned sender sent");
        for s in [&pair.server, &connected, &unconnected] {
            wait::readable(s.as_raw_fd(), Duration::from_secs(2))?;
            s.recv(&mut buf, libc::MSG_DONTWAIT)
                .context("read the packet")?;
        }
        o.cpus.push(cpu as i32);
        o.tcp.push(incoming_cpu(&pair.server)?);
        o.udp_connected.push(incoming_cpu(&connected)?);
        o.udp_unconnected.push(incoming_cpu(&unconnected)?);
    }
    Ok(o)
}

impl Observation for ReportsRxCpu {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let never = vec![-1; self.cpus.len()];
        expect_cpus_tried(&mut j, self.available_cpus, &self.cpus);
        j.expect_eq("before any packet", &-1, &self.before_any);
        j.expect_eq("a TCP connection", &self.cpus, &self.tcp);
        j.expect_eq("a connected UDP socket", &self.cpus, &self.udp_connected);
        j.expect_eq(
            "an unconnected UDP socket is not updated",
            &never,
            &self.udp_unconnected,
        );
        let tcp = self.tcp == self.cpus;
        let connected = self.udp_connected == self.cpus;
        let verdict = match (tcp && connected, self.udp_unconnected == self.cpus) {
            (true, true) => Verdict::Holds,
            // Right where it is updated, never for unconnected UDP sockets.
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "sender pinned to CPUs {}: TCP reported {}, connected UDP {}, unconnected UDP {} (-1 before any \
                 packet: {})",
                self.cpus.show(),
                self.tcp.show(),
                self.udp_connected.show(),
                self.udp_unconnected.show(),
                self.before_any
            ),
        );
        j.key(format!(
            "CPUs {} -> TCP {}, unconnected UDP {}",
            self.cpus.show(),
            self.tcp.show(),
            self.udp_unconnected.show()
        ));
        j
    }
}

/// UDP flows (one sender socket each) sent to the reuseport group.
const FLOWS: usize = 24;

/// Which member of a two-socket SO_REUSEPORT group each flow reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SteersReuseport {
    /// "ok" when both members bound the shared port, else the bind refused
    /// (a kernel or libc that ignores SO_REUSEPORT); then nothing is sent.
    pub formed: String,
    /// The CPUs the process may run on.
    pub available_cpus: usize,
    pub flows: usize,
    /// Flows per member with no SO_INCOMING_CPU set (sent from the first CPU).
    pub unset: Vec<usize>,
    /// SO_INCOMING_CPU of each member once set.
    pub member_cpus: Vec<i32>,
    /// The CPUs the senders were pinned to, in turn.
    pub cpus: Vec<i32>,
    /// Per sending CPU: flows per member.
    pub set: Vec<Vec<usize>>,
    /// The same with two sockets that share the port by SO_REUSEADDR, no
    /// reuseport group (each set to its CPU before any flow): Linux delivers
    /// to the best-scoring match, and a socket whose SO_INCOMING_CPU is the
    /// receiving CPU scores one more (since 3.19). Per sending CPU: flows
    /// per socket; empty when the pair did not form.
    #[serde(default)]
    pub set_reuseaddr: Vec<Vec<usize>>,
}

/// Two UDP sockets on one loopback port, shared by `option` (SO_REUSEPORT
/// or SO_REUSEADDR); the refusal when the second bind fails.
fn pair_on_one_port(option: i32) -> Result<std::result::Result<(Vec<Sock>, SocketAddr), String>> {
    let mut members = Vec::new();
    let mut to = SocketAddr::new(Family::V4.loopback(), 0);
    for i in 0..2 {
        let m = Sock::udp(Family::V4)?;
        m.set_int(libc::SOL_SOCKET, option, 1)
            .with_context(|| format!("setsockopt {option} on member {i}"))?;
        if let Err(e) = m.bind(to) {
            return Ok(Err(format!("bound {i}: {}", result_name::<()>(&Err(e)))));
        }
        to = m.local_addr()?;
        members.push(m);
    }
    Ok(Ok((members, to)))
}

/// FLOWS datagrams, one from each sender, to `to`; how many each member got.
fn flows_to(senders: &[Sock], members: &[Sock], to: SocketAddr) -> Result<Vec<usize>> {
    for s in senders {
        s.send_to(b"flow", 0, to)
            .context("send a flow's datagram")?;
    }
    phase("collecting the flows");
    let socks: Vec<&Sock> = members.iter().collect();
    let got = dgram::collect(&socks, senders.len(), Duration::from_secs(2))?;
    Ok(got.iter().map(Vec::len).collect())
}

/// Sets each member's SO_INCOMING_CPU to its CPU.
fn set_cpus(members: &[Sock], cpus: [i32; 2]) -> Result<()> {
    for (m, cpu) in members.iter().zip(cpus) {
        m.set_int(libc::SOL_SOCKET, libc::SO_INCOMING_CPU, cpu)
            .context("SO_INCOMING_CPU")?;
    }
    Ok(())
}

fn steers_reuseport(_lab: &mut Lab) -> Result<SteersReuseport> {
    let (members, to) = match pair_on_one_port(libc::SO_REUSEPORT)? {
        Ok(pair) => pair,
        Err(refused) => {
            return Ok(SteersReuseport {
                formed: refused,
                available_cpus: affinity_count()?,
                flows: FLOWS,
                unset: Vec::new(),
                member_cpus: Vec::new(),
                cpus: Vec::new(),
                set: Vec::new(),
                set_reuseaddr: Vec::new(),
            })
        }
    };
    let senders: Vec<Sock> = (0..FLOWS)
        .map(|_| Sock::udp(Family::V4))
        .collect::<Result<_>>()?;
    let cpus = cpus()?;
    let unset = {
        let _pinned = pin(cpus[0])?;
        flows_to(&senders, &members, to)?
    };
    // One CPU only: the second member gets a CPU no flow arrives on.
    let member_cpus = [cpus[0], cpus.get(1).copied().unwrap_or(cpus[0] + 1)].map(|c| c as i32);
    set_cpus(&members, member_cpus)?;
    let mut set = Vec::new();
    for &cpu in &cpus {
        let _pinned = pin(cpu)?;
        set.push(flows_to(&senders, &members, to)?);
    }
    let mut set_reuseaddr = Vec::new();
    if let Ok((pair, to)) = pair_on_one_port(libc::SO_REUSEADDR)? {
        set_cpus(&pair, member_cpus)?;
        for &cpu in &cpus {
            let _pinned = pin(cpu)?;
            set_reuseaddr.push(flows_to(&senders, &pair, to)?);
        }
    }
    Ok(SteersReuseport {
        formed: "ok".into(),
        available_cpus: affinity_count()?,
        flows: FLOWS,
        unset,
        member_cpus: member_cpus.to_vec(),
        cpus: cpus.iter().map(|c| *c as i32).collect(),
        set,
        set_reuseaddr,
    })
}

impl SteersReuseport {
    /// Per round of `rounds`: the flows the member whose CPU is the sending
    /// CPU got.
    fn steered(&self, rounds: &[Vec<usize>]) -> Vec<usize> {
        self.cpus
            .iter()
            .zip(rounds)
            .map(|(cpu, counts)| {
                self.member_cpus
                    .iter()
                    .position(|m| m == cpu)
                    .and_then(|m| counts.get(m).copied())
                    .unwrap_or(0)
            })
            .collect()
    }
}

impl Observation for SteersReuseport {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("both members bind the shared port", "ok", &self.formed);
        expect_cpus_tried(&mut j, self.available_cpus, &self.cpus);
        j.expect(
            "without the option the hash spreads the flows",
            self.unset.len() == 2 && self.unset.iter().all(|n| *n > 0),
            "some to each member",
            self.unset.show(),
        );
        let steered = self.steered(&self.set);
        let all = vec![self.flows; self.cpus.len()];
        // No round at all (the group never formed) steers nothing.
        let steers = !self.cpus.is_empty() && steered == all;
        let by_score = self.steered(&self.set_reuseaddr);
        let pair_steers = !self.cpus.is_empty() && by_score == all;
        let before_the_fix = !steers && pair_steers;
        if before_the_fix {
            // The option reaches the kernel (the pair shows it) but the
            // group's hash does not look at it: Linux before 6.2.
            j.expect(
                "with SO_REUSEADDR (no group) every flow goes to the socket of its CPU",
                pair_steers,
                format!("{} per sending CPU", all.show()),
                by_score.show(),
            );
            j.expect(
                "in the reuseport group the hash decides, whatever the option says",
                self.set.iter().all(|r| r.iter().all(|n| *n > 0)),
                "some to each member from every CPU",
                self.set.show(),
            );
        } else {
            j.expect(
                "every flow goes to the socket of the CPU that receives it",
                steers,
                format!("{} per sending CPU", all.show()),
                steered.show(),
            );
        }
        let verdict = if steers {
            Verdict::Holds
        } else if before_the_fix || steered.contains(&self.flows) {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "{} flows: unset {}; members set to CPUs {}, flows sent from CPUs {} reached {}; two \
                 sockets sharing the port by SO_REUSEADDR instead got {}",
                self.flows,
                self.unset.show(),
                self.member_cpus.show(),
                self.cpus.show(),
                self.set.show(),
                self.set_reuseaddr.show()
            ),
        );
        j.key(format!(
            "unset {} -> set {}",
            self.unset.show(),
            self.set.show()
        ));
        j
    }
}

/// NAPI ids start above NR_CPUS (the values below are sender CPUs): read
/// from /sys/devices/system/cpu/kernel_max (NR_CPUS - 1).
fn min_napi_id() -> Result<u32> {
    let path = "/sys/devices/system/cpu/kernel_max";
    let max: u32 = std::fs::read_to_string(path)
        .with_context(|| format!("read {path}"))?
        .trim()
        .parse()
        .with_context(|| format!("parse {path}"))?;
    Ok(max + 2)
}

fn napi_id(s: &Sock) -> Result<u32> {
    Ok(s.get_int(libc::SOL_SOCKET, libc::SO_INCOMING_NAPI_ID)
        .context("getsockopt SO_INCOMING_NAPI_ID")? as u32)
}

/// A veth link whose b end can have a NAPI context: TSO off on a (a veth
/// hands its peer's NAPI only packets from a device without it).
fn napi_link(lab: &mut Lab) -> Result<Link> {
    let link = Link::pair_v4(lab)?;
    set_offload(&link.a_end.ifname, Offload::Tso, false)?;
    Ok(link)
}

/// GRO on b's end: the veth gets its NAPI context (Linux 5.13 on; before,
/// a veth had NAPI only with an XDP program, and GRO on changed nothing the
/// kernel shows other than through the options under test).
fn napi_on(link: &Link) -> Result<()> {
    crate::lab::needs_kernel("NAPI on a veth with GRO on, without XDP", 5, 13)?;
    link.b
        .run(|| set_offload(&link.b_end.ifname, Offload::Gro, true))?
        .map_err(|e| {
            Skip::missing(
                "a NAPI device (a veth with GRO on, Linux 5.13)",
                format!("{e:#}"),
            )
            .into()
        })
}

/// A socket on b at `addr` that has received one datagram from `from`.
fn fed(link: &Link, addr: std::net::IpAddr, from: &Sock) -> Result<Sock> {
    let rx = link.b.run(|| -> Result<Sock> {
        let rx = Sock::udp(Family::V4)?;
        rx.bind(SocketAddr::new(addr, 0))
            .with_context(|| format!("bind a receiver on {addr}"))?;
        Ok(rx)
    })??;
    from.send_to(b"feed", 0, rx.local_addr()?)
        .context("feed the receiver")?;
    let mut buf = [0u8; 16];
    wait::readable(rx.as_raw_fd(), Duration::from_secs(2))?;
    rx.recv(&mut buf, libc::MSG_DONTWAIT)
        .context("read the feeding datagram")?;
    Ok(rx)
}

/// SO_INCOMING_NAPI_ID after packets received three ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NapiId {
    /// NR_CPUS + 1: the first value a NAPI id can have.
    pub min_napi_id: u32,
    pub loopback: u32,
    pub veth_without_napi: u32,
    pub veth_napi: u32,
    /// The NAPI ids the kernel lists for the receiving veth (netdev netlink
    /// NAPI_GET); absent on a kernel without that listing (before 6.9).
    pub device_napi_ids: Option<Vec<u32>>,
}

impl NapiId {
    /// The reported id is one the device has (or the kernel lists none).
    fn listed(&self) -> bool {
        self.device_napi_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&self.veth_napi))
    }

    fn listing(&self) -> String {
        match &self.device_napi_ids {
            Some(ids) => ids.show(),
            None => "not listed".into(),
        }
    }
}

fn napi_id_rx_queue(lab: &mut Lab) -> Result<NapiId> {
    let link = napi_link(lab)?;
    let lo_tx = link.b.run(|| Sock::udp(Family::V4))??;
    let loopback = napi_id(&fed(&link, Family::V4.loopback(), &lo_tx)?)?;
    let tx = Sock::udp(Family::V4)?;
    let veth_without_napi = napi_id(&fed(&link, link.b_end.addr, &tx)?)?;
    napi_on(&link)?;
    let veth_napi = napi_id(&fed(&link, link.b_end.addr, &tx)?)?;
    let device_napi_ids = link
        .b
        .run(|| genl::device_napi_ids(ifindex(&link.b_end.ifname)?))??;
    Ok(NapiId {
        min_napi_id: min_napi_id()?,
        loopback,
        veth_without_napi,
        veth_napi,
        device_napi_ids,
    })
}

impl Observation for NapiId {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("over loopback (no NAPI)", &0, &self.loopback);
        j.expect_eq("through a veth without NAPI", &0, &self.veth_without_napi);
        let is_napi = self.veth_napi >= self.min_napi_id;
        j.expect(
            "through a veth with NAPI: a NAPI id",
            is_napi,
            format!(">= {}", self.min_napi_id),
            self.veth_napi.show(),
        );
        j.expect(
            "one of the veth's NAPI instances",
            self.listed(),
            format!("a list holding {} (or no listing)", self.veth_napi),
            self.listing(),
        );
        let verdict = if self.veth_napi == 0 {
            Verdict::Refuted
        } else if is_napi && self.listed() {
            Verdict::Holds
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "loopback {}, veth without NAPI {}, veth with NAPI {} (NAPI ids start at {}; the veth's NAPI \
                 instances: {})",
                self.loopback,
                self.veth_without_napi,
                self.veth_napi,
                self.min_napi_id,
                self.listing()
            ),
        );
        j.key(format!(
            "lo {}, veth {}, veth NAPI {} (device's {})",
            self.loopback,
            self.veth_without_napi,
            self.veth_napi,
            self.listing()
        ));
        j
    }
}

/// The second link's addresses (TEST-NET-3, only inside the case's
/// namespaces).
const C_V4: [u8; 4] = [203, 0, 113, 1];
const D_V4: [u8; 4] = [203, 0, 113, 2];

/// A second veth pair between the hosts of `link` (veth-c in a, veth-d in
/// b), carrying traffic, with a NAPI context on b's end like the first.
fn second_napi_link(link: &Link) -> Result<Link> {
    let (c, d) = (std::net::IpAddr::from(C_V4), std::net::IpAddr::from(D_V4));
    link.a
        .run(|| -> Result<()> {
            let nl = Netlink::open()?;
            nl.add_veth("veth-c", "veth-d", link.b.ns_fd())?;
            let idx = ifindex("veth-c")?;
            nl.add_addr(idx, c, 24)?;
            nl.set_up(idx)?;
            set_offload("veth-c", Offload::Tso, false)
        })?
        .context("configure veth-c")?;
    link.b
        .run(|| -> Result<()> {
            let nl = Netlink::open()?;
            let idx = ifindex("veth-d")?;
            nl.add_addr(idx, d, 24)?;
            nl.set_up(idx)?;
            // Datagrams (and ARP requests) from a's first address arrive on
            // veth-d: no reverse-path check may drop them (a namespace
            // inherits the host's rp_filter).
            for conf in ["all", "veth-d"] {
                procnet::set_sysctl(&format!("net/ipv4/conf/{conf}/rp_filter"), "0")?;
            }
            Ok(())
        })?
        .context("configure veth-d")?;
    let second = Link {
        a: Host::clone_of(&link.a)?,
        b: Host::clone_of(&link.b)?,
        a_end: End {
            ifname: "veth-c".into(),
            addr: c,
        },
        b_end: End {
            ifname: "veth-d".into(),
            addr: d,
        },
    };
    await_traffic(&second)?;
    Ok(second)
}

/// SO_INCOMING_NAPI_ID of two receivers after a datagram through each of
/// two NAPI devices in turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastPacket {
    /// NR_CPUS + 1: the first value a NAPI id can have.
    pub min_napi_id: u32,
    /// The NAPI ids the kernel lists for the first and the second device
    /// (netdev NAPI_GET; absent before Linux 6.9).
    pub first_device: Option<Vec<u32>>,
    pub second_device: Option<Vec<u32>>,
    /// After the first datagram, then after the second: a connected UDP
    /// socket, an unconnected one.
    pub connected: Vec<u32>,
    pub unconnected: Vec<u32>,
}

fn napi_id_last_packet(lab: &mut Lab) -> Result<LastPacket> {
    let link = napi_link(lab)?;
    napi_on(&link)?;
    let second = second_napi_link(&link)?;
    napi_on(&second)?;
    let tx = Sock::udp(Family::V4)?;
    tx.bind(SocketAddr::new(link.a_end.addr, 0))
        .context("bind the sender to a's first address")?;
    let any = SocketAddr::new(Family::V4.any(), 0);
    let (connected, unconnected) = link.b.run(|| -> Result<(Sock, Sock)> {
        let connected = Sock::udp(Family::V4)?;
        connected.bind(any).context("bind the connected receiver")?;
        connected
            .connect(tx.local_addr()?)
            .context("connect the receiver to the sender")?;
        let unconnected = Sock::udp(Family::V4)?;
        unconnected
            .bind(any)
            .context("bind the unconnected receiver")?;
        Ok((connected, unconnected))
    })??;
    let mut o = LastPacket {
        min_napi_id: min_napi_id()?,
        first_device: None,
        second_device: None,
        connected: Vec::new(),
        unconnected: Vec::new(),
    };
    let mut buf = [0u8; 16];
    // The same address both times (a connected socket's local address is
    // fixed by connect): the second time a host route sends it through the
    // second link.
    let to = link.b_end.addr;
    for i in 0..2 {
        if i == 1 {
            link.a
                .run(|| -> Result<()> {
                    Netlink::open()?.add_route(to, 32, None, ifindex(&second.a_end.ifname)?)
                })?
                .context("route b's first address through the second link")?;
            phase("a datagram through the second link");
        } else {
            phase("a datagram through the first link");
        }
        for (rx, name) in [(&connected, "connected"), (&unconnected, "unconnected")] {
            tx.send_to(b"napi", 0, SocketAddr::new(to, rx.local_addr()?.port()))
                .with_context(|| format!("send to {to}"))?;
            anyhow::ensure!(
                wait::readable(rx.as_raw_fd(), Duration::from_secs(2))?,
                "no datagram to {to} reached the {name} receiver within 2 s"
            );
            rx.recv(&mut buf, libc::MSG_DONTWAIT)
                .context("read the datagram")?;
        }
        o.connected.push(napi_id(&connected)?);
        o.unconnected.push(napi_id(&unconnected)?);
    }
    let listed = |ifname: &str| link.b.run(|| genl::device_napi_ids(ifindex(ifname)?));
    o.first_device = listed(&link.b_end.ifname)??;
    o.second_device = listed(&second.b_end.ifname)??;
    Ok(o)
}

impl LastPacket {
    /// Each round's id is a NAPI id of that round's device (when the kernel
    /// lists them), and the two differ.
    fn follows_device(&self, ids: &[u32]) -> bool {
        let on = |id: u32, dev: &Option<Vec<u32>>| {
            id >= self.min_napi_id && dev.as_ref().is_none_or(|d| d.contains(&id))
        };
        ids.len() == 2
            && ids[0] != ids[1]
            && on(ids[0], &self.first_device)
            && on(ids[1], &self.second_device)
    }
}

impl Observation for LastPacket {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let first = self.connected.first().copied().unwrap_or(0);
        let stuck = vec![first, first];
        j.expect(
            "a connected socket reports each device's id in turn",
            self.follows_device(&self.connected),
            format!(
                "a first-device id then a second-device id (devices {}, {})",
                self.first_device.show(),
                self.second_device.show()
            ),
            self.connected.show(),
        );
        j.expect_eq(
            "an unconnected socket keeps the first id",
            &stuck,
            &self.unconnected,
        );
        let follows = self.follows_device(&self.connected);
        let verdict = if follows && self.unconnected == self.connected {
            Verdict::Holds
        } else if follows {
            // Right for connected sockets, the first packet's for the others.
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "through the first link then the second (NAPI ids {} and {}): connected UDP reported {}, \
                 unconnected UDP {}",
                self.first_device.show(),
                self.second_device.show(),
                self.connected.show(),
                self.unconnected.show()
            ),
        );
        j.key(format!(
            "connected {}, unconnected {}",
            self.connected.show(),
            self.unconnected.show()
        ));
        j
    }
}

/// How much busy_read a raise adds.
const RAISE_US: i64 = 50;

fn busy_poll(s: &Sock) -> Result<i32> {
    s.get_int(libc::SOL_SOCKET, libc::SO_BUSY_POLL)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOPROTOOPT) => Skip::missing(
                "busy polling (CONFIG_NET_RX_BUSY_POLL)",
                "getsockopt(SO_BUSY_POLL) is ENOPROTOOPT",
            )
            .into(),
            _ => anyhow::Error::from(e).context("getsockopt SO_BUSY_POLL"),
        })
}

/// SO_BUSY_POLL's default and who may raise it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusyPollPrivilege {
    /// The case ran in a user namespace (its capabilities count there only).
    pub in_user_namespace: bool,
    /// net.core.busy_read (machine-wide).
    pub busy_read: i64,
    /// SO_BUSY_POLL of a new socket.
    pub default: i32,
    /// Raised to busy_read + 50 by the case (CAP_NET_ADMIN in its namespace).
    pub raise: String,
    /// The same from a thread without CAP_NET_ADMIN.
    pub raise_without_cap: String,
    /// Back down to busy_read from that thread.
    pub lower_without_cap: String,
    pub negative: String,
}

fn busy_poll_privilege(lab: &mut Lab) -> Result<BusyPollPrivilege> {
    let busy_read = procnet::sysctl_int("net/core/busy_read")?;
    let s = Sock::udp(Family::V4)?;
    let default = busy_poll(&s)?;
    let to = |v: i64| result_name(&s.set_int(libc::SOL_SOCKET, libc::SO_BUSY_POLL, v as i32));
    let raise = to(busy_read + RAISE_US);
    to(busy_read);
    let (raise_without_cap, lower_without_cap) = caps::without(&[caps::CAP_NET_ADMIN], || {
        let up = to(busy_read + RAISE_US);
        (up, to(busy_read))
    })?;
    Ok(BusyPollPrivilege {
        in_user_namespace: lab.privilege == Privilege::UserNamespace,
        busy_read,
        default,
        raise,
        raise_without_cap,
        lower_without_cap,
        negative: to(-1),
    })
}

impl Observation for BusyPollPrivilege {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "a new socket's value is net.core.busy_read",
            &self.busy_read,
            &i64::from(self.default),
        );
        // A kernel that checks asks for CAP_NET_ADMIN of the initial user
        // namespace: a case in a user namespace of its own does not have it.
        let checked_from_userns =
            self.in_user_namespace && self.raise == "EPERM" && self.raise_without_cap == "EPERM";
        j.expect(
            "raised with CAP_NET_ADMIN",
            self.raise == "ok" || checked_from_userns,
            "ok (EPERM in a user namespace where the kernel checks)",
            &self.raise,
        );
        j.expect(
            "raised without CAP_NET_ADMIN",
            self.raise_without_cap == "ok" || self.raise_without_cap == "EPERM",
            "ok, or EPERM where the kernel still checks",
            &self.raise_without_cap,
        );
        j.expect_eq(
            "lowered without CAP_NET_ADMIN",
            "ok",
            &self.lower_without_cap,
        );
        j.expect_eq("a negative value", "EINVAL", &self.negative);
        let verdict = match self.raise_without_cap.as_str() {
            "EPERM" if i64::from(self.default) == self.busy_read => Verdict::Holds,
            "ok" => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "default {} (busy_read {}); raising by {RAISE_US} us with CAP_NET_ADMIN{} -> {}, without -> {}; \
                 lowering without -> {}; -1 -> {}",
                self.default,
                self.busy_read,
                if self.in_user_namespace {
                    " (of a user namespace)"
                } else {
                    ""
                },
                self.raise,
                self.raise_without_cap,
                self.lower_without_cap,
                self.negative
            ),
        );
        j.key(format!(
            "raise without CAP_NET_ADMIN -> {}",
            self.raise_without_cap
        ));
        j
    }
}

/// The busy-poll time the spin case sets, and how long its waits last.
const SPIN_US: i32 = 10_000;
const WAIT: Duration = Duration::from_millis(20);

/// CPU time of the calling thread, in milliseconds.
fn thread_cpu_ms() -> Result<f64> {
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).context("clock_gettime")?;
    Ok(t.tv_sec() as f64 * 1e3 + t.tv_nsec() as f64 / 1e6)
}

/// CPU the calling thread spends in a blocking recv() that times out
/// after WAIT (SO_RCVTIMEO) with no data.
fn recv_cpu_ms(s: &Sock) -> Result<f64> {
    s.set_timeout(libc::SO_RCVTIMEO, WAIT)
        .context("SO_RCVTIMEO")?;
    let mut buf = [0u8; 16];
    let before = thread_cpu_ms()?;
    let r = s.recv(&mut buf, 0);
    let spent = thread_cpu_ms()? - before;
    anyhow::ensure!(r.is_err(), "a datagram arrived during the idle recv");
    Ok(spent)
}

/// CPU the calling thread spends in a poll() of WAIT with no data.
fn poll_cpu_ms(s: &Sock) -> Result<f64> {
    let before = thread_cpu_ms()?;
    wait::readable(s.as_raw_fd(), WAIT)?;
    Ok(thread_cpu_ms()? - before)
}

/// The waits expected to sleep are measured this many times, and judged on
/// the least: the CPU time charged to a thread also counts the interrupts
/// and softirqs the kernel handled while it ran (other cases' packets: 2.6 ms
/// once in a sleeping poll() under emulation, against 0.3 ms usually). The
/// spin is measured once: it costs its 10 ms of CPU each time.
const TRIES: usize = 3;

fn least_of(n: usize, mut measure: impl FnMut() -> Result<f64>) -> Result<f64> {
    (0..n).try_fold(f64::INFINITY, |least, _| Ok(least.min(measure()?)))
}

fn set_busy_poll(s: &Sock, us: i32) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, libc::SO_BUSY_POLL, us)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => Skip::missing(
                "CAP_NET_ADMIN in the initial user namespace (this kernel still checks it for SO_BUSY_POLL)",
                "setsockopt(SO_BUSY_POLL) is EPERM",
            )
            .into(),
            _ => anyhow::Error::from(e).context("setsockopt SO_BUSY_POLL"),
        })
}

/// CPU spent in idle waits on sockets with SO_BUSY_POLL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spins {
    pub busy_poll_us: i32,
    /// net.core.busy_poll (machine-wide): poll()'s busy-poll time.
    pub busy_poll_sysctl: i64,
    pub wait_ms: f64,
    /// The veth-fed socket's NAPI id.
    pub napi_id: u32,
    /// CPU spent in an idle recv: on the veth-fed socket, on the same with
    /// SO_BUSY_POLL 0 and on a loopback-fed socket (the least of TRIES).
    pub napi_recv_cpu_ms: f64,
    pub napi_off_recv_cpu_ms: f64,
    pub loopback_recv_cpu_ms: f64,
    /// CPU spent in an idle poll() on the veth-fed socket (the least of TRIES).
    pub napi_poll_cpu_ms: f64,
}

fn busy_poll_spins(lab: &mut Lab) -> Result<Spins> {
    let link = napi_link(lab)?;
    napi_on(&link)?;
    let tx = Sock::udp(Family::V4)?;
    let napi = fed(&link, link.b_end.addr, &tx)?;
    let lo_tx = link.b.run(|| Sock::udp(Family::V4))??;
    let looped = fed(&link, Family::V4.loopback(), &lo_tx)?;
    busy_poll(&napi)?;
    set_busy_poll(&napi, SPIN_US)?;
    set_busy_poll(&looped, SPIN_US)?;
    phase("idle receives with busy polling");
    let napi_recv_cpu_ms = recv_cpu_ms(&napi)?;
    let loopback_recv_cpu_ms = least_of(TRIES, || recv_cpu_ms(&looped))?;
    let napi_poll_cpu_ms = least_of(TRIES, || poll_cpu_ms(&napi))?;
    set_busy_poll(&napi, 0)?;
    let napi_off_recv_cpu_ms = least_of(TRIES, || recv_cpu_ms(&napi))?;
    Ok(Spins {
        busy_poll_us: SPIN_US,
        busy_poll_sysctl: procnet::sysctl_int("net/core/busy_poll")?,
        wait_ms: WAIT.as_secs_f64() * 1e3,
        napi_id: napi_id(&napi)?,
        napi_recv_cpu_ms,
        napi_off_recv_cpu_ms,
        loopback_recv_cpu_ms,
        napi_poll_cpu_ms,
    })
}

/// A wait spun when it used at least this much CPU (a fifth of the 10 ms
/// busy poll: a loaded machine gives the spinning thread only part of it;
/// 4 ms was the least seen with ten runs in parallel on two busy cores).
const SPUN_MS: f64 = 2.0;
/// A wait that sleeps at once uses far less than this (0.02 ms alone; up to
/// 0.56 ms was seen on two cores loaded to 17 by the whole catalogue).
const QUIET_MS: f64 = 1.0;

impl Observation for Spins {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let spun = |ms: f64| ms >= SPUN_MS;
        let quiet = |ms: f64| ms < QUIET_MS;
        j.expect(
            "an idle recv on the NAPI-fed socket spins",
            spun(self.napi_recv_cpu_ms),
            format!(">= {SPUN_MS} ms of CPU"),
            format!("{} ms", self.napi_recv_cpu_ms.show()),
        );
        j.expect(
            "with SO_BUSY_POLL 0 it sleeps",
            quiet(self.napi_off_recv_cpu_ms),
            format!("< {QUIET_MS} ms of CPU"),
            format!("{} ms", self.napi_off_recv_cpu_ms.show()),
        );
        j.expect(
            "a loopback-fed socket sleeps",
            quiet(self.loopback_recv_cpu_ms),
            format!("< {QUIET_MS} ms of CPU"),
            format!("{} ms", self.loopback_recv_cpu_ms.show()),
        );
        let poll_ok = if self.busy_poll_sysctl == 0 {
            quiet(self.napi_poll_cpu_ms)
        } else {
            spun(self.napi_poll_cpu_ms)
        };
        j.expect(
            "poll() follows net.core.busy_poll",
            poll_ok,
            format!(
                "{} (busy_poll {})",
                if self.busy_poll_sysctl == 0 {
                    "no spin"
                } else {
                    "a spin"
                },
                self.busy_poll_sysctl
            ),
            format!("{} ms", self.napi_poll_cpu_ms.show()),
        );
        let verdict = match (
            spun(self.napi_recv_cpu_ms),
            quiet(self.loopback_recv_cpu_ms),
        ) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "SO_BUSY_POLL {} us, idle waits of {} ms: recv on the NAPI-fed socket (id {}) used {} ms of CPU, \
                 with SO_BUSY_POLL 0 {} ms, on the loopback-fed socket {} ms; poll() {} ms (busy_poll {})",
                self.busy_poll_us,
                self.wait_ms.show(),
                self.napi_id,
                self.napi_recv_cpu_ms.show(),
                self.napi_off_recv_cpu_ms.show(),
                self.loopback_recv_cpu_ms.show(),
                self.napi_poll_cpu_ms.show(),
                self.busy_poll_sysctl
            ),
        );
        j.key(format!(
            "idle recv: NAPI {} ms, loopback {} ms of CPU",
            self.napi_recv_cpu_ms.show(),
            self.loopback_recv_cpu_ms.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn outcome(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    fn rx_cpu_linux() -> ReportsRxCpu {
        ReportsRxCpu {
            available_cpus: 2,
            cpus: vec![0, 1],
            before_any: -1,
            tcp: vec![0, 1],
            udp_connected: vec![0, 1],
            udp_unconnected: vec![-1, -1],
        }
    }

    #[rstest]
    #[case::linux(rx_cpu_linux(), Verdict::Differs, &[])]
    // A kernel that updates unconnected UDP sockets too.
    #[case::everywhere(ReportsRxCpu { udp_unconnected: vec![0, 1], ..rx_cpu_linux() }, Verdict::Holds,
        &["an unconnected UDP socket is not updated"])]
    // Stuck at the first CPU.
    #[case::stuck(ReportsRxCpu { tcp: vec![0, 0], ..rx_cpu_linux() }, Verdict::Refuted, &["a TCP connection"])]
    #[case::udp_stuck(ReportsRxCpu { udp_connected: vec![0, 0], ..rx_cpu_linux() }, Verdict::Refuted,
        &["a connected UDP socket"])]
    #[case::initialised(ReportsRxCpu { before_any: 0, ..rx_cpu_linux() }, Verdict::Differs,
        &["before any packet"])]
    #[case::one_cpu(ReportsRxCpu { available_cpus: 1, cpus: vec![0], tcp: vec![0], udp_connected: vec![0],
        udp_unconnected: vec![-1], ..rx_cpu_linux() }, Verdict::Differs, &[])]
    // A CPU left out of the plan.
    #[case::one_round(ReportsRxCpu { cpus: vec![1], tcp: vec![1], udp_connected: vec![1], udp_unconnected: vec![-1],
        ..rx_cpu_linux() }, Verdict::Differs, &["a round from each CPU available, up to two"])]
    fn rx_cpu_judgement(#[case] o: ReportsRxCpu, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn rx_cpu_words() {
        let j = rx_cpu_linux().judge();
        assert_eq!("CPUs [0, 1] -> TCP [0, 1], unconnected UDP [-1, -1]", j.key);
        assert_eq!(
            "sender pinned to CPUs [0, 1]: TCP reported [0, 1], connected UDP [0, 1], unconnected UDP [-1, -1] \
             (-1 before any packet: -1)",
            j.because
        );
    }

    fn steer_linux() -> SteersReuseport {
        SteersReuseport {
            formed: "ok".into(),
            available_cpus: 2,
            flows: 24,
            unset: vec![13, 11],
            member_cpus: vec![0, 1],
            cpus: vec![0, 1],
            set: vec![vec![24, 0], vec![0, 24]],
            set_reuseaddr: vec![vec![24, 0], vec![0, 24]],
        }
    }

    #[rstest]
    #[case::linux(steer_linux(), Verdict::Holds, &[])]
    // Before Linux 6.2 (5.10 measured): the group's hash decides whatever
    // the option says; the SO_REUSEADDR pair shows the option at work.
    #[case::linux_5_10(SteersReuseport { set: vec![vec![6, 18], vec![6, 18]], ..steer_linux() },
        Verdict::Differs, &[])]
    #[case::before_the_fix_one_sided(SteersReuseport { set: vec![vec![24, 0], vec![13, 11]], ..steer_linux() },
        Verdict::Differs, &["in the reuseport group the hash decides, whatever the option says"])]
    // The option ignored (a libc that drops it): nothing steers anywhere.
    #[case::ignored(SteersReuseport { set: vec![vec![13, 11], vec![13, 11]],
        set_reuseaddr: vec![vec![13, 11], vec![13, 11]], ..steer_linux() },
        Verdict::Refuted, &["every flow goes to the socket of the CPU that receives it"])]
    // Steering in the group does not need the pair.
    #[case::group_only(SteersReuseport { set_reuseaddr: vec![vec![13, 11], vec![13, 11]], ..steer_linux() },
        Verdict::Holds, &[])]
    #[case::one_cpu_steers(SteersReuseport { set: vec![vec![24, 0], vec![13, 11]],
        set_reuseaddr: vec![vec![24, 0], vec![13, 11]], ..steer_linux() },
        Verdict::Differs, &["every flow goes to the socket of the CPU that receives it"])]
    #[case::single_cpu(SteersReuseport { available_cpus: 1, member_cpus: vec![0, 1], cpus: vec![0],
        set: vec![vec![24, 0]], ..steer_linux() }, Verdict::Holds, &[])]
    // Two CPUs, one round: half the plan.
    #[case::one_round(SteersReuseport { member_cpus: vec![0, 1], cpus: vec![0], set: vec![vec![24, 0]],
        ..steer_linux() }, Verdict::Holds, &["a round from each CPU available, up to two"])]
    #[case::many_cpus(SteersReuseport { available_cpus: 64, ..steer_linux() }, Verdict::Holds, &[])]
    #[case::no_spread(SteersReuseport { unset: vec![24, 0], ..steer_linux() }, Verdict::Holds,
        &["without the option the hash spreads the flows"])]
    #[case::member_lost(SteersReuseport { unset: vec![24], ..steer_linux() }, Verdict::Holds,
        &["without the option the hash spreads the flows"])]
    // A sending CPU no member is set to.
    #[case::unmatched(SteersReuseport { member_cpus: vec![2, 3], ..steer_linux() }, Verdict::Refuted,
        &["every flow goes to the socket of the CPU that receives it"])]
    // SO_REUSEPORT ignored: the second bind is refused and nothing is sent.
    #[case::unformed(SteersReuseport { formed: "bound 1: EADDRINUSE".into(), unset: vec![], member_cpus: vec![],
        cpus: vec![], set: vec![], ..steer_linux() }, Verdict::Refuted, &["both members bind the shared port",
        "a round from each CPU available, up to two", "without the option the hash spreads the flows", "every flow goes to the socket of the CPU that receives it"])]
    fn steer_judgement(#[case] o: SteersReuseport, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn steer_words() {
        let j = steer_linux().judge();
        assert_eq!("unset [13, 11] -> set [[24, 0], [0, 24]]", j.key);
        assert_eq!(
            "24 flows: unset [13, 11]; members set to CPUs [0, 1], flows sent from CPUs [0, 1] reached [[24, 0], \
             [0, 24]]; two sockets sharing the port by SO_REUSEADDR instead got [[24, 0], [0, 24]]",
            j.because
        );
    }

    fn napi_linux() -> NapiId {
        NapiId {
            min_napi_id: 257,
            loopback: 0,
            veth_without_napi: 0,
            veth_napi: 261,
            device_napi_ids: Some(vec![261]),
        }
    }

    #[rstest]
    #[case::linux(napi_linux(), Verdict::Holds, &[])]
    #[case::no_listing(NapiId { device_napi_ids: None, ..napi_linux() }, Verdict::Holds, &[])]
    #[case::other_instance(NapiId { device_napi_ids: Some(vec![262]), ..napi_linux() }, Verdict::Differs,
        &["one of the veth's NAPI instances"])]
    #[case::none_listed(NapiId { device_napi_ids: Some(vec![]), ..napi_linux() }, Verdict::Differs,
        &["one of the veth's NAPI instances"])]
    // A sender CPU number leaking through as an id.
    #[case::cpu_number(NapiId { loopback: 1, veth_napi: 2, device_napi_ids: None, ..napi_linux() },
        Verdict::Differs, &["over loopback (no NAPI)", "through a veth with NAPI: a NAPI id"])]
    #[case::boundary(NapiId { veth_napi: 257, device_napi_ids: Some(vec![257]), ..napi_linux() }, Verdict::Holds, &[])]
    #[case::below(NapiId { veth_napi: 256, device_napi_ids: Some(vec![256]), ..napi_linux() }, Verdict::Differs,
        &["through a veth with NAPI: a NAPI id"])]
    #[case::never(NapiId { veth_napi: 0, ..napi_linux() }, Verdict::Refuted,
        &["through a veth with NAPI: a NAPI id", "one of the veth's NAPI instances"])]
    #[case::veth_plain(NapiId { veth_without_napi: 261, ..napi_linux() }, Verdict::Holds,
        &["through a veth without NAPI"])]
    fn napi_judgement(#[case] o: NapiId, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn napi_words() {
        let j = napi_linux().judge();
        assert_eq!("lo 0, veth 0, veth NAPI 261 (device's [261])", j.key);
        assert_eq!(
            "loopback 0, veth without NAPI 0, veth with NAPI 261 (NAPI ids start at 257; the veth's NAPI \
             instances: [261])",
            j.because
        );
        let old = NapiId {
            device_napi_ids: None,
            ..napi_linux()
        };
        assert_eq!(
            "lo 0, veth 0, veth NAPI 261 (device's not listed)",
            old.judge().key
        );
    }

    fn last_linux() -> LastPacket {
        LastPacket {
            min_napi_id: 257,
            first_device: Some(vec![261]),
            second_device: Some(vec![262]),
            connected: vec![261, 262],
            unconnected: vec![261, 261],
        }
    }

    #[rstest]
    #[case::linux(last_linux(), Verdict::Differs, &[])]
    // The page's world: every socket follows its last packet.
    #[case::page(LastPacket { unconnected: vec![261, 262], ..last_linux() }, Verdict::Holds,
        &["an unconnected socket keeps the first id"])]
    #[case::not_listed(LastPacket { first_device: None, second_device: None, ..last_linux() },
        Verdict::Differs, &[])]
    #[case::connected_stuck(LastPacket { connected: vec![261, 261], ..last_linux() }, Verdict::Refuted,
        &["a connected socket reports each device's id in turn"])]
    #[case::no_napi(LastPacket { connected: vec![0, 0], unconnected: vec![0, 0], ..last_linux() },
        Verdict::Refuted, &["a connected socket reports each device's id in turn"])]
    #[case::below_range(LastPacket { min_napi_id: 262, ..last_linux() }, Verdict::Refuted,
        &["a connected socket reports each device's id in turn"])]
    #[case::at_range(LastPacket { min_napi_id: 261, ..last_linux() }, Verdict::Differs, &[])]
    #[case::other_device(LastPacket { second_device: Some(vec![263]), ..last_linux() }, Verdict::Refuted,
        &["a connected socket reports each device's id in turn"])]
    #[case::first_other_device(LastPacket { first_device: Some(vec![260]), ..last_linux() }, Verdict::Refuted,
        &["a connected socket reports each device's id in turn"])]
    #[case::not_listed_same(LastPacket { first_device: None, second_device: None, connected: vec![261, 261],
        ..last_linux() }, Verdict::Refuted, &["a connected socket reports each device's id in turn"])]
    #[case::unconnected_elsewhere(LastPacket { unconnected: vec![261, 263], ..last_linux() }, Verdict::Differs,
        &["an unconnected socket keeps the first id"])]
    #[case::one_round(LastPacket { connected: vec![261], unconnected: vec![261], ..last_linux() },
        Verdict::Refuted, &["a connected socket reports each device's id in turn",
        "an unconnected socket keeps the first id"])]
    fn last_judgement(#[case] o: LastPacket, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn last_words() {
        let j = last_linux().judge();
        assert_eq!("connected [261, 262], unconnected [261, 261]", j.key);
        assert_eq!(
            "through the first link then the second (NAPI ids [261] and [262]): connected UDP reported \
             [261, 262], unconnected UDP [261, 261]",
            j.because
        );
    }

    fn busy_linux() -> BusyPollPrivilege {
        BusyPollPrivilege {
            in_user_namespace: false,
            busy_read: 0,
            default: 0,
            raise: "ok".into(),
            raise_without_cap: "ok".into(),
            lower_without_cap: "ok".into(),
            negative: "EINVAL".into(),
        }
    }

    #[rstest]
    #[case::linux(busy_linux(), Verdict::Refuted, &[])]
    #[case::user_namespace(BusyPollPrivilege { in_user_namespace: true, ..busy_linux() }, Verdict::Refuted, &[])]
    // Kernels that still check: the page's world.
    #[case::checked(BusyPollPrivilege { raise_without_cap: "EPERM".into(), ..busy_linux() }, Verdict::Holds,
        &[])]
    // Checked against the initial user namespace, from a user namespace.
    #[case::checked_userns(BusyPollPrivilege { in_user_namespace: true, raise: "EPERM".into(),
        raise_without_cap: "EPERM".into(), ..busy_linux() }, Verdict::Holds, &[])]
    // EPERM with the capability outside a user namespace: not a check.
    #[case::refused_with_cap(BusyPollPrivilege { raise: "EPERM".into(), raise_without_cap: "EPERM".into(),
        ..busy_linux() }, Verdict::Holds, &["raised with CAP_NET_ADMIN"])]
    #[case::checked_other_default(BusyPollPrivilege { default: 50, raise_without_cap: "EPERM".into(),
        ..busy_linux() }, Verdict::Differs,
        &["a new socket's value is net.core.busy_read"])]
    #[case::odd_errno(BusyPollPrivilege { raise_without_cap: "EACCES".into(), ..busy_linux() },
        Verdict::Differs, &["raised without CAP_NET_ADMIN"])]
    #[case::lowering_refused(BusyPollPrivilege { lower_without_cap: "EPERM".into(), ..busy_linux() },
        Verdict::Refuted, &["lowered without CAP_NET_ADMIN"])]
    #[case::negative_taken(BusyPollPrivilege { negative: "ok".into(), ..busy_linux() }, Verdict::Refuted,
        &["a negative value"])]
    fn busy_judgement(#[case] o: BusyPollPrivilege, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn busy_words() {
        let j = busy_linux().judge();
        assert_eq!("raise without CAP_NET_ADMIN -> ok", j.key);
        assert_eq!(
            "default 0 (busy_read 0); raising by 50 us with CAP_NET_ADMIN -> ok, without -> ok; lowering \
             without -> ok; -1 -> EINVAL",
            j.because
        );
        let userns = BusyPollPrivilege {
            in_user_namespace: true,
            ..busy_linux()
        };
        assert!(userns
            .judge()
            .because
            .contains("with CAP_NET_ADMIN (of a user namespace) -> ok"));
    }

    fn spins_linux() -> Spins {
        Spins {
            busy_poll_us: 10_000,
            busy_poll_sysctl: 0,
            wait_ms: 20.0,
            napi_id: 261,
            napi_recv_cpu_ms: 10.1,
            napi_off_recv_cpu_ms: 0.02,
            loopback_recv_cpu_ms: 0.02,
            napi_poll_cpu_ms: 0.02,
        }
    }

    #[rstest]
    #[case::linux(spins_linux(), Verdict::Holds, &[])]
    #[case::no_spin(Spins { napi_recv_cpu_ms: 0.02, ..spins_linux() }, Verdict::Refuted,
        &["an idle recv on the NAPI-fed socket spins"])]
    #[case::spins_everywhere(Spins { loopback_recv_cpu_ms: 10.0, ..spins_linux() }, Verdict::Differs,
        &["a loopback-fed socket sleeps"])]
    #[case::spin_boundary(Spins { napi_recv_cpu_ms: 2.0, ..spins_linux() }, Verdict::Holds, &[])]
    #[case::spin_short(Spins { napi_recv_cpu_ms: 1.99, ..spins_linux() }, Verdict::Refuted,
        &["an idle recv on the NAPI-fed socket spins"])]
    #[case::quiet_under_load(Spins { loopback_recv_cpu_ms: 0.99, ..spins_linux() }, Verdict::Holds, &[])]
    #[case::quiet_boundary(Spins { loopback_recv_cpu_ms: 1.0, ..spins_linux() }, Verdict::Differs,
        &["a loopback-fed socket sleeps"])]
    #[case::off_spins(Spins { napi_off_recv_cpu_ms: 5.0, ..spins_linux() }, Verdict::Holds,
        &["with SO_BUSY_POLL 0 it sleeps"])]
    #[case::poll_spins(Spins { napi_poll_cpu_ms: 5.0, ..spins_linux() }, Verdict::Holds,
        &["poll() follows net.core.busy_poll"])]
    #[case::poll_set(Spins { busy_poll_sysctl: 50, napi_poll_cpu_ms: 5.0, ..spins_linux() }, Verdict::Holds, &[])]
    #[case::poll_set_idle(Spins { busy_poll_sysctl: 50, ..spins_linux() }, Verdict::Holds,
        &["poll() follows net.core.busy_poll"])]
    fn spins_judgement(#[case] o: Spins, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn spins_words() {
        let j = spins_linux().judge();
        assert_eq!("idle recv: NAPI 10.1 ms, loopback 0.02 ms of CPU", j.key);
        assert_eq!(
            "SO_BUSY_POLL 10000 us, idle waits of 20 ms: recv on the NAPI-fed socket (id 261) used 10.1 ms of \
             CPU, with SO_BUSY_POLL 0 0.02 ms, on the loopback-fed socket 0.02 ms; poll() 0.02 ms (busy_poll 0)",
            j.because
        );
        let set = Spins {
            busy_poll_sysctl: 50,
            ..spins_linux()
        };
        let c = set.judge().checks.into_iter().last().expect("a check");
        assert_eq!("a spin (busy_poll 50)", c.expected);
    }
}
