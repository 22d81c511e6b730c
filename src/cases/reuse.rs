//! SO_REUSEADDR and port reuse (004 §5.2).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::procnet;
use crate::lab::sock::result_name;
use crate::lab::{phase, wait, Family, Lab, Sock, TcpPair};
use crate::model::{Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&TIME_WAIT_REBIND];

pub static TIME_WAIT_REBIND: Case = Case {
    id: "reuseaddr.time_wait_rebind",
    source: Source::LectureNotes("5.2 SO_REUSEADDR"),
    claim: "a server restarted while its old connection sits in TIME_WAIT gets \"address in use\" unless \
            SO_REUSEADDR is set before bind()",
    expectation: "while the server port has a TIME_WAIT entry, bind() fails with EADDRINUSE without \
                  SO_REUSEADDR and succeeds with it, provided the socket now in TIME_WAIT had SO_REUSEADDR \
                  as well (otherwise EADDRINUSE either way); the rebound socket listens and accepts",
    run: |lab| time_wait_rebind(lab, Family::V4),
    deadline: DEFAULT_DEADLINE,
};

/// Leaves the server side of a connection in TIME_WAIT: the server closes
/// first (active close), then the client. `reuse` is the server's own
/// SO_REUSEADDR (its TIME_WAIT entry inherits it). Returns the port.
pub fn server_in_time_wait(family: Family, reuse: bool) -> Result<u16> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, reuse as i32)?),
        |_| Ok(()),
    )?;
    let port = pair.port()?;
    let TcpPair {
        client,
        server,
        listener,
    } = pair;
    drop(listener);
    let _ = server.close();
    let _ = client.read_to_end();
    let _ = client.close();
    phase("waiting for the server's TIME_WAIT entry");
    wait::until(
        "a TIME_WAIT entry on the server port",
        Duration::from_secs(5),
        || {
            Ok(procnet::states_on_port(port)?
                .contains(&"TIME_WAIT")
                .then_some(()))
        },
    )?;
    Ok(port)
}

/// A restart attempt: bind (and listen, and serve one client) on `port`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
struct Restart {
    old_server_reuseaddr: bool,
    new_server_reuseaddr: bool,
    time_wait_present: bool,
    bind: String,
    served_a_client: bool,
}

fn restart(family: Family, old_reuse: bool, new_reuse: bool) -> Result<Restart> {
    let port = server_in_time_wait(family, old_reuse)?;
    let addr = SocketAddr::new(family.loopback(), port);
    let s = Sock::tcp(family)?;
    if new_reuse {
        s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .context("SO_REUSEADDR")?;
    }
    let bind = s.bind(addr);
    let time_wait_present = procnet::states_on_port(port)?.contains(&"TIME_WAIT");
    // A client reaching the restarted server shows the bind is real.
    let served_a_client = bind.is_ok() && s.listen(4).is_ok() && {
        let c = Sock::tcp(family)?;
        c.connect(addr).is_ok() && s.accept().is_ok()
    };
    Ok(Restart {
        old_server_reuseaddr: old_reuse,
        new_server_reuseaddr: new_reuse,
        time_wait_present,
        bind: result_name(&bind),
        served_a_client,
    })
}

fn time_wait_rebind(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let mut runs = Vec::new();
    for (old, new) in [(true, false), (true, true), (false, true)] {
        runs.push(restart(family, old, new)?);
    }
    let [without, with, old_without] = [&runs[0], &runs[1], &runs[2]];

    let mut ev = Evidence::new();
    ev.observe("restarts", &runs);
    ev.expect_eq(
        "TIME_WAIT entry present at every rebind",
        vec![true; 3],
        runs.iter().map(|r| r.time_wait_present).collect::<Vec<_>>(),
    );
    ev.expect_eq(
        "rebind without SO_REUSEADDR",
        "EADDRINUSE",
        without.bind.as_str(),
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR (old server had it too)",
        "ok",
        with.bind.as_str(),
    );
    ev.expect_eq(
        "restarted server accepts a client",
        true,
        with.served_a_client,
    );
    ev.expect_eq(
        "rebind with SO_REUSEADDR when the old server lacked it",
        "EADDRINUSE",
        old_without.bind.as_str(),
    );

    let verdict = match (
        without.bind != "ok",
        with.bind == "ok",
        old_without.bind == "ok",
    ) {
        (true, true, true) => Verdict::Holds,
        (true, true, false) => Verdict::Differs,
        _ => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "server port in TIME_WAIT: new bind without SO_REUSEADDR -> {}, with -> {} (served a client: {}); \
         but when the old server had not set SO_REUSEADDR the new bind with it -> {}: on Linux the socket \
         in TIME_WAIT must have had the option too",
        without.bind, with.bind, with.served_a_client, old_without.bind));
    ev.key(format!(
        "without: {}, with: {}, with (old lacked it): {}",
        without.bind, with.bind, old_without.bind
    ));
    Ok(ev)
}
