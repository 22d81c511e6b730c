//! socket(7) on SO_SELECT_ERR_QUEUE: with it, an error on the socket (here
//! an ICMP port unreachable queued on a UDP socket's error queue by
//! IP_RECVERR) is reported in select()'s exceptfds and as POLLPRI beside
//! POLLERR; the page adds that since Linux 4.16 the option is no longer
//! needed for that.
//!
//! Each socket is watched twice: by a select() and a poll() already asleep
//! when the error comes (does the error wake them?), and by a select() and a
//! poll() made after it is queued (what do they report?).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::readiness::{self, poll_names, Sets};
use crate::lab::{msg, opt, phase, wait, Family, Lab, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&SELECT_ERR_QUEUE];

pub static SELECT_ERR_QUEUE: Case = Case {
    id: "so_select_err_queue.exceptfds",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SELECT_ERR_QUEUE"),
    claim: "with SO_SELECT_ERR_QUEUE set, an error on the socket is also reported in select()'s exceptfds, and \
            poll() reports POLLPRI whenever it reports POLLERR; since Linux 4.16 the option is no longer needed \
            for this",
    expectation: "UDP sockets with IP_RECVERR get an ICMP port unreachable on their error queue. With the \
                  option: select() reports the socket readable and exceptional, poll() POLLPRI|POLLERR, and a \
                  poll() for POLLPRI asleep when the error comes wakes at once; a select() asleep on exceptfds \
                  only is not woken (the wake-up names POLLERR only) and sees the error when its own 200 ms run \
                  out. Without it: readable only, POLLERR only, and a select() on exceptfds sees nothing",
    run: &Measure(select_err_queue),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SELECT_ERR_QUEUE, opt::IP_RECVERR],
};

/// How long the sleeping select() waits: it is not woken, so it runs this out.
const WAIT: Duration = Duration::from_millis(200);

/// How long the sleeping poll() would wait: it is woken, so a long timeout
/// costs nothing and tells a wake-up from a run-out on a loaded machine.
const POLL_WAIT: Duration = Duration::from_secs(2);

/// A select() or poll() and when it returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Woke {
    /// What it reported: select's sets or poll's revents, by name.
    pub reported: String,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

impl Show for Woke {
    fn show(&self) -> String {
        format!("{} after {}", self.reported, self.took.show())
    }
}

/// One socket's view of the queued error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Watched {
    /// select() on exceptfds only, asleep when the error came.
    pub sleeping_select: Woke,
    /// poll() for POLLPRI only, asleep when the error came.
    pub sleeping_poll: Woke,
    /// select() on readfds and exceptfds once the error is queued.
    pub select: Sets,
    /// poll() for POLLIN|POLLPRI once the error is queued.
    pub poll: String,
    /// errno of the error-queue entry read afterwards (MSG_ERRQUEUE).
    pub queued: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectErrQueue {
    #[serde(with = "crate::model::millis")]
    pub wait: Duration,
    pub on: Watched,
    pub off: Watched,
}

fn timed(f: impl FnOnce() -> Result<String>) -> Result<Woke> {
    let t = Instant::now();
    let reported = f()?;
    Ok(Woke {
        reported,
        took: t.elapsed(),
    })
}

/// Is thread `tid` asleep in select() (glibc may use pselect6) or poll()?
fn asleep(tid: i32, calls: &[libc::c_long]) -> Result<bool> {
    for &nr in calls {
        if wait::blocked_in(tid, nr)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A UDP socket with IP_RECVERR (and SO_SELECT_ERR_QUEUE if `select_err`)
/// connected to a loopback port nobody listens on; the error its datagram
/// brings back, watched.
fn watch_once(select_err: bool) -> Result<Option<Watched>> {
    let s = Sock::udp(Family::V4)?;
    s.set_int(libc::IPPROTO_IP, libc::IP_RECVERR, 1)
        .context("IP_RECVERR")?;
    if select_err {
        s.set_int(libc::SOL_SOCKET, libc::SO_SELECT_ERR_QUEUE, 1)
            .context("SO_SELECT_ERR_QUEUE")?;
    }
    // A port that was just free: nobody listens there after the close.
    let gone = Sock::udp(Family::V4)?;
    gone.bind(SocketAddr::new(Family::V4.loopback(), 0))
        .context("bind the soon-closed port")?;
    let to = gone.local_addr()?;
    drop(gone);
    s.connect(to).context("connect to the closed port")?;
    let fd = s.as_raw_fd();
    let slept = std::thread::scope(|sc| -> Result<_> {
        let (sel, sel_tid) = wait::spawn_with_tid(sc, move || {
            let w = timed(|| Ok(readiness::select(fd, Sets::EXCEPT, WAIT)?.show()))?;
            anyhow::Ok((w, Instant::now()))
        })?;
        let (pol, pol_tid) = wait::spawn_with_tid(sc, move || {
            let w = timed(|| Ok(poll_names(readiness::poll(fd, libc::POLLPRI, POLL_WAIT)?)))?;
            anyhow::Ok((w, Instant::now()))
        })?;
        // Both asleep, or one already gone: a loaded machine may run a
        // sleeper out before the other has even started.
        let both = wait::until("select() and poll() asleep", Duration::from_secs(2), || {
            if sel.is_finished() || pol.is_finished() {
                return Ok(Some(false));
            }
            let select_asleep = asleep(sel_tid, &[libc::SYS_select, libc::SYS_pselect6])?;
            let poll_asleep = asleep(pol_tid, &[libc::SYS_poll, libc::SYS_ppoll])?;
            Ok((select_asleep && poll_asleep).then_some(true))
        })?;
        if !both {
            return Ok(None);
        }
        phase("a datagram to the closed port; its ICMP error is queued");
        s.send(b"anyone?", 0).context("send to the closed port")?;
        let sel = sel
            .join()
            .map_err(|_| anyhow!("the select thread panicked"))??;
        let pol = pol
            .join()
            .map_err(|_| anyhow!("the poll thread panicked"))??;
        // The poll() wakes when the error comes. A select() that saw nothing
        // and returned before that ran out before the error came (an
        // emulated machine took longer than its 200 ms once): it slept
        // through nothing, and the round is not a measurement.
        let (sel, sel_end) = sel;
        let (pol, pol_end) = pol;
        if sel.reported == "none" && sel_end < pol_end {
            return Ok(None);
        }
        Ok(Some((sel, pol)))
    })?;
    let Some((sleeping_select, sleeping_poll)) = slept else {
        return Ok(None);
    };
    // POLLERR is reported whatever is asked for: wait for the error itself.
    wait::ready(fd, nix::poll::PollFlags::POLLERR, Duration::from_secs(2))?;
    let select = readiness::select(
        fd,
        Sets {
            read: true,
            write: false,
            except: true,
        },
        Duration::ZERO,
    )?;
    let poll = poll_names(readiness::poll(
        fd,
        libc::POLLIN | libc::POLLPRI,
        Duration::ZERO,
    )?);
    let queued = match msg::recv(&s, 64, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) {
        Ok(r) => r
            .cmsgs
            .iter()
            .find_map(|c| c.extended_err())
            .map_or("no extended error".into(), |e| {
                crate::lab::sock::errno_name(&std::io::Error::from_raw_os_error(e.errno))
            }),
        Err(e) => crate::lab::sock::errno_name(&e),
    };
    Ok(Some(Watched {
        sleeping_select,
        sleeping_poll,
        select,
        poll,
        queued,
    }))
}

/// `watch_once` until the error came while both sleepers slept.
fn watch(select_err: bool) -> Result<Watched> {
    for _ in 0..5 {
        if let Some(w) = watch_once(select_err)? {
            return Ok(w);
        }
    }
    anyhow::bail!(
        "five times a sleeping select() or poll() ran out before the other was asleep, or the select() before \
         the error came"
    )
}

fn select_err_queue(_lab: &mut Lab) -> Result<SelectErrQueue> {
    Ok(SelectErrQueue {
        wait: WAIT,
        on: watch(true)?,
        off: watch(false)?,
    })
}

/// A poll() woken by the error returns well before its own 2 s.
const AT_ONCE: Duration = Duration::from_secs(1);

/// A sleeper that ran out its timeout returns no earlier than a jiffy before it.
fn ran_out(w: &Woke, wait: Duration) -> bool {
    w.took >= wait.saturating_sub(Duration::from_millis(10))
}

const READ_EXCEPT: Sets = Sets {
    read: true,
    write: false,
    except: true,
};

impl Observation for SelectErrQueue {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let (on, off) = (&self.on, &self.off);
        for (what, w) in [("with the option", on), ("without it", off)] {
            j.expect_eq(
                &format!("{what}: the error-queue entry"),
                "ECONNREFUSED",
                w.queued.as_str(),
            );
        }
        j.expect_eq(
            "with the option: select() once the error is queued",
            &READ_EXCEPT,
            &on.select,
        );
        j.expect_eq(
            "with the option: poll(POLLIN|POLLPRI)",
            "POLLPRI|POLLERR",
            on.poll.as_str(),
        );
        j.expect(
            "with the option: a sleeping poll(POLLPRI) wakes",
            on.sleeping_poll.reported == "POLLPRI|POLLERR" && on.sleeping_poll.took < AT_ONCE,
            format!("POLLPRI|POLLERR in < {}", AT_ONCE.show()),
            on.sleeping_poll.show(),
        );
        j.expect(
            "with the option: a sleeping select() on exceptfds only",
            on.sleeping_select.reported == "exceptional" && ran_out(&on.sleeping_select, self.wait),
            format!("exceptional, not woken: after {}", self.wait.show()),
            on.sleeping_select.show(),
        );
        j.expect_eq(
            "without it: select() once the error is queued",
            &Sets::READ,
            &off.select,
        );
        j.expect_eq(
            "without it: poll(POLLIN|POLLPRI)",
            "POLLERR",
            off.poll.as_str(),
        );
        j.expect(
            "without it: a sleeping poll(POLLPRI) wakes",
            off.sleeping_poll.reported == "POLLERR" && off.sleeping_poll.took < AT_ONCE,
            format!("POLLERR in < {}", AT_ONCE.show()),
            off.sleeping_poll.show(),
        );
        j.expect(
            "without it: a sleeping select() on exceptfds only",
            off.sleeping_select.reported == "none" && ran_out(&off.sleeping_select, self.wait),
            format!("none after {}", self.wait.show()),
            off.sleeping_select.show(),
        );
        let reported =
            on.select.except && on.poll.contains("POLLPRI") && on.poll.contains("POLLERR");
        let woken = on.sleeping_select.reported == "exceptional"
            && !ran_out(&on.sleeping_select, self.wait);
        let not_needed = off.select.except;
        let verdict = match (reported, woken && not_needed) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "an ICMP error queued on a UDP socket; with SO_SELECT_ERR_QUEUE select() reports {}, poll() {}, a \
                 select() asleep on exceptfds returned {}, a poll() asleep for POLLPRI {}; without it select() \
                 reports {}, poll() {}, the sleeping select() {}",
                on.select.show(),
                on.poll,
                on.sleeping_select.show(),
                on.sleeping_poll.show(),
                off.select.show(),
                off.poll,
                off.sleeping_select.show()
            ),
        );
        j.key(format!(
            "on: {}, {}, sleeping select {}; off: {}, {}",
            on.select.show(),
            on.poll,
            on.sleeping_select.show(),
            off.select.show(),
            off.poll
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn woke(reported: &str, ms: u64) -> Woke {
        Woke {
            reported: reported.into(),
            took: Duration::from_millis(ms),
        }
    }

    fn on_linux() -> Watched {
        Watched {
            sleeping_select: woke("exceptional", 200),
            sleeping_poll: woke("POLLPRI|POLLERR", 0),
            select: READ_EXCEPT,
            poll: "POLLPRI|POLLERR".into(),
            queued: "ECONNREFUSED".into(),
        }
    }

    fn off_linux() -> Watched {
        Watched {
            sleeping_select: woke("none", 203),
            sleeping_poll: woke("POLLERR", 0),
            select: Sets::READ,
            poll: "POLLERR".into(),
            queued: "ECONNREFUSED".into(),
        }
    }

    /// This kernel, from a run.
    fn linux() -> SelectErrQueue {
        SelectErrQueue {
            wait: WAIT,
            on: on_linux(),
            off: off_linux(),
        }
    }

    /// The page's world: the error wakes a select() on exceptfds, and needs
    /// no option for it since 4.16.
    fn page() -> SelectErrQueue {
        SelectErrQueue {
            on: Watched {
                sleeping_select: woke("exceptional", 0),
                ..on_linux()
            },
            off: Watched {
                sleeping_select: woke("exceptional", 0),
                select: READ_EXCEPT,
                ..off_linux()
            },
            ..linux()
        }
    }

    const ON_QUEUED: &str = "with the option: the error-queue entry";
    const OFF_QUEUED: &str = "without it: the error-queue entry";
    const ON_SELECT: &str = "with the option: select() once the error is queued";
    const ON_POLL: &str = "with the option: poll(POLLIN|POLLPRI)";
    const ON_SLEEP_POLL: &str = "with the option: a sleeping poll(POLLPRI) wakes";
    const ON_SLEEP_SELECT: &str = "with the option: a sleeping select() on exceptfds only";
    const OFF_SELECT: &str = "without it: select() once the error is queued";
    const OFF_POLL: &str = "without it: poll(POLLIN|POLLPRI)";
    const OFF_SLEEP_POLL: &str = "without it: a sleeping poll(POLLPRI) wakes";
    const OFF_SLEEP_SELECT: &str = "without it: a sleeping select() on exceptfds only";

    fn with_on(f: impl FnOnce(&mut Watched)) -> SelectErrQueue {
        let mut o = linux();
        f(&mut o.on);
        o
    }

    fn with_off(f: impl FnOnce(&mut Watched)) -> SelectErrQueue {
        let mut o = linux();
        f(&mut o.off);
        o
    }

    #[rstest]
    #[case::linux(linux(), Verdict::Differs, &[])]
    #[case::page(page(), Verdict::Holds, &[ON_SLEEP_SELECT, OFF_SELECT, OFF_SLEEP_SELECT])]
    // Needed no more, but still not waking a sleeper.
    #[case::page_not_woken(SelectErrQueue { on: on_linux(), ..page() }, Verdict::Differs, &[OFF_SELECT,
        OFF_SLEEP_SELECT])]
    // A libc that ignores the option: both sockets behave as without it.
    #[case::ignored(SelectErrQueue { on: off_linux(), ..linux() }, Verdict::Refuted,
        &[ON_SELECT, ON_POLL, ON_SLEEP_POLL, ON_SLEEP_SELECT])]
    // IP_RECVERR ignored: no queue entry (the error still reaches sk_err).
    #[case::no_recverr(with_on(|w| w.queued = "EAGAIN".into()), Verdict::Differs, &[ON_QUEUED])]
    #[case::no_recverr_off(with_off(|w| w.queued = "EAGAIN".into()), Verdict::Differs, &[OFF_QUEUED])]
    // Woken at once but only 4.16's note fails: still a qualification.
    #[case::woken(with_on(|w| w.sleeping_select = woke("exceptional", 1)), Verdict::Differs, &[ON_SLEEP_SELECT])]
    #[case::woken_late(with_on(|w| w.sleeping_select = woke("exceptional", 100)), Verdict::Differs, &[ON_SLEEP_SELECT])]
    #[case::sleeper_early(with_on(|w| w.sleeping_select = woke("exceptional", 189)), Verdict::Differs,
        &[ON_SLEEP_SELECT])]
    #[case::sleeper_earliest(with_on(|w| w.sleeping_select = woke("exceptional", 190)), Verdict::Differs, &[])]
    #[case::pollpri_only(with_on(|w| w.poll = "POLLPRI".into()), Verdict::Refuted, &[ON_POLL])]
    #[case::pollerr_only(with_on(|w| w.poll = "POLLERR".into()), Verdict::Refuted, &[ON_POLL])]
    #[case::no_except(with_on(|w| w.select = Sets::READ), Verdict::Refuted, &[ON_SELECT])]
    #[case::poll_slow(with_on(|w| w.sleeping_poll = woke("POLLPRI|POLLERR", 1000)), Verdict::Differs, &[ON_SLEEP_POLL])]
    #[case::poll_no_pri(with_on(|w| w.sleeping_poll = woke("POLLERR", 0)), Verdict::Differs, &[ON_SLEEP_POLL])]
    #[case::off_pri(with_off(|w| w.poll = "POLLPRI|POLLERR".into()), Verdict::Differs, &[OFF_POLL])]
    #[case::off_poll_slow(with_off(|w| w.sleeping_poll = woke("POLLERR", 1000)), Verdict::Differs, &[OFF_SLEEP_POLL])]
    #[case::off_poll_wrong(with_off(|w| w.sleeping_poll = woke("none", 2000)), Verdict::Differs, &[OFF_SLEEP_POLL])]
    #[case::off_select_early(with_off(|w| w.sleeping_select = woke("none", 189)), Verdict::Differs,
        &[OFF_SLEEP_SELECT])]
    fn judgement(#[case] o: SelectErrQueue, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn words() {
        let j = linux().judge();
        assert_eq!(
            "on: readable, exceptional, POLLPRI|POLLERR, sleeping select exceptional after 200 ms; off: readable, \
             POLLERR",
            j.key
        );
        assert_eq!(
            "an ICMP error queued on a UDP socket; with SO_SELECT_ERR_QUEUE select() reports readable, \
             exceptional, poll() POLLPRI|POLLERR, a select() asleep on exceptfds returned exceptional after 200 ms, \
             a poll() asleep for POLLPRI POLLPRI|POLLERR after 0 ms; without it select() reports readable, poll() \
             POLLERR, the sleeping select() none after 203 ms",
            j.because
        );
    }
}
