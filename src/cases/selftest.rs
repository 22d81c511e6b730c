//! Cases that test the harness itself, registered only when
//! SOCKSPEC_SELFTEST=1: one that hangs (the watchdog must kill it and say what
//! it was waiting for), one that panics, and one that does nothing but enter its
//! namespace (the sandbox's own cost, for the benchmark).

use std::time::Duration;

use anyhow::Result;

use crate::lab::{phase, Capture, Lab};
use crate::model::{Case, Evidence, Legacy, Source, Verdict};

pub const SWITCH: &str = "SOCKSPEC_SELFTEST";

pub static CASES: &[&Case] = &[&HANG, &PANIC, &NOOP];

pub static HANG: Case = Case {
    id: "selftest.hang",
    source: Source::BlogPost,
    claim: "(harness self-test) a case that never finishes is stopped",
    expectation:
        "the watchdog kills it at its deadline and reports an error naming what it waited for",
    run: &Legacy(hang),
    deadline: Duration::from_secs(2),
    relies_on: &[],
};

pub static PANIC: Case = Case {
    id: "selftest.panic",
    source: Source::BlogPost,
    claim: "(harness self-test) a case that panics is reported, not fatal",
    expectation: "the run goes on and reports this case as an error",
    run: &Legacy(|_| panic!("deliberate panic inside a case")),
    deadline: Duration::from_secs(5),
    relies_on: &[],
};

pub static NOOP: Case = Case {
    id: "selftest.noop",
    source: Source::BlogPost,
    claim: "(harness self-test) entering a fresh namespace costs little",
    expectation: "the case process enters its namespace, brings lo up and returns",
    run: &Legacy(noop),
    deadline: Duration::from_secs(5),
    relies_on: &[],
};

fn hang(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    phase("waiting for a packet nobody sends (deliberate hang)");
    cap.wait_for("a packet nobody sends", Duration::from_secs(3600), |_| {
        false
    })?;
    Ok(Evidence::new())
}

fn noop(lab: &mut Lab) -> Result<Evidence> {
    let mut ev = Evidence::new();
    ev.expect(
        "in a fresh namespace",
        true,
        "entered",
        format!("{:?}", lab.privilege),
    );
    ev.verdict(Verdict::Holds, "entered a fresh network namespace");
    Ok(ev)
}
