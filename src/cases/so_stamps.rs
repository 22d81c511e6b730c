//! socket(7) on SO_TIMESTAMP and SO_TIMESTAMPNS: each datagram read comes
//! with a control message holding its reception time (struct timeval with
//! SCM_TIMESTAMP, struct timespec with SCM_TIMESTAMPNS, CLOCK_REALTIME), and
//! a socket gets one kind or the other, never both.
//!
//! The reception time is checked against the capture's: an AF_PACKET socket
//! on the receiving end of a veth pair sees the same frame when the kernel
//! stamps it on arrival, so the two times should be the same instant.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::msg;
use crate::lab::packet::Packet;
use crate::lab::topo::Link;
use crate::lab::{opt, phase, wait, Capture, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&TIMESTAMP, &TIMESTAMPNS];

pub static TIMESTAMP: Case = Case {
    id: "so_timestamp.reception_time",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_TIMESTAMP"),
    claim: "with SO_TIMESTAMP on, a read comes with an SCM_TIMESTAMP control message at level SOL_SOCKET: a \
            struct timeval with the reception time of the last packet read",
    expectation: "a datagram arriving over a veth pair is read with one SCM_TIMESTAMP message whose time is the \
                  capture's arrival time of that frame truncated to the microsecond; a socket without the \
                  option gets no control message",
    run: &Measure(timestamp),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_TIMESTAMP],
};

pub static TIMESTAMPNS: Case = Case {
    id: "so_timestampns.reception_time",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_TIMESTAMPNS"),
    claim: "with SO_TIMESTAMPNS on, a read comes with an SCM_TIMESTAMPNS control message: a struct timespec \
            with the reception time in CLOCK_REALTIME; SO_TIMESTAMP and SO_TIMESTAMPNS cannot be used together",
    expectation: "a datagram arriving over a veth pair is read with one SCM_TIMESTAMPNS message whose time is \
                  the capture's arrival time of that frame to the nanosecond; setting both options leaves the one \
                  set last: one message of its kind",
    run: &Measure(timestampns),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_TIMESTAMPNS],
};

/// What reading one datagram gave a receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    /// The control messages' types, by name.
    pub kinds: Vec<String>,
    /// The time in the first timestamp message, ns since the epoch.
    pub stamp_ns: Option<i64>,
    /// The capture's arrival time of the datagram's frame.
    pub capture_ns: Option<i64>,
}

impl Stamped {
    /// Capture time minus message time (none unless both are known).
    pub fn behind_capture_ns(&self) -> Option<i64> {
        Some(self.capture_ns? - self.stamp_ns?)
    }
}

impl Show for Stamped {
    /// "SCM_TIMESTAMPNS, 0 ns before the capture", "no control message".
    fn show(&self) -> String {
        if self.kinds.is_empty() {
            return "no control message".into();
        }
        match self.behind_capture_ns() {
            Some(d) => format!("{}, {d} ns before the capture", self.kinds.join(" and ")),
            None => format!("{}, time unknown", self.kinds.join(" and ")),
        }
    }
}

fn kind_name(kind: i32) -> String {
    match kind {
        libc::SCM_TIMESTAMP => "SCM_TIMESTAMP".into(),
        libc::SCM_TIMESTAMPNS => "SCM_TIMESTAMPNS".into(),
        libc::SCM_TIMESTAMPING => "SCM_TIMESTAMPING".into(),
        k => format!("type {k}"),
    }
}

/// Receivers on host a, each set up with its options in order; one datagram
/// from host b to each, read with recvmsg() and found in the capture.
fn receive(lab: &mut Lab, setups: &[&[(i32, i32)]]) -> Result<Vec<Stamped>> {
    let link = Link::pair_v4(lab)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let mut receivers = Vec::new();
    for opts in setups {
        let rx = Sock::udp(Family::V4)?;
        for &(o, v) in opts.iter() {
            rx.set_int(libc::SOL_SOCKET, o, v)
                .with_context(|| format!("setsockopt({}, {v})", kind_name(o)))?;
        }
        rx.bind(SocketAddr::new(link.a_end.addr, 0))
            .context("bind receiver")?;
        let port = rx.local_addr()?.port();
        receivers.push((rx, port));
    }
    let to: Vec<SocketAddr> = receivers
        .iter()
        .map(|(_, p)| SocketAddr::new(link.a_end.addr, *p))
        .collect();
    phase("one datagram from host b to each receiver");
    link.b.run(|| -> Result<()> {
        let tx = Sock::udp(Family::V4)?;
        for addr in &to {
            tx.send_to(b"stamp me", 0, *addr)
                .with_context(|| format!("send to {addr}"))?;
        }
        Ok(())
    })??;
    let mut out = Vec::new();
    for (rx, port) in &receivers {
        let frame = cap.wait_for(
            "the datagram",
            Duration::from_secs(2),
            |f| matches!(f.decode(), Packet::Udp(d) if d.dport == *port),
        )?;
        wait::readable(std::os::fd::AsRawFd::as_raw_fd(rx), Duration::from_secs(2))?;
        let r = msg::recv(rx, 64, libc::MSG_DONTWAIT).context("recvmsg")?;
        let stamp_ns = r
            .cmsgs
            .iter()
            .filter(|c| c.level == libc::SOL_SOCKET)
            .find_map(|c| c.time_ns());
        out.push(Stamped {
            kinds: r.cmsgs.iter().map(|c| kind_name(c.kind)).collect(),
            stamp_ns,
            capture_ns: Some(frame.t_ns),
        });
    }
    Ok(out)
}

const ON: i32 = 1;

// ---------------------------------------------------------------------------
// so_timestamp.reception_time

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timestamp {
    /// With SO_TIMESTAMP.
    pub on: Stamped,
    /// Without any timestamp option.
    pub plain: Stamped,
}

fn timestamp(lab: &mut Lab) -> Result<Timestamp> {
    let mut got = receive(lab, &[&[(libc::SO_TIMESTAMP, ON)], &[]])?.into_iter();
    let (Some(on), Some(plain)) = (got.next(), got.next()) else {
        anyhow::bail!("two receivers, fewer results");
    };
    Ok(Timestamp { on, plain })
}

/// How far a message's time may be from the capture's and still name the
/// same arrival: a timeval's truncation to the microsecond.
const USEC: i64 = 1000;

/// How far it may be and still be a reception time, if not the capture's
/// instant (another stamping point on the way in).
const NEAR: i64 = 1_000_000;

impl Observation for Timestamp {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "control messages with SO_TIMESTAMP",
            &vec!["SCM_TIMESTAMP".to_string()],
            &self.on.kinds,
        );
        let behind = self.on.behind_capture_ns();
        j.expect(
            "its time: the capture's, truncated to the microsecond",
            behind.is_some_and(|d| (0..USEC).contains(&d)),
            "0..999 ns before the capture",
            behind.map_or("none".into(), |d| format!("{d} ns before")),
        );
        j.expect_eq(
            "control messages without the option",
            &Vec::<String>::new(),
            &self.plain.kinds,
        );
        let verdict = match behind {
            Some(d) if (0..USEC).contains(&d) => Verdict::Holds,
            Some(d) if d.abs() < NEAR => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "a datagram read with SO_TIMESTAMP: {}; without: {}",
                self.on.show(),
                self.plain.show()
            ),
        );
        j.key(format!(
            "{}; without: {}",
            self.on.show(),
            self.plain.show()
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_timestampns.reception_time

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimestampNs {
    /// With SO_TIMESTAMPNS.
    pub on: Stamped,
    /// SO_TIMESTAMP set, then SO_TIMESTAMPNS.
    pub ts_then_ns: Stamped,
    /// SO_TIMESTAMPNS set, then SO_TIMESTAMP.
    pub ns_then_ts: Stamped,
}

fn timestampns(lab: &mut Lab) -> Result<TimestampNs> {
    let (ts, ns) = ((libc::SO_TIMESTAMP, ON), (libc::SO_TIMESTAMPNS, ON));
    let mut got = receive(lab, &[&[ns], &[ts, ns], &[ns, ts]])?.into_iter();
    let (Some(on), Some(ts_then_ns), Some(ns_then_ts)) = (got.next(), got.next(), got.next())
    else {
        anyhow::bail!("three receivers, fewer results");
    };
    Ok(TimestampNs {
        on,
        ts_then_ns,
        ns_then_ts,
    })
}

impl Observation for TimestampNs {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let ns = vec!["SCM_TIMESTAMPNS".to_string()];
        let ts = vec!["SCM_TIMESTAMP".to_string()];
        j.expect_eq("control messages with SO_TIMESTAMPNS", &ns, &self.on.kinds);
        let behind = self.on.behind_capture_ns();
        j.expect_eq("its time behind the capture's (ns)", &Some(0), &behind);
        j.expect_eq(
            "SO_TIMESTAMP then SO_TIMESTAMPNS: control messages",
            &ns,
            &self.ts_then_ns.kinds,
        );
        j.expect_eq(
            "SO_TIMESTAMPNS then SO_TIMESTAMP: control messages",
            &ts,
            &self.ns_then_ts.kinds,
        );
        let exclusive = [&self.ts_then_ns, &self.ns_then_ts]
            .iter()
            .all(|s| s.kinds.len() == 1);
        let verdict = match behind {
            Some(0) if exclusive => Verdict::Holds,
            Some(d) if d.abs() < NEAR => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "a datagram read with SO_TIMESTAMPNS: {}; with SO_TIMESTAMP then SO_TIMESTAMPNS: {}; the other \
                 way round: {}",
                self.on.show(),
                self.ts_then_ns.show(),
                self.ns_then_ts.show()
            ),
        );
        j.key(format!(
            "{}; both set: {} / {}",
            self.on.show(),
            self.ts_then_ns.kinds.show(),
            self.ns_then_ts.kinds.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    const T: i64 = 1_795_776_993_184_838_878;

    fn s(kinds: &[&str], stamp: Option<i64>) -> Stamped {
        Stamped {
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            stamp_ns: stamp,
            capture_ns: Some(T),
        }
    }

    /// This kernel, from a run.
    fn ts_linux() -> Timestamp {
        Timestamp {
            on: s(&["SCM_TIMESTAMP"], Some(T - 878)),
            plain: s(&[], None),
        }
    }

    const KINDS: &str = "control messages with SO_TIMESTAMP";
    const TIME: &str = "its time: the capture's, truncated to the microsecond";
    const PLAIN: &str = "control messages without the option";

    #[rstest]
    #[case::linux(ts_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: no message at all.
    #[case::ignored(Timestamp { on: s(&[], None), ..ts_linux() }, Verdict::Refuted, &[KINDS, TIME])]
    // A stack that stamps when the socket queues the datagram, a little later.
    #[case::later_stamp(Timestamp { on: s(&["SCM_TIMESTAMP"], Some(T + 20_000)), ..ts_linux() }, Verdict::Differs,
        &[TIME])]
    #[case::exact(Timestamp { on: s(&["SCM_TIMESTAMP"], Some(T)), ..ts_linux() }, Verdict::Holds, &[])]
    #[case::one_usec(Timestamp { on: s(&["SCM_TIMESTAMP"], Some(T - 1000)), ..ts_linux() }, Verdict::Differs,
        &[TIME])]
    #[case::far(Timestamp { on: s(&["SCM_TIMESTAMP"], Some(T - NEAR)), ..ts_linux() }, Verdict::Refuted, &[TIME])]
    #[case::near(Timestamp { on: s(&["SCM_TIMESTAMP"], Some(T - NEAR + 1)), ..ts_linux() }, Verdict::Differs,
        &[TIME])]
    // The nanosecond message where the microsecond one was asked for.
    #[case::wrong_kind(Timestamp { on: s(&["SCM_TIMESTAMPNS"], Some(T)), ..ts_linux() }, Verdict::Holds, &[KINDS])]
    #[case::stamped_anyway(Timestamp { plain: s(&["SCM_TIMESTAMP"], Some(T)), ..ts_linux() }, Verdict::Holds,
        &[PLAIN])]
    fn timestamp_judgement(
        #[case] o: Timestamp,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn timestamp_words() {
        let j = ts_linux().judge();
        assert_eq!(
            "SCM_TIMESTAMP, 878 ns before the capture; without: no control message",
            j.key
        );
        assert_eq!(
            "a datagram read with SO_TIMESTAMP: SCM_TIMESTAMP, 878 ns before the capture; without: no control \
             message",
            j.because
        );
        let unknown = Stamped {
            capture_ns: None,
            ..s(&["SCM_TIMESTAMP"], Some(T))
        };
        assert_eq!("SCM_TIMESTAMP, time unknown", unknown.show());
        assert_eq!("type 99", kind_name(99));
        assert_eq!("SCM_TIMESTAMPING", kind_name(libc::SCM_TIMESTAMPING));
    }

    fn ns_linux() -> TimestampNs {
        TimestampNs {
            on: s(&["SCM_TIMESTAMPNS"], Some(T)),
            ts_then_ns: s(&["SCM_TIMESTAMPNS"], Some(T)),
            ns_then_ts: s(&["SCM_TIMESTAMP"], Some(T - 878)),
        }
    }

    const NS_KINDS: &str = "control messages with SO_TIMESTAMPNS";
    const NS_TIME: &str = "its time behind the capture's (ns)";
    const TS_NS: &str = "SO_TIMESTAMP then SO_TIMESTAMPNS: control messages";
    const NS_TS: &str = "SO_TIMESTAMPNS then SO_TIMESTAMP: control messages";

    #[rstest]
    #[case::linux(ns_linux(), Verdict::Holds, &[])]
    #[case::ignored(TimestampNs { on: s(&[], None), ts_then_ns: s(&["SCM_TIMESTAMP"], Some(T - 878)), ..ns_linux() },
        Verdict::Refuted, &[NS_KINDS, NS_TIME, TS_NS])]
    // Both messages when both are set: the options mix after all.
    #[case::mixed(TimestampNs { ts_then_ns: s(&["SCM_TIMESTAMP", "SCM_TIMESTAMPNS"], Some(T)), ..ns_linux() },
        Verdict::Differs, &[TS_NS])]
    #[case::mixed_other_way(TimestampNs { ns_then_ts: s(&["SCM_TIMESTAMPNS", "SCM_TIMESTAMP"], Some(T)),
        ..ns_linux() }, Verdict::Differs, &[NS_TS])]
    // The first one set wins instead of the last.
    #[case::first_wins(TimestampNs { ts_then_ns: s(&["SCM_TIMESTAMP"], Some(T)),
        ns_then_ts: s(&["SCM_TIMESTAMPNS"], Some(T)), ..ns_linux() }, Verdict::Holds, &[TS_NS, NS_TS])]
    #[case::off_by_one(TimestampNs { on: s(&["SCM_TIMESTAMPNS"], Some(T - 1)), ..ns_linux() }, Verdict::Differs,
        &[NS_TIME])]
    #[case::ahead(TimestampNs { on: s(&["SCM_TIMESTAMPNS"], Some(T + 1)), ..ns_linux() }, Verdict::Differs,
        &[NS_TIME])]
    #[case::far(TimestampNs { on: s(&["SCM_TIMESTAMPNS"], Some(T - NEAR)), ..ns_linux() }, Verdict::Refuted,
        &[NS_TIME])]
    fn timestampns_judgement(
        #[case] o: TimestampNs,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn timestampns_words() {
        let j = ns_linux().judge();
        assert_eq!(
            "SCM_TIMESTAMPNS, 0 ns before the capture; both set: [SCM_TIMESTAMPNS] / [SCM_TIMESTAMP]",
            j.key
        );
    }
}
