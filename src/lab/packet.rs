//! Captured frames and their decoding into typed segments and datagrams.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// One frame as captured (headers only: `data` is truncated to `SNAPLEN`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frame {
    /// Kernel receive timestamp, nanoseconds since the Unix epoch.
    pub t_ns: i64,
    /// Original length on the wire.
    pub len: u32,
    /// Interface the frame was captured on (name in the case's host).
    pub iface: String,
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

pub const SNAPLEN: usize = 256;

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::unhex(&s).ok_or_else(|| serde::de::Error::custom(format!("not hexadecimal: {s}")))
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `data` in lower-case hexadecimal, two digits a byte. A case hands the
/// runner every frame it captured this way (thousands in the bulk cases):
/// no formatting machinery per byte.
pub fn hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(2 * data.len());
    for b in data {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The bytes of hexadecimal `text` (two digits a byte, either case); None
/// when it is not that.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        char::from(c).to_digit(16).map(|d| d as u8)
    }
    let b = text.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// A MAC address as text: "02:00:00:00:00:1a".
pub fn mac_text(m: &[u8]) -> String {
    let mut out = String::with_capacity(3 * m.len());
    for (i, b) in m.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&hex(std::slice::from_ref(b)));
    }
    out
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
}

impl TcpFlags {
    fn from_byte(b: u8) -> TcpFlags {
        TcpFlags {
            fin: b & 0x01 != 0,
            syn: b & 0x02 != 0,
            rst: b & 0x04 != 0,
            psh: b & 0x08 != 0,
            ack: b & 0x10 != 0,
            urg: b & 0x20 != 0,
        }
    }
}

impl std::fmt::Display for TcpFlags {
    /// tcpdump style: S, F, R, P, U and '.' for ACK.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        for (on, c) in [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
        ] {
            if on {
                s.push(c);
            }
        }
        if self.ack {
            s.push('.');
        }
        f.write_str(&s)
    }
}

/// A decoded TCP segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Raw 16-bit window field (not scaled).
    pub window: u16,
    pub urgent: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub payload: u32,
    pub ttl: u8,
}

impl Segment {
    /// A FIN sent from `port`.
    pub fn fin_from(&self, port: u16) -> bool {
        self.sport == port && self.flags.fin
    }

    /// A RST sent from `port`.
    pub fn rst_from(&self, port: u16) -> bool {
        self.sport == port && self.flags.rst
    }

    /// Sent to `port`, acknowledging every byte before sequence number `end`.
    pub fn acks(&self, port: u16, end: u32) -> bool {
        self.dport == port && self.flags.ack && self.ack == end
    }
}

/// Follows one direction of a TCP stream and tells segments that carry bytes
/// not seen before from retransmissions (an RTO or a tail loss probe repeats
/// bytes already on the wire, which a slow machine can provoke).
#[derive(Debug, Default)]
pub struct NewData {
    first_seq: Option<u32>,
    sent_up_to: u32,
}

impl NewData {
    /// True if `s` carries payload beyond everything seen so far.
    pub fn is_new(&mut self, s: &Segment) -> bool {
        if s.payload == 0 {
            return false;
        }
        let start = s.seq.wrapping_sub(*self.first_seq.get_or_insert(s.seq));
        let end = start.wrapping_add(s.payload);
        if end <= self.sent_up_to {
            return false;
        }
        self.sent_up_to = end;
        true
    }
}

/// A decoded UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub payload: u32,
    pub ttl: u8,
    pub dst_mac: [u8; 6],
}

/// A decoded IGMP message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Igmp {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 0x16 v2 report, 0x17 leave, 0x22 v3 report, 0x11 query.
    pub kind: u8,
    /// Group(s) named by the message (v3 reports may name several).
    pub groups: Vec<Ipv4Addr>,
    /// v3 record types, parallel to `groups` (empty for v1/v2).
    pub record_types: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Packet {
    Tcp(Segment),
    Udp(Datagram),
    Igmp(Igmp),
    /// ICMP or ICMPv6 (MLD apart).
    Icmp(super::headers::Icmp),
    Mld(super::headers::Mld),
    Arp(super::headers::Arp),
    Other,
}

struct Ip<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ttl: u8,
    body: &'a [u8],
}

fn parse_ip(d: &[u8]) -> Option<Ip<'_>> {
    let ethertype = u16::from_be_bytes([*d.get(12)?, *d.get(13)?]);
    let ip = d.get(14..)?;
    match ethertype {
        0x0800 => {
            let ihl = ((ip.first()? & 0x0f) as usize) * 4;
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            Some(Ip {
                src: src.into(),
                dst: dst.into(),
                proto: ip[9],
                ttl: ip[8],
                body: ip.get(ihl..)?,
            })
        }
        0x86dd => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let mut next = ip[6];
            let mut body = ip.get(40..)?;
            // Skip hop-by-hop options (MLD reports carry one).
            while next == 0 {
                next = *body.first()?;
                let len = (*body.get(1)? as usize + 1) * 8;
                body = body.get(len..)?;
            }
            Some(Ip {
                src: Ipv6Addr::from(src).into(),
                dst: Ipv6Addr::from(dst).into(),
                proto: next,
                ttl: ip[7],
                body,
            })
        }
        _ => None,
    }
}

fn ip_total_payload(frame: &Frame, header_bytes: usize) -> u32 {
    (frame.len as usize).saturating_sub(header_bytes) as u32
}

impl Frame {
    pub fn decode(&self) -> Packet {
        self.try_decode().unwrap_or(Packet::Other)
    }

    /// The IP header with every field (TOS, DF, options, extension headers).
    pub fn ip(&self) -> Option<super::headers::IpHeader> {
        super::headers::ip(&self.data, self.len)
    }

    fn try_decode(&self) -> Option<Packet> {
        let d = &self.data;
        let Some(ip) = parse_ip(d) else {
            return super::headers::other(d);
        };
        let l4_offset = d.len() - ip.body.len();
        let b = ip.body;
        match ip.proto {
            6 => {
                let doff = ((b.get(12)? >> 4) as usize) * 4;
                let (mut mss, mut wscale) = (None, None);
                let mut opts = b.get(20..doff)?;
                while let Some(&kind) = opts.first() {
                    match kind {
                        0 => break,
                        1 => opts = &opts[1..],
                        _ => {
                            let len = *opts.get(1)? as usize;
                            if len < 2 {
                                break;
                            }
                            match kind {
                                2 => mss = Some(u16::from_be_bytes([*opts.get(2)?, *opts.get(3)?])),
                                3 => wscale = Some(*opts.get(2)?),
                                _ => {}
                            }
                            opts = opts.get(len..)?;
                        }
                    }
                }
                // Payload length from the IP header, not from the (truncated) capture.
                let ip_payload = self.ip_payload_len()?;
                Some(Packet::Tcp(Segment {
                    src: ip.src,
                    dst: ip.dst,
                    sport: u16::from_be_bytes([b[0], b[1]]),
                    dport: u16::from_be_bytes([b[2], b[3]]),
                    seq: u32::from_be_bytes(b[4..8].try_into().ok()?),
                    ack: u32::from_be_bytes(b[8..12].try_into().ok()?),
                    flags: TcpFlags::from_byte(b[13]),
                    window: u16::from_be_bytes([b[14], b[15]]),
                    urgent: u16::from_be_bytes([*b.get(18)?, *b.get(19)?]),
                    mss,
                    wscale,
                    payload: ip_payload.saturating_sub(doff as u32),
                    ttl: ip.ttl,
                }))
            }
            17 => Some(Packet::Udp(Datagram {
                src: ip.src,
                dst: ip.dst,
                sport: u16::from_be_bytes([*b.first()?, *b.get(1)?]),
                dport: u16::from_be_bytes([*b.get(2)?, *b.get(3)?]),
                payload: ip_total_payload(self, l4_offset + 8),
                ttl: ip.ttl,
                dst_mac: d.get(0..6)?.try_into().ok()?,
            })),
            2 => {
                let kind = *b.first()?;
                let (mut groups, mut record_types) = (Vec::new(), Vec::new());
                if kind == 0x22 {
                    let n = u16::from_be_bytes([*b.get(6)?, *b.get(7)?]) as usize;
                    let mut rec = b.get(8..)?;
                    for _ in 0..n {
                        let aux = *rec.get(1)? as usize * 4;
                        let nsrc = u16::from_be_bytes([*rec.get(2)?, *rec.get(3)?]) as usize;
                        record_types.push(rec[0]);
                        groups.push(Ipv4Addr::new(*rec.get(4)?, rec[5], rec[6], rec[7]));
                        rec = rec.get(8 + nsrc * 4 + aux..)?;
                    }
                } else {
                    groups.push(Ipv4Addr::new(*b.get(4)?, b[5], b[6], b[7]));
                }
                Some(Packet::Igmp(Igmp {
                    src: ip.src,
                    dst: ip.dst,
                    kind,
                    groups,
                    record_types,
                }))
            }
            1 | 58 => super::headers::other(d).or(Some(Packet::Other)),
            _ => Some(Packet::Other),
        }
    }

    /// Length of the IP payload according to the IP header.
    fn ip_payload_len(&self) -> Option<u32> {
        let ip = self.data.get(14..)?;
        match u16::from_be_bytes([*self.data.get(12)?, *self.data.get(13)?]) {
            0x0800 => {
                let total = u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]) as u32;
                Some(total.saturating_sub(((ip[0] & 0x0f) as u32) * 4))
            }
            0x86dd => {
                let payload = u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]) as u32;
                let body = parse_ip(&self.data)?.body.len() as u32;
                let headers = (self.data.len() as u32 - 54).saturating_sub(body);
                Some(payload.saturating_sub(headers))
            }
            _ => None,
        }
    }

    /// The frame cut after its transport header when it is TCP or UDP (whose
    /// lengths are read from the IP header, not from the bytes kept): what a
    /// report keeps of it. Other frames (ICMP with its quote, IGMP and MLD
    /// with their records, ARP) are kept whole.
    pub fn headers_only(&self) -> Frame {
        let keep = parse_ip(&self.data).and_then(|ip| {
            let l4 = self.data.len() - ip.body.len();
            match ip.proto {
                6 => Some(l4 + ((*ip.body.get(12)? >> 4) as usize) * 4),
                17 => Some(l4 + 8),
                _ => None,
            }
        });
        let end = keep.unwrap_or(self.data.len()).min(self.data.len());
        Frame {
            data: self.data[..end].to_vec(),
            ..self.clone()
        }
    }

    pub fn segment(&self) -> Option<Segment> {
        match self.decode() {
            Packet::Tcp(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod segment_tests {
    use super::*;

    fn seg(sport: u16, dport: u16, ack: u32, flags: u8) -> Segment {
        Segment {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            sport,
            dport,
            seq: 1,
            ack,
            flags: TcpFlags::from_byte(flags),
            window: 0,
            urgent: 0,
            mss: None,
            wscale: None,
            payload: 0,
            ttl: 64,
        }
    }

    const FIN: u8 = 0x01;
    const RST: u8 = 0x04;
    const ACK: u8 = 0x10;

    #[test]
    fn what_a_segment_says_and_from_where() {
        assert!(seg(1, 2, 0, FIN | ACK).fin_from(1));
        assert!(!seg(1, 2, 0, FIN | ACK).fin_from(2));
        assert!(!seg(1, 2, 0, ACK).fin_from(1));
        assert!(seg(1, 2, 0, RST).rst_from(1));
        assert!(!seg(1, 2, 0, RST).rst_from(2));
        assert!(!seg(1, 2, 0, FIN).rst_from(1));
        assert!(seg(1, 2, 7, ACK).acks(2, 7));
        assert!(!seg(1, 2, 7, ACK).acks(1, 7));
        assert!(!seg(1, 2, 7, ACK).acks(2, 8));
        assert!(!seg(1, 2, 7, RST).acks(2, 7));
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::{hex, mac_text, unhex};

    #[test]
    fn hex_both_ways() {
        let every: Vec<u8> = (0..=255).collect();
        let text = hex(&every);
        assert_eq!("00010203", &text[..8]);
        assert_eq!("fdfeff", &text[text.len() - 6..]);
        assert_eq!(Some(every), unhex(&text));
        assert_eq!(Some(vec![0xab, 0x0c]), unhex("AB0c"));
        assert_eq!(Some(vec![]), unhex(""));
        for bad in ["abc", "0g", "+1", " 1"] {
            assert_eq!(None, unhex(bad), "{bad:?}");
        }
    }

    #[test]
    fn mac_addresses() {
        assert_eq!("02:00:00:00:00:1a", mac_text(&[2, 0, 0, 0, 0, 0x1a]));
        assert_eq!(
            "01:00:5e:7f:ff:fa",
            mac_text(&[1, 0, 0x5e, 0x7f, 0xff, 0xfa])
        );
    }
}
