//! socket(7) on SO_RCVBUFFORCE and SO_SNDBUFFORCE: a privileged process
//! (CAP_NET_ADMIN) sets a buffer past net.core.rmem_max / wmem_max. Which
//! CAP_NET_ADMIN: the one of the initial user namespace (real root), or also
//! the one a process holds over a user and network namespace of its own? A
//! forked child in fresh namespaces answers the second question on every run;
//! the first is measured when the case runs as real root.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::so_buffers::{as_int, core_sysctl, Buf, FILL_LIMIT};
use crate::lab::flow::meminfo;
use crate::lab::intake::{tcp_sender_intake, udp_intake, Intake};
use crate::lab::nested::{self, Nested};
use crate::lab::sock::result_name;
use crate::lab::{opt, Family, Lab, Privilege, Sock};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&RCVBUFFORCE, &SNDBUFFORCE];

pub static RCVBUFFORCE: Case = Case {
    id: "so_rcvbufforce.past_rmem_max",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_RCVBUFFORCE"),
    claim: "a process with CAP_NET_ADMIN can use SO_RCVBUFFORCE to set a receive buffer beyond rmem_max",
    expectation: "with CAP_NET_ADMIN in the initial user namespace (real root) SO_RCVBUFFORCE passes rmem_max: \
                  the kernel enforces twice the value and a UDP receiver takes in more than twice rmem_max. A \
                  process holding CAP_NET_ADMIN only over its own user and network namespace gets EPERM: the \
                  kernel asks capable(), not ns_capable()",
    run: &Measure(|lab| forced(lab, Buf::Rcv)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_RCVBUFFORCE],
};

pub static SNDBUFFORCE: Case = Case {
    id: "so_sndbufforce.past_wmem_max",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_SNDBUFFORCE"),
    claim: "a process with CAP_NET_ADMIN can use SO_SNDBUFFORCE to set a send buffer beyond wmem_max",
    expectation: "with CAP_NET_ADMIN in the initial user namespace (real root) SO_SNDBUFFORCE passes wmem_max: \
                  the kernel enforces twice the value and a TCP sender facing a closed window queues more than \
                  twice wmem_max. A process holding CAP_NET_ADMIN only over its own user and network namespace \
                  gets EPERM",
    run: &Measure(|lab| forced(lab, Buf::Snd)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_SNDBUFFORCE],
};

/// The FORCE option used by this process, when it holds CAP_NET_ADMIN in the
/// initial user namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForcedHere {
    /// setsockopt: "ok" or the errno name.
    pub result: String,
    pub reported: i32,
    /// What the kernel enforces (SO_MEMINFO).
    pub kernel: u32,
    /// The buffer filled (when twice the value is at most 64 MiB).
    pub intake: Option<Intake>,
}

/// The FORCE option tried by a child holding CAP_NET_ADMIN over its own user
/// and network namespace only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForcedInNamespace {
    /// unshare(CLONE_NEWUSER | CLONE_NEWNET).
    pub unshare: String,
    pub cap_net_admin: bool,
    /// setsockopt with 1 GiB: "ok" or the errno name.
    pub result: String,
    /// What the kernel then enforces on that socket (SO_MEMINFO).
    pub kernel: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forced {
    pub buffer: Buf,
    /// net.core.rmem_max / wmem_max.
    pub core_max: i64,
    /// The value given to the FORCE option: 256 KiB above the maximum.
    pub set: i32,
    /// What the option did for this process, when it holds CAP_NET_ADMIN in
    /// the initial user namespace (real root); none otherwise.
    pub here: Option<ForcedHere>,
    pub in_namespace: ForcedInNamespace,
}

/// How far past the maximum the FORCE value goes.
const PAST_MAX: i64 = 256 << 10;

/// The value the child asks for: far above any maximum.
const CHILD_FORCE: i32 = i32::MAX / 2;

/// SO_MEMINFO slot of a buffer's limit (SK_MEMINFO_RCVBUF / _SNDBUF).
fn meminfo_slot(opt: i32) -> usize {
    if opt == libc::SO_RCVBUFFORCE {
        libc::SK_MEMINFO_RCVBUF as usize
    } else {
        libc::SK_MEMINFO_SNDBUF as usize
    }
}

/// In the forked child: a UDP socket, the FORCE option `opt` with 1 GiB, and
/// the limit the kernel then enforces. Raw syscalls only.
fn child_force(opt: i32) -> [i64; 4] {
    // SAFETY: raw socket calls on a descriptor this child owns; the buffers
    // are locals of the sizes passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if fd < 0 {
            return [nested::errno(), -1, 0, 0];
        }
        let v = CHILD_FORCE;
        let set = nested::rc(libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&v as *const i32).cast(),
            4,
        ));
        let mut mem = [0u32; 9];
        let mut len = std::mem::size_of_val(&mem) as libc::socklen_t;
        let got = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            mem.as_mut_ptr().cast(),
            &mut len,
        );
        let kernel = if got == 0 {
            mem[meminfo_slot(opt)] as i64
        } else {
            -1
        };
        [set, kernel, 0, 0]
    }
}

fn child_rcvforce() -> [i64; 4] {
    child_force(libc::SO_RCVBUFFORCE)
}

fn child_sndforce() -> [i64; 4] {
    child_force(libc::SO_SNDBUFFORCE)
}

fn forced_here(buf: Buf, set: i32) -> Result<ForcedHere> {
    let fill = 2 * set as i64 <= FILL_LIMIT;
    match buf {
        Buf::Rcv => {
            let rx = Sock::udp(Family::V4)?;
            let result = rx.set_int(libc::SOL_SOCKET, buf.force(), set);
            rx.bind(SocketAddr::new(Family::V4.loopback(), 0))
                .context("bind the UDP receiver")?;
            let intake = if fill && result.is_ok() {
                Some(udp_intake(&rx)?)
            } else {
                None
            };
            Ok(ForcedHere {
                result: result_name(&result),
                reported: rx.get_int(libc::SOL_SOCKET, buf.option())?,
                kernel: meminfo(&rx)?.rcvbuf,
                intake,
            })
        }
        Buf::Snd => {
            let mut result = None;
            let (client, intake, m) = tcp_sender_intake(|c| {
                result = Some(result_name(&c.set_int(libc::SOL_SOCKET, buf.force(), set)));
                Ok(())
            })?;
            Ok(ForcedHere {
                result: result.unwrap_or_default(),
                reported: client.get_int(libc::SOL_SOCKET, buf.option())?,
                kernel: m.sndbuf,
                intake: fill.then_some(intake),
            })
        }
    }
}

/// Whether this process holds CAP_NET_ADMIN in the initial user namespace:
/// real root (a plain network namespace), the capability effective, and the
/// initial namespace's identity uid map (a container's root has a partial one).
fn net_admin_in_initial_namespace(privilege: Privilege) -> Result<bool> {
    const CAP_NET_ADMIN: u32 = 12;
    let status = std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let uid_map =
        std::fs::read_to_string("/proc/self/uid_map").context("read /proc/self/uid_map")?;
    let identity = uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    Ok(privilege == Privilege::Root && cap_eff & (1 << CAP_NET_ADMIN) != 0 && identity)
}

fn forced(lab: &mut Lab, buf: Buf) -> Result<Forced> {
    let core_max = core_sysctl(buf, "max")?;
    let set = as_int(core_max + PAST_MAX);
    let here = if net_admin_in_initial_namespace(lab.privilege)? {
        Some(forced_here(buf, set)?)
    } else {
        None
    };
    let probe = match buf {
        Buf::Rcv => child_rcvforce as fn() -> [i64; 4],
        Buf::Snd => child_sndforce,
    };
    let Nested {
        unshare,
        cap_net_admin,
        values,
    } = nested::in_new_user_namespace(probe)?;
    Ok(Forced {
        buffer: buf,
        core_max,
        set,
        here,
        in_namespace: ForcedInNamespace {
            unshare,
            cap_net_admin,
            result: nested::errno_text(values[0]),
            kernel: values[1].max(0) as u32,
        },
    })
}

impl Observation for Forced {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let force = self.buffer.force_name();
        let mem = self.buffer.mem();
        let twice_max = 2 * self.core_max;
        if let Some(h) = &self.here {
            j.expect_eq(
                &format!("{force} with CAP_NET_ADMIN in the initial user namespace"),
                &"ok",
                &h.result.as_str(),
            );
            j.expect_eq(
                "the kernel enforces twice the value, past the maximum (SO_MEMINFO)",
                &(2 * self.set as i64),
                &(h.kernel as i64),
            );
            if let Some(intake) = &h.intake {
                j.expect(
                    &format!("the buffer fills past twice {mem}_max"),
                    intake.charged as i64 > twice_max + intake.step as i64,
                    format!("more than {} B", twice_max + intake.step as i64),
                    intake.show(),
                );
            }
        }
        let ns = &self.in_namespace;
        j.expect(
            "a child in its own user and network namespace holds CAP_NET_ADMIN there",
            ns.unshare == "ok" && ns.cap_net_admin,
            "unshare ok, CAP_NET_ADMIN",
            format!(
                "unshare {}, CAP_NET_ADMIN {}",
                ns.unshare,
                if ns.cap_net_admin { "held" } else { "not held" }
            ),
        );
        j.expect_eq(
            &format!("{force} in that namespace"),
            &"EPERM",
            &ns.result.as_str(),
        );
        j.expect(
            "its buffer stays within the maximum",
            (ns.kernel as i64) <= twice_max,
            format!("<= {twice_max}"),
            ns.kernel.to_string(),
        );
        let here_ok = self.here.as_ref().map(|h| h.result == "ok");
        let ns_ok = ns.result == "ok";
        let verdict = match (here_ok, ns_ok) {
            (Some(false), _) => Verdict::Refuted,
            (_, true) => Verdict::Holds,
            (_, false) => Verdict::Differs,
        };
        let here = match &self.here {
            Some(h) => format!(
                "as real root {force} {} -> {} and the kernel enforced {}{}",
                self.set,
                h.result,
                h.kernel,
                h.intake
                    .map(|i| format!(" (filled to {})", i.show()))
                    .unwrap_or_default()
            ),
            None => "not run as real root".to_string(),
        };
        j.verdict(
            verdict,
            format!(
                "{mem}_max is {}; {here}; a child holding CAP_NET_ADMIN only over its own namespaces got {} \
                 (its buffer {})",
                self.core_max, ns.result, ns.kernel
            ),
        );
        j.key(format!(
            "root: {}; namespace CAP_NET_ADMIN: {}",
            self.here.as_ref().map_or("not run", |h| h.result.as_str()),
            ns.result
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn refused() -> ForcedInNamespace {
        ForcedInNamespace {
            unshare: "ok".into(),
            cap_net_admin: true,
            result: "EPERM".into(),
            kernel: 212992,
        }
    }

    /// Linux 6.18 as real root (rmem_max 4 MiB on that host).
    fn rcv_root() -> Forced {
        Forced {
            buffer: Buf::Rcv,
            core_max: 4194304,
            set: 4456448,
            here: Some(ForcedHere {
                result: "ok".into(),
                reported: 8912896,
                kernel: 8912896,
                intake: Some(Intake {
                    charged: 8881472,
                    step: 60832,
                    units: 146,
                }),
            }),
            in_namespace: refused(),
        }
    }

    fn snd_root() -> Forced {
        Forced {
            buffer: Buf::Snd,
            here: Some(ForcedHere {
                result: "ok".into(),
                reported: 8912896,
                kernel: 8912896,
                intake: Some(Intake {
                    charged: 8915200,
                    step: 69632,
                    units: 6342656,
                }),
            }),
            ..rcv_root()
        }
    }

    /// Linux 6.18 as an ordinary user: the case itself runs in a user namespace.
    fn rcv_user() -> Forced {
        Forced {
            here: None,
            ..rcv_root()
        }
    }

    fn with_intake(charged: u32) -> Forced {
        let mut o = rcv_root();
        if let Some(h) = o.here.as_mut() {
            h.intake = Some(Intake {
                charged,
                step: 60832,
                units: 1,
            });
        }
        o
    }

    const ROOT: &str = "SO_RCVBUFFORCE with CAP_NET_ADMIN in the initial user namespace";
    const KERNEL: &str = "the kernel enforces twice the value, past the maximum (SO_MEMINFO)";
    const FILLS: &str = "the buffer fills past twice rmem_max";
    const CAP: &str = "a child in its own user and network namespace holds CAP_NET_ADMIN there";
    const NS: &str = "SO_RCVBUFFORCE in that namespace";
    const STAYS: &str = "its buffer stays within the maximum";

    #[rstest]
    #[case::linux_root(rcv_root(), Verdict::Differs, &[])]
    #[case::linux_root_snd(snd_root(), Verdict::Differs, &[])]
    #[case::linux_user(rcv_user(), Verdict::Differs, &[])]
    // The page's world: CAP_NET_ADMIN over one's own namespace is enough.
    #[case::namespace_enough(Forced { in_namespace: ForcedInNamespace { result: "ok".into(), kernel: 2147483646,
        ..refused() }, ..rcv_root() }, Verdict::Holds, &[NS, STAYS])]
    // A libc that ignores the option: "ok" everywhere, the buffers unchanged.
    #[case::ignored(Forced { here: Some(ForcedHere { result: "ok".into(), reported: 4456448, kernel: 212992,
        intake: Some(Intake { charged: 211968, step: 2304, units: 92 }) }),
        in_namespace: ForcedInNamespace { result: "ok".into(), ..refused() }, ..rcv_root() },
        Verdict::Holds, &[KERNEL, FILLS, NS])]
    // Root refused too: the option does not do what the page says at all.
    #[case::root_refused(Forced { here: Some(ForcedHere { result: "EPERM".into(), reported: 212992,
        kernel: 212992, intake: None }), ..rcv_root() }, Verdict::Refuted, &[ROOT, KERNEL])]
    #[case::no_namespace(Forced { in_namespace: ForcedInNamespace { unshare: "EPERM".into(), cap_net_admin: false,
        ..refused() }, ..rcv_user() }, Verdict::Differs, &[CAP])]
    #[case::namespace_without_cap(Forced { in_namespace: ForcedInNamespace { cap_net_admin: false, ..refused() },
        ..rcv_user() }, Verdict::Differs, &[CAP])]
    #[case::fill_at_the_limit(with_intake(2 * 4194304 + 60832), Verdict::Differs, &[FILLS])]
    #[case::fill_just_past(with_intake(2 * 4194304 + 60833), Verdict::Differs, &[])]
    #[case::namespace_buffer_at_max(Forced { in_namespace: ForcedInNamespace { kernel: 8388608, ..refused() },
        ..rcv_user() }, Verdict::Differs, &[])]
    #[case::namespace_buffer_past_max(Forced { in_namespace: ForcedInNamespace { kernel: 8388609, ..refused() },
        ..rcv_user() }, Verdict::Differs, &[STAYS])]
    fn forced_judgement(#[case] o: Forced, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn forced_words() {
        let j = rcv_root().judge();
        assert_eq!("root: ok; namespace CAP_NET_ADMIN: EPERM", j.key);
        assert_eq!(
            "rmem_max is 4194304; as real root SO_RCVBUFFORCE 4456448 -> ok and the kernel enforced 8912896 \
             (filled to 8881472 B charged (step 60832 B)); a child holding CAP_NET_ADMIN only over its own \
             namespaces got EPERM (its buffer 212992)",
            j.because
        );
        let user = rcv_user().judge();
        assert_eq!("root: not run; namespace CAP_NET_ADMIN: EPERM", user.key);
        assert!(user.because.contains("; not run as real root; "));
        let snd = snd_root().judge();
        assert!(snd
            .because
            .starts_with("wmem_max is 4194304; as real root SO_SNDBUFFORCE"));
    }

    #[test]
    fn the_child_reads_the_limit_it_forced() {
        assert_eq!(
            libc::SK_MEMINFO_RCVBUF as usize,
            meminfo_slot(libc::SO_RCVBUFFORCE)
        );
        assert_eq!(
            libc::SK_MEMINFO_SNDBUF as usize,
            meminfo_slot(libc::SO_SNDBUFFORCE)
        );
    }
}
