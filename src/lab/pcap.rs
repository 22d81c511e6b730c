//! pcap files (nanosecond variant, Ethernet link type) that tcpdump and
//! Wireshark open.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

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

pub fn write(path: &Path, frames: &[Frame]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let mut f =
        std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    f.write_all(&encode(frames))
        .with_context(|| format!("write {}", path.display()))
}
