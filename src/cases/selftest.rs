//! Cases that test the harness itself, registered only when
//! SOCKSPEC_SELFTEST=1: one that hangs (the watchdog must kill it and say what
//! it was waiting for), one that panics, one that fails with a capture (its
//! pcap must be written safely), and one that does nothing but enter its
//! namespace (the sandbox's own cost, for the benchmark).

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::lab::{phase, Capture, Family, Lab, Privilege, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict};

pub const SWITCH: &str = "SOCKSPEC_SELFTEST";

pub static CASES: &[&Case] = &[&HANG, &PANIC, &FAIL, &NOOP];

pub static HANG: Case = Case {
    id: "selftest.hang",
    source: Source::BlogPost,
    claim: "(harness self-test) a case that never finishes is stopped",
    expectation:
        "the watchdog kills it at its deadline and reports an error naming what it waited for",
    run: &Measure(hang),
    deadline: Duration::from_secs(2),
    relies_on: &[],
};

pub static PANIC: Case = Case {
    id: "selftest.panic",
    source: Source::BlogPost,
    claim: "(harness self-test) a case that panics is reported, not fatal",
    expectation: "the run goes on and reports this case as an error",
    run: &Measure::<Entered>(|_| panic!("deliberate panic inside a case")),
    deadline: Duration::from_secs(5),
    relies_on: &[],
};

pub static FAIL: Case = Case {
    id: "selftest.fail",
    source: Source::BlogPost,
    claim: "(harness self-test) a case whose check fails keeps its capture",
    expectation: "it sends one datagram on lo and fails a check on purpose; its pcap is written",
    run: &Measure(fail),
    deadline: Duration::from_secs(5),
    relies_on: &[],
};

pub static NOOP: Case = Case {
    id: "selftest.noop",
    source: Source::BlogPost,
    claim: "(harness self-test) entering a fresh namespace costs little",
    expectation: "the case process enters its namespace, brings lo up and returns",
    run: &Measure(noop),
    deadline: Duration::from_secs(5),
    relies_on: &[],
};

/// The case ran, in a namespace obtained this way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entered {
    pub privilege: Privilege,
    /// Datagrams the case sent (and captured).
    pub sent: usize,
}

impl Observation for Entered {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        // selftest.fail sends one datagram and must fail: no datagram is expected.
        j.expect_eq("datagrams sent", &0, &self.sent);
        j.verdict(Verdict::Holds, "entered a fresh network namespace");
        j
    }
}

fn hang(_lab: &mut Lab) -> Result<Entered> {
    let mut cap = Capture::start("lo")?;
    phase("waiting for a packet nobody sends (deliberate hang)");
    cap.wait_for("a packet nobody sends", Duration::from_secs(3600), |_| {
        false
    })?;
    anyhow::bail!("a packet nobody sends arrived")
}

fn noop(lab: &mut Lab) -> Result<Entered> {
    Ok(Entered {
        privilege: lab.privilege,
        sent: 0,
    })
}

fn fail(lab: &mut Lab) -> Result<Entered> {
    let mut cap = Capture::start("lo")?;
    let s = Sock::udp(Family::V4)?;
    let to = std::net::SocketAddr::new(Family::V4.loopback(), 9);
    s.send_to(b"selftest", 0, to)?;
    cap.wait_for("the datagram", Duration::from_secs(2), |f| f.len > 0)?;
    Ok(Entered {
        privilege: lab.privilege,
        sent: 1,
    })
}
