//! The IP header of a captured frame with every field a case may judge (TOS,
//! TTL / hop limit, flow label, DF and fragments, IPv4 options, IPv6
//! extension headers), and the messages that are not TCP, UDP or IGMP: ICMP
//! and ICMPv6 errors with the datagram they quote, MLD reports, ARP. Decoded
//! with etherparse, which tolerates the truncated frames a capture keeps.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{Ipv6ExtensionSlice, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use serde::{Deserialize, Serialize};

/// An IP header as the wire carried it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpHeader {
    /// 4 or 6.
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The TOS byte (IPv4) or traffic class (IPv6): DSCP << 2 | ECN.
    pub tos: u8,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// IPv4 identification (0 for IPv6).
    pub id: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units (IPv4 header or IPv6 fragment header).
    pub fragment_offset: u16,
    /// IPv4 options, raw (empty when the header is 20 bytes).
    pub options: Vec<u8>,
    /// IPv6 extension headers in wire order, by protocol number (0 hop-by-hop,
    /// 43 routing, 44 fragment, 51 authentication, 60 destination options).
    pub extensions: Vec<u8>,
    /// The upper-layer protocol after any extension headers (6 TCP, 17 UDP...).
    pub protocol: u8,
    /// Total length of the IP packet on the wire, headers included.
    pub total_len: u32,
}

/// An ICMP or ICMPv6 message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Icmp {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// True for ICMPv6.
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
    /// The MTU an ICMP "fragmentation needed" (3/4) or ICMPv6 "packet too big"
    /// (2) reports.
    pub mtu: Option<u32>,
    /// The datagram an error message quotes, when it quotes one.
    pub quoted: Option<Quoted>,
}

/// The start of the datagram an ICMP error refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

/// An MLD message (ICMPv6 130-132, 143).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mld {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 130 query, 131 v1 report, 132 v1 done, 143 v2 report.
    pub kind: u8,
    /// Group(s) named by the message (a v2 report may name several).
    pub groups: Vec<Ipv6Addr>,
    /// v2 record types, parallel to `groups` (empty for v1).
    pub record_types: Vec<u8>,
}

/// An ARP request or reply (IPv4 over Ethernet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// The IP header of an Ethernet frame, if it carries IPv4 or IPv6.
pub fn ip(frame: &[u8], wire_len: u32) -> Option<IpHeader> {
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    match p.net? {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            Some(IpHeader {
                version: 4,
                src: h.source_addr().into(),
                dst: h.destination_addr().into(),
                ttl: h.ttl(),
                tos: h.slice()[1],
                flow_label: 0,
                id: h.identification(),
                dont_fragment: h.dont_fragment(),
                more_fragments: h.more_fragments(),
                fragment_offset: h.fragments_offset().value(),
                options: h.options().to_vec(),
                extensions: Vec::new(),
                protocol: v4.payload_ip_number().0,
                total_len: u32::from(h.total_len()),
            })
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let mut extensions = Vec::new();
            let (mut more, mut offset) = (false, 0);
            for e in v6.extensions().clone() {
                extensions.push(match e {
                    Ipv6ExtensionSlice::HopByHop(_) => 0,
                    Ipv6ExtensionSlice::Routing(_) => 43,
                    Ipv6ExtensionSlice::Fragment(f) => {
                        more = f.more_fragments();
                        offset = f.fragment_offset().value();
                        44
                    }
                    Ipv6ExtensionSlice::Authentication(_) => 51,
                    Ipv6ExtensionSlice::DestinationOptions(_) => 60,
                });
            }
            Some(IpHeader {
                version: 6,
                src: h.source_addr().into(),
                dst: h.destination_addr().into(),
                ttl: h.hop_limit(),
                tos: h.traffic_class(),
                flow_label: h.flow_label().value(),
                id: 0,
                dont_fragment: false,
                more_fragments: more,
                fragment_offset: offset,
                options: Vec::new(),
                extensions,
                protocol: v6.payload().ip_number.0,
                total_len: 40 + u32::from(h.payload_length()),
            })
        }
        LaxNetSlice::Arp(_) => None,
    }
    .map(|mut h| {
        // A jumbo or truncated length field: trust what the capture saw.
        if h.total_len == 0 {
            h.total_len = wire_len.saturating_sub(14);
        }
        h
    })
}

/// ICMP, ICMPv6 (other than MLD), MLD or ARP, if the frame is one of those.
pub fn other(frame: &[u8]) -> Option<super::packet::Packet> {
    use super::packet::Packet;
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    if let Some(LaxNetSlice::Arp(a)) = &p.net {
        let sender_ip: [u8; 4] = a.sender_protocol_addr().try_into().ok()?;
        let target_ip: [u8; 4] = a.target_protocol_addr().try_into().ok()?;
        return Some(Packet::Arp(Arp {
            op: a.operation().0,
            sender_mac: a.sender_hw_addr().try_into().ok()?,
            sender_ip: sender_ip.into(),
            target_ip: target_ip.into(),
        }));
    }
    let (src, dst) = match p.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => (
            IpAddr::from(v4.header().source_addr()),
            IpAddr::from(v4.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(v6) => (
            IpAddr::from(v6.header().source_addr()),
            IpAddr::from(v6.header().destination_addr()),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    match p.transport? {
        TransportSlice::Icmpv4(m) => {
            let (kind, code, rest) = (m.type_u8(), m.code_u8(), m.bytes5to8());
            let mtu =
                (kind == 3 && code == 4).then(|| u32::from(u16::from_be_bytes([rest[2], rest[3]])));
            let quotes = matches!(kind, 3 | 4 | 5 | 11 | 12);
            Some(Packet::Icmp(Icmp {
                src,
                dst,
                v6: false,
                kind,
                code,
                mtu,
                quoted: quotes.then(|| quoted(m.payload())).flatten(),
            }))
        }
        TransportSlice::Icmpv6(m) => {
            let kind = m.type_u8();
            if matches!(kind, 130..=132 | 143) {
                return Some(Packet::Mld(mld(src, dst, kind, m.slice())?));
            }
            let rest = m.bytes5to8();
            Some(Packet::Icmp(Icmp {
                src,
                dst,
                v6: true,
                kind,
                code: m.code_u8(),
                mtu: (kind == 2).then(|| u32::from_be_bytes(rest)),
                quoted: (kind < 128).then(|| quoted(m.payload())).flatten(),
            }))
        }
        _ => None,
    }
}

/// The header of the datagram an ICMP error quotes (IP header, then at least
/// 8 bytes of the transport header: the ports).
fn quoted(payload: &[u8]) -> Option<Quoted> {
    let q = LaxSlicedPacket::from_ip(payload).ok()?;
    let (src, dst, protocol): (IpAddr, IpAddr, u8) = match q.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
            v4.payload_ip_number().0,
        ),
        LaxNetSlice::Ipv6(v6) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
            v6.payload().ip_number.0,
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let ports = q
        .net
        .as_ref()
        .and_then(|n| n.ip_payload_ref())
        .map(|p| p.payload)
        .filter(|b| b.len() >= 4 && matches!(protocol, 6 | 17))
        .map(|b| {
            (
                u16::from_be_bytes([b[0], b[1]]),
                u16::from_be_bytes([b[2], b[3]]),
            )
        });
    Some(Quoted {
        src,
        dst,
        protocol,
        sport: ports.map(|p| p.0),
        dport: ports.map(|p| p.1),
    })
}

/// An MLD message from its ICMPv6 bytes (type, code, checksum, then the body).
fn mld(src: IpAddr, dst: IpAddr, kind: u8, icmp: &[u8]) -> Option<Mld> {
    let (mut groups, mut record_types) = (Vec::new(), Vec::new());
    if kind == 143 {
        // RFC 3810 5.2: reserved(2), number of records(2), then the records.
        let n = u16::from_be_bytes([*icmp.get(6)?, *icmp.get(7)?]) as usize;
        let mut rec = icmp.get(8..)?;
        for _ in 0..n {
            let aux = *rec.get(1)? as usize * 4;
            let nsrc = u16::from_be_bytes([*rec.get(2)?, *rec.get(3)?]) as usize;
            let group: [u8; 16] = rec.get(4..20)?.try_into().ok()?;
            record_types.push(rec[0]);
            groups.push(Ipv6Addr::from(group));
            rec = rec.get(20 + nsrc * 16 + aux..).unwrap_or(&[]);
        }
    } else {
        // RFC 2710 3: code, checksum, max delay(2), reserved(2), group(16).
        let group: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
        groups.push(Ipv6Addr::from(group));
    }
    Some(Mld {
        src,
        dst,
        kind,
        groups,
        record_types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use pretty_assertions::assert_eq;

    fn udp_v4(ttl: u8) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], ttl)
            .udp(4000, 5000);
        let mut out = Vec::new();
        b.write(&mut out, b"hello").unwrap();
        out
    }

    #[test]
    fn an_ipv4_header_with_its_fields() {
        let f = udp_v4(7);
        let h = ip(&f, f.len() as u32).unwrap();
        assert_eq!(
            (4, 7, 17, 20 + 8 + 5, false),
            (h.version, h.ttl, h.protocol, h.total_len, h.more_fragments)
        );
        assert_eq!(IpAddr::from([10, 0, 0, 2]), h.dst);
    }

    #[test]
    fn an_icmp_port_unreachable_quotes_the_datagram() {
        let original = udp_v4(64);
        let quoted_ip = &original[14..];
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ));
        let mut f = Vec::new();
        b.write(&mut f, quoted_ip).unwrap();
        let Some(super::super::packet::Packet::Icmp(m)) = other(&f) else {
            panic!("not ICMP");
        };
        assert_eq!((false, 3, 3, None), (m.v6, m.kind, m.code, m.mtu));
        let q = m.quoted.unwrap();
        assert_eq!((17, Some(4000), Some(5000)), (q.protocol, q.sport, q.dport));
    }
}
