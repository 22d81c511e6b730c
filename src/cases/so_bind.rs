//! socket(7) on the options that relax bind(2)'s address rules: SO_REUSEADDR
//! (a port may be bound again unless a socket listens on it) and
//! SO_REUSEPORT (sockets that all set it share one address, and the kernel
//! spreads connections and datagrams over them).
//!
//! Judged by bind()'s errno and by where connections and datagrams land.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::sock::result_name;
use crate::lab::{diag, opt, phase, procnet, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&REUSEADDR, &REUSEPORT];

pub static REUSEADDR: Case = Case {
    id: "so_reuseaddr.bind_rules",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_REUSEADDR"),
    claim: "with SO_REUSEADDR, a TCP socket may bind a local address already in use unless a socket listens on \
            it; a listener on INADDR_ANY and a port keeps every local address with that port",
    expectation: "with SO_REUSEADDR on both sockets: bind() fails with EADDRINUSE next to a listener on the same \
                  address and next to a listener on 0.0.0.0 and the port; it succeeds next to a socket only bound \
                  and on a port held by a TIME_WAIT connection. Without the option the last two fail with \
                  EADDRINUSE",
    run: &Measure(reuseaddr),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEADDR],
};

pub static REUSEPORT: Case = Case {
    id: "so_reuseport.shared_port",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_REUSEPORT"),
    claim: "SO_REUSEPORT lets several TCP or UDP sockets bind the same address if every one of them, the first \
            included, set it before bind(); incoming connections and datagrams are spread over them",
    expectation: "two TCP listeners and two UDP sockets with SO_REUSEPORT bind one address each; bind() fails \
                  with EADDRINUSE when the first or the second socket lacks the option; 32 connections from 32 \
                  ports reach both listeners, and 32 datagrams from 32 ports reach both UDP sockets",
    run: &Measure(reuseport),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_REUSEPORT],
};

fn tcp_with(reuse: Option<i32>) -> Result<Sock> {
    let s = Sock::tcp(Family::V4)?;
    if let Some(o) = reuse {
        s.set_int(libc::SOL_SOCKET, o, 1)
            .with_context(|| format!("setsockopt({o})"))?;
    }
    Ok(s)
}

fn bind_name(s: &Sock, addr: SocketAddr) -> String {
    result_name(&s.bind(addr))
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(Family::V4.loopback(), port)
}

// ---------------------------------------------------------------------------
// so_reuseaddr.bind_rules

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReuseAddr {
    /// bind() beside a listener on the same address.
    pub beside_listener: String,
    /// bind() of 127.0.0.1:P beside a listener on 0.0.0.0:P.
    pub beside_any_listener: String,
    /// bind() beside a socket only bound, with and without the option.
    pub beside_bound: String,
    pub beside_bound_without: String,
    /// bind() of a port whose connection is in TIME_WAIT, with and without.
    pub time_wait: String,
    pub time_wait_without: String,
}

const REUSE: Option<i32> = Some(libc::SO_REUSEADDR);

/// A port held only by a TIME_WAIT connection: the listener closed, the
/// server end closed first (so it waits), the client's close completing it.
fn time_wait_port() -> Result<u16> {
    let pair = TcpPair::connect_with(
        loopback(0),
        |l| {
            l.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
                .context("SO_REUSEADDR on the listener")
        },
        |_| Ok(()),
    )?;
    let port = pair.port()?;
    let (server_addr, client_addr) = (pair.server.local_addr()?, pair.client.local_addr()?);
    let TcpPair {
        client,
        server,
        listener,
    } = pair;
    drop(listener);
    server.close();
    client.close();
    wait::until(
        "the server end in TIME_WAIT",
        Duration::from_secs(2),
        || {
            let state = diag::tcp(server_addr, client_addr)?.map(|d| d.state);
            Ok((state == Some(procnet::TIME_WAIT)).then_some(()))
        },
    )?;
    Ok(port)
}

fn reuseaddr(_lab: &mut Lab) -> Result<ReuseAddr> {
    phase("bind() beside listeners, a bound socket and a TIME_WAIT connection");
    let listener = tcp_with(REUSE)?;
    listener.bind(loopback(0)).context("bind listener")?;
    listener.listen(1).context("listen")?;
    let at = listener.local_addr()?;
    let beside_listener = bind_name(&tcp_with(REUSE)?, at);

    let any = tcp_with(REUSE)?;
    any.bind(SocketAddr::new(Family::V4.any(), 0))
        .context("bind 0.0.0.0")?;
    any.listen(1).context("listen on 0.0.0.0")?;
    let beside_any_listener = bind_name(&tcp_with(REUSE)?, loopback(any.local_addr()?.port()));

    let bound = tcp_with(REUSE)?;
    bound.bind(loopback(0)).context("bind only")?;
    let beside_bound = bind_name(&tcp_with(REUSE)?, bound.local_addr()?);
    let plain = tcp_with(None)?;
    plain.bind(loopback(0)).context("bind only, no option")?;
    let beside_bound_without = bind_name(&tcp_with(None)?, plain.local_addr()?);

    let port = time_wait_port()?;
    let time_wait_without = bind_name(&tcp_with(None)?, loopback(port));
    let time_wait = bind_name(&tcp_with(REUSE)?, loopback(port));
    Ok(ReuseAddr {
        beside_listener,
        beside_any_listener,
        beside_bound,
        beside_bound_without,
        time_wait,
        time_wait_without,
    })
}

impl Observation for ReuseAddr {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let rows = [
            (
                "beside a listener on the same address",
                "EADDRINUSE",
                &self.beside_listener,
            ),
            (
                "127.0.0.1:P beside a listener on 0.0.0.0:P",
                "EADDRINUSE",
                &self.beside_any_listener,
            ),
            ("beside a socket only bound", "ok", &self.beside_bound),
            (
                "beside a socket only bound, without the option",
                "EADDRINUSE",
                &self.beside_bound_without,
            ),
            ("a port held by TIME_WAIT", "ok", &self.time_wait),
            (
                "a port held by TIME_WAIT, without the option",
                "EADDRINUSE",
                &self.time_wait_without,
            ),
        ];
        for (what, expected, got) in rows {
            j.expect_eq(&format!("bind() {what}"), expected, got.as_str());
        }
        let listeners_keep =
            self.beside_listener == "EADDRINUSE" && self.beside_any_listener == "EADDRINUSE";
        let reuse_allowed = self.beside_bound == "ok" && self.time_wait == "ok";
        let verdict = match (listeners_keep, reuse_allowed) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        j.verdict(
            verdict,
            format!(
                "with SO_REUSEADDR, bind() beside a listener: {}, beside a listener on 0.0.0.0: {}, beside a \
                 bound socket: {}, on a TIME_WAIT port: {}; without it: {} and {}",
                self.beside_listener,
                self.beside_any_listener,
                self.beside_bound,
                self.time_wait,
                self.beside_bound_without,
                self.time_wait_without
            ),
        );
        j.key(format!(
            "listener {}, any {}, bound {}, TIME_WAIT {} (without: {})",
            self.beside_listener,
            self.beside_any_listener,
            self.beside_bound,
            self.time_wait,
            self.time_wait_without
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_reuseport.shared_port

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReusePort {
    /// bind() of a second TCP socket, both with the option.
    pub tcp_second: String,
    /// bind() of a second UDP socket, both with the option.
    pub udp_second: String,
    /// bind() with the option beside a first socket without it.
    pub first_without: String,
    /// bind() without the option beside a first socket with it.
    pub second_without: String,
    /// Connections accepted by each listener, datagrams read by each UDP socket.
    pub accepted: [usize; 2],
    pub received: [usize; 2],
}

/// Connections and datagrams sent, each from its own port.
const SPREAD: usize = 32;

fn pair_with(kind: fn(Family) -> Result<Sock>, opts: [bool; 2]) -> Result<(Sock, Sock, String)> {
    let socks: Vec<Sock> = opts
        .iter()
        .map(|&on| -> Result<Sock> {
            let s = kind(Family::V4)?;
            if on {
                s.set_int(libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)
                    .context("SO_REUSEPORT")?;
            }
            Ok(s)
        })
        .collect::<Result<_>>()?;
    let mut socks = socks.into_iter();
    let (Some(first), Some(second)) = (socks.next(), socks.next()) else {
        anyhow::bail!("two sockets");
    };
    first.bind(loopback(0)).context("bind the first socket")?;
    let second_bind = bind_name(&second, first.local_addr()?);
    Ok((first, second, second_bind))
}

/// Drains what `f` can take from each of `socks` without blocking until
/// `total` items are counted.
fn count_until(what: &str, socks: &[Sock; 2], f: fn(&Sock) -> bool) -> Result<[usize; 2]> {
    let mut counts = [0usize; 2];
    wait::until(what, Duration::from_secs(2), || {
        for (i, s) in socks.iter().enumerate() {
            while f(s) {
                counts[i] += 1;
            }
        }
        Ok((counts.iter().sum::<usize>() >= SPREAD).then_some(()))
    })?;
    Ok(counts)
}

fn reuseport(_lab: &mut Lab) -> Result<ReusePort> {
    phase("binding pairs of sockets with and without SO_REUSEPORT");
    let (_a, _b, first_without) = pair_with(Sock::tcp, [false, true])?;
    let (_c, _d, second_without) = pair_with(Sock::tcp, [true, false])?;
    let (l1, l2, tcp_second) = pair_with(Sock::tcp, [true, true])?;
    let (u1, u2, udp_second) = pair_with(Sock::udp, [true, true])?;
    let listeners = [l1, l2];
    let udp = [u1, u2];
    let mut accepted = [0; 2];
    let mut received = [0; 2];
    if tcp_second == "ok" {
        for l in &listeners {
            l.listen(SPREAD as i32).context("listen")?;
            l.set_nonblocking(true).context("non-blocking listener")?;
        }
        phase("32 connections to the shared port");
        let to = listeners[0].local_addr()?;
        let clients: Vec<Sock> = (0..SPREAD)
            .map(|_| -> Result<Sock> {
                let c = Sock::tcp(Family::V4)?;
                c.connect(to).context("connect to the shared port")?;
                Ok(c)
            })
            .collect::<Result<_>>()?;
        accepted = count_until("32 connections accepted", &listeners, |l| {
            l.accept().is_ok()
        })?;
        drop(clients);
    }
    if udp_second == "ok" {
        for s in &udp {
            s.set_nonblocking(true).context("non-blocking UDP")?;
        }
        phase("32 datagrams to the shared port");
        let to = udp[0].local_addr()?;
        for _ in 0..SPREAD {
            let tx = Sock::udp(Family::V4)?;
            tx.send_to(b"which one?", 0, to)
                .context("send to the shared port")?;
        }
        received = count_until("32 datagrams read", &udp, |s| {
            s.recv(&mut [0u8; 64], 0).is_ok()
        })?;
    }
    Ok(ReusePort {
        tcp_second,
        udp_second,
        first_without,
        second_without,
        accepted,
        received,
    })
}

impl Observation for ReusePort {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "bind() of a second TCP socket, both with the option",
            "ok",
            self.tcp_second.as_str(),
        );
        j.expect_eq(
            "bind() of a second UDP socket, both with the option",
            "ok",
            self.udp_second.as_str(),
        );
        j.expect_eq(
            "bind() with the option beside a first socket without it",
            "EADDRINUSE",
            self.first_without.as_str(),
        );
        j.expect_eq(
            "bind() without the option beside a first socket with it",
            "EADDRINUSE",
            self.second_without.as_str(),
        );
        let both = |c: &[usize; 2]| c.iter().all(|&n| n > 0) && c.iter().sum::<usize>() == SPREAD;
        j.expect(
            "32 connections reach both listeners",
            both(&self.accepted),
            "some at each, 32 in all",
            self.accepted.show(),
        );
        j.expect(
            "32 datagrams reach both UDP sockets",
            both(&self.received),
            "some at each, 32 in all",
            self.received.show(),
        );
        let shared = self.tcp_second == "ok" && self.udp_second == "ok";
        let every_socket =
            self.first_without == "EADDRINUSE" && self.second_without == "EADDRINUSE";
        let spread = both(&self.accepted) && both(&self.received);
        let verdict = match (shared, every_socket && spread) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "second bind() with SO_REUSEPORT on both: TCP {}, UDP {}; first socket without it: {}, second \
                 without it: {}; {} connections accepted per listener {}, datagrams per socket {}",
                self.tcp_second,
                self.udp_second,
                self.first_without,
                self.second_without,
                SPREAD,
                self.accepted.show(),
                self.received.show()
            ),
        );
        j.key(format!(
            "shared: TCP {}, UDP {}; one without: {}/{}; spread {} {}",
            self.tcp_second,
            self.udp_second,
            self.first_without,
            self.second_without,
            self.accepted.show(),
            self.received.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    const IN_USE: &str = "EADDRINUSE";

    /// This kernel, from a run.
    fn addr_linux() -> ReuseAddr {
        ReuseAddr {
            beside_listener: IN_USE.into(),
            beside_any_listener: IN_USE.into(),
            beside_bound: "ok".into(),
            beside_bound_without: IN_USE.into(),
            time_wait: "ok".into(),
            time_wait_without: IN_USE.into(),
        }
    }

    const LISTENER: &str = "bind() beside a listener on the same address";
    const ANY: &str = "bind() 127.0.0.1:P beside a listener on 0.0.0.0:P";
    const BOUND: &str = "bind() beside a socket only bound";
    const BOUND_WITHOUT: &str = "bind() beside a socket only bound, without the option";
    const TW: &str = "bind() a port held by TIME_WAIT";
    const TW_WITHOUT: &str = "bind() a port held by TIME_WAIT, without the option";

    #[rstest]
    #[case::linux(addr_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: every reuse fails.
    #[case::ignored(ReuseAddr { beside_bound: IN_USE.into(), time_wait: IN_USE.into(), ..addr_linux() },
        Verdict::Differs, &[BOUND, TW])]
    // BSD-style: SO_REUSEADDR lets a specific address sit beside a wildcard listener.
    #[case::bsd(ReuseAddr { beside_any_listener: "ok".into(), ..addr_linux() }, Verdict::Differs, &[ANY])]
    // Windows-style: the option lets a socket steal a listener's address.
    #[case::steal(ReuseAddr { beside_listener: "ok".into(), beside_any_listener: "ok".into(),
        beside_bound: IN_USE.into(), time_wait: IN_USE.into(), ..addr_linux() }, Verdict::Refuted,
        &[LISTENER, ANY, BOUND, TW])]
    #[case::bound_needs_nothing(ReuseAddr { beside_bound_without: "ok".into(), ..addr_linux() }, Verdict::Holds,
        &[BOUND_WITHOUT])]
    #[case::tw_needs_nothing(ReuseAddr { time_wait_without: "ok".into(), ..addr_linux() }, Verdict::Holds,
        &[TW_WITHOUT])]
    #[case::tw_refused(ReuseAddr { time_wait: IN_USE.into(), ..addr_linux() }, Verdict::Differs, &[TW])]
    fn reuseaddr_judgement(
        #[case] o: ReuseAddr,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn reuseaddr_words() {
        let j = addr_linux().judge();
        assert_eq!(
            "listener EADDRINUSE, any EADDRINUSE, bound ok, TIME_WAIT ok (without: EADDRINUSE)",
            j.key
        );
        assert_eq!(
            "with SO_REUSEADDR, bind() beside a listener: EADDRINUSE, beside a listener on 0.0.0.0: EADDRINUSE, \
             beside a bound socket: ok, on a TIME_WAIT port: ok; without it: EADDRINUSE and EADDRINUSE",
            j.because
        );
    }

    fn port_linux() -> ReusePort {
        ReusePort {
            tcp_second: "ok".into(),
            udp_second: "ok".into(),
            first_without: IN_USE.into(),
            second_without: IN_USE.into(),
            accepted: [16, 16],
            received: [13, 19],
        }
    }

    const TCP: &str = "bind() of a second TCP socket, both with the option";
    const UDP: &str = "bind() of a second UDP socket, both with the option";
    const FIRST: &str = "bind() with the option beside a first socket without it";
    const SECOND: &str = "bind() without the option beside a first socket with it";
    const CONNS: &str = "32 connections reach both listeners";
    const DGRAMS: &str = "32 datagrams reach both UDP sockets";

    #[rstest]
    #[case::linux(port_linux(), Verdict::Holds, &[])]
    // A libc that ignores the option: no second bind, nothing to spread.
    #[case::ignored(ReusePort { tcp_second: IN_USE.into(), udp_second: IN_USE.into(), accepted: [0, 0],
        received: [0, 0], ..port_linux() }, Verdict::Refuted, &[TCP, UDP, CONNS, DGRAMS])]
    #[case::udp_only(ReusePort { tcp_second: IN_USE.into(), accepted: [0, 0], ..port_linux() }, Verdict::Refuted,
        &[TCP, CONNS])]
    // The first socket need not set it.
    #[case::first_free(ReusePort { first_without: "ok".into(), ..port_linux() }, Verdict::Differs, &[FIRST])]
    #[case::second_free(ReusePort { second_without: "ok".into(), ..port_linux() }, Verdict::Differs, &[SECOND])]
    // Shared, but the last socket bound takes everything (BSD's SO_REUSEPORT).
    #[case::last_takes_all(ReusePort { accepted: [0, 32], received: [0, 32], ..port_linux() }, Verdict::Differs,
        &[CONNS, DGRAMS])]
    #[case::one_each(ReusePort { accepted: [1, 31], received: [31, 1], ..port_linux() }, Verdict::Holds, &[])]
    #[case::lost(ReusePort { received: [15, 16], ..port_linux() }, Verdict::Differs, &[DGRAMS])]
    #[case::conns_lost(ReusePort { accepted: [15, 16], ..port_linux() }, Verdict::Differs, &[CONNS])]
    fn reuseport_judgement(
        #[case] o: ReusePort,
        #[case] verdict: Verdict,
        #[case] failed: &[&str],
    ) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn reuseport_words() {
        let j = port_linux().judge();
        assert_eq!(
            "shared: TCP ok, UDP ok; one without: EADDRINUSE/EADDRINUSE; spread [16, 16] [13, 19]",
            j.key
        );
    }
}
