//! What lab/packet.rs leaves out of a captured TCP segment: its raw IP and
//! TCP headers (TCP_SAVED_SYN returns exactly these) and every TCP option
//! (Fast Open cookies, SACK-permitted, timestamps).

use super::packet::Frame;

pub const KIND_MSS: u8 = 2;
pub const KIND_WSCALE: u8 = 3;
pub const KIND_SACK_PERMITTED: u8 = 4;
pub const KIND_TIMESTAMPS: u8 = 8;
/// RFC 7413 Fast Open cookie option.
pub const KIND_FASTOPEN: u8 = 34;
/// The experimental option (RFC 6994) Fast Open used before kind 34, magic 0xF989.
pub const KIND_EXPERIMENTAL: u8 = 254;
const FASTOPEN_MAGIC: [u8; 2] = [0xf9, 0x89];

/// One TCP option: its kind and the bytes after the length byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpOption {
    pub kind: u8,
    pub data: Vec<u8>,
}

/// Offsets of the IP header and of the TCP header in a captured frame, and
/// the TCP header's length. None for anything but TCP over IPv4/IPv6 (no
/// IPv6 extension headers).
fn tcp_offsets(f: &Frame) -> Option<(usize, usize, usize)> {
    let d = &f.data;
    let ethertype = u16::from_be_bytes([*d.get(12)?, *d.get(13)?]);
    let (l4, proto) = match ethertype {
        0x0800 => (14 + ((*d.get(14)? & 0x0f) as usize) * 4, *d.get(23)?),
        0x86dd => (14 + 40, *d.get(20)?),
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    let doff = ((*d.get(l4 + 12)? >> 4) as usize) * 4;
    (doff >= 20 && l4 + doff <= d.len()).then_some((14, l4, doff))
}

/// The frame's IP and TCP headers, options included, as one byte string.
pub fn ip_tcp_headers(f: &Frame) -> Option<Vec<u8>> {
    let (ip, l4, doff) = tcp_offsets(f)?;
    Some(f.data[ip..l4 + doff].to_vec())
}

/// Every option of the frame's TCP header, in order.
pub fn tcp_options(f: &Frame) -> Vec<TcpOption> {
    let Some((_, l4, doff)) = tcp_offsets(f) else {
        return Vec::new();
    };
    let mut opts = &f.data[l4 + 20..l4 + doff];
    let mut out = Vec::new();
    while let Some(&kind) = opts.first() {
        match kind {
            0 => break,
            1 => opts = &opts[1..],
            _ => {
                let Some(&len) = opts.get(1) else { break };
                let len = len as usize;
                if len < 2 || len > opts.len() {
                    break;
                }
                out.push(TcpOption {
                    kind,
                    data: opts[2..len].to_vec(),
                });
                opts = &opts[len..];
            }
        }
    }
    out
}

/// Whether the frame carries an option of `kind`.
pub fn has_option(f: &Frame, kind: u8) -> bool {
    tcp_options(f).iter().any(|o| o.kind == kind)
}

/// The Fast Open cookie the frame carries: empty for a cookie request, none
/// when the frame has no Fast Open option.
pub fn fastopen_cookie(f: &Frame) -> Option<Vec<u8>> {
    tcp_options(f).into_iter().find_map(|o| match o.kind {
        KIND_FASTOPEN => Some(o.data),
        KIND_EXPERIMENTAL if o.data.starts_with(&FASTOPEN_MAGIC) => Some(o.data[2..].to_vec()),
        _ => None,
    })
}

#[cfg(test)]
/// A captured IPv4/TCP frame for judgement tests: the given flags
/// (tcpdump's bits: 0x02 SYN, 0x10 ACK ...), `payload` zero bytes of data
/// and the raw TCP options `opts`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn test_frame(
    t_ns: i64,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: usize,
    opts: &[u8],
) -> Frame {
    let mut d = vec![0u8; 14];
    d[12] = 0x08;
    let tcp_len = 20 + opts.len();
    let total = (20 + tcp_len + payload) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    d.extend_from_slice(&ip);
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push(((tcp_len / 4) as u8) << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    d.extend_from_slice(&tcp);
    d.extend_from_slice(opts);
    d.extend(std::iter::repeat_n(0u8, payload));
    Frame {
        t_ns,
        len: d.len() as u32,
        iface: "veth-a".into(),
        data: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// A SYN over IPv4: MSS, SACK-permitted, timestamps, NOP, wscale, and a
    /// Fast Open cookie request.
    fn syn() -> Frame {
        let mut d = vec![0u8; 14];
        d[12] = 0x08;
        let opts: Vec<u8> = vec![
            2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10, 34, 2, 1, 1,
        ];
        let tcp_len = 20 + opts.len();
        let mut ip = vec![0x45, 0, 0, (20 + tcp_len) as u8, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        d.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[12] = ((tcp_len / 4) as u8) << 4;
        tcp[13] = 0x02;
        d.extend_from_slice(&tcp);
        d.extend_from_slice(&opts);
        Frame {
            t_ns: 0,
            len: d.len() as u32,
            iface: "lo".into(),
            data: d,
        }
    }

    #[test]
    fn options_headers_and_cookie_request() {
        let f = syn();
        let kinds: Vec<u8> = tcp_options(&f).iter().map(|o| o.kind).collect();
        assert_eq!(vec![2, 4, 8, 3, 34], kinds);
        assert_eq!(Some(Vec::new()), fastopen_cookie(&f));
        assert!(has_option(&f, KIND_SACK_PERMITTED));
        assert_eq!(Some(20 + 20 + 24), ip_tcp_headers(&f).map(|h| h.len()));
        let mut exp = f.clone();
        let at = exp.data.len() - 4;
        exp.data.truncate(at);
        exp.data
            .extend_from_slice(&[254, 6, 0xf9, 0x89, 0xab, 0xcd, 1, 1]);
        let doff = ((20 + 28) / 4) as u8;
        exp.data[14 + 20 + 12] = doff << 4;
        assert_eq!(Some(vec![0xab, 0xcd]), fastopen_cookie(&exp));
        assert_eq!(
            None,
            fastopen_cookie(&Frame {
                data: vec![0; 10],
                ..f
            })
        );
    }
}
