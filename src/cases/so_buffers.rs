//! socket(7) on SO_RCVBUF and SO_SNDBUF: the doubling, the minimums, the
//! defaults and the rmem_max / wmem_max limits (so_bufforce.rs: what the
//! FORCE variants do past those limits).
//!
//! Each statement is checked three ways: what getsockopt reports, what the
//! kernel itself enforces (SO_MEMINFO's sk_rcvbuf / sk_sndbuf, which a libc
//! that echoes values back cannot fake), and the effect: a UDP socket nobody
//! reads takes datagrams until its receive buffer is full, and a TCP sender
//! whose peer's window is closed queues data until its send buffer is full.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::flow::{meminfo, MemInfo};
use crate::lab::intake::{tcp_sender_intake, udp_intake, udp_receiver, Intake};
use crate::lab::{opt, procnet, Family, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &RCVBUF_DOUBLED,
    &SNDBUF_DOUBLED,
    &RCVBUF_MINIMUM,
    &SNDBUF_MINIMUM,
    &RCVBUF_DEFAULT,
    &SNDBUF_DEFAULT,
    &RCVBUF_MAX,
    &SNDBUF_MAX,
];

pub static RCVBUF_DOUBLED: Case = Case {
    id: "so_rcvbuf.doubled",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVBUF"),
    claim: "the kernel doubles the value given to SO_RCVBUF, keeping room for its bookkeeping, and getsockopt \
            returns the doubled value",
    expectation: "SO_RCVBUF 32768 on a UDP socket reads back 65536, SO_MEMINFO shows the kernel enforcing 65536, \
                  and a receiver nobody reads takes datagrams until the memory charged to it (each datagram's \
                  truesize, not its payload) reaches 65536: the doubled value is the limit",
    run: &Measure(|_| doubled(Buf::Rcv)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

pub static SNDBUF_DOUBLED: Case = Case {
    id: "so_sndbuf.doubled",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDBUF"),
    claim: "the kernel doubles the value given to SO_SNDBUF, keeping room for its bookkeeping, and getsockopt \
            returns the doubled value",
    expectation: "SO_SNDBUF 131072 on a TCP sender reads back 262144, SO_MEMINFO shows the kernel enforcing \
                  262144, and with the peer's window closed the sender queues until the memory charged to its \
                  queue reaches 262144 (at most one 64 KiB segment more): twice the value set",
    run: &Measure(|_| doubled(Buf::Snd)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUF],
};

pub static RCVBUF_MINIMUM: Case = Case {
    id: "so_rcvbuf.minimum",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVBUF"),
    claim: "the smallest (doubled) receive buffer SO_RCVBUF gives is 256 bytes",
    expectation: "the floor is SOCK_MIN_RCVBUF, 2048 + sizeof(struct sk_buff) rounded: 2304 on x86_64. Every value \
                  up to 1152 reads back 2304 and larger ones read back twice the value; the kernel enforces the \
                  same, and a UDP receiver with SO_RCVBUF 1 still takes datagrams until 2304 bytes are charged",
    run: &Measure(|_| minimum(Buf::Rcv)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

pub static SNDBUF_MINIMUM: Case = Case {
    id: "so_sndbuf.minimum",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDBUF"),
    claim: "the smallest (doubled) send buffer SO_SNDBUF gives is 2048 bytes",
    expectation: "the floor is SOCK_MIN_SNDBUF, twice SOCK_MIN_RCVBUF: 4608 on x86_64. Every value up to 2304 \
                  reads back 4608 and larger ones read back twice the value; SO_MEMINFO shows the kernel \
                  enforcing the same",
    run: &Measure(|_| minimum(Buf::Snd)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUF],
};

pub static RCVBUF_DEFAULT: Case = Case {
    id: "so_rcvbuf.default",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVBUF"),
    claim: "a socket's receive buffer starts at net.core.rmem_default",
    expectation: "a new UDP socket starts at rmem_default (212992 unless changed) and fills up to it; a new TCP \
                  socket starts at net.ipv4.tcp_rmem[1] (131072 by default) instead, whatever rmem_default says",
    run: &Measure(|_| defaults(Buf::Rcv)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static SNDBUF_DEFAULT: Case = Case {
    id: "so_sndbuf.default",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDBUF"),
    claim: "a socket's send buffer starts at net.core.wmem_default",
    expectation: "a new UDP socket starts at wmem_default (212992 unless changed); a new TCP socket starts at \
                  net.ipv4.tcp_wmem[1] (16384 by default) instead",
    run: &Measure(|_| defaults(Buf::Snd)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static RCVBUF_MAX: Case = Case {
    id: "so_rcvbuf.rmem_max",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVBUF"),
    claim: "the largest value SO_RCVBUF allows is net.core.rmem_max",
    expectation: "a value above rmem_max is cut to rmem_max and then doubled: three times rmem_max reads back \
                  twice rmem_max, the kernel enforces that, and a UDP receiver fills up to it and no further \
                  (measured when twice rmem_max is at most 64 MiB)",
    run: &Measure(|_| at_max(Buf::Rcv)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUF],
};

pub static SNDBUF_MAX: Case = Case {
    id: "so_sndbuf.wmem_max",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDBUF"),
    claim: "the largest value SO_SNDBUF allows is net.core.wmem_max",
    expectation: "a value above wmem_max is cut to wmem_max and then doubled: three times wmem_max reads back \
                  twice wmem_max, the kernel enforces that, and a TCP sender facing a closed window queues up to \
                  it and no further (measured when twice wmem_max is at most 64 MiB)",
    run: &Measure(|_| at_max(Buf::Snd)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUF],
};

/// Which buffer a case is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Buf {
    Rcv,
    Snd,
}

impl Show for Buf {
    fn show(&self) -> String {
        self.name().into()
    }
}

impl Buf {
    pub(crate) fn option(self) -> i32 {
        match self {
            Buf::Rcv => libc::SO_RCVBUF,
            Buf::Snd => libc::SO_SNDBUF,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Buf::Rcv => "SO_RCVBUF",
            Buf::Snd => "SO_SNDBUF",
        }
    }

    pub(crate) fn force(self) -> i32 {
        match self {
            Buf::Rcv => libc::SO_RCVBUFFORCE,
            Buf::Snd => libc::SO_SNDBUFFORCE,
        }
    }

    pub(crate) fn force_name(self) -> &'static str {
        match self {
            Buf::Rcv => "SO_RCVBUFFORCE",
            Buf::Snd => "SO_SNDBUFFORCE",
        }
    }

    /// "rmem" or "wmem", as the sysctls name them.
    pub(crate) fn mem(self) -> &'static str {
        match self {
            Buf::Rcv => "rmem",
            Buf::Snd => "wmem",
        }
    }

    /// The smallest doubled value socket(7) gives for the option.
    fn page_minimum(self) -> i64 {
        match self {
            Buf::Rcv => 256,
            Buf::Snd => 2048,
        }
    }

    /// What the kernel enforces, from SO_MEMINFO.
    pub(crate) fn kernel(self, m: &MemInfo) -> u32 {
        match self {
            Buf::Rcv => m.rcvbuf,
            Buf::Snd => m.sndbuf,
        }
    }

    /// The range SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF lies in: 2048 + an
    /// sk_buff (some 256 bytes) for a receive buffer, twice that for a send buffer.
    fn floor_range(self) -> (i32, i32) {
        match self {
            Buf::Rcv => (2049, 4096),
            Buf::Snd => (4097, 8192),
        }
    }
}

pub(crate) fn core_sysctl(buf: Buf, what: &str) -> Result<i64> {
    procnet::sysctl_int(&format!("net/core/{}_{what}", buf.mem()))
}

pub(crate) fn set_opt(s: &Sock, opt: i32, name: &str, v: i32) -> Result<()> {
    s.set_int(libc::SOL_SOCKET, opt, v)
        .with_context(|| format!("setsockopt({name}, {v})"))
}

// ---------------------------------------------------------------------------
// so_rcvbuf.doubled, so_sndbuf.doubled

/// A value set, what getsockopt and the kernel then say, and how far the
/// buffer filled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Doubled {
    pub buffer: Buf,
    /// The value given to setsockopt.
    pub set: i32,
    /// What getsockopt returned afterwards.
    pub reported: i32,
    /// What the kernel enforces (SO_MEMINFO).
    pub kernel: u32,
    pub intake: Intake,
}

/// SO_RCVBUF for the doubling case: small enough to fill with a few dozen datagrams.
const DOUBLED_RCVBUF: i32 = 32768;
/// SO_SNDBUF for the doubling case: large against one 64 KiB TCP segment, so
/// that the doubled limit stands out from the value set.
const DOUBLED_SNDBUF: i32 = 131072;

fn doubled(buf: Buf) -> Result<Doubled> {
    match buf {
        Buf::Rcv => {
            let set = DOUBLED_RCVBUF;
            let rx = udp_receiver(|s| set_opt(s, buf.option(), buf.name(), set))?;
            Ok(Doubled {
                buffer: buf,
                set,
                reported: rx.get_int(libc::SOL_SOCKET, buf.option())?,
                kernel: meminfo(&rx)?.rcvbuf,
                intake: udp_intake(&rx)?,
            })
        }
        Buf::Snd => {
            let set = DOUBLED_SNDBUF;
            let (client, intake, m) =
                tcp_sender_intake(|c| set_opt(c, buf.option(), buf.name(), set))?;
            Ok(Doubled {
                buffer: buf,
                set,
                reported: client.get_int(libc::SOL_SOCKET, buf.option())?,
                kernel: m.sndbuf,
                intake,
            })
        }
    }
}

impl Observation for Doubled {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let twice = 2 * self.set as i64;
        j.expect_eq(
            "getsockopt reports twice the value set",
            &twice,
            &(self.reported as i64),
        );
        j.expect_eq(
            "the kernel enforces twice the value set (SO_MEMINFO)",
            &twice,
            &(self.kernel as i64),
        );
        j.expect(
            "the buffer fills up to twice the value set",
            self.intake.filled_to(twice),
            format!("within {} B of {twice} B", self.intake.step),
            self.intake.show(),
        );
        let reported_twice = self.reported as i64 == twice;
        // More than the value set (and one step) went in: the doubled value is the limit.
        let used_twice = self.intake.charged as i64 > self.set as i64 + self.intake.step as i64;
        let verdict = match (reported_twice, used_twice) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "{} {} read back {}, the kernel enforced {}, and the buffer took {} before the kernel refused \
                 more",
                self.buffer.show(),
                self.set,
                self.reported,
                self.kernel,
                self.intake.show()
            ),
        );
        j.key(format!(
            "set {} -> getsockopt {}, filled to {} B",
            self.set, self.reported, self.intake.charged
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvbuf.minimum, so_sndbuf.minimum

/// One value set on a fresh socket and what getsockopt reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadBack {
    pub set: i32,
    pub reported: i32,
}

impl Show for ReadBack {
    fn show(&self) -> String {
        format!("{} -> {}", self.set, self.reported)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minimum {
    pub buffer: Buf,
    /// Small values, each set on a fresh socket, and what came back.
    pub read_backs: Vec<ReadBack>,
    /// What the kernel enforces after SO_RCVBUF / SO_SNDBUF 1 (SO_MEMINFO).
    pub kernel_at_1: u32,
    /// A UDP receiver with SO_RCVBUF 1 filled (receive buffer only).
    pub intake_at_1: Option<Intake>,
}

/// Values around the page's minimum and the kernel's floor (half of it and
/// just past half).
fn minimum_probes(buf: Buf) -> Vec<i32> {
    match buf {
        Buf::Rcv => vec![0, 1, 64, 128, 1024, 1152, 1153],
        Buf::Snd => vec![0, 1, 512, 1024, 2048, 2304, 2305],
    }
}

fn minimum(buf: Buf) -> Result<Minimum> {
    let read_backs = minimum_probes(buf)
        .into_iter()
        .map(|set| {
            let s = Sock::udp(Family::V4)?;
            set_opt(&s, buf.option(), buf.name(), set)?;
            Ok(ReadBack {
                set,
                reported: s.get_int(libc::SOL_SOCKET, buf.option())?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let one = udp_receiver(|s| set_opt(s, buf.option(), buf.name(), 1))?;
    let kernel_at_1 = buf.kernel(&meminfo(&one)?);
    let intake_at_1 = match buf {
        Buf::Rcv => Some(udp_intake(&one)?),
        Buf::Snd => None,
    };
    Ok(Minimum {
        buffer: buf,
        read_backs,
        kernel_at_1,
        intake_at_1,
    })
}

impl Minimum {
    /// The floor: what setting 1 reads back.
    fn floor(&self) -> i32 {
        self.read_backs
            .iter()
            .find(|r| r.set == 1)
            .map_or(0, |r| r.reported)
    }
}

impl Observation for Minimum {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let floor = self.floor();
        let (lo, hi) = self.buffer.floor_range();
        j.expect(
            "setting 1 reads back the kernel's floor (2048 + an sk_buff, twice that for sending)",
            (lo..=hi).contains(&floor),
            format!("{lo}..={hi}"),
            floor.to_string(),
        );
        let off: Vec<ReadBack> = self
            .read_backs
            .iter()
            .filter(|r| r.reported != (2 * r.set).max(floor))
            .copied()
            .collect();
        j.expect(
            "every value reads back max(2 x value, floor)",
            off.is_empty(),
            "every value",
            if off.is_empty() {
                "every value".to_string()
            } else {
                off.show()
            },
        );
        j.expect_eq(
            "the kernel enforces the floor after setting 1 (SO_MEMINFO)",
            &(floor as i64),
            &(self.kernel_at_1 as i64),
        );
        if let Some(intake) = &self.intake_at_1 {
            j.expect(
                "a receiver with SO_RCVBUF 1 fills up to the floor",
                intake.filled_to(floor as i64),
                format!("within {} B of {floor} B", intake.step),
                intake.show(),
            );
        }
        let page = self.buffer.page_minimum();
        let verdict = if floor as i64 == page {
            Verdict::Holds
        } else if floor as i64 > page {
            Verdict::Differs
        } else {
            Verdict::Refuted
        };
        j.verdict(
            verdict,
            format!(
                "{} reads back {} for the values tried (the page's minimum is {page}); the kernel enforced {} \
                 after setting 1{}",
                self.buffer.show(),
                self.read_backs.show(),
                self.kernel_at_1,
                self.intake_at_1
                    .map(|i| format!(", and a receiver with it took {} datagrams, {}", i.units, i.show()))
                    .unwrap_or_default()
            ),
        );
        j.key(format!("floor {floor} (page: {page})"));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvbuf.default, so_sndbuf.default

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    pub buffer: Buf,
    /// net.core.rmem_default / wmem_default.
    pub core_default: i64,
    /// net.ipv4.tcp_rmem[1] / tcp_wmem[1].
    pub tcp_default: i64,
    /// getsockopt on a new UDP socket and on a new TCP socket.
    pub udp: i32,
    pub tcp: i32,
    /// What the kernel enforces on each (SO_MEMINFO).
    pub udp_kernel: u32,
    pub tcp_kernel: u32,
    /// A new UDP receiver filled (receive buffer only).
    pub udp_intake: Option<Intake>,
}

fn tcp_mem_default(buf: Buf) -> Result<i64> {
    let name = format!("net/ipv4/tcp_{}", buf.mem());
    let text = procnet::sysctl(&name)?;
    text.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{name} = {text}: no second value"))
}

fn defaults(buf: Buf) -> Result<Defaults> {
    let udp = udp_receiver(|_| Ok(()))?;
    let tcp = Sock::tcp(Family::V4)?;
    let udp_intake = match buf {
        Buf::Rcv => Some(udp_intake(&udp)?),
        Buf::Snd => None,
    };
    // net.core.{r,w}mem_default became a per-namespace sysctl after Linux
    // 6.1 (the 5.10 and 6.1 guests have no such file): before that a case's namespace has no file to read the
    // default from, and the page's claim cannot be compared.
    let name = format!("net.core.{}_default", buf.mem());
    if !std::path::Path::new(&format!("/proc/sys/net/core/{}_default", buf.mem())).exists() {
        return Err(Skip::missing(
            &format!("{name} in a network namespace"),
            "this kernel keeps it in the initial namespace only",
        )
        .into());
    }
    Ok(Defaults {
        buffer: buf,
        core_default: core_sysctl(buf, "default")?,
        tcp_default: tcp_mem_default(buf)?,
        udp: udp.get_int(libc::SOL_SOCKET, buf.option())?,
        tcp: tcp.get_int(libc::SOL_SOCKET, buf.option())?,
        udp_kernel: buf.kernel(&meminfo(&udp)?),
        tcp_kernel: buf.kernel(&meminfo(&tcp)?),
        udp_intake,
    })
}

impl Observation for Defaults {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let mem = self.buffer.mem();
        j.expect_eq(
            &format!("a new UDP socket starts at net.core.{mem}_default"),
            &self.core_default,
            &(self.udp as i64),
        );
        j.expect_eq(
            &format!("a new TCP socket starts at net.ipv4.tcp_{mem}[1]"),
            &self.tcp_default,
            &(self.tcp as i64),
        );
        j.expect_eq(
            "the kernel enforces what getsockopt reports (UDP TCP)",
            &(self.udp as i64, self.tcp as i64),
            &(self.udp_kernel as i64, self.tcp_kernel as i64),
        );
        if let Some(intake) = &self.udp_intake {
            j.expect(
                "a new UDP receiver fills up to its default",
                intake.filled_to(self.core_default),
                format!("within {} B of {} B", intake.step, self.core_default),
                intake.show(),
            );
        }
        let verdict = match (
            self.udp as i64 == self.core_default,
            self.tcp as i64 == self.core_default,
        ) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "net.core.{mem}_default is {}; a new UDP socket starts at {}, a new TCP socket at {} \
                 (net.ipv4.tcp_{mem}[1] is {}){}",
                self.core_default,
                self.udp,
                self.tcp,
                self.tcp_default,
                self.udp_intake
                    .map(|i| format!("; a UDP receiver filled to {}", i.show()))
                    .unwrap_or_default()
            ),
        );
        j.key(format!(
            "{mem}_default {}: UDP {}, TCP {}",
            self.core_default, self.udp, self.tcp
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_rcvbuf.rmem_max, so_sndbuf.wmem_max

/// The largest doubled limit whose effect is measured by filling a buffer.
pub(crate) const FILL_LIMIT: i64 = 64 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Max {
    pub buffer: Buf,
    /// net.core.rmem_max / wmem_max.
    pub core_max: i64,
    /// The value given to setsockopt: three times the maximum.
    pub set: i32,
    pub reported: i32,
    /// What the kernel enforces (SO_MEMINFO).
    pub kernel: u32,
    /// The buffer filled (when twice the maximum is at most 64 MiB).
    pub intake: Option<Intake>,
}

/// A value of `n` bytes as setsockopt takes it (an int).
pub(crate) fn as_int(n: i64) -> i32 {
    n.clamp(0, i32::MAX as i64) as i32
}

fn at_max(buf: Buf) -> Result<Max> {
    let core_max = core_sysctl(buf, "max")?;
    let set = as_int(3 * core_max);
    let fill = 2 * core_max <= FILL_LIMIT;
    let (reported, kernel, intake) = match buf {
        Buf::Rcv => {
            let rx = udp_receiver(|s| set_opt(s, buf.option(), buf.name(), set))?;
            let intake = if fill { Some(udp_intake(&rx)?) } else { None };
            (
                rx.get_int(libc::SOL_SOCKET, buf.option())?,
                meminfo(&rx)?.rcvbuf,
                intake,
            )
        }
        Buf::Snd if fill => {
            let (client, intake, m) =
                tcp_sender_intake(|c| set_opt(c, buf.option(), buf.name(), set))?;
            (
                client.get_int(libc::SOL_SOCKET, buf.option())?,
                m.sndbuf,
                Some(intake),
            )
        }
        Buf::Snd => {
            let s = Sock::tcp(Family::V4)?;
            set_opt(&s, buf.option(), buf.name(), set)?;
            (
                s.get_int(libc::SOL_SOCKET, buf.option())?,
                meminfo(&s)?.sndbuf,
                None,
            )
        }
    };
    Ok(Max {
        buffer: buf,
        core_max,
        set,
        reported,
        kernel,
        intake,
    })
}

impl Observation for Max {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let mem = self.buffer.mem();
        let twice = 2 * self.core_max;
        j.expect_eq(
            &format!("three times {mem}_max reads back twice {mem}_max"),
            &twice,
            &(self.reported as i64),
        );
        j.expect_eq(
            &format!("the kernel enforces twice {mem}_max (SO_MEMINFO)"),
            &twice,
            &(self.kernel as i64),
        );
        if let Some(intake) = &self.intake {
            j.expect(
                &format!("the buffer fills up to twice {mem}_max and no further"),
                intake.filled_to(twice),
                format!("within {} B of {twice} B", intake.step),
                intake.show(),
            );
        }
        let reported = self.reported as i64;
        let verdict = if reported == twice {
            // Cut to the maximum, then doubled as the page says of every value.
            Verdict::Holds
        } else if reported > twice {
            Verdict::Refuted
        } else {
            Verdict::Differs
        };
        j.verdict(
            verdict,
            format!(
                "{mem}_max is {}; {} {} read back {}, the kernel enforced {}{}",
                self.core_max,
                self.buffer.show(),
                self.set,
                self.reported,
                self.kernel,
                match &self.intake {
                    Some(i) => format!(", and the buffer filled to {}", i.show()),
                    None => format!(", the fill not measured (above {FILL_LIMIT} B)"),
                }
            ),
        );
        j.key(format!(
            "{mem}_max {}: set {} -> {}",
            self.core_max, self.set, self.reported
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn intake(charged: u32, step: u32, units: u32) -> Intake {
        Intake {
            charged,
            step,
            units,
        }
    }

    /// Linux 6.18: SO_RCVBUF 32768 on UDP, 1000-byte datagrams (truesize 2304).
    fn rcv_doubled() -> Doubled {
        Doubled {
            buffer: Buf::Rcv,
            set: 32768,
            reported: 65536,
            kernel: 65536,
            intake: intake(64512, 2304, 28),
        }
    }

    /// Linux 6.18: SO_SNDBUF 131072 on a stalled TCP sender.
    fn snd_doubled() -> Doubled {
        Doubled {
            buffer: Buf::Snd,
            set: 131072,
            reported: 262144,
            kernel: 262144,
            intake: intake(263680, 69632, 190464),
        }
    }

    const DOUBLED_CHECKS: [&str; 3] = [
        "getsockopt reports twice the value set",
        "the kernel enforces twice the value set (SO_MEMINFO)",
        "the buffer fills up to twice the value set",
    ];

    #[rstest]
    #[case::linux_rcv(rcv_doubled(), Verdict::Holds, &[])]
    #[case::linux_snd(snd_doubled(), Verdict::Holds, &[])]
    // BSD keeps the value as given: no doubling anywhere.
    #[case::bsd(Doubled { reported: 32768, kernel: 32768, intake: intake(32256, 2304, 14), ..rcv_doubled() },
        Verdict::Refuted, &DOUBLED_CHECKS)]
    // A libc that ignores the option and echoes it: the default buffer stays.
    #[case::echoed(Doubled { reported: 32768, kernel: 212992, intake: intake(211968, 2304, 92), ..rcv_doubled() },
        Verdict::Differs, &DOUBLED_CHECKS)]
    // The number is doubled, the limit in force is not.
    #[case::doubled_in_name_only(Doubled { kernel: 32768, intake: intake(32256, 2304, 14), ..rcv_doubled() },
        Verdict::Differs, &DOUBLED_CHECKS[1..])]
    #[case::fills_to_the_step_above(Doubled { intake: intake(65536 + 2304, 2304, 29), ..rcv_doubled() },
        Verdict::Holds, &[])]
    #[case::fills_past_it(Doubled { intake: intake(65536 + 2305, 2304, 29), ..rcv_doubled() },
        Verdict::Holds, &DOUBLED_CHECKS[2..])]
    #[case::stops_a_step_short(Doubled { intake: intake(65536 - 2304, 2304, 27), ..rcv_doubled() },
        Verdict::Holds, &DOUBLED_CHECKS[2..])]
    #[case::stops_just_inside(Doubled { intake: intake(65536 - 2303, 2304, 27), ..rcv_doubled() },
        Verdict::Holds, &[])]
    // Filled to no more than the value set and one step: the doubling was not used.
    #[case::used_up_to_the_value(Doubled { intake: intake(32768 + 2304, 2304, 15), ..rcv_doubled() },
        Verdict::Differs, &DOUBLED_CHECKS[2..])]
    #[case::used_just_past_the_value(Doubled { intake: intake(32768 + 2305, 2304, 15), ..rcv_doubled() },
        Verdict::Holds, &DOUBLED_CHECKS[2..])]
    fn doubled_judgement(#[case] o: Doubled, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn doubled_words() {
        let j = snd_doubled().judge();
        assert_eq!("set 131072 -> getsockopt 262144, filled to 263680 B", j.key);
        assert_eq!(
            "SO_SNDBUF 131072 read back 262144, the kernel enforced 262144, and the buffer took 263680 B \
             charged (step 69632 B) before the kernel refused more",
            j.because
        );
    }

    fn read_backs(sets: &[i32], floor: i32) -> Vec<ReadBack> {
        sets.iter()
            .map(|&set| ReadBack {
                set,
                reported: (2 * set).max(floor),
            })
            .collect()
    }

    /// Linux 6.18 on x86_64: SOCK_MIN_RCVBUF 2304.
    fn rcv_minimum() -> Minimum {
        Minimum {
            buffer: Buf::Rcv,
            read_backs: read_backs(&minimum_probes(Buf::Rcv), 2304),
            kernel_at_1: 2304,
            intake_at_1: Some(intake(2304, 2304, 1)),
        }
    }

    /// Linux 6.18 on x86_64: SOCK_MIN_SNDBUF 4608.
    fn snd_minimum() -> Minimum {
        Minimum {
            buffer: Buf::Snd,
            read_backs: read_backs(&minimum_probes(Buf::Snd), 4608),
            kernel_at_1: 4608,
            intake_at_1: None,
        }
    }

    const FLOOR: &str =
        "setting 1 reads back the kernel's floor (2048 + an sk_buff, twice that for sending)";
    const EVERY: &str = "every value reads back max(2 x value, floor)";
    const KERNEL_FLOOR: &str = "the kernel enforces the floor after setting 1 (SO_MEMINFO)";
    const FILLS_FLOOR: &str = "a receiver with SO_RCVBUF 1 fills up to the floor";

    #[rstest]
    #[case::linux_rcv(rcv_minimum(), Verdict::Differs, &[])]
    #[case::linux_snd(snd_minimum(), Verdict::Differs, &[])]
    // The page's world: 256 bytes at least.
    #[case::page(Minimum { read_backs: read_backs(&minimum_probes(Buf::Rcv), 256), kernel_at_1: 256,
        intake_at_1: Some(intake(256, 256, 1)), ..rcv_minimum() }, Verdict::Holds, &[FLOOR])]
    #[case::page_snd(Minimum { read_backs: read_backs(&minimum_probes(Buf::Snd), 2048), kernel_at_1: 2048,
        ..snd_minimum() }, Verdict::Holds, &[FLOOR])]
    // No floor at all: 1 reads back 2.
    #[case::no_floor(Minimum { read_backs: read_backs(&minimum_probes(Buf::Rcv), 0), kernel_at_1: 2,
        intake_at_1: Some(intake(2304, 2304, 1)), ..rcv_minimum() }, Verdict::Refuted, &[FLOOR, EVERY])]
    // A libc echoing the value: 1 reads back 1, the kernel keeps its default.
    #[case::echoed(Minimum { read_backs: minimum_probes(Buf::Rcv).iter().map(|&set| ReadBack { set, reported: set })
        .collect(), kernel_at_1: 212992, intake_at_1: Some(intake(211968, 2304, 92)), ..rcv_minimum() },
        Verdict::Refuted, &[FLOOR, EVERY, KERNEL_FLOOR, FILLS_FLOOR])]
    #[case::one_value_off(Minimum { read_backs: vec![ReadBack { set: 1, reported: 2304 },
        ReadBack { set: 1153, reported: 2304 }], ..rcv_minimum() }, Verdict::Differs, &[EVERY])]
    // Without a probe of 1 there is no floor to judge by.
    #[case::without_a_probe_of_1(Minimum { read_backs: vec![ReadBack { set: 0, reported: 2304 }],
        intake_at_1: Some(intake(6912, 2304, 3)), ..rcv_minimum() }, Verdict::Refuted,
        &[FLOOR, EVERY, KERNEL_FLOOR, FILLS_FLOOR])]
    #[case::floor_2048(Minimum { read_backs: read_backs(&[1], 2048), kernel_at_1: 2048,
        intake_at_1: Some(intake(2048, 2048, 1)), ..rcv_minimum() }, Verdict::Differs, &[FLOOR])]
    #[case::floor_2049(Minimum { read_backs: read_backs(&[1], 2049), kernel_at_1: 2049,
        intake_at_1: Some(intake(2049, 2049, 1)), ..rcv_minimum() }, Verdict::Differs, &[])]
    #[case::floor_4096(Minimum { read_backs: read_backs(&[1], 4096), kernel_at_1: 4096,
        intake_at_1: Some(intake(4096, 2304, 1)), ..rcv_minimum() }, Verdict::Differs, &[])]
    #[case::floor_4097(Minimum { read_backs: read_backs(&[1], 4097), kernel_at_1: 4097,
        intake_at_1: Some(intake(4097, 2304, 1)), ..rcv_minimum() }, Verdict::Differs, &[FLOOR])]
    #[case::snd_floor_8193(Minimum { read_backs: read_backs(&[1], 8193), kernel_at_1: 8193, ..snd_minimum() },
        Verdict::Differs, &[FLOOR])]
    #[case::snd_floor_4096(Minimum { read_backs: read_backs(&[1], 4096), kernel_at_1: 4096, ..snd_minimum() },
        Verdict::Differs, &[FLOOR])]
    #[case::kernel_elsewhere(Minimum { kernel_at_1: 4608, ..rcv_minimum() }, Verdict::Differs, &[KERNEL_FLOOR])]
    #[case::fills_further(Minimum { intake_at_1: Some(intake(6912, 2304, 3)), ..rcv_minimum() },
        Verdict::Differs, &[FILLS_FLOOR])]
    fn minimum_judgement(#[case] o: Minimum, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn minimum_words() {
        let j = rcv_minimum().judge();
        assert_eq!("floor 2304 (page: 256)", j.key);
        assert_eq!(
            "SO_RCVBUF reads back [0 -> 2304, 1 -> 2304, 64 -> 2304, 128 -> 2304, 1024 -> 2304, 1152 -> 2304, \
             1153 -> 2306] for the values tried (the page's minimum is 256); the kernel enforced 2304 after \
             setting 1, and a receiver with it took 1 datagrams, 2304 B charged (step 2304 B)",
            j.because
        );
        let snd = snd_minimum().judge();
        assert!(snd
            .because
            .ends_with("the kernel enforced 4608 after setting 1"));
        assert_eq!("floor 4608 (page: 2048)", snd.key);
    }

    fn rcv_defaults() -> Defaults {
        Defaults {
            buffer: Buf::Rcv,
            core_default: 212992,
            tcp_default: 131072,
            udp: 212992,
            tcp: 131072,
            udp_kernel: 212992,
            tcp_kernel: 131072,
            udp_intake: Some(intake(211968, 2304, 92)),
        }
    }

    fn snd_defaults() -> Defaults {
        Defaults {
            buffer: Buf::Snd,
            core_default: 212992,
            tcp_default: 16384,
            udp: 212992,
            tcp: 16384,
            udp_kernel: 212992,
            tcp_kernel: 16384,
            udp_intake: None,
        }
    }

    const UDP_DEFAULT: &str = "a new UDP socket starts at net.core.rmem_default";
    const TCP_DEFAULT: &str = "a new TCP socket starts at net.ipv4.tcp_rmem[1]";
    const KERNEL_AGREES: &str = "the kernel enforces what getsockopt reports (UDP TCP)";
    const FILLS_DEFAULT: &str = "a new UDP receiver fills up to its default";

    #[rstest]
    #[case::linux_rcv(rcv_defaults(), Verdict::Differs, &[])]
    #[case::linux_snd(snd_defaults(), Verdict::Differs, &[])]
    // A host whose tcp_rmem[1] equals rmem_default: the page holds there.
    #[case::same_defaults(Defaults { tcp_default: 212992, tcp: 212992, tcp_kernel: 212992, ..rcv_defaults() },
        Verdict::Holds, &[])]
    // The page's world on a stock host: TCP starting at rmem_default.
    #[case::page(Defaults { tcp: 212992, tcp_kernel: 212992, ..rcv_defaults() }, Verdict::Holds, &[TCP_DEFAULT])]
    #[case::neither(Defaults { udp: 65536, udp_kernel: 65536, ..rcv_defaults() }, Verdict::Refuted,
        &[UDP_DEFAULT])]
    #[case::udp_only_elsewhere(Defaults { udp: 65536, udp_kernel: 65536, tcp: 212992, tcp_kernel: 212992,
        ..rcv_defaults() }, Verdict::Differs, &[UDP_DEFAULT, TCP_DEFAULT])]
    #[case::kernel_disagrees(Defaults { tcp_kernel: 87380, ..rcv_defaults() }, Verdict::Differs, &[KERNEL_AGREES])]
    #[case::udp_kernel_disagrees(Defaults { udp_kernel: 87380, ..rcv_defaults() }, Verdict::Differs,
        &[KERNEL_AGREES])]
    #[case::fills_elsewhere(Defaults { udp_intake: Some(intake(131072, 2304, 56)), ..rcv_defaults() },
        Verdict::Differs, &[FILLS_DEFAULT])]
    fn defaults_judgement(#[case] o: Defaults, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn defaults_words() {
        let j = rcv_defaults().judge();
        assert_eq!("rmem_default 212992: UDP 212992, TCP 131072", j.key);
        assert_eq!(
            "net.core.rmem_default is 212992; a new UDP socket starts at 212992, a new TCP socket at 131072 \
             (net.ipv4.tcp_rmem[1] is 131072); a UDP receiver filled to 211968 B charged (step 2304 B)",
            j.because
        );
        let snd = snd_defaults().judge();
        assert_eq!(
            Some(false),
            Defaults {
                tcp: 1,
                ..snd_defaults()
            }
            .judge()
            .check("a new TCP socket starts at net.ipv4.tcp_wmem[1]")
        );
        assert!(snd.because.ends_with("(net.ipv4.tcp_wmem[1] is 16384)"));
    }

    fn rcv_max() -> Max {
        Max {
            buffer: Buf::Rcv,
            core_max: 4194304,
            set: 12582912,
            reported: 8388608,
            kernel: 8388608,
            intake: Some(intake(8333984, 60832, 137)),
        }
    }

    fn snd_max() -> Max {
        Max {
            buffer: Buf::Snd,
            core_max: 4194304,
            set: 12582912,
            reported: 8388608,
            kernel: 8388608,
            intake: Some(intake(8391040, 69632, 5969920)),
        }
    }

    const MAX_READ: &str = "three times rmem_max reads back twice rmem_max";
    const MAX_KERNEL: &str = "the kernel enforces twice rmem_max (SO_MEMINFO)";
    const MAX_FILL: &str = "the buffer fills up to twice rmem_max and no further";

    #[rstest]
    #[case::linux_rcv(rcv_max(), Verdict::Holds, &[])]
    #[case::linux_snd(snd_max(), Verdict::Holds, &[])]
    #[case::not_filled(Max { intake: None, ..rcv_max() }, Verdict::Holds, &[])]
    // No limit: the value doubled as given.
    #[case::unlimited(Max { reported: 25165824, kernel: 25165824, intake: Some(intake(25100000, 60832, 400)),
        ..rcv_max() }, Verdict::Refuted, &[MAX_READ, MAX_KERNEL, MAX_FILL])]
    // A libc echoing the value.
    #[case::echoed(Max { reported: 12582912, kernel: 212992, intake: Some(intake(211968, 2304, 92)),
        ..rcv_max() }, Verdict::Refuted, &[MAX_READ, MAX_KERNEL, MAX_FILL])]
    // Clamped after doubling: the maximum itself.
    #[case::clamped_after(Max { reported: 4194304, kernel: 4194304, intake: Some(intake(4190000, 60832, 69)),
        ..rcv_max() }, Verdict::Differs, &[MAX_READ, MAX_KERNEL, MAX_FILL])]
    #[case::kernel_elsewhere(Max { kernel: 4194304, ..rcv_max() }, Verdict::Holds, &[MAX_KERNEL])]
    fn max_judgement(#[case] o: Max, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn max_words() {
        let j = rcv_max().judge();
        assert_eq!("rmem_max 4194304: set 12582912 -> 8388608", j.key);
        assert_eq!(
            "rmem_max is 4194304; SO_RCVBUF 12582912 read back 8388608, the kernel enforced 8388608, and the \
             buffer filled to 8333984 B charged (step 60832 B)",
            j.because
        );
        let unfilled = Max {
            intake: None,
            ..snd_max()
        }
        .judge();
        assert!(unfilled
            .because
            .ends_with("the fill not measured (above 67108864 B)"));
        assert!(unfilled
            .because
            .starts_with("wmem_max is 4194304; SO_SNDBUF"));
    }

    #[test]
    fn values_and_names() {
        assert_eq!(i32::MAX, as_int(3 * (i32::MAX as i64)));
        assert_eq!(0, as_int(-5));
        assert_eq!(12582912, as_int(12582912));
        assert_eq!(
            ("SO_RCVBUFFORCE", "SO_SNDBUFFORCE"),
            (Buf::Rcv.force_name(), Buf::Snd.force_name())
        );
        assert_eq!(
            (libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE),
            (Buf::Rcv.force(), Buf::Snd.force())
        );
        assert_eq!(
            "1 -> 2304",
            ReadBack {
                set: 1,
                reported: 2304
            }
            .show()
        );
    }
}
