//! A minimal rtnetlink client: just what the topologies need (links up, veth
//! pairs across namespaces, bridges, addresses, routes, MTU). Hand-rolled so
//! that it runs in a static binary on a bare initramfs, without iproute2.

use std::net::IpAddr;

use anyhow::{bail, Context, Result};

const NLMSG_ERROR: u16 = 2;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFLA_BR_MCAST_SNOOPING: u16 = 23;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_TABLE: u16 = 15;
const RT_TABLE_MAIN: u32 = 254;

/// A NETLINK_ROUTE socket bound in the namespace of the thread that opened it.
pub struct Netlink {
    fd: std::os::fd::OwnedFd,
    seq: std::cell::Cell<u32>,
}

/// A message under construction: header, fixed part, then attributes; nested
/// attributes are opened with `nest` and closed with `end`.
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = vec![0u8; 16];
        buf[4..6].copy_from_slice(&kind.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(fixed);
        Msg {
            buf,
            nests: Vec::new(),
        }
    }
    fn align(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        self.align();
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self
    }
    fn nest(&mut self, kind: u16) -> &mut Msg {
        self.align();
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self
    }
    fn raw(&mut self, data: &[u8]) -> &mut Msg {
        self.align();
        self.buf.extend_from_slice(data);
        self
    }
    fn end(&mut self) -> &mut Msg {
        let start = self.nests.pop().expect("end without nest");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }
    fn finish(mut self, seq: u32) -> Vec<u8> {
        self.align();
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&flags.to_ne_bytes());
    m[12..16].copy_from_slice(&change.to_ne_bytes());
    m
}

/// Interface indexes for veth ends: unique within the process (so within
/// every namespace a case builds), and far above the small indexes the
/// kernel assigns in a fresh namespace.
fn next_veth_index() -> i32 {
    static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1000);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn cstr(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

fn family(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    }
}

fn octets(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Interface index of `name` in the calling thread's namespace.
pub fn ifindex(name: &str) -> Result<i32> {
    let idx =
        nix::net::if_::if_nametoindex(name).with_context(|| format!("no interface {name}"))?;
    Ok(idx as i32)
}

impl Netlink {
    pub fn open() -> Result<Netlink> {
        use nix::sys::socket::{
            bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
        };
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .context("socket(AF_NETLINK, NETLINK_ROUTE)")?;
        bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &NetlinkAddr::new(0, 0),
        )
        .context("bind netlink")?;
        Ok(Netlink {
            fd,
            seq: std::cell::Cell::new(1),
        })
    }

    fn call(&self, msg: Msg, what: &str) -> Result<()> {
        use std::os::fd::AsRawFd;
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let buf = msg.finish(seq);
        nix::unistd::write(&self.fd, &buf).with_context(|| format!("netlink send: {what}"))?;
        let mut reply = vec![0u8; 8192];
        loop {
            let n = nix::unistd::read(self.fd.as_raw_fd(), &mut reply)
                .with_context(|| format!("netlink recv: {what}"))?;
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(reply[off..off + 4].try_into()?) as usize;
                let kind = u16::from_ne_bytes(reply[off + 4..off + 6].try_into()?);
                let rseq = u32::from_ne_bytes(reply[off + 8..off + 12].try_into()?);
                if kind == NLMSG_ERROR && rseq == seq {
                    let err = i32::from_ne_bytes(reply[off + 16..off + 20].try_into()?);
                    if err == 0 {
                        return Ok(());
                    }
                    bail!("{what}: {}", nix::errno::Errno::from_raw(-err));
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Sets IFF_UP on an interface.
    pub fn set_up(&self, index: i32) -> Result<()> {
        let up = libc::IFF_UP as u32;
        let msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, up, up));
        self.call(msg, &format!("set link {index} up"))
    }

    /// Clears IFF_UP on an interface.
    pub fn set_down(&self, index: i32) -> Result<()> {
        let msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, 0, libc::IFF_UP as u32));
        self.call(msg, &format!("set link {index} down"))
    }

    pub fn set_mtu(&self, index: i32, mtu: u32) -> Result<()> {
        let mut msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, 0, 0));
        msg.attr(IFLA_MTU, &mtu.to_ne_bytes());
        self.call(msg, &format!("set link {index} mtu {mtu}"))
    }

    /// Sets an interface's hardware address. Topologies use fixed, locally
    /// administered MACs so captures and reports are the same on every run.
    pub fn set_mac(&self, index: i32, mac: [u8; 6]) -> Result<()> {
        let mut msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, 0, 0));
        msg.attr(IFLA_ADDRESS, &mac);
        self.call(msg, &format!("set link {index} address"))
    }

    /// Creates a veth pair: `name` here, `peer` in the namespace `peer_ns_fd`.
    ///
    /// Each end gets an interface index of its own, above any the kernel
    /// hands out in the lab's fresh namespaces: when both ends of a veth
    /// pair have the same index (two fresh namespaces both count from 1),
    /// the kernel's link watcher takes the carrier change of the end that
    /// came up first for a non-urgent event and starts that end's queue up
    /// to a second later, dropping what is sent on it until then.
    pub fn add_veth(&self, name: &str, peer: &str, peer_ns_fd: i32) -> Result<()> {
        // The kernel honours the peer's index only when the first end's is
        // given too.
        let index = next_veth_index();
        let mut msg = Msg::new(
            RTM_NEWLINK,
            NLM_F_CREATE | NLM_F_EXCL,
            &ifinfomsg(index, 0, 0),
        );
        msg.attr(IFLA_IFNAME, &cstr(name));
        msg.nest(IFLA_LINKINFO).attr(IFLA_INFO_KIND, b"veth");
        msg.nest(IFLA_INFO_DATA)
            .nest(VETH_INFO_PEER)
            .raw(&ifinfomsg(next_veth_index(), 0, 0));
        msg.attr(IFLA_IFNAME, &cstr(peer));
        msg.attr(IFLA_NET_NS_FD, &peer_ns_fd.to_ne_bytes());
        msg.end().end().end();
        self.call(msg, &format!("add veth {name} <-> {peer}"))
    }

    pub fn add_bridge(&self, name: &str) -> Result<()> {
        let mut msg = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifinfomsg(0, 0, 0));
        msg.attr(IFLA_IFNAME, &cstr(name));
        // Multicast snooping off: the bridge floods group traffic to every
        // port, like a plain switch, so what a host receives is decided by
        // the host (its memberships), which is what the cases look at.
        msg.nest(IFLA_LINKINFO).attr(IFLA_INFO_KIND, b"bridge");
        msg.nest(IFLA_INFO_DATA)
            .attr(IFLA_BR_MCAST_SNOOPING, &[0u8])
            .end();
        msg.end();
        self.call(msg, &format!("add bridge {name}"))
    }

    pub fn set_master(&self, index: i32, master: i32) -> Result<()> {
        let mut msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, 0, 0));
        msg.attr(IFLA_MASTER, &master.to_ne_bytes());
        self.call(msg, &format!("enslave link {index} to {master}"))
    }

    fn addr_msg(kind: u16, flags: u16, index: i32, addr: &IpAddr, prefix: u8) -> Msg {
        let fixed = [family(addr), prefix, IFA_F_NODAD, 0];
        let mut msg = Msg::new(kind, flags, &fixed);
        msg.raw(&(index as u32).to_ne_bytes());
        msg.attr(IFA_LOCAL, &octets(addr));
        msg.attr(IFA_ADDRESS, &octets(addr));
        msg
    }

    /// Adds an address; IPv6 addresses skip duplicate address detection so they
    /// are usable at once (no waiting for DAD).
    pub fn add_addr(&self, index: i32, addr: IpAddr, prefix: u8) -> Result<()> {
        let msg = Self::addr_msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, &addr, prefix);
        self.call(msg, &format!("add address {addr}/{prefix} on link {index}"))
    }

    pub fn del_addr(&self, index: i32, addr: IpAddr, prefix: u8) -> Result<()> {
        let msg = Self::addr_msg(RTM_DELADDR, 0, index, &addr, prefix);
        self.call(
            msg,
            &format!("delete address {addr}/{prefix} on link {index}"),
        )
    }

    /// Adds a route to `dst/prefix` via `gateway` (or directly on the link when
    /// `gateway` is None).
    pub fn add_route(
        &self,
        dst: IpAddr,
        prefix: u8,
        gateway: Option<IpAddr>,
        index: i32,
    ) -> Result<()> {
        self.add_route_in(RT_TABLE_MAIN, dst, prefix, gateway, index)
    }

    /// `add_route` into routing table `table` (a policy rule's table; the
    /// main table is 254).
    pub fn add_route_in(
        &self,
        table: u32,
        dst: IpAddr,
        prefix: u8,
        gateway: Option<IpAddr>,
        index: i32,
    ) -> Result<()> {
        let scope = if gateway.is_some() { 0 } else { 253 };
        // rtm_table holds 8 bits; RTA_TABLE the whole number.
        let short = u8::try_from(table).unwrap_or(0);
        let fixed = [family(&dst), prefix, 0, 0, short, 3, scope, 1, 0, 0, 0, 0];
        let mut msg = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        msg.attr(RTA_TABLE, &table.to_ne_bytes());
        msg.attr(RTA_DST, &octets(&dst));
        if let Some(gw) = gateway {
            msg.attr(RTA_GATEWAY, &octets(&gw));
        }
        msg.attr(RTA_OIF, &(index as u32).to_ne_bytes());
        self.call(
            msg,
            &format!("add route {dst}/{prefix} via {gateway:?} dev {index} table {table}"),
        )
    }
}

const NLM_F_REPLACE: u16 = 0x100;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTAX_QUICKACK: u16 = 15;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RT_SCOPE_HOST: u8 = 254;
const RTN_LOCAL: u8 = 2;

impl Netlink {
    /// Replaces the kernel's local route to `addr` (on link `index`, normally
    /// lo) by the same route with the quickack metric (ip-route(8) `quickack
    /// 1`): TCP over it acknowledges every segment at once, never waiting for
    /// the delayed-ACK timer.
    pub fn set_local_route_quickack(&self, addr: IpAddr, index: i32) -> Result<()> {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        let fixed = [
            family(&addr),
            prefix,
            0,
            0,
            RT_TABLE_LOCAL,
            RTPROT_KERNEL,
            RT_SCOPE_HOST,
            RTN_LOCAL,
            0,
            0,
            0,
            0,
        ];
        let mut msg = Msg::new(RTM_NEWROUTE, NLM_F_REPLACE, &fixed);
        msg.attr(RTA_DST, &octets(&addr));
        if addr.is_ipv4() {
            msg.attr(RTA_PREFSRC, &octets(&addr));
        }
        msg.attr(RTA_OIF, &(index as u32).to_ne_bytes());
        msg.nest(RTA_METRICS)
            .attr(RTAX_QUICKACK, &1u32.to_ne_bytes())
            .end();
        self.call(msg, &format!("set quickack on the local route {addr}"))
    }
}

const IFLA_GSO_MAX_SEGS: u16 = 40;
const RTM_NEWRULE: u16 = 32;
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_TABLE: u16 = 15;
const FR_ACT_TO_TBL: u8 = 1;
const RTPROT_BOOT: u8 = 3;

impl Netlink {
    /// Sets the most segments a GSO packet may carry through the device
    /// (ip-link(8) `gso_max_segs`). At 1, the stack segments every GSO
    /// packet in software before the device, so its taps see the
    /// datagrams a real wire would carry.
    pub fn set_gso_max_segs(&self, index: i32, segs: u32) -> Result<()> {
        let mut msg = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(index, 0, 0));
        msg.attr(IFLA_GSO_MAX_SEGS, &segs.to_ne_bytes());
        self.call(msg, &format!("set link {index} gso_max_segs {segs}"))
    }

    /// A policy rule (ip-rule(8) `iif IFNAME lookup TABLE pref PRIORITY`):
    /// packets of `family` arriving on `iif` are routed by `table`.
    pub fn add_rule_iif(&self, family: u8, iif: &str, table: u32, priority: u32) -> Result<()> {
        // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1,
        // res2, action, flags.
        let fixed = [family, 0, 0, 0, 0, 0, 0, FR_ACT_TO_TBL, 0, 0, 0, 0];
        let mut msg = Msg::new(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        msg.attr(FRA_IIFNAME, &cstr(iif));
        msg.attr(FRA_TABLE, &table.to_ne_bytes());
        msg.attr(FRA_PRIORITY, &priority.to_ne_bytes());
        self.call(
            msg,
            &format!("add rule iif {iif} lookup {table} pref {priority}"),
        )
    }

    /// A route of type local in `table` (ip-route(8) `local DST/PREFIX dev
    /// IF table TABLE`): packets routed by that table to `dst/prefix` are
    /// delivered to this host's sockets, though no interface has the address.
    pub fn add_local_route(&self, dst: IpAddr, prefix: u8, table: u8, index: i32) -> Result<()> {
        let fixed = [
            family(&dst),
            prefix,
            0,
            0,
            table,
            RTPROT_BOOT,
            RT_SCOPE_HOST,
            RTN_LOCAL,
            0,
            0,
            0,
            0,
        ];
        let mut msg = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        msg.attr(RTA_DST, &octets(&dst));
        msg.attr(RTA_OIF, &(index as u32).to_ne_bytes());
        self.call(
            msg,
            &format!("add local route {dst}/{prefix} table {table} dev {index}"),
        )
    }
}

// Policy routing and traffic control: a rule that sends marked packets to a
// table of their own (SO_MARK), and an HTB qdisc whose classes count the
// packets that skb->priority sent to them (SO_PRIORITY).

const RTM_NEWQDISC: u16 = 36;
const RTM_NEWTCLASS: u16 = 40;
const RTM_GETTCLASS: u16 = 42;
const NLMSG_DONE: u16 = 3;
const NLM_F_DUMP: u16 = 0x300;
const FRA_FWMARK: u16 = 10;
const FRA_FWMASK: u16 = 16;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_STATS2: u16 = 7;
const TCA_STATS_BASIC: u16 = 1;
const TCA_HTB_PARMS: u16 = 1;
const TCA_HTB_INIT: u16 = 2;
const TC_H_ROOT: u32 = 0xFFFF_FFFF;
const TC_LINKLAYER_ETHERNET: u8 = 1;

/// struct tcmsg: the interface, the object's handle and its parent.
fn tcmsg(index: i32, handle: u32, parent: u32) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0] = libc::AF_UNSPEC as u8;
    m[4..8].copy_from_slice(&index.to_ne_bytes());
    m[8..12].copy_from_slice(&handle.to_ne_bytes());
    m[12..16].copy_from_slice(&parent.to_ne_bytes());
    m
}

/// The attributes in `buf`: (type without the nested/byte-order flags, payload).
fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((kind, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}

/// struct tc_ratespec with a rate in bytes per second, linklayer given so
/// that no rate table is needed.
fn ratespec(bytes_per_s: u32) -> [u8; 12] {
    let mut r = [0u8; 12];
    r[1] = TC_LINKLAYER_ETHERNET;
    r[8..12].copy_from_slice(&bytes_per_s.to_ne_bytes());
    r
}

impl Netlink {
    /// Sends a dump request; returns the payload (after the netlink header)
    /// of every message of the answer.
    fn dump(&self, msg: Msg, what: &str) -> Result<Vec<Vec<u8>>> {
        use std::os::fd::AsRawFd;
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let buf = msg.finish(seq);
        nix::unistd::write(&self.fd, &buf).with_context(|| format!("netlink send: {what}"))?;
        let mut reply = vec![0u8; 32768];
        let mut out = Vec::new();
        loop {
            let n = nix::unistd::read(self.fd.as_raw_fd(), &mut reply)
                .with_context(|| format!("netlink recv: {what}"))?;
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(reply[off..off + 4].try_into()?) as usize;
                let kind = u16::from_ne_bytes(reply[off + 4..off + 6].try_into()?);
                let rseq = u32::from_ne_bytes(reply[off + 8..off + 12].try_into()?);
                if len < 16 || off + len > n {
                    bail!("{what}: a malformed netlink message");
                }
                if rseq == seq {
                    match kind {
                        NLMSG_DONE => return Ok(out),
                        NLMSG_ERROR => {
                            let err = i32::from_ne_bytes(reply[off + 16..off + 20].try_into()?);
                            if err != 0 {
                                bail!("{what}: {}", nix::errno::Errno::from_raw(-err));
                            }
                        }
                        _ => out.push(reply[off + 16..off + len].to_vec()),
                    }
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// A policy rule (ip-rule(8) `fwmark MARK lookup TABLE pref PRIORITY`):
    /// packets whose mark is `mark` are routed by table `table`.
    pub fn add_rule_fwmark(&self, family: u8, mark: u32, table: u32, priority: u32) -> Result<()> {
        let fixed = [family, 0, 0, 0, 0, 0, 0, FR_ACT_TO_TBL, 0, 0, 0, 0];
        let mut msg = Msg::new(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        msg.attr(FRA_PRIORITY, &priority.to_ne_bytes());
        msg.attr(FRA_FWMARK, &mark.to_ne_bytes());
        msg.attr(FRA_FWMASK, &u32::MAX.to_ne_bytes());
        msg.attr(FRA_TABLE, &table.to_ne_bytes());
        self.call(msg, &format!("add rule fwmark {mark} lookup {table}"))
    }

    /// An HTB root qdisc with handle `major`:0 on link `index`; packets that
    /// no class claims go to class `major`:`default_minor`.
    pub fn add_htb(&self, index: i32, major: u16, default_minor: u16) -> Result<()> {
        let mut glob = [0u8; 20];
        glob[0..4].copy_from_slice(&3u32.to_ne_bytes()); // version
        glob[4..8].copy_from_slice(&10u32.to_ne_bytes()); // rate2quantum
        glob[8..12].copy_from_slice(&u32::from(default_minor).to_ne_bytes());
        let handle = u32::from(major) << 16;
        let mut msg = Msg::new(
            RTM_NEWQDISC,
            NLM_F_CREATE | NLM_F_EXCL,
            &tcmsg(index, handle, TC_H_ROOT),
        );
        msg.attr(TCA_KIND, &cstr("htb"));
        msg.nest(TCA_OPTIONS).attr(TCA_HTB_INIT, &glob).end();
        self.call(msg, &format!("add htb qdisc {major}: on link {index}"))
    }

    /// An HTB class `classid` under the root of the qdisc `major`:0, at
    /// `bytes_per_s` (rate and ceiling) with a burst of a millisecond.
    pub fn add_htb_class(&self, index: i32, classid: u32, bytes_per_s: u32) -> Result<()> {
        let parent = classid & 0xffff_0000;
        let mut opt = Vec::with_capacity(44);
        opt.extend_from_slice(&ratespec(bytes_per_s));
        opt.extend_from_slice(&ratespec(bytes_per_s));
        // buffer and cbuffer: 1 ms in scheduler ticks (64 ns each).
        let burst = 1_000_000u32 >> 6;
        opt.extend_from_slice(&burst.to_ne_bytes());
        opt.extend_from_slice(&burst.to_ne_bytes());
        // An explicit quantum: HTB would otherwise derive one from the rate
        // and log a warning when it is out of its range.
        opt.extend_from_slice(&60_000u32.to_ne_bytes());
        opt.extend_from_slice(&0u32.to_ne_bytes()); // level
        opt.extend_from_slice(&0u32.to_ne_bytes()); // prio
        let mut msg = Msg::new(
            RTM_NEWTCLASS,
            NLM_F_CREATE | NLM_F_EXCL,
            &tcmsg(index, classid, parent),
        );
        msg.attr(TCA_KIND, &cstr("htb"));
        msg.nest(TCA_OPTIONS).attr(TCA_HTB_PARMS, &opt).end();
        self.call(
            msg,
            &format!(
                "add htb class {:x}:{:x} on link {index}",
                classid >> 16,
                classid & 0xffff
            ),
        )
    }

    /// Every traffic class on link `index` with the packets it has sent:
    /// (class id, packets).
    pub fn class_packets(&self, index: i32) -> Result<Vec<(u32, u32)>> {
        let msg = Msg::new(RTM_GETTCLASS, NLM_F_DUMP, &tcmsg(index, 0, 0));
        let mut out = Vec::new();
        for m in self.dump(msg, &format!("dump classes of link {index}"))? {
            let Some(handle) = m.get(8..12) else { continue };
            let classid = u32::from_ne_bytes(handle.try_into()?);
            let stats = attrs(m.get(20..).unwrap_or(&[]))
                .into_iter()
                .filter(|(k, _)| *k == TCA_STATS2)
                .flat_map(|(_, v)| attrs(v))
                .find(|(k, _)| *k == TCA_STATS_BASIC)
                .and_then(|(_, v)| Some(u32::from_ne_bytes(v.get(8..12)?.try_into().ok()?)));
            if let Some(packets) = stats {
                out.push((classid, packets));
            }
        }
        Ok(out)
    }
}

const RTA_PRIORITY: u16 = 6;
const RTN_UNICAST: u8 = 1;

impl Netlink {
    /// Adds ff00::/8 out of link `index` to the local table at `metric`
    /// (ip -6 route add ff00::/8 dev IF table local metric M): IPv6
    /// multicast without an outgoing interface then leaves by this link,
    /// whatever order the interfaces came up in.
    pub fn add_multicast_route_v6(&self, index: i32, metric: u32) -> Result<()> {
        let dst = IpAddr::V6(std::net::Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0));
        let fixed = [
            family(&dst),
            8,
            0,
            0,
            RT_TABLE_LOCAL,
            RTPROT_BOOT,
            0,
            RTN_UNICAST,
            0,
            0,
            0,
            0,
        ];
        let mut msg = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &fixed);
        msg.attr(RTA_DST, &octets(&dst));
        msg.attr(RTA_OIF, &(index as u32).to_ne_bytes());
        msg.attr(RTA_PRIORITY, &metric.to_ne_bytes());
        self.call(
            msg,
            &format!("add route ff00::/8 dev {index} table local metric {metric}"),
        )
    }
}
