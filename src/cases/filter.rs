//! socket(7) on classic BPF socket filters: SO_ATTACH_FILTER,
//! SO_DETACH_FILTER, SO_LOCK_FILTER and SO_ATTACH_REUSEPORT_CBPF.
//!
//! Each case writes its own small program (an array of struct sock_filter)
//! and sends datagrams on loopback whose first payload byte tells the
//! program what to do with them. What counts is what the receiving sockets
//! get, against what the wire (lo) carried. A UDP socket's filter sees the
//! datagram from its UDP header on (payload byte 0 is at offset 8); a
//! reuseport program sees it from the payload on (byte 0 at offset 0).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::packet::Packet;
use crate::lab::sock::result_name;
use crate::lab::{dgram, opt, phase, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &DROPS_TRUNCATES,
    &REPLACES,
    &DETACH_RESTORES,
    &LOCK_EPERM,
    &REUSEPORT_STEERS,
    &REUSEPORT_CLOSE_MOVES_LAST,
];

pub static DROPS_TRUNCATES: Case = Case {
    id: "so_attach_filter.drops_truncates",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ATTACH_FILTER"),
    claim: "an attached classic BPF program filters what the socket receives: a return of 0 drops the \
            packet, a nonzero return below the packet's size truncates it to that size, a return at or \
            above the size lets it through whole",
    expectation: "on a UDP socket the program sees the datagram from the UDP header on (8 + 100 B here): \
                  datagrams it returns 0 for never reach the socket (they still cross lo, and count as \
                  socket drops in SO_MEMINFO); a return of 12 delivers the first 4 payload bytes; a return \
                  of exactly 108 or of 65536 delivers all 100",
    run: &Measure(drops_truncates),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ATTACH_FILTER],
};

pub static REPLACES: Case = Case {
    id: "so_attach_filter.replaces",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ATTACH_FILTER"),
    claim: "the option may be set again and again; each program replaces the one before, so a socket \
            never has more than one filter",
    expectation: "a program that accepts only 'a' datagrams, then one that accepts only 'b' datagrams: \
                  afterwards every 'b' arrives and no 'a' (the programs are not stacked, the first one is \
                  gone)",
    run: &Measure(replaces),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ATTACH_FILTER],
};

pub static DETACH_RESTORES: Case = Case {
    id: "so_detach_filter.restores",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_DETACH_FILTER"),
    claim: "SO_DETACH_FILTER removes the program SO_ATTACH_FILTER attached; the option value is ignored",
    expectation: "datagrams the program dropped arrive again once it is detached; any int value detaches \
                  (12345 here), but the value must still be an int's size (an empty one is EINVAL); \
                  detaching when no program is attached is ENOENT",
    run: &Measure(detach_restores),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ATTACH_FILTER, opt::SO_DETACH_FILTER],
};

pub static LOCK_EPERM: Case = Case {
    id: "so_lock_filter.eperm",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_LOCK_FILTER"),
    claim: "once SO_LOCK_FILTER is set, changing or removing the socket's filter (SO_ATTACH_FILTER, \
            SO_ATTACH_REUSEPORT_CBPF...) or clearing the lock fails with EPERM",
    expectation: "on a locked socket a new SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_ATTACH_REUSEPORT_CBPF and \
                  SO_LOCK_FILTER 0 each fail with EPERM, and the locked program keeps filtering; a socket \
                  locked before it has any filter cannot get one either (EPERM)",
    run: &Measure(lock_eperm),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_ATTACH_FILTER, opt::SO_LOCK_FILTER],
};

pub static REUSEPORT_STEERS: Case = Case {
    id: "so_attach_reuseport_cbpf.steers",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ATTACH_REUSEPORT_CBPF"),
    claim: "in a SO_REUSEPORT group a classic BPF program returns the index (0..N-1, in the order the UDP \
            sockets were bound) of the socket that gets the packet; an invalid index falls back to the \
            plain SO_REUSEPORT choice; the program may be attached on any member",
    expectation: "three UDP sockets bound in turn to one port, the program (return payload byte 0) attached \
                  on the middle one: every datagram whose first byte is k reaches the k-th socket bound; \
                  those with 3 (out of range) are still delivered, to a member the hash picks",
    run: &Measure(reuseport_steers),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEPORT, opt::SO_ATTACH_REUSEPORT_CBPF],
};

pub static REUSEPORT_CLOSE_MOVES_LAST: Case = Case {
    id: "so_attach_reuseport_cbpf.close_moves_last",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_ATTACH_REUSEPORT_CBPF"),
    claim: "when a socket leaves the reuseport group (close), the last socket of the group moves into its \
            position",
    expectation: "after the first of three sockets is closed, datagrams with index 0 reach the socket bound \
                  third, index 1 still the second; index 2 is now out of range and falls back to the hash",
    run: &Measure(reuseport_close_moves_last),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEPORT, opt::SO_ATTACH_REUSEPORT_CBPF],
};

// Classic BPF opcodes (linux/filter.h).
const LDB_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const LD_LEN: u16 = 0x80; // BPF_LD | BPF_W | BPF_LEN
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_A: u16 = 0x16; // BPF_RET | BPF_A

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A UDP socket filter's offset of payload byte 0 (after the UDP header).
const UDP_PAYLOAD: u32 = 8;
/// More than any datagram: "keep it whole".
const WHOLE: u32 = 0x10000;
/// Payload of every datagram the filter cases send.
const PAYLOAD: usize = 100;
/// What the truncating branch keeps of the payload.
const TRUNC: usize = 4;
/// Datagrams of each kind.
const EACH: usize = 3;
/// The first byte of the datagram that ends a burst: every program accepts it.
const MARK: u8 = b'!';

/// Attaches `prog` with `opt` (SO_ATTACH_FILTER or SO_ATTACH_REUSEPORT_CBPF).
fn attach(s: &Sock, opt: i32, prog: &[libc::sock_filter]) -> io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: a sock_fprog viewed as bytes; the program it points at
    // outlives the call (the kernel copies it).
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&fprog as *const libc::sock_fprog).cast::<u8>(),
            std::mem::size_of::<libc::sock_fprog>(),
        )
    };
    s.set_raw(libc::SOL_SOCKET, opt, bytes)
}

/// A UDP filter that keeps datagrams whose first payload byte is one of
/// `bytes` (or MARK) and drops every other.
fn accept_only(bytes: &[u8]) -> Vec<libc::sock_filter> {
    let all: Vec<u8> = bytes.iter().copied().chain([MARK]).collect();
    let n = all.len();
    let mut prog = vec![insn(LDB_ABS, 0, 0, UDP_PAYLOAD)];
    for (i, b) in all.iter().enumerate() {
        // A match jumps over the remaining tests and the drop.
        prog.push(insn(JEQ_K, (n - i) as u8, 0, u32::from(*b)));
    }
    prog.push(insn(RET_K, 0, 0, 0));
    prog.push(insn(RET_K, 0, 0, WHOLE));
    prog
}

/// The four answers the page describes, by first payload byte: 'k' keep
/// (return more than the packet), 'e' exactly the packet's length, 't'
/// truncate (return 8 + TRUNC), anything else 0.
fn four_answers() -> Vec<libc::sock_filter> {
    vec![
        insn(LDB_ABS, 0, 0, UDP_PAYLOAD),
        insn(JEQ_K, 0, 1, u32::from(b'k')),
        insn(RET_K, 0, 0, WHOLE),
        insn(JEQ_K, 0, 1, u32::from(b't')),
        insn(RET_K, 0, 0, UDP_PAYLOAD + TRUNC as u32),
        insn(JEQ_K, 0, 2, u32::from(b'e')),
        insn(LD_LEN, 0, 0, 0),
        insn(RET_A, 0, 0, 0),
        insn(JEQ_K, 0, 1, u32::from(MARK)),
        insn(RET_K, 0, 0, WHOLE),
        insn(RET_K, 0, 0, 0),
    ]
}

/// A receiver on 127.0.0.1 and a sender towards it.
struct Loop {
    rx: Sock,
    tx: Sock,
    to: SocketAddr,
}

impl Loop {
    fn new() -> Result<Loop> {
        let rx = Sock::udp(Family::V4)?;
        rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
            .context("bind the receiver")?;
        let to = rx.local_addr()?;
        let tx = Sock::udp(Family::V4)?;
        Ok(Loop { rx, tx, to })
    }

    /// One datagram of PAYLOAD bytes whose first byte is `kind`.
    fn send(&self, kind: u8) -> Result<()> {
        let mut d = vec![b'.'; PAYLOAD];
        d[0] = kind;
        self.tx
            .send_to(&d, 0, self.to)
            .with_context(|| format!("send a '{}' datagram", kind as char))?;
        Ok(())
    }

    /// Sends `kinds`, then MARK, and reads until MARK comes back: loopback
    /// keeps the order, so everything sent before it has been through the
    /// filter by then. Returns the datagrams received before MARK.
    fn burst(&self, kinds: &[u8]) -> Result<Vec<Vec<u8>>> {
        for &k in kinds {
            self.send(k)?;
        }
        self.send(MARK)?;
        phase("reading up to the burst's marker");
        let mut got = Vec::new();
        loop {
            let batch = dgram::collect(&[&self.rx], 1, Duration::from_secs(2))?
                .pop()
                .unwrap_or_default();
            if batch.is_empty() {
                bail!("the marker datagram never reached the receiver");
            }
            for d in batch {
                if d.first() == Some(&MARK) {
                    return Ok(got);
                }
                got.push(d);
            }
        }
    }
}

/// `kinds` repeated `n` times, interleaved (abc abc abc).
fn interleaved(kinds: &[u8], n: usize) -> Vec<u8> {
    (0..n).flat_map(|_| kinds.iter().copied()).collect()
}

/// Payload lengths of the datagrams in `got` whose first byte is `kind`.
fn lens_of(got: &[Vec<u8>], kind: u8) -> Vec<usize> {
    got.iter()
        .filter(|d| d.first() == Some(&kind))
        .map(Vec::len)
        .collect()
}

/// sk_drops, from SO_MEMINFO.
fn socket_drops(s: &Sock) -> Result<u32> {
    let mut v = [0u8; 4 * 9];
    s.get_raw(libc::SOL_SOCKET, libc::SO_MEMINFO, &mut v)
        .context("SO_MEMINFO")?;
    let at = 4 * libc::SK_MEMINFO_DROPS as usize;
    Ok(u32::from_ne_bytes(v[at..at + 4].try_into()?))
}

/// What a UDP socket received through a program with four answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropsTruncates {
    /// Datagrams sent of each kind, and the payload of each.
    pub sent_each: usize,
    pub payload: usize,
    /// Payload the truncating return (8 + this) should leave.
    pub truncate_to: usize,
    /// Payload lengths delivered, per answer of the program.
    pub above_length: Vec<usize>,
    pub exact_length: Vec<usize>,
    pub below_length: Vec<usize>,
    pub zero: Vec<usize>,
    /// Datagrams to the receiver's port that crossed lo (the marker included).
    pub on_wire: usize,
    /// The receiver's drop counter (SO_MEMINFO) afterwards.
    pub socket_drops: u32,
}

fn drops_truncates(_lab: &mut Lab) -> Result<DropsTruncates> {
    let mut cap = Capture::start("lo")?;
    let l = Loop::new()?;
    attach(&l.rx, libc::SO_ATTACH_FILTER, &four_answers()).context("SO_ATTACH_FILTER")?;
    let got = l.burst(&interleaved(b"ketd", EACH))?;
    let port = l.to.port();
    let on_wire = cap
        .frames()?
        .iter()
        .filter(|f| matches!(f.decode(), Packet::Udp(d) if d.dport == port))
        .count();
    Ok(DropsTruncates {
        sent_each: EACH,
        payload: PAYLOAD,
        truncate_to: TRUNC,
        above_length: lens_of(&got, b'k'),
        exact_length: lens_of(&got, b'e'),
        below_length: lens_of(&got, b't'),
        zero: lens_of(&got, b'd'),
        on_wire,
        socket_drops: socket_drops(&l.rx)?,
    })
}

impl Observation for DropsTruncates {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let whole = vec![self.payload; self.sent_each];
        let cut = vec![self.truncate_to; self.sent_each];
        j.expect_eq(
            "every datagram crossed lo",
            &(4 * self.sent_each + 1),
            &self.on_wire,
        );
        j.expect_eq("a return of 0 drops", &Vec::<usize>::new(), &self.zero);
        j.expect_eq(
            "a return below the length truncates to it",
            &cut,
            &self.below_length,
        );
        j.expect_eq(
            "a return equal to the length keeps it whole",
            &whole,
            &self.exact_length,
        );
        j.expect_eq(
            "a return above the length keeps it whole",
            &whole,
            &self.above_length,
        );
        j.expect_eq(
            "the dropped datagrams count as socket drops",
            &(self.sent_each as u32),
            &self.socket_drops,
        );
        let dropped = self.zero.is_empty();
        let truncated = self.below_length == cut;
        let kept = self.exact_length == whole && self.above_length == whole;
        let verdict = match (dropped, truncated, kept) {
            (true, true, true) => Verdict::Holds,
            // Nothing filtered at all: the program had no effect.
            (false, false, _) if self.below_length == whole => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "of {} datagrams of {} B per answer: return 0 -> {} delivered; return {} -> {}; return the \
                 length -> {}; return {WHOLE} -> {}",
                self.sent_each,
                self.payload,
                self.zero.len(),
                UDP_PAYLOAD as usize + self.truncate_to,
                lens_text(&self.below_length),
                lens_text(&self.exact_length),
                lens_text(&self.above_length),
            ),
        );
        j.key(format!(
            "0 -> {} delivered; {} -> {}",
            self.zero.len(),
            UDP_PAYLOAD as usize + self.truncate_to,
            lens_text(&self.below_length)
        ));
        j
    }
}

/// "4, 4, 4 B", or "none".
fn lens_text(lens: &[usize]) -> String {
    if lens.is_empty() {
        return "none".into();
    }
    let all: Vec<String> = lens.iter().map(Show::show).collect();
    format!("{} B", all.join(", "))
}

/// What a socket received with one program, then after a second one was
/// attached over it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Replaces {
    pub sent_each: usize,
    /// 'a' and 'b' datagrams delivered with the first program (accepts 'a').
    pub first_a: usize,
    pub first_b: usize,
    /// The second SO_ATTACH_FILTER (accepts 'b'): ok or the errno.
    pub second_attach: String,
    /// 'a' and 'b' datagrams delivered afterwards.
    pub second_a: usize,
    pub second_b: usize,
}

fn replaces(_lab: &mut Lab) -> Result<Replaces> {
    let l = Loop::new()?;
    let burst = interleaved(b"ab", EACH);
    attach(&l.rx, libc::SO_ATTACH_FILTER, &accept_only(b"a")).context("first SO_ATTACH_FILTER")?;
    let first = l.burst(&burst)?;
    let second_attach = result_name(&attach(&l.rx, libc::SO_ATTACH_FILTER, &accept_only(b"b")));
    let second = l.burst(&burst)?;
    Ok(Replaces {
        sent_each: EACH,
        first_a: lens_of(&first, b'a').len(),
        first_b: lens_of(&first, b'b').len(),
        second_attach,
        second_a: lens_of(&second, b'a').len(),
        second_b: lens_of(&second, b'b').len(),
    })
}

impl Observation for Replaces {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let n = self.sent_each;
        j.expect_eq(
            "the first program passes 'a', drops 'b'",
            &(n, 0),
            &(self.first_a, self.first_b),
        );
        j.expect_eq("a second attach succeeds", "ok", &self.second_attach);
        j.expect_eq(
            "then 'b' passes and 'a' is dropped",
            &(0, n),
            &(self.second_a, self.second_b),
        );
        let verdict = match (self.second_a, self.second_b) {
            (0, b) if b == n => Verdict::Holds,
            // The first program still decides: nothing was replaced.
            (a, 0) if a == n => Verdict::Refuted,
            // Stacked (neither passes) or partial.
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "with the 'a' program {} 'a' and {} 'b' of {n} each arrived; after attaching the 'b' program \
                 ({}) {} 'a' and {} 'b'",
                self.first_a, self.first_b, self.second_attach, self.second_a, self.second_b
            ),
        );
        j.key(format!(
            "after the second attach: a {}, b {} of {n}",
            self.second_a, self.second_b
        ));
        j
    }
}

/// What a socket received with a drop-everything program, then after
/// SO_DETACH_FILTER.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetachRestores {
    pub sent: usize,
    /// Delivered while the program (which passes only the marker) was attached.
    pub with_filter: usize,
    /// SO_DETACH_FILTER with an empty option value.
    pub detach_empty_value: String,
    /// SO_DETACH_FILTER with the int 12345.
    pub detach: String,
    pub after_detach: usize,
    /// SO_DETACH_FILTER with no program attached.
    pub detach_again: String,
}

fn detach_restores(_lab: &mut Lab) -> Result<DetachRestores> {
    let l = Loop::new()?;
    let burst = vec![b'x'; EACH];
    attach(&l.rx, libc::SO_ATTACH_FILTER, &accept_only(b"")).context("SO_ATTACH_FILTER")?;
    let with_filter = l.burst(&burst)?.len();
    let detach_empty_value =
        result_name(&l.rx.set_raw(libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &[]));
    let detach = result_name(
        &l.rx
            .set_int(libc::SOL_SOCKET, libc::SO_DETACH_FILTER, 12345),
    );
    let after_detach = l.burst(&burst)?.len();
    let detach_again = result_name(&l.rx.set_int(libc::SOL_SOCKET, libc::SO_DETACH_FILTER, 0));
    Ok(DetachRestores {
        sent: EACH,
        with_filter,
        detach_empty_value,
        detach,
        after_detach,
        detach_again,
    })
}

impl Observation for DetachRestores {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("the program drops them", &0, &self.with_filter);
        j.expect_eq(
            "an empty option value is refused",
            "EINVAL",
            &self.detach_empty_value,
        );
        j.expect_eq("any int value detaches", "ok", &self.detach);
        j.expect_eq("they arrive again", &self.sent, &self.after_detach);
        j.expect_eq(
            "detaching with no program attached",
            "ENOENT",
            &self.detach_again,
        );
        let restored = self.with_filter == 0 && self.after_detach == self.sent;
        let verdict = if restored && self.detach == "ok" {
            Verdict::Holds
        } else if self.after_detach == 0 {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "{} of {} delivered with the program, {} after SO_DETACH_FILTER 12345 ({}); an empty value -> \
                 {}; a second detach -> {}",
                self.with_filter,
                self.sent,
                self.after_detach,
                self.detach,
                self.detach_empty_value,
                self.detach_again
            ),
        );
        j.key(format!(
            "{} then {} of {} delivered",
            self.with_filter, self.after_detach, self.sent
        ));
        j
    }
}

/// What a locked socket refused, and whether its program kept filtering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockEperm {
    pub lock: String,
    pub attach: String,
    pub detach: String,
    pub reuseport_cbpf: String,
    pub unlock: String,
    /// Datagrams the locked program drops that arrived anyway, of `sent`.
    pub sent: usize,
    pub delivered: usize,
    /// A socket locked before any filter: SO_ATTACH_FILTER then.
    pub attach_on_locked_empty: String,
}

fn lock_eperm(_lab: &mut Lab) -> Result<LockEperm> {
    let l = Loop::new()?;
    let pass_all = accept_only(b"x");
    attach(&l.rx, libc::SO_ATTACH_FILTER, &accept_only(b"")).context("SO_ATTACH_FILTER")?;
    let lock = result_name(&l.rx.set_int(libc::SOL_SOCKET, libc::SO_LOCK_FILTER, 1));
    let attach_res = result_name(&attach(&l.rx, libc::SO_ATTACH_FILTER, &pass_all));
    let detach = result_name(&l.rx.set_int(libc::SOL_SOCKET, libc::SO_DETACH_FILTER, 0));
    let reuseport_cbpf = result_name(&attach(
        &l.rx,
        libc::SO_ATTACH_REUSEPORT_CBPF,
        &[insn(RET_K, 0, 0, 0)],
    ));
    let unlock = result_name(&l.rx.set_int(libc::SOL_SOCKET, libc::SO_LOCK_FILTER, 0));
    let delivered = l.burst(&[b'x'; EACH])?.len();
    let empty = Sock::udp(Family::V4)?;
    empty
        .set_int(libc::SOL_SOCKET, libc::SO_LOCK_FILTER, 1)
        .context("SO_LOCK_FILTER on a socket without a filter")?;
    let attach_on_locked_empty = result_name(&attach(&empty, libc::SO_ATTACH_FILTER, &pass_all));
    Ok(LockEperm {
        lock,
        attach: attach_res,
        detach,
        reuseport_cbpf,
        unlock,
        sent: EACH,
        delivered,
        attach_on_locked_empty,
    })
}

impl LockEperm {
    /// The four refusals the page names, in order.
    fn refusals(&self) -> [&str; 4] {
        [
            &self.attach,
            &self.detach,
            &self.reuseport_cbpf,
            &self.unlock,
        ]
    }
}

impl Observation for LockEperm {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("SO_LOCK_FILTER 1", "ok", &self.lock);
        j.expect_eq("SO_ATTACH_FILTER when locked", "EPERM", &self.attach);
        j.expect_eq("SO_DETACH_FILTER when locked", "EPERM", &self.detach);
        j.expect_eq(
            "SO_ATTACH_REUSEPORT_CBPF when locked",
            "EPERM",
            &self.reuseport_cbpf,
        );
        j.expect_eq("SO_LOCK_FILTER 0 when locked", "EPERM", &self.unlock);
        j.expect_eq("the locked program still filters", &0, &self.delivered);
        j.expect_eq(
            "a socket locked without a filter cannot get one",
            "EPERM",
            &self.attach_on_locked_empty,
        );
        let eperm = self.refusals().iter().filter(|r| **r == "EPERM").count();
        let ok = self.refusals().iter().filter(|r| **r == "ok").count();
        let verdict = if eperm == 4 && self.delivered == 0 {
            Verdict::Holds
        } else if ok == 4 {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "locked ({}): attach {}, detach {}, reuseport attach {}, unlock {}; {} of {} datagrams the \
                 locked program drops arrived",
                self.lock,
                self.attach,
                self.detach,
                self.reuseport_cbpf,
                self.unlock,
                self.delivered,
                self.sent
            ),
        );
        j.key(format!(
            "{eperm} of 4 changes refused with EPERM; {} of {} delivered",
            self.delivered, self.sent
        ));
        j
    }
}

/// Members of the reuseport group.
const GROUP: usize = 3;
/// Datagrams sent per index.
const PER_INDEX: usize = 4;

/// The reuseport program: the index is payload byte 0.
fn index_by_first_byte() -> Vec<libc::sock_filter> {
    vec![insn(LDB_ABS, 0, 0, 0), insn(RET_A, 0, 0, 0)]
}

/// A SO_REUSEPORT group of GROUP UDP sockets on one port, bound in order
/// (created in the opposite order, so that descriptor numbers do not follow
/// the bind order), with the program attached on the middle one.
struct Group {
    members: Vec<Sock>,
    to: SocketAddr,
}

/// The group, or the bind that kept it from forming ("bound 1:
/// EADDRINUSE": a kernel or libc that ignores SO_REUSEPORT).
fn group() -> Result<std::result::Result<Group, String>> {
    let mut members: Vec<Sock> = (0..GROUP)
        .map(|_| Sock::udp(Family::V4))
        .collect::<Result<_>>()?;
    members.reverse();
    let mut to = SocketAddr::new(Family::V4.loopback(), 0);
    for (i, m) in members.iter().enumerate() {
        m.set_int(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
            .context("SO_REUSEPORT")?;
        if let Err(e) = m.bind(to) {
            return Ok(Err(format!("bound {i}: {}", result_name::<()>(&Err(e)))));
        }
        to = m.local_addr()?;
    }
    attach(
        &members[1],
        libc::SO_ATTACH_REUSEPORT_CBPF,
        &index_by_first_byte(),
    )
    .context("SO_ATTACH_REUSEPORT_CBPF")?;
    Ok(Ok(Group { members, to }))
}

/// Sends PER_INDEX datagrams for each of `indexes` (interleaved) to `to`,
/// and returns, per socket of `socks`, the indexes it received.
fn steer(socks: &[&Sock], to: SocketAddr, indexes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let tx = Sock::udp(Family::V4)?;
    let all = interleaved(indexes, PER_INDEX);
    for &i in &all {
        tx.send_to(&[i, b'.', b'.', b'.'], 0, to)
            .with_context(|| format!("send index {i}"))?;
    }
    phase("collecting the steered datagrams");
    let got = dgram::collect(socks, all.len(), Duration::from_secs(2))?;
    Ok(got
        .into_iter()
        .map(|ds| ds.iter().filter_map(|d| d.first().copied()).collect())
        .collect())
}

/// The indexes each group member received, by bind order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Steered {
    /// "ok" when every member bound the shared port, else the bind refused.
    pub formed: String,
    /// Members still in the group, by the position they were bound in.
    pub members: Vec<usize>,
    pub per_index: usize,
    /// Per member (same order as `members`), the index of every datagram it got.
    pub received: Vec<Vec<u8>>,
    /// The index past the group's end that was sent too.
    pub out_of_range: u8,
}

impl Steered {
    /// How many datagrams with `index` member `m` (a position in `members`) got.
    fn count(&self, m: usize, index: u8) -> usize {
        self.received
            .get(m)
            .map_or(0, |r| r.iter().filter(|i| **i == index).count())
    }

    /// How many datagrams with `index` arrived at all.
    fn delivered(&self, index: u8) -> usize {
        (0..self.received.len()).map(|m| self.count(m, index)).sum()
    }

    /// Per member: how many of its datagrams carried its own index `want[m]`
    /// and how many it got in all (the out-of-range ones apart).
    fn steering(&self, want: &[u8]) -> Vec<(usize, usize)> {
        want.iter()
            .enumerate()
            .map(|(m, &w)| {
                let in_range = self
                    .received
                    .get(m)
                    .map_or(0, |r| r.iter().filter(|i| **i != self.out_of_range).count());
                (self.count(m, w), in_range)
            })
            .collect()
    }

    /// Text: "bound 0 got [0, 0, 0, 0]; ...".
    fn text(&self) -> String {
        self.members
            .iter()
            .zip(&self.received)
            .map(|(m, r)| format!("bound {m} got {}", r.show()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a group that never formed received: nothing.
fn unformed(refused: String, members: Vec<usize>, out_of_range: u8) -> Steered {
    Steered {
        formed: refused,
        received: vec![Vec::new(); members.len()],
        members,
        per_index: PER_INDEX,
        out_of_range,
    }
}

fn reuseport_steers(_lab: &mut Lab) -> Result<Steered> {
    let g = match group()? {
        Ok(g) => g,
        Err(refused) => return Ok(unformed(refused, (0..GROUP).collect(), GROUP as u8)),
    };
    let socks: Vec<&Sock> = g.members.iter().collect();
    let indexes: Vec<u8> = (0..=GROUP as u8).collect();
    let received = steer(&socks, g.to, &indexes)?;
    Ok(Steered {
        formed: "ok".into(),
        members: (0..GROUP).collect(),
        per_index: PER_INDEX,
        received,
        out_of_range: GROUP as u8,
    })
}

/// Judges a steering: member m must get exactly the datagrams of index
/// `want[m]`; the out-of-range ones must still arrive.
fn judge_steering(s: &Steered, want: &[u8], j: &mut Judgement) -> bool {
    j.expect_eq("every member binds the shared port", "ok", &s.formed);
    let mut exact = true;
    for (m, (own, all)) in s.steering(want).into_iter().enumerate() {
        let ok = own == s.per_index && all == s.per_index;
        exact &= ok;
        j.expect(
            &format!(
                "the socket at index {} gets index {} only",
                want[m], want[m]
            ),
            ok,
            format!("{} of index {}", s.per_index, want[m]),
            format!("{own} of index {}, {all} in range", want[m]),
        );
    }
    j.expect_eq(
        "an out-of-range index still reaches some member",
        &s.per_index,
        &s.delivered(s.out_of_range),
    );
    exact
}

impl Observation for Steered {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let want: Vec<u8> = (0..GROUP as u8).collect();
        let exact = judge_steering(self, &want, &mut j);
        let fallback = self.delivered(self.out_of_range) == self.per_index;
        let verdict = match (exact, fallback) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "{} datagrams per index 0..={}: {}",
                self.per_index,
                self.out_of_range,
                self.text()
            ),
        );
        j.key(self.text());
        j
    }
}

/// The same group after its first member was closed: what the two left got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloseMovesLast {
    pub after_close: Steered,
}

fn reuseport_close_moves_last(_lab: &mut Lab) -> Result<CloseMovesLast> {
    let mut g = match group()? {
        Ok(g) => g,
        Err(refused) => {
            return Ok(CloseMovesLast {
                after_close: unformed(refused, (1..GROUP).collect(), GROUP as u8 - 1),
            })
        }
    };
    drop(g.members.remove(0));
    let socks: Vec<&Sock> = g.members.iter().collect();
    let indexes: Vec<u8> = (0..GROUP as u8).collect();
    let received = steer(&socks, g.to, &indexes)?;
    Ok(CloseMovesLast {
        after_close: Steered {
            formed: "ok".into(),
            members: (1..GROUP).collect(),
            per_index: PER_INDEX,
            received,
            out_of_range: GROUP as u8 - 1,
        },
    })
}

impl Observation for CloseMovesLast {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let s = &self.after_close;
        // Members: bound 1 then bound 2. The page: bound 2 takes index 0,
        // bound 1 keeps index 1.
        let exact = judge_steering(s, &[1, 0], &mut j);
        let moved = s.count(1, 0) == s.per_index;
        let verdict = match (exact, moved) {
            (true, _) => Verdict::Holds,
            (false, true) => Verdict::Differs,
            (false, false) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "after closing the socket bound first, {} datagrams per index 0..={}: {}",
                s.per_index,
                s.out_of_range,
                s.text()
            ),
        );
        j.key(s.text());
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

    /// Linux 6.18 (a real run).
    fn four_linux() -> DropsTruncates {
        DropsTruncates {
            sent_each: 3,
            payload: 100,
            truncate_to: 4,
            above_length: vec![100; 3],
            exact_length: vec![100; 3],
            below_length: vec![4; 3],
            zero: vec![],
            on_wire: 13,
            socket_drops: 3,
        }
    }

    #[rstest]
    #[case::linux(four_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: no program at all.
    #[case::no_program(DropsTruncates { below_length: vec![100; 3], zero: vec![100; 3], socket_drops: 0,
        ..four_linux() }, Verdict::Refuted,
        &["a return of 0 drops", "a return below the length truncates to it",
          "the dropped datagrams count as socket drops"])]
    // Truncation counted from the payload instead of the UDP header.
    #[case::truncates_payload(DropsTruncates { below_length: vec![12; 3], ..four_linux() },
        Verdict::Differs, &["a return below the length truncates to it"])]
    // A return of exactly the length cutting a byte.
    #[case::exact_cuts(DropsTruncates { exact_length: vec![99; 3], ..four_linux() },
        Verdict::Differs, &["a return equal to the length keeps it whole"])]
    #[case::above_cuts(DropsTruncates { above_length: vec![99; 3], ..four_linux() },
        Verdict::Differs, &["a return above the length keeps it whole"])]
    // Zero passing while truncation works.
    #[case::zero_passes(DropsTruncates { zero: vec![100; 3], socket_drops: 0, ..four_linux() },
        Verdict::Differs, &["a return of 0 drops", "the dropped datagrams count as socket drops"])]
    // Drops work, truncation does not, and the whole datagrams are not kept.
    #[case::nothing_kept(DropsTruncates { zero: vec![100; 3], below_length: vec![], socket_drops: 0,
        ..four_linux() }, Verdict::Differs,
        &["a return of 0 drops", "a return below the length truncates to it",
          "the dropped datagrams count as socket drops"])]
    #[case::lost_on_wire(DropsTruncates { on_wire: 12, ..four_linux() }, Verdict::Holds,
        &["every datagram crossed lo"])]
    fn drops_truncates_judgement(
        #[case] o: DropsTruncates,
        #[case] v: Verdict,
        #[case] failed: &[&str],
    ) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn drops_truncates_words() {
        let j = four_linux().judge();
        assert_eq!("0 -> 0 delivered; 12 -> 4, 4, 4 B", j.key);
        assert_eq!(
            "of 3 datagrams of 100 B per answer: return 0 -> 0 delivered; return 12 -> 4, 4, 4 B; return \
             the length -> 100, 100, 100 B; return 65536 -> 100, 100, 100 B",
            j.because
        );
        assert_eq!("none", lens_text(&[]));
    }

    #[test]
    fn programs_jump_where_they_should() {
        // accept_only(b"ab"): ldb, jeq a, jeq b, jeq MARK, drop, keep.
        let p = accept_only(b"ab");
        assert_eq!(6, p.len());
        let jumps: Vec<(u8, u8, u32)> = p[1..4].iter().map(|i| (i.jt, i.jf, i.k)).collect();
        assert_eq!(vec![(3, 0, 97), (2, 0, 98), (1, 0, u32::from(MARK))], jumps);
        assert_eq!((RET_K, 0), (p[4].code, p[4].k));
        assert_eq!((RET_K, WHOLE), (p[5].code, p[5].k));
        assert_eq!(vec![b'a', b'b', b'a', b'b'], interleaved(b"ab", 2));
        let got = vec![vec![b'a'; 3], vec![b'b'; 2], vec![b'a'; 1]];
        assert_eq!(vec![3, 1], lens_of(&got, b'a'));
    }

    fn replaces_linux() -> Replaces {
        Replaces {
            sent_each: 3,
            first_a: 3,
            first_b: 0,
            second_attach: "ok".into(),
            second_a: 0,
            second_b: 3,
        }
    }

    #[rstest]
    #[case::linux(replaces_linux(), Verdict::Holds, &[])]
    #[case::first_kept(Replaces { second_a: 3, second_b: 0, ..replaces_linux() }, Verdict::Refuted,
        &["then 'b' passes and 'a' is dropped"])]
    #[case::stacked(Replaces { second_a: 0, second_b: 0, ..replaces_linux() }, Verdict::Differs,
        &["then 'b' passes and 'a' is dropped"])]
    #[case::refused(Replaces { second_attach: "EPERM".into(), second_a: 3, second_b: 0, ..replaces_linux() },
        Verdict::Refuted, &["a second attach succeeds", "then 'b' passes and 'a' is dropped"])]
    #[case::no_first_program(Replaces { first_b: 3, ..replaces_linux() }, Verdict::Holds,
        &["the first program passes 'a', drops 'b'"])]
    #[case::partly(Replaces { second_a: 1, second_b: 3, ..replaces_linux() }, Verdict::Differs,
        &["then 'b' passes and 'a' is dropped"])]
    fn replaces_judgement(#[case] o: Replaces, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn replaces_words() {
        let j = replaces_linux().judge();
        assert_eq!("after the second attach: a 0, b 3 of 3", j.key);
        assert_eq!(
            "with the 'a' program 3 'a' and 0 'b' of 3 each arrived; after attaching the 'b' program (ok) \
             0 'a' and 3 'b'",
            j.because
        );
    }

    fn detach_linux() -> DetachRestores {
        DetachRestores {
            sent: 3,
            with_filter: 0,
            detach_empty_value: "EINVAL".into(),
            detach: "ok".into(),
            after_detach: 3,
            detach_again: "ENOENT".into(),
        }
    }

    #[rstest]
    #[case::linux(detach_linux(), Verdict::Holds, &[])]
    // A libc that ignores SO_DETACH_FILTER.
    #[case::ignored(DetachRestores { detach_empty_value: "ok".into(), after_detach: 0,
        detach_again: "ok".into(), ..detach_linux() }, Verdict::Refuted,
        &["an empty option value is refused", "they arrive again", "detaching with no program attached"])]
    // The value is read: 12345 refused, nothing detached.
    #[case::value_read(DetachRestores { detach: "EINVAL".into(), after_detach: 0, ..detach_linux() },
        Verdict::Refuted, &["any int value detaches", "they arrive again"])]
    #[case::value_read_but_detached(DetachRestores { detach: "EINVAL".into(), ..detach_linux() },
        Verdict::Differs, &["any int value detaches"])]
    #[case::partly(DetachRestores { after_detach: 2, ..detach_linux() }, Verdict::Differs,
        &["they arrive again"])]
    #[case::filter_leaks(DetachRestores { with_filter: 1, ..detach_linux() }, Verdict::Differs,
        &["the program drops them"])]
    fn detach_judgement(#[case] o: DetachRestores, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn detach_words() {
        let j = detach_linux().judge();
        assert_eq!("0 then 3 of 3 delivered", j.key);
        assert_eq!(
            "0 of 3 delivered with the program, 3 after SO_DETACH_FILTER 12345 (ok); an empty value -> \
             EINVAL; a second detach -> ENOENT",
            j.because
        );
    }

    fn lock_linux() -> LockEperm {
        LockEperm {
            lock: "ok".into(),
            attach: "EPERM".into(),
            detach: "EPERM".into(),
            reuseport_cbpf: "EPERM".into(),
            unlock: "EPERM".into(),
            sent: 3,
            delivered: 0,
            attach_on_locked_empty: "EPERM".into(),
        }
    }

    fn lock_ignored() -> LockEperm {
        LockEperm {
            attach: "ok".into(),
            detach: "ok".into(),
            reuseport_cbpf: "ok".into(),
            unlock: "ok".into(),
            delivered: 3,
            attach_on_locked_empty: "ok".into(),
            ..lock_linux()
        }
    }

    #[rstest]
    #[case::linux(lock_linux(), Verdict::Holds, &[])]
    #[case::ignored(lock_ignored(), Verdict::Refuted,
        &["SO_ATTACH_FILTER when locked", "SO_DETACH_FILTER when locked", "SO_ATTACH_REUSEPORT_CBPF when locked",
          "SO_LOCK_FILTER 0 when locked", "the locked program still filters",
          "a socket locked without a filter cannot get one"])]
    // A kernel whose lock spares the reuseport program.
    #[case::reuseport_spared(LockEperm { reuseport_cbpf: "ok".into(), ..lock_linux() }, Verdict::Differs,
        &["SO_ATTACH_REUSEPORT_CBPF when locked"])]
    #[case::other_errno(LockEperm { unlock: "EINVAL".into(), ..lock_linux() }, Verdict::Differs,
        &["SO_LOCK_FILTER 0 when locked"])]
    #[case::leaks(LockEperm { delivered: 1, ..lock_linux() }, Verdict::Differs,
        &["the locked program still filters"])]
    #[case::no_lock(LockEperm { lock: "ENOPROTOOPT".into(), ..lock_ignored() }, Verdict::Refuted,
        &["SO_LOCK_FILTER 1", "SO_ATTACH_FILTER when locked", "SO_DETACH_FILTER when locked",
          "SO_ATTACH_REUSEPORT_CBPF when locked", "SO_LOCK_FILTER 0 when locked",
          "the locked program still filters", "a socket locked without a filter cannot get one"])]
    #[case::three_ok(LockEperm { attach: "ok".into(), detach: "ok".into(), unlock: "ok".into(),
        ..lock_linux() }, Verdict::Differs,
        &["SO_ATTACH_FILTER when locked", "SO_DETACH_FILTER when locked", "SO_LOCK_FILTER 0 when locked"])]
    #[case::empty_socket(LockEperm { attach_on_locked_empty: "ok".into(), ..lock_linux() }, Verdict::Holds,
        &["a socket locked without a filter cannot get one"])]
    fn lock_judgement(#[case] o: LockEperm, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn lock_words() {
        let j = lock_linux().judge();
        assert_eq!("4 of 4 changes refused with EPERM; 0 of 3 delivered", j.key);
        assert_eq!(
            "locked (ok): attach EPERM, detach EPERM, reuseport attach EPERM, unlock EPERM; 0 of 3 datagrams \
             the locked program drops arrived",
            j.because
        );
    }

    fn steered(members: Vec<usize>, received: Vec<Vec<u8>>, out_of_range: u8) -> Steered {
        Steered {
            formed: "ok".into(),
            members,
            per_index: 4,
            received,
            out_of_range,
        }
    }

    fn steers_linux() -> Steered {
        steered(
            vec![0, 1, 2],
            vec![
                vec![0, 3, 0, 3, 0, 3, 0, 3],
                vec![1, 1, 1, 1],
                vec![2, 2, 2, 2],
            ],
            3,
        )
    }

    const STEER: [&str; 3] = [
        "the socket at index 0 gets index 0 only",
        "the socket at index 1 gets index 1 only",
        "the socket at index 2 gets index 2 only",
    ];
    const FALLBACK: &str = "an out-of-range index still reaches some member";
    const FORMED: &str = "every member binds the shared port";

    #[rstest]
    #[case::linux(steers_linux(), Verdict::Holds, &[])]
    // Program ignored: the hash puts everything from one sender on one member.
    #[case::hash_only(steered(vec![0, 1, 2], vec![vec![], [0, 1, 2, 3].repeat(4), vec![]], 3),
        Verdict::Refuted, &STEER)]
    // Numbered by creation instead of bind order: 0 and 2 swapped.
    #[case::creation_order(steered(vec![0, 1, 2], vec![[2, 3].repeat(4), vec![1; 4], vec![0; 4]], 3),
        Verdict::Refuted, &[STEER[0], STEER[2]])]
    #[case::fallback_dropped(steered(vec![0, 1, 2], vec![vec![0; 4], vec![1; 4], vec![2; 4]], 3),
        Verdict::Differs, &[FALLBACK])]
    // One datagram too many at a member.
    #[case::extra(steered(vec![0, 1, 2], vec![[0, 3].repeat(4), vec![1; 5], vec![2; 4]], 3),
        Verdict::Refuted, &[STEER[1]])]
    #[case::missing_member(steered(vec![0, 1, 2], vec![[0, 3].repeat(4), vec![1; 4]], 3),
        Verdict::Refuted, &[STEER[2]])]
    // SO_REUSEPORT ignored: the second bind is refused and nothing is sent.
    #[case::unformed(unformed("bound 1: EADDRINUSE".into(), vec![0, 1, 2], 3), Verdict::Refuted,
        &[FORMED, STEER[0], STEER[1], STEER[2], FALLBACK])]
    fn steers_judgement(#[case] o: Steered, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn steers_words() {
        let j = steers_linux().judge();
        assert_eq!(
            "bound 0 got [0, 3, 0, 3, 0, 3, 0, 3]; bound 1 got [1, 1, 1, 1]; bound 2 got [2, 2, 2, 2]",
            j.key
        );
        assert_eq!(
            "4 datagrams per index 0..=3: bound 0 got [0, 3, 0, 3, 0, 3, 0, 3]; bound 1 got [1, 1, 1, 1]; \
             bound 2 got [2, 2, 2, 2]",
            j.because
        );
    }

    fn moved_linux() -> CloseMovesLast {
        CloseMovesLast {
            after_close: steered(vec![1, 2], vec![[1, 2].repeat(4), vec![0; 4]], 2),
        }
    }

    const AFTER: [&str; 2] = [
        "the socket at index 1 gets index 1 only",
        "the socket at index 0 gets index 0 only",
    ];

    #[rstest]
    #[case::linux(moved_linux(), Verdict::Holds, &[])]
    // Every member shifted down by one: bound 1 takes index 0.
    #[case::shifted(CloseMovesLast { after_close: steered(vec![1, 2], vec![vec![0; 4], [1, 2].repeat(4)], 2) },
        Verdict::Refuted, &AFTER)]
    // Bound 2 took index 0, but bound 1 got some of them too.
    #[case::partly(CloseMovesLast { after_close: steered(vec![1, 2], vec![vec![1, 1, 1, 1, 0], [0, 2].repeat(4)], 2) },
        Verdict::Differs, &[AFTER[0]])]
    #[case::fallback_lost(CloseMovesLast { after_close: steered(vec![1, 2], vec![vec![1; 4], vec![0; 4]], 2) },
        Verdict::Holds, &[FALLBACK])]
    #[case::unformed(CloseMovesLast { after_close: unformed("bound 1: EADDRINUSE".into(), vec![1, 2], 2) },
        Verdict::Refuted, &[FORMED, AFTER[0], AFTER[1], FALLBACK])]
    fn close_judgement(#[case] o: CloseMovesLast, #[case] v: Verdict, #[case] failed: &[&str]) {
        assert_eq!((Some(v), failed.to_vec()), outcome(&o.judge()));
    }

    #[test]
    fn close_words() {
        let j = moved_linux().judge();
        assert_eq!(
            "bound 1 got [1, 2, 1, 2, 1, 2, 1, 2]; bound 2 got [0, 0, 0, 0]",
            j.key
        );
        assert!(j
            .because
            .starts_with("after closing the socket bound first, 4 datagrams per index 0..=2"));
    }
}
