//! getsockopt(TCP_INFO), decoded by offset from struct tcp_info
//! (include/uapi/linux/tcp.h). Fields a kernel does not return (an older,
//! shorter struct) read as none.

use serde::{Deserialize, Serialize};

use super::Sock;

/// The fields of struct tcp_info the cases compare with the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    /// include/net/tcp_states.h numbering (1 ESTABLISHED, 3 SYN_RECV ...).
    pub state: u8,
    /// Consecutive retransmission timeouts of the head segment.
    pub retransmits: u8,
    /// TCPI_OPT_* bits: 1 timestamps, 2 SACK, 4 window scaling.
    pub options: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub rto_us: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    /// Smoothed round-trip time, microseconds.
    pub rtt_us: u32,
    pub total_retrans: u32,
    pub segs_out: Option<u32>,
    pub segs_in: Option<u32>,
    pub data_segs_out: Option<u32>,
    pub bytes_sent: Option<u64>,
    pub bytes_retrans: Option<u64>,
    // Timers and clocks, read by cases but never reported (they change from
    // one read to the next): left out of the JSON.
    /// Unanswered keep-alive or zero-window probes (tcpi_probes).
    #[serde(skip)]
    pub probes: u8,
    /// The delayed-ACK timeout, microseconds (tcpi_ato).
    #[serde(skip)]
    pub ato_us: u32,
    /// How long ago data last came, ms (tcpi_last_data_recv).
    #[serde(skip)]
    pub last_data_recv_ms: Option<u32>,
    /// How long ago an ACK last came, ms (tcpi_last_ack_recv).
    #[serde(skip)]
    pub last_ack_recv_ms: Option<u32>,
}

/// TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE.
pub const OPT_TIMESTAMPS: u8 = 1;
pub const OPT_SACK: u8 = 2;
pub const OPT_WSCALE: u8 = 4;

fn u32_at(b: &[u8], len: usize, off: usize) -> Option<u32> {
    (off + 4 <= len).then(|| u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]))
}

fn u64_at(b: &[u8], len: usize, off: usize) -> Option<u64> {
    (off + 8 <= len).then(|| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[off..off + 8]);
        u64::from_ne_bytes(w)
    })
}

/// Decodes the `len` bytes the kernel returned.
pub fn decode(b: &[u8], len: usize) -> TcpInfo {
    let len = len.min(b.len());
    let byte = |off: usize| if off < len { b[off] } else { 0 };
    let word = |off: usize| u32_at(b, len, off).unwrap_or(0);
    TcpInfo {
        state: byte(0),
        retransmits: byte(2),
        options: byte(5),
        snd_wscale: byte(6) & 0x0f,
        rcv_wscale: byte(6) >> 4,
        rto_us: word(8),
        snd_mss: word(16),
        rcv_mss: word(20),
        unacked: word(24),
        rtt_us: word(68),
        total_retrans: word(100),
        segs_out: u32_at(b, len, 136),
        segs_in: u32_at(b, len, 140),
        data_segs_out: u32_at(b, len, 156),
        bytes_sent: u64_at(b, len, 200),
        bytes_retrans: u64_at(b, len, 208),
        probes: byte(3),
        ato_us: word(12),
        last_data_recv_ms: u32_at(b, len, 52),
        last_ack_recv_ms: u32_at(b, len, 56),
    }
}

/// getsockopt(IPPROTO_TCP, TCP_INFO) on `s`.
pub fn tcp_info(s: &Sock) -> std::io::Result<TcpInfo> {
    let mut b = [0u8; 256];
    let n = s.get_raw(libc::IPPROTO_TCP, libc::TCP_INFO, &mut b)?;
    Ok(decode(&b, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn fields_come_from_their_offsets_and_a_short_struct_leaves_later_ones_out() {
        let mut b = [0u8; 256];
        b[0] = 1;
        b[2] = 2;
        b[3] = 4;
        b[5] = 7;
        b[12..16].copy_from_slice(&40_000u32.to_ne_bytes());
        b[52..56].copy_from_slice(&250u32.to_ne_bytes());
        b[56..60].copy_from_slice(&260u32.to_ne_bytes());
        b[6] = 0x7a;
        b[16..20].copy_from_slice(&1448u32.to_ne_bytes());
        b[68..72].copy_from_slice(&55u32.to_ne_bytes());
        b[100..104].copy_from_slice(&3u32.to_ne_bytes());
        b[136..140].copy_from_slice(&12u32.to_ne_bytes());
        b[208..216].copy_from_slice(&100u64.to_ne_bytes());
        let full = decode(&b, 232);
        assert_eq!(
            (1, 2, 7, 10, 7, 1448, 55, 3, Some(12), Some(100)),
            (
                full.state,
                full.retransmits,
                full.options,
                full.snd_wscale,
                full.rcv_wscale,
                full.snd_mss,
                full.rtt_us,
                full.total_retrans,
                full.segs_out,
                full.bytes_retrans
            )
        );
        assert_eq!(
            (4, 40_000, Some(250), Some(260)),
            (
                full.probes,
                full.ato_us,
                full.last_data_recv_ms,
                full.last_ack_recv_ms
            )
        );
        assert_eq!(None, decode(&b, 52).last_data_recv_ms);
        let short = decode(&b, 104);
        assert_eq!(
            (3, None, None),
            (short.total_retrans, short.segs_out, short.bytes_retrans)
        );
    }
}
