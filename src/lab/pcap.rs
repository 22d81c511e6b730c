//! pcap files (nanosecond variant, Ethernet link type) that tcpdump and
//! Wireshark open.

use super::packet::Frame;

const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;

pub fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC_NS.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    for f in frames {
        out.extend_from_slice(&((f.t_ns / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((f.t_ns % 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&f.len.to_le_bytes());
        out.extend_from_slice(&f.data);
    }
    out
}
