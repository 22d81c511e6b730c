//! SO_PRIORITY (socket(7), man-pages 6.20): the priority a socket gives its
//! packets, seen where the kernel uses it (an HTB queueing discipline sorts a
//! packet into the class its priority names), and the privilege a priority
//! outside 0..6 needs.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cases::routing::{attempt, expect_raw_alone, lowered_text, Attempt, LOWERED};
use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::opt;
use crate::lab::topo::Link;
use crate::lab::{wait, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&CLASSIFIES, &PRIVILEGE];

pub static CLASSIFIES: Case = Case {
    id: "so_priority.classifies",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PRIORITY"),
    claim: "SO_PRIORITY sets the priority of every packet the socket sends, which the device's queueing \
            discipline may use to order the queues",
    expectation: "an HTB qdisc puts a packet whose priority names one of its classes into that class: the \
                  datagrams of a socket with SO_PRIORITY 0x10002 are all counted by class 1:2, those with \
                  0x10003 by class 1:3, and a socket without the option falls to the default class 1:1",
    run: &Measure(classifies),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PRIORITY],
};

pub static PRIVILEGE: Case = Case {
    id: "so_priority.privilege",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PRIORITY"),
    claim: "setting a priority outside 0 to 6 requires CAP_NET_ADMIN",
    expectation: "0 to 6 need no privilege (6 is set with both capabilities lowered); 7 or -1 need \
                  CAP_NET_ADMIN or CAP_NET_RAW over the network namespace (a user namespace's root has \
                  them): either one suffices (CAP_NET_RAW alone since Linux 5.17), and with neither setsockopt \
                  fails with EPERM",
    run: &Measure(privilege),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PRIORITY],
};

/// The qdisc's handle major: classes are 1:1 (the default), 1:2 and 1:3.
const MAJOR: u16 = 1;
const CLASS_1_2: u32 = 0x0001_0002;
const CLASS_1_3: u32 = 0x0001_0003;
const CLASS_1_1: u32 = 0x0001_0001;
/// 1 Gbit/s: no class ever holds a packet back.
const RATE: u32 = 125_000_000;

/// Datagrams sent per socket, and the packets each HTB class counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classified {
    pub sent_1_2: u32,
    pub sent_1_3: u32,
    pub sent_plain: u32,
    /// Datagrams the other host received.
    pub delivered: u32,
    pub class_1_1: u32,
    pub class_1_2: u32,
    pub class_1_3: u32,
}

fn prioritised(priority: i32) -> Result<Sock> {
    let s = Sock::udp(Family::V4)?;
    s.set_int(libc::SOL_SOCKET, libc::SO_PRIORITY, priority)
        .with_context(|| format!("SO_PRIORITY {priority:#x}"))?;
    Ok(s)
}

/// An HTB root on `ifname` with classes 1:1 (default), 1:2 and 1:3.
fn htb(ifname: &str) -> Result<()> {
    let nl = Netlink::open()?;
    let idx = ifindex(ifname)?;
    if let Err(e) = nl.add_htb(idx, MAJOR, 1) {
        // No such qdisc kind: sch_htb is neither built in nor loaded.
        if e.to_string().ends_with("ENOENT") {
            return Err(Skip::missing("the htb queueing discipline (sch_htb)", e).into());
        }
        return Err(e);
    }
    for class in [CLASS_1_1, CLASS_1_2, CLASS_1_3] {
        nl.add_htb_class(idx, class, RATE)?;
    }
    Ok(())
}

fn classifies(lab: &mut Lab) -> Result<Classified> {
    let link = Link::pair_v4(lab)?;
    htb(&link.a_end.ifname)?;
    let rx = link.b.run(|| -> Result<Sock> {
        let s = Sock::udp(Family::V4)?;
        s.bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
            .context("bind the receiver")?;
        Ok(s)
    })??;
    let to = SocketAddr::new(link.b_end.addr, rx.local_addr()?.port());
    let senders = [
        (prioritised(CLASS_1_2 as i32)?, 3),
        (prioritised(CLASS_1_3 as i32)?, 2),
        (Sock::udp(Family::V4)?, 4),
    ];
    for (s, n) in &senders {
        for _ in 0..*n {
            s.send_to(b"priority", 0, to).context("send")?;
        }
    }
    let total: u32 = senders.iter().map(|(_, n)| n).sum();
    let delivered = receive(&rx, total, Duration::from_secs(2))?;
    let counts = Netlink::open()?.class_packets(ifindex(&link.a_end.ifname)?)?;
    let count = |class: u32| {
        counts
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0, |(_, n)| *n)
    };
    Ok(Classified {
        sent_1_2: senders[0].1,
        sent_1_3: senders[1].1,
        sent_plain: senders[2].1,
        delivered,
        class_1_1: count(CLASS_1_1),
        class_1_2: count(CLASS_1_2),
        class_1_3: count(CLASS_1_3),
    })
}

/// Reads datagrams from `rx` until `n` have come, at most `timeout`.
fn receive(rx: &Sock, n: u32, timeout: Duration) -> Result<u32> {
    let deadline = Instant::now() + timeout;
    let mut got = 0;
    let mut buf = [0u8; 64];
    while got < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        wait::readable(rx.as_raw_fd(), left)?;
        while rx.recv(&mut buf, libc::MSG_DONTWAIT).is_ok() {
            got += 1;
        }
    }
    Ok(got)
}

impl Observation for Classified {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let total = self.sent_1_2 + self.sent_1_3 + self.sent_plain;
        j.expect_eq("datagrams received", &total, &self.delivered);
        j.expect_eq(
            "class 1:2 counts the SO_PRIORITY 0x10002 datagrams",
            &self.sent_1_2,
            &self.class_1_2,
        );
        j.expect_eq(
            "class 1:3 counts the SO_PRIORITY 0x10003 datagrams",
            &self.sent_1_3,
            &self.class_1_3,
        );
        j.expect(
            "the default class 1:1 counts the others",
            self.class_1_1 >= self.sent_plain,
            format!("at least {}", self.sent_plain),
            self.class_1_1.to_string(),
        );
        let sorted = self.class_1_2 == self.sent_1_2 && self.class_1_3 == self.sent_1_3;
        j.verdict(
            Verdict::holds_if(sorted),
            format!(
                "sent {} with priority 0x10002, {} with 0x10003, {} without; HTB classes counted 1:2 {}, 1:3 {}, \
                 1:1 (default) {}",
                self.sent_1_2, self.sent_1_3, self.sent_plain, self.class_1_2, self.class_1_3, self.class_1_1
            ),
        );
        j.key(format!(
            "1:2 {}/{}, 1:3 {}/{}",
            self.class_1_2, self.sent_1_2, self.class_1_3, self.sent_1_3
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_priority.privilege

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Privilege {
    pub attempts: Vec<Attempt>,
}

fn privilege(_lab: &mut Lab) -> Result<Privilege> {
    let mut attempts = Vec::new();
    for (without, caps) in LOWERED {
        attempts.push(attempt(without, caps, libc::SO_PRIORITY, 7)?);
    }
    let (without, caps) = LOWERED[3];
    for value in [6, -1] {
        attempts.push(attempt(without, caps, libc::SO_PRIORITY, value)?);
    }
    Ok(Privilege { attempts })
}

impl Observation for Privilege {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for a in &self.attempts {
            let free = (0..=6).contains(&a.value);
            let neither = a.without.contains(" and ");
            let what = format!("SO_PRIORITY {} {}", a.value, lowered_text(&a.without));
            if !free && a.without == "CAP_NET_ADMIN" {
                expect_raw_alone(&mut j, &what, &a.result);
            } else {
                let expected = if free || !neither { "ok" } else { "EPERM" };
                j.expect_eq(&what, expected, &a.result);
            }
        }
        // Both sides of the page's range, and its edge, with neither capability.
        let tried: Vec<i32> = self
            .attempts
            .iter()
            .filter(|a| a.without.contains(" and "))
            .map(|a| a.value)
            .collect();
        j.expect_eq(
            "priorities tried with neither capability",
            &vec![7, 6, -1],
            &tried,
        );
        let result = |without: &str, value: i32| {
            self.attempts
                .iter()
                .find(|a| a.without == without && a.value == value)
                .map_or("none", |a| a.result.as_str())
        };
        let guarded = result("CAP_NET_ADMIN and CAP_NET_RAW", 7) != "ok";
        let raw_suffices = result("CAP_NET_ADMIN", 7) == "ok";
        let verdict = match (guarded, raw_suffices) {
            (true, false) => Verdict::Holds,
            // CAP_NET_RAW alone also allows it, which the page does not say.
            (true, true) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let listed: Vec<String> = self
            .attempts
            .iter()
            .map(|a| format!("{} {}: {}", a.value, lowered_text(&a.without), a.result))
            .collect();
        j.verdict(verdict, listed.join("; "));
        j.key(format!(
            "7 with CAP_NET_RAW only: {}; with neither: {}",
            result("CAP_NET_ADMIN", 7),
            result("CAP_NET_ADMIN and CAP_NET_RAW", 7)
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn failed(j: &Judgement) -> (Option<Verdict>, Vec<&str>) {
        (j.verdict, j.failed())
    }

    /// What Linux 6.18 did (a real run): the ARP request went to 1:1 too.
    fn classified_linux() -> Classified {
        Classified {
            sent_1_2: 3,
            sent_1_3: 2,
            sent_plain: 4,
            delivered: 9,
            class_1_1: 5,
            class_1_2: 3,
            class_1_3: 2,
        }
    }

    const C12: &str = "class 1:2 counts the SO_PRIORITY 0x10002 datagrams";
    const C13: &str = "class 1:3 counts the SO_PRIORITY 0x10003 datagrams";
    const C11: &str = "the default class 1:1 counts the others";

    #[rstest]
    #[case::linux(classified_linux(), Verdict::Holds, &[])]
    // The priority lost: everything in the default class.
    #[case::ignored(Classified { class_1_1: 10, class_1_2: 0, class_1_3: 0, ..classified_linux() },
        Verdict::Refuted, &[C12, C13])]
    #[case::one_lost(Classified { class_1_2: 2, class_1_1: 6, ..classified_linux() }, Verdict::Refuted, &[C12])]
    #[case::other_lost(Classified { class_1_3: 1, ..classified_linux() }, Verdict::Refuted, &[C13])]
    #[case::default_exact(Classified { class_1_1: 4, ..classified_linux() }, Verdict::Holds, &[])]
    #[case::default_short(Classified { class_1_1: 3, ..classified_linux() }, Verdict::Holds, &[C11])]
    #[case::undelivered(Classified { delivered: 8, ..classified_linux() }, Verdict::Holds,
        &["datagrams received"])]
    fn classified_judgement(
        #[case] o: Classified,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn classified_words() {
        let j = classified_linux().judge();
        assert_eq!("1:2 3/3, 1:3 2/2", j.key);
        assert_eq!(
            "sent 3 with priority 0x10002, 2 with 0x10003, 4 without; HTB classes counted 1:2 3, 1:3 2, 1:1 \
             (default) 5",
            j.because
        );
    }

    fn tried(without: &str, value: i32, result: &str) -> Attempt {
        Attempt {
            without: without.into(),
            value,
            result: result.into(),
        }
    }

    const BOTH: &str = "CAP_NET_ADMIN and CAP_NET_RAW";

    fn privilege_linux() -> Privilege {
        Privilege {
            attempts: vec![
                tried("none", 7, "ok"),
                tried("CAP_NET_ADMIN", 7, "ok"),
                tried("CAP_NET_RAW", 7, "ok"),
                tried(BOTH, 7, "EPERM"),
                tried(BOTH, 6, "ok"),
                tried(BOTH, -1, "EPERM"),
            ],
        }
    }

    fn privilege_with(i: usize, result: &str) -> Privilege {
        let mut p = privilege_linux();
        p.attempts[i].result = result.into();
        p
    }

    #[rstest]
    #[case::linux(privilege_linux(), Verdict::Differs, &[])]
    // The page's world: CAP_NET_RAW alone is not enough.
    #[case::admin_only(privilege_with(1, "EPERM"), Verdict::Holds, &[])]
    #[case::unguarded(privilege_with(3, "ok"), Verdict::Refuted,
        &["SO_PRIORITY 7 without CAP_NET_ADMIN and CAP_NET_RAW"])]
    #[case::six_guarded(privilege_with(4, "EPERM"), Verdict::Differs,
        &["SO_PRIORITY 6 without CAP_NET_ADMIN and CAP_NET_RAW"])]
    #[case::negative_free(privilege_with(5, "ok"), Verdict::Differs,
        &["SO_PRIORITY -1 without CAP_NET_ADMIN and CAP_NET_RAW"])]
    #[case::raw_needed(privilege_with(2, "EPERM"), Verdict::Differs, &["SO_PRIORITY 7 without CAP_NET_RAW"])]
    // A plan that never tries a negative priority.
    #[case::no_negative(Privilege { attempts: privilege_linux().attempts[..5].to_vec() }, Verdict::Differs,
        &["priorities tried with neither capability"])]
    #[case::root_refused(privilege_with(0, "EPERM"), Verdict::Differs,
        &["SO_PRIORITY 7 with every capability"])]
    fn privilege_judgement(
        #[case] o: Privilege,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn privilege_words() {
        let j = privilege_linux().judge();
        assert_eq!("7 with CAP_NET_RAW only: ok; with neither: EPERM", j.key);
        assert_eq!(
            "7 with every capability: ok; 7 without CAP_NET_ADMIN: ok; 7 without CAP_NET_RAW: ok; 7 without \
             CAP_NET_ADMIN and CAP_NET_RAW: EPERM; 6 without CAP_NET_ADMIN and CAP_NET_RAW: ok; -1 without \
             CAP_NET_ADMIN and CAP_NET_RAW: EPERM",
            j.because
        );
        let none = Privilege {
            attempts: Vec::new(),
        }
        .judge();
        assert_eq!(
            "7 with CAP_NET_RAW only: none; with neither: none",
            none.key
        );
    }
}
