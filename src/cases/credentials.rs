//! Who is at the other end (socket(7), SO_PEERSEC(2const), IP_PASSSEC(2const),
//! man-pages 6.20): SO_PEERCRED and SO_PASSCRED over AF_UNIX, with a forked
//! process as the peer so that its credentials cannot be mistaken for the
//! case's own; SO_PEERSEC, SO_PASSSEC and IP_PASSSEC, which depend on an LSM
//! that labels sockets (SELinux, Smack, AppArmor). Without one, what the
//! kernel answers is measured and judged against the pages; only the part
//! that needs labels skips.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::sock::{errno_name, result_name};
use crate::lab::unix::{self, Ucred};
use crate::lab::{msg, wait, Family, Lab, Sock, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Skip, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[
    &PEERCRED,
    &PASSCRED,
    &PEERSEC_READ_ONLY,
    &PEERSEC_CONTEXT,
    &PEERSEC_ERANGE,
    &PASSSEC,
    &IP_PASSSEC,
];

pub static PEERCRED: Case = Case {
    id: "so_peercred.connect_time",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PEERCRED"),
    claim: "SO_PEERCRED tells who is at the other end of a connected socket: the pid, uid and gid of the \
            peer process",
    expectation: "both ends of an AF_UNIX socketpair report the process that made the pair; on a \
                  connection the accepted socket reports the process that called connect() (a child that \
                  has exited since, running as nobody where the namespace maps it), with its pid, uid and \
                  gid, not the process that created the socket, and the connecting socket reports \
                  the process that called listen(); a TCP connection has no credentials: pid 0, uid and gid -1",
    run: &Measure(connect_time),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PASSCRED: Case = Case {
    id: "so_passcred.scm_credentials",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PASSCRED"),
    claim: "SO_PASSCRED turns the SCM_CREDENTIALS control message on or off",
    expectation: "a datagram from another process arrives on an AF_UNIX socket without SCM_CREDENTIALS by \
                  default; with SO_PASSCRED set on the receiver each datagram carries the sender's pid, uid \
                  and gid (a child running as nobody where the namespace maps it); cleared again, none. \
                  Since Linux 6.16 an AF_INET socket refuses the option (EOPNOTSUPP)",
    run: &Measure(scm_credentials),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PASSCRED],
};

pub static PEERSEC_READ_ONLY: Case = Case {
    id: "so_peersec.read_only",
    source: Source::ManPage("man-pages 6.20 SO_PEERSEC(2const)"),
    claim: "SO_PEERSEC is a read-only option",
    expectation: "setsockopt(SO_PEERSEC) fails with ENOPROTOOPT on an AF_UNIX stream socket and on a TCP socket",
    run: &Measure(peersec_read_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_PEERSEC],
};

pub static PEERSEC_CONTEXT: Case = Case {
    id: "so_peersec.unix_context",
    source: Source::ManPage("man-pages 6.20 SO_PEERSEC(2const)"),
    claim: "SO_PEERSEC returns the security context of the peer socket (by default its creator's context): \
            on AF_UNIX connected stream sockets since Linux 2.6.2 and socketpairs since 4.18",
    expectation: "with an LSM that labels sockets (SELinux, Smack, AppArmor in later kernels), an AF_UNIX \
                  socketpair and a connected AF_UNIX stream socket return the peer process's label; where \
                  none does (no LSM that labels, or an AppArmor that labels processes only) there is no \
                  context (getsockopt fails with ENOPROTOOPT) and the case skips",
    run: &Measure(unix_context),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PEERSEC_ERANGE: Case = Case {
    id: "so_peersec.erange",
    source: Source::ManPage("man-pages 6.20 SO_PEERSEC(2const)"),
    claim: "a buffer shorter than the security context makes getsockopt fail with ERANGE and report the \
            length needed in its size argument",
    expectation: "with a one-byte buffer getsockopt(SO_PEERSEC) fails with ERANGE and sets optlen to the \
                  context's length; a buffer of that length gets the whole context (needs an LSM that labels \
                  sockets)",
    run: &Measure(peersec_erange),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static PASSSEC: Case = Case {
    id: "so_passsec.scm_security",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_PASSSEC"),
    claim: "SO_PASSSEC turns the SCM_SECURITY control message on or off",
    expectation: "with an LSM that labels sockets, a datagram on an AF_UNIX socket carries no SCM_SECURITY \
                  until SO_PASSSEC is set, then the sender's security context; with none active (AppArmor \
                  gives datagrams no context) no message has a context to carry and the case skips. Since Linux 6.16 an AF_INET socket refuses the \
                  option (EOPNOTSUPP)",
    run: &Measure(scm_security),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static IP_PASSSEC: Case = Case {
    id: "ip_passsec.udp_only",
    source: Source::ManPage("man-pages 6.20 IP_PASSSEC(2const)"),
    claim: "with labeled IPsec or NetLabel configured, IP_PASSSEC makes recvmsg() deliver the peer's \
            security context as SCM_SECURITY; only UDP sockets support it (TCP has SO_PEERSEC)",
    expectation: "a UDP datagram carries SCM_SECURITY (level IPPROTO_IP) only once IP_PASSSEC is set, with \
                  the peer's context; a context exists only with an LSM that labels sockets and NetLabel or \
                  labeled IPsec, and without them the case skips. A TCP socket accepts the option too, though \
                  TCP never delivers IP control messages",
    run: &Measure(udp_only),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

/// SCM_SECURITY (include/linux/socket.h); the libc crate lacks it.
const SCM_SECURITY: i32 = 3;

/// lsm_list_modules(2) (Linux 6.8), the same number on x86_64 and the
/// generic table.
const SYS_LSM_LIST_MODULES: libc::c_long = 461;

/// The LSMs this kernel runs: lsm_list_modules(2), else
/// /sys/kernel/security/lsm; empty when neither answers.
pub fn active_lsms() -> Vec<String> {
    let mut ids = [0u64; 32];
    let mut size = std::mem::size_of_val(&ids) as u32;
    // SAFETY: the kernel writes at most `size` bytes of ids.
    let n = unsafe { libc::syscall(SYS_LSM_LIST_MODULES, ids.as_mut_ptr(), &mut size, 0u32) };
    if n > 0 {
        return ids[..(n as usize).min(ids.len())]
            .iter()
            .map(|&id| lsm_name(id))
            .collect();
    }
    std::fs::read_to_string("/sys/kernel/security/lsm")
        .map(|s| s.trim().split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

/// include/uapi/linux/lsm.h.
fn lsm_name(id: u64) -> String {
    let names = [
        "capability",
        "selinux",
        "smack",
        "tomoyo",
        "apparmor",
        "yama",
        "loadpin",
        "safesetid",
        "lockdown",
        "bpf",
        "landlock",
        "ima",
        "evm",
        "ipe",
    ];
    id.checked_sub(100)
        .and_then(|i| names.get(i as usize))
        .map_or_else(|| format!("lsm {id}"), |n| n.to_string())
}

/// The active LSMs as a list for a sentence.
fn lsm_list(lsms: &[String]) -> String {
    if lsms.is_empty() {
        "unknown".into()
    } else {
        lsms.join(", ")
    }
}

/// The skip for a case whose claim needs socket labels: names the facility,
/// the LSMs that are active, and what the kernel answered without labels.
fn no_labels(answered: impl std::fmt::Display) -> anyhow::Error {
    Skip::missing(
        "an LSM that labels sockets (SELinux, Smack or AppArmor)",
        format!(
            "active LSMs: {}; /proc/self/attr/current has no label; {answered}",
            lsm_list(&active_lsms())
        ),
    )
    .into()
}

/// The calling process's label (/proc/self/attr/current): present only when
/// an LSM labels processes (and so their sockets).
pub fn own_label() -> Option<String> {
    let raw = std::fs::read("/proc/thread-self/attr/current").ok()?;
    let label = String::from_utf8_lossy(&raw)
        .trim_end_matches(['\0', '\n'])
        .to_string();
    (!label.is_empty()).then_some(label)
}

/// Whether an active LSM gives every socket a peer context: SELinux and
/// Smack do. AppArmor labels processes, but gave AF_UNIX sockets a peer
/// context only in later kernels (Debian's 6.12 answers ENOPROTOOPT, 7.2 the
/// peer's label) and gives datagrams no SCM_SECURITY at all.
fn labels_every_socket(lsms: &[String]) -> bool {
    lsms.iter().any(|l| l == "selinux" || l == "smack")
}

/// The skip for a kernel whose LSMs label this process but give its
/// sockets no context: where `labels_every_socket` says that is how those
/// LSMs work (and not a fault of SO_PEERSEC or SO_PASSSEC).
fn no_socket_labels(
    own_label: &str,
    lsms: &[String],
    answered: impl std::fmt::Display,
) -> anyhow::Error {
    Skip::missing(
        "an LSM that labels sockets (SELinux, Smack, or AppArmor where it labels AF_UNIX peers)",
        format!(
            "active LSMs: {}; they label this process ({own_label}) but not its sockets: {answered}",
            lsm_list(lsms)
        ),
    )
    .into()
}

// ---------------------------------------------------------------------------
// A child process with credentials of its own

/// nobody: the uid and gid a child takes where the namespace maps them, so
/// that the credentials the kernel reports are the child's own and not
/// copies of the case's.
const NOBODY_ID: u32 = 65_534;

/// A child's exit code once its syscall succeeded: this plus 1 if it runs as
/// gid nobody, plus 2 if as uid nobody. Below it: the errno of the failure.
const CHILD_OK: i32 = 128;

/// In a forked child: become nobody where allowed (root on the host may; a
/// user namespace that maps only its own root may not, and the child keeps
/// the case's ids), run `f`, and say what happened as an exit code.
fn as_nobody(f: impl FnOnce() -> std::io::Result<()>) -> i32 {
    // SAFETY: plain syscalls in the forked child; the gid first, while the
    // uid still allows it.
    let gid = unsafe { libc::setgid(NOBODY_ID) } == 0;
    // SAFETY: as above.
    let uid = unsafe { libc::setuid(NOBODY_ID) } == 0;
    match f() {
        Ok(()) => CHILD_OK + i32::from(gid) + 2 * i32::from(uid),
        Err(e) => e.raw_os_error().unwrap_or(1).min(CHILD_OK - 1),
    }
}

/// What a child run by `as_nobody` did ("ok" or the errno name) and the
/// credentials it ran with.
fn child_outcome(pid: i32, code: i32, me: Ucred) -> (String, Ucred) {
    if code < CHILD_OK {
        let errno = errno_name(&std::io::Error::from_raw_os_error(code));
        return (errno, Ucred { pid, ..me });
    }
    let bits = code - CHILD_OK;
    let id = |bit: i32, own: u32| if bits & bit != 0 { NOBODY_ID } else { own };
    (
        "ok".into(),
        Ucred {
            pid,
            uid: id(2, me.uid),
            gid: id(1, me.gid),
        },
    )
}

// ---------------------------------------------------------------------------
// so_peercred.connect_time

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerCred {
    /// The case process itself.
    pub me: Ucred,
    pub pair_a: Ucred,
    pub pair_b: Ucred,
    /// The child that called connect() on a socket the case created: the
    /// credentials it ran with (nobody where the namespace allows).
    pub child: Ucred,
    pub child_connect: String,
    /// SO_PEERCRED of the socket accept() returned, read after the child exited.
    pub accepted_sees: Ucred,
    /// SO_PEERCRED of the connected socket (the case's copy).
    pub connector_sees: Ucred,
    /// SO_PEERCRED of a TCP connection over loopback.
    pub tcp: String,
}

const PEERCRED_NAME: &str = "sockspec-peercred";

fn connect_time(_lab: &mut Lab) -> Result<PeerCred> {
    let (a, b) = unix::pair(libc::SOCK_STREAM)?;
    let pair_a = unix::peercred(&a).context("SO_PEERCRED of a socketpair end")?;
    let pair_b = unix::peercred(&b).context("SO_PEERCRED of a socketpair end")?;
    let listener = unix::listener(PEERCRED_NAME, libc::SOCK_STREAM)?;
    let connector = unix::socket(libc::SOCK_STREAM)?;
    let me = Ucred::of_self();
    let (pid, code) = unix::in_child(|| as_nobody(|| unix::connect(&connector, PEERCRED_NAME)))?;
    let (child_connect, child) = child_outcome(pid, code, me);
    let accepted = listener.accept().context("accept the child's connection")?;
    let accepted_sees = unix::peercred(&accepted).context("SO_PEERCRED of the accepted socket")?;
    let connector_sees = unix::peercred(&connector).context("SO_PEERCRED of the connector")?;
    let tcp = TcpPair::loopback(Family::V4)?;
    let tcp = match unix::peercred(&tcp.server) {
        Ok(c) => c.show(),
        Err(e) => errno_name(&e),
    };
    Ok(PeerCred {
        me,
        pair_a,
        pair_b,
        child,
        child_connect,
        accepted_sees,
        connector_sees,
        tcp,
    })
}

impl Observation for PeerCred {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "both ends of a socketpair",
            &(self.me, self.me),
            &(self.pair_a, self.pair_b),
        );
        j.expect_eq("the child's connect()", "ok", &self.child_connect);
        j.expect_eq(
            "the accepted socket reports the connecting child",
            &self.child,
            &self.accepted_sees,
        );
        j.expect_eq(
            "the connecting socket reports the listening process",
            &self.me,
            &self.connector_sees,
        );
        j.expect_eq("a TCP connection", "pid 0 uid -1 gid -1", &self.tcp);
        // The peer's own pid, uid and gid, not the socket creator's.
        let peer = self.accepted_sees == self.child && self.connector_sees.pid == self.me.pid;
        j.verdict(
            Verdict::holds_if(peer),
            format!(
                "the case is {}; its socketpair reports pids {} and {}; a socket it created but a child \
                 ({}) connected reports, once accepted, {} (the child has exited), and the connector reports \
                 {}; TCP: {}",
                self.me.show(),
                self.pair_a.pid,
                self.pair_b.pid,
                self.child.show(),
                self.accepted_sees.show(),
                self.connector_sees.show(),
                self.tcp
            ),
        );
        j.key(format!(
            "child pid {} uid {} -> accepted socket sees pid {} uid {}",
            self.child.pid, self.child.uid, self.accepted_sees.pid, self.accepted_sees.uid
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_passcred.scm_credentials

/// One datagram from a child process, and the credentials it arrived with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// SO_PASSCRED on the receiver while this one was sent and read.
    pub passcred: i32,
    /// The child that sent it, with the ids it ran as (nobody where the
    /// namespace allows).
    pub sender: Ucred,
    pub creds: Option<Ucred>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassCred {
    pub me: Ucred,
    pub deliveries: Vec<Delivery>,
    /// setsockopt(SO_PASSCRED, 1) on a UDP socket (refused since 6.16).
    pub udp_set: String,
}

/// A datagram sent by a child process through `tx`, read from `rx`.
fn from_child(tx: &Sock, rx: &Sock, passcred: i32, me: Ucred) -> Result<Delivery> {
    rx.set_int(libc::SOL_SOCKET, libc::SO_PASSCRED, passcred)
        .context("SO_PASSCRED")?;
    let (pid, code) = unix::in_child(|| as_nobody(|| tx.send(b"who", 0).map(drop)))?;
    let (sent, sender) = child_outcome(pid, code, me);
    anyhow::ensure!(sent == "ok", "the child's send failed: {sent}");
    let got = msg::recv(rx, 64, libc::MSG_DONTWAIT).context("recvmsg the child's datagram")?;
    Ok(Delivery {
        passcred,
        sender,
        creds: got
            .cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS)
            .and_then(|c| Ucred::from_bytes(&c.data)),
    })
}

fn scm_credentials(_lab: &mut Lab) -> Result<PassCred> {
    let (rx, tx) = unix::pair(libc::SOCK_DGRAM)?;
    let me = Ucred::of_self();
    let mut deliveries = Vec::new();
    for passcred in [0, 1, 0] {
        deliveries.push(from_child(&tx, &rx, passcred, me)?);
    }
    let udp = Sock::udp(Family::V4)?;
    Ok(PassCred {
        me,
        deliveries,
        udp_set: result_name(&udp.set_int(libc::SOL_SOCKET, libc::SO_PASSCRED, 1)),
    })
}

impl Observation for PassCred {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        for (i, d) in self.deliveries.iter().enumerate() {
            let expected = (d.passcred != 0).then_some(d.sender);
            j.expect_eq(
                &format!(
                    "datagram {} (SO_PASSCRED {}): SCM_CREDENTIALS",
                    i + 1,
                    d.passcred
                ),
                &expected,
                &d.creds,
            );
        }
        let right = |d: &Delivery| {
            if d.passcred != 0 {
                d.creds == Some(d.sender)
            } else {
                d.creds.is_none()
            }
        };
        let on: Vec<&Delivery> = self.deliveries.iter().filter(|d| d.passcred != 0).collect();
        let enables = !on.is_empty() && on.iter().all(|d| right(d));
        let verdict = match (enables, self.deliveries.iter().all(right)) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        let seen: Vec<String> = self
            .deliveries
            .iter()
            .map(|d| format!("SO_PASSCRED {}: {}", d.passcred, d.creds.show()))
            .collect();
        j.verdict(
            verdict,
            format!(
                "datagrams from child processes, in turn: {}; on a UDP socket setsockopt: {}",
                seen.join("; "),
                self.udp_set
            ),
        );
        let pids: Vec<String> = self
            .deliveries
            .iter()
            .map(|d| {
                d.creds
                    .map_or("none".into(), |c| format!("pid {} uid {}", c.pid, c.uid))
            })
            .collect();
        j.key(format!("off/on/off: {}", pids.join(", ")));
        j
    }
}

// ---------------------------------------------------------------------------
// so_peersec.read_only

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerSecReadOnly {
    pub unix_set: String,
    pub tcp_set: String,
}

fn peersec_read_only(_lab: &mut Lab) -> Result<PeerSecReadOnly> {
    let (a, _b) = unix::pair(libc::SOCK_STREAM)?;
    let tcp = Sock::tcp(Family::V4)?;
    let label = b"unconfined\0";
    Ok(PeerSecReadOnly {
        unix_set: result_name(&a.set_raw(libc::SOL_SOCKET, libc::SO_PEERSEC, label)),
        tcp_set: result_name(&tcp.set_raw(libc::SOL_SOCKET, libc::SO_PEERSEC, label)),
    })
}

impl Observation for PeerSecReadOnly {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "setsockopt(SO_PEERSEC) on AF_UNIX",
            "ENOPROTOOPT",
            &self.unix_set,
        );
        j.expect_eq(
            "setsockopt(SO_PEERSEC) on TCP",
            "ENOPROTOOPT",
            &self.tcp_set,
        );
        let refused = self.unix_set != "ok" && self.tcp_set != "ok";
        j.verdict(
            Verdict::holds_if(refused),
            format!(
                "setsockopt(SO_PEERSEC): {} on an AF_UNIX stream socket, {} on TCP",
                self.unix_set, self.tcp_set
            ),
        );
        j.key(format!("set: {} / {}", self.unix_set, self.tcp_set));
        j
    }
}

// ---------------------------------------------------------------------------
// so_peersec.unix_context

/// getsockopt(SO_PEERSEC)'s answer: a context, or an errno name.
fn peersec(s: &Sock) -> String {
    let mut buf = [0u8; 256];
    match s.get_raw(libc::SOL_SOCKET, libc::SO_PEERSEC, &mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n])
            .trim_end_matches('\0')
            .to_string(),
        Err(e) => errno_name(&e),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerSecContext {
    pub lsms: Vec<String>,
    /// The case process's label (the case skips when no LSM labels it).
    pub own_label: String,
    /// getsockopt(SO_PEERSEC): the context, or the errno name.
    pub socketpair: String,
    pub connected: String,
    /// A TCP connection over loopback, with no labeled networking: shown, not
    /// judged (the page makes TCP depend on NetLabel or labeled IPsec).
    pub tcp: String,
}

fn unix_context(_lab: &mut Lab) -> Result<PeerSecContext> {
    let (a, _b) = unix::pair(libc::SOCK_STREAM)?;
    let listener = unix::listener("sockspec-peersec", libc::SOCK_STREAM)?;
    let client = unix::socket(libc::SOCK_STREAM)?;
    unix::connect(&client, "sockspec-peersec").context("connect AF_UNIX")?;
    let accepted = listener.accept().context("accept AF_UNIX")?;
    let tcp = TcpPair::loopback(Family::V4)?;
    let (socketpair, connected, tcp) = (peersec(&a), peersec(&accepted), peersec(&tcp.server));
    let answered = format!(
        "SO_PEERSEC on a socketpair: {socketpair}, a connected AF_UNIX stream: {connected}, TCP: {tcp}"
    );
    let Some(own_label) = own_label() else {
        return Err(no_labels(answered));
    };
    let lsms = active_lsms();
    if !labels_every_socket(&lsms) && socketpair == "ENOPROTOOPT" && connected == "ENOPROTOOPT" {
        return Err(no_socket_labels(&own_label, &lsms, answered));
    }
    Ok(PeerSecContext {
        lsms,
        own_label,
        socketpair,
        connected,
        tcp,
    })
}

impl Observation for PeerSecContext {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let label = &self.own_label;
        j.expect_eq("SO_PEERSEC of a socketpair", label, &self.socketpair);
        j.expect_eq(
            "SO_PEERSEC of a connected AF_UNIX stream",
            label,
            &self.connected,
        );
        let right = [&self.socketpair, &self.connected]
            .iter()
            .filter(|got| **got == label)
            .count();
        // Both: the page. One: a kernel before 4.18 (no socketpair) or one
        // that labels only one kind. Neither: not the peer's context at all.
        let verdict = match right {
            2 => Verdict::Holds,
            1 => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "LSMs: {}; own label: {label}; SO_PEERSEC on a socketpair: {}, a connected AF_UNIX stream: {}; \
                 TCP without labeled networking: {}",
                lsm_list(&self.lsms),
                self.socketpair,
                self.connected,
                self.tcp
            ),
        );
        j.key(format!(
            "socketpair: {}; connected: {}",
            self.socketpair, self.connected
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_peersec.erange

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerSecErange {
    pub own_label: String,
    /// getsockopt with a one-byte buffer: the errno and the optlen it left.
    pub short_errno: String,
    pub short_optlen: usize,
    /// With a buffer of that length.
    pub retry: String,
}

/// getsockopt(SO_PEERSEC) with a buffer of `size` bytes: the errno name (or
/// "ok"), the optlen the kernel left, and the bytes it wrote.
fn peersec_sized(s: &Sock, size: usize) -> (String, usize, Vec<u8>) {
    let mut buf = vec![0u8; size.max(1)];
    let mut len = size as libc::socklen_t;
    // SAFETY: buf has room for len bytes.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERSEC,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    let result = if rc < 0 {
        errno_name(&std::io::Error::last_os_error())
    } else {
        "ok".into()
    };
    buf.truncate((len as usize).min(buf.len()));
    (result, len as usize, buf)
}

fn peersec_erange(_lab: &mut Lab) -> Result<PeerSecErange> {
    let (a, _b) = unix::pair(libc::SOCK_STREAM)?;
    let Some(own_label) = own_label() else {
        return Err(no_labels(format_args!(
            "SO_PEERSEC fails with {}",
            peersec(&a)
        )));
    };
    let (short_errno, short_optlen, _) = peersec_sized(&a, 1);
    let lsms = active_lsms();
    if !labels_every_socket(&lsms) && short_errno == "ENOPROTOOPT" {
        return Err(no_socket_labels(
            &own_label,
            &lsms,
            "SO_PEERSEC on a socketpair fails with ENOPROTOOPT",
        ));
    }
    let (result, _, bytes) = peersec_sized(&a, short_optlen);
    let retry = if result == "ok" {
        String::from_utf8_lossy(&bytes)
            .trim_end_matches('\0')
            .to_string()
    } else {
        result
    };
    Ok(PeerSecErange {
        own_label,
        short_errno,
        short_optlen,
        retry,
    })
}

impl Observation for PeerSecErange {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "getsockopt with a one-byte buffer",
            "ERANGE",
            &self.short_errno,
        );
        // The length may count a terminating NUL (the page allows both).
        let needed = self.own_label.len();
        j.expect(
            "optlen reports the context's length",
            self.short_optlen == needed || self.short_optlen == needed + 1,
            format!("{needed} or {}", needed + 1),
            self.short_optlen.to_string(),
        );
        j.expect_eq(
            "a buffer of that length gets the context",
            &self.own_label,
            &self.retry,
        );
        let holds = self.short_errno == "ERANGE" && self.retry == self.own_label;
        j.verdict(
            Verdict::holds_if(holds),
            format!(
                "one byte: {} with optlen {}; {} bytes: {}",
                self.short_errno, self.short_optlen, self.short_optlen, self.retry
            ),
        );
        j.key(format!(
            "{}, needs {} B",
            self.short_errno, self.short_optlen
        ));
        j
    }
}

// ---------------------------------------------------------------------------
// so_passsec.scm_security

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassSec {
    pub lsms: Vec<String>,
    /// The case process's label (the case skips when no LSM labels it).
    pub own_label: String,
    /// setsockopt(SO_PASSSEC, 1) on the AF_UNIX receiver.
    pub set_result: String,
    /// The SCM_SECURITY a datagram brought, without and with SO_PASSSEC.
    pub off: Option<String>,
    pub on: Option<String>,
    /// setsockopt(SO_PASSSEC, 1) on a UDP socket (refused since 6.16).
    pub udp_set: String,
}

/// The SCM_SECURITY context of the next datagram on `rx` (at `level`).
fn security_of(tx: &Sock, rx: &Sock, level: i32) -> Result<Option<String>> {
    tx.send(b"label?", 0).context("send")?;
    // Loopback delivers from a softirq that a loaded (or emulated) machine
    // may run a moment later.
    if !wait::readable(rx.as_raw_fd(), Duration::from_secs(5))? {
        bail!("the datagram never became readable");
    }
    let got = msg::recv(rx, 64, libc::MSG_DONTWAIT).context("recvmsg")?;
    Ok(got.cmsg(level, SCM_SECURITY).map(|c| {
        String::from_utf8_lossy(&c.data)
            .trim_end_matches('\0')
            .to_string()
    }))
}

fn scm_security(_lab: &mut Lab) -> Result<PassSec> {
    let (rx, tx) = unix::pair(libc::SOCK_DGRAM)?;
    let off = security_of(&tx, &rx, libc::SOL_SOCKET)?;
    let set_result = result_name(&rx.set_int(libc::SOL_SOCKET, libc::SO_PASSSEC, 1));
    let on = security_of(&tx, &rx, libc::SOL_SOCKET)?;
    let udp = Sock::udp(Family::V4)?;
    let udp_set = result_name(&udp.set_int(libc::SOL_SOCKET, libc::SO_PASSSEC, 1));
    // Without labels the message has nothing to carry: the kernel sends none
    // (security_secid_to_secctx fails), so the option's effect cannot show.
    let answered = format!(
        "setsockopt(SO_PASSSEC): {set_result}; SCM_SECURITY with it: {}",
        on.show()
    );
    let Some(own_label) = own_label() else {
        return Err(no_labels(answered));
    };
    let lsms = active_lsms();
    if !labels_every_socket(&lsms) && off.is_none() && on.is_none() {
        return Err(no_socket_labels(&own_label, &lsms, answered));
    }
    Ok(PassSec {
        lsms,
        own_label,
        set_result,
        off,
        on,
        udp_set,
    })
}

impl Observation for PassSec {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("setsockopt(SO_PASSSEC) on AF_UNIX", "ok", &self.set_result);
        j.expect_eq("SCM_SECURITY without SO_PASSSEC", &None, &self.off);
        j.expect_eq(
            "SCM_SECURITY with SO_PASSSEC",
            &Some(self.own_label.clone()),
            &self.on,
        );
        let enabled = self.set_result == "ok" && self.on.as_ref() == Some(&self.own_label);
        // On, yet also there unasked: the option would switch nothing.
        let verdict = match (enabled, self.off.is_none()) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "LSMs: {}; own label: {}; setsockopt: {}; SCM_SECURITY without the option: {}, with it: {}; on \
                 a UDP socket setsockopt: {}",
                lsm_list(&self.lsms),
                self.own_label,
                self.set_result,
                self.off.show(),
                self.on.show(),
                self.udp_set
            ),
        );
        j.key(format!("off/on: {} / {}", self.off.show(), self.on.show()));
        j
    }
}

// ---------------------------------------------------------------------------
// ip_passsec.udp_only

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpPassSec {
    /// The case process's label (the case skips when no LSM labels it).
    pub own_label: String,
    pub udp_set: String,
    /// The SCM_SECURITY (level SOL_IP) a loopback datagram brought with
    /// IP_PASSSEC, and one without it.
    pub udp_security: Option<String>,
    pub udp_unasked: Option<String>,
    /// setsockopt(IP_PASSSEC) on a TCP socket: shown, not judged (TCP keeps
    /// the flag but never delivers IP control messages).
    pub tcp_set: String,
}

fn udp_only(_lab: &mut Lab) -> Result<IpPassSec> {
    let rx = Sock::udp(Family::V4)?;
    rx.bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))
        .context("bind UDP")?;
    let tx = Sock::udp(Family::V4)?;
    tx.connect(rx.local_addr()?).context("connect UDP")?;
    let udp_unasked = security_of(&tx, &rx, libc::IPPROTO_IP)?;
    let udp_set = result_name(&rx.set_int(libc::IPPROTO_IP, libc::IP_PASSSEC, 1));
    let udp_security = security_of(&tx, &rx, libc::IPPROTO_IP)?;
    let tcp = Sock::tcp(Family::V4)?;
    let tcp_set = result_name(&tcp.set_int(libc::IPPROTO_IP, libc::IP_PASSSEC, 1));
    let answered = format_args!(
        "setsockopt(IP_PASSSEC) on UDP: {udp_set}, SCM_SECURITY with it: {}; on TCP: {tcp_set}",
        udp_security.show()
    )
    .to_string();
    let Some(own_label) = own_label() else {
        return Err(no_labels(answered));
    };
    // With labels but no NetLabel or labeled IPsec (which a case cannot set
    // up in its own namespace) the datagram has no peer label to carry.
    if udp_security.is_none() {
        return Err(Skip::missing(
            "labeled networking (NetLabel or labeled IPsec)",
            format!("own label {own_label}; {answered}"),
        )
        .into());
    }
    Ok(IpPassSec {
        own_label,
        udp_set,
        udp_security,
        udp_unasked,
        tcp_set,
    })
}

impl Observation for IpPassSec {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq("setsockopt(IP_PASSSEC) on UDP", "ok", &self.udp_set);
        j.expect_eq("SCM_SECURITY without IP_PASSSEC", &None, &self.udp_unasked);
        j.expect(
            "SCM_SECURITY with IP_PASSSEC carries a context",
            self.udp_security.as_ref().is_some_and(|c| !c.is_empty()),
            "a context",
            self.udp_security.show(),
        );
        let delivered =
            self.udp_set == "ok" && self.udp_security.as_ref().is_some_and(|c| !c.is_empty());
        let verdict = match (delivered, self.udp_unasked.is_none()) {
            (true, true) => Verdict::Holds,
            (true, false) => Verdict::Differs,
            (false, _) => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "own label: {}; UDP: setsockopt {}, SCM_SECURITY without the option: {}, with it: {}; TCP: \
                 setsockopt {}",
                self.own_label,
                self.udp_set,
                self.udp_unasked.show(),
                self.udp_security.show(),
                self.tcp_set
            ),
        );
        j.key(format!(
            "UDP off/on: {} / {}",
            self.udp_unasked.show(),
            self.udp_security.show()
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

    const ME: Ucred = Ucred {
        pid: 2376,
        uid: 0,
        gid: 0,
    };
    /// The child as root on the host runs it: nobody.
    const CHILD: Ucred = Ucred {
        pid: 2435,
        uid: NOBODY_ID,
        gid: NOBODY_ID,
    };
    const NOBODY: Ucred = Ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };

    /// What Linux 6.18 did (a real run).
    fn peercred_linux() -> PeerCred {
        PeerCred {
            me: ME,
            pair_a: ME,
            pair_b: ME,
            child: CHILD,
            child_connect: "ok".into(),
            accepted_sees: CHILD,
            connector_sees: ME,
            tcp: NOBODY.show(),
        }
    }

    /// The same kernel in a user namespace: the child cannot become nobody.
    fn peercred_userns() -> PeerCred {
        let child = Ucred { pid: 2435, ..ME };
        PeerCred {
            child,
            accepted_sees: child,
            ..peercred_linux()
        }
    }

    const ACCEPTED: &str = "the accepted socket reports the connecting child";

    #[rstest]
    #[case::linux(peercred_linux(), Verdict::Holds, &[])]
    #[case::userns(peercred_userns(), Verdict::Holds, &[])]
    // Credentials of the socket's creator, not of the process that connected.
    #[case::creator(PeerCred { accepted_sees: ME, ..peercred_linux() }, Verdict::Refuted, &[ACCEPTED])]
    // The connecting pid, but the creator's ids.
    #[case::creator_ids(PeerCred { accepted_sees: Ucred { pid: CHILD.pid, ..ME }, ..peercred_linux() },
        Verdict::Refuted, &[ACCEPTED])]
    #[case::other_gid(PeerCred { accepted_sees: Ucred { gid: 0, ..CHILD }, ..peercred_linux() },
        Verdict::Refuted, &[ACCEPTED])]
    #[case::connector_sees_itself(PeerCred { connector_sees: CHILD, ..peercred_linux() }, Verdict::Refuted,
        &["the connecting socket reports the listening process"])]
    #[case::connector_other_ids(PeerCred { connector_sees: Ucred { uid: 7, ..ME }, ..peercred_linux() },
        Verdict::Holds, &["the connecting socket reports the listening process"])]
    #[case::pair_unset(PeerCred { pair_b: NOBODY, ..peercred_linux() }, Verdict::Holds,
        &["both ends of a socketpair"])]
    #[case::child_failed(PeerCred { child_connect: "ECONNREFUSED".into(), ..peercred_linux() },
        Verdict::Holds, &["the child's connect()"])]
    #[case::tcp_refused(PeerCred { tcp: "ENOPROTOOPT".into(), ..peercred_linux() }, Verdict::Holds,
        &["a TCP connection"])]
    fn peercred_judgement(#[case] o: PeerCred, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn peercred_words() {
        let j = peercred_linux().judge();
        assert_eq!(
            "child pid 2435 uid 65534 -> accepted socket sees pid 2435 uid 65534",
            j.key
        );
        assert_eq!(
            "the case is pid 2376 uid 0 gid 0; its socketpair reports pids 2376 and 2376; a socket it created \
             but a child (pid 2435 uid 65534 gid 65534) connected reports, once accepted, pid 2435 uid 65534 \
             gid 65534 (the child has exited), and the connector reports pid 2376 uid 0 gid 0; TCP: pid 0 uid \
             -1 gid -1",
            j.because
        );
        let mut b = Vec::new();
        for w in [7i32, 8, 9] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        assert_eq!(
            Some(Ucred {
                pid: 7,
                uid: 8,
                gid: 9
            }),
            Ucred::from_bytes(&b)
        );
        assert_eq!(None, Ucred::from_bytes(&b[..11]));
    }

    /// What a child's exit code says: an errno below CHILD_OK, else which
    /// ids it dropped.
    #[rstest]
    #[case::errno(111, "ECONNREFUSED", ME.uid, ME.gid)]
    #[case::last_errno(CHILD_OK - 1, "EKEYEXPIRED", ME.uid, ME.gid)]
    #[case::kept(CHILD_OK, "ok", ME.uid, ME.gid)]
    #[case::gid_only(CHILD_OK + 1, "ok", ME.uid, NOBODY_ID)]
    #[case::uid_only(CHILD_OK + 2, "ok", NOBODY_ID, ME.gid)]
    #[case::both(CHILD_OK + 3, "ok", NOBODY_ID, NOBODY_ID)]
    fn child_outcomes(#[case] code: i32, #[case] what: &str, #[case] uid: u32, #[case] gid: u32) {
        let me = Ucred {
            uid: 5,
            gid: 6,
            ..ME
        };
        let uid = if uid == ME.uid { me.uid } else { uid };
        let gid = if gid == ME.gid { me.gid } else { gid };
        assert_eq!(
            (what.to_string(), Ucred { pid: 9, uid, gid }),
            child_outcome(9, code, me)
        );
    }

    fn delivery(passcred: i32, sender: Ucred, creds: Option<Ucred>) -> Delivery {
        Delivery {
            passcred,
            sender,
            creds,
        }
    }

    fn sender(pid: i32) -> Ucred {
        Ucred { pid, ..CHILD }
    }

    fn passcred_linux() -> PassCred {
        PassCred {
            me: ME,
            deliveries: vec![
                delivery(0, sender(2443), None),
                delivery(1, sender(2444), Some(sender(2444))),
                delivery(0, sender(2445), None),
            ],
            udp_set: "EOPNOTSUPP".into(),
        }
    }

    fn passcred_with(i: usize, creds: Option<Ucred>) -> PassCred {
        let mut p = passcred_linux();
        p.deliveries[i].creds = creds;
        p
    }

    const D1: &str = "datagram 1 (SO_PASSCRED 0): SCM_CREDENTIALS";
    const D2: &str = "datagram 2 (SO_PASSCRED 1): SCM_CREDENTIALS";
    const D3: &str = "datagram 3 (SO_PASSCRED 0): SCM_CREDENTIALS";

    #[rstest]
    #[case::linux(passcred_linux(), Verdict::Holds, &[])]
    // In a user namespace the children keep the case's ids.
    #[case::userns(PassCred { deliveries: vec![delivery(0, Ucred { pid: 1, ..ME }, None),
        delivery(1, Ucred { pid: 2, ..ME }, Some(Ucred { pid: 2, ..ME })),
        delivery(0, Ucred { pid: 3, ..ME }, None)], ..passcred_linux() }, Verdict::Holds, &[])]
    // A libc that ignores the option: nothing ever arrives.
    #[case::never(passcred_with(1, None), Verdict::Refuted, &[D2])]
    // Credentials on every datagram, asked for or not.
    #[case::always(PassCred { deliveries: vec![delivery(0, sender(1), Some(sender(1))),
        delivery(1, sender(2), Some(sender(2))), delivery(0, sender(3), Some(sender(3)))],
        ..passcred_linux() }, Verdict::Differs, &[D1, D3])]
    #[case::not_switched_off(passcred_with(2, Some(sender(2445))), Verdict::Differs, &[D3])]
    // The receiver's own credentials instead of the sender's.
    #[case::receiver(passcred_with(1, Some(ME)), Verdict::Refuted, &[D2])]
    // The sender's pid with the receiver's ids.
    #[case::receiver_ids(passcred_with(1, Some(Ucred { pid: 2444, ..ME })), Verdict::Refuted, &[D2])]
    #[case::nothing_enabled(PassCred { deliveries: vec![delivery(0, sender(1), None)], ..passcred_linux() },
        Verdict::Refuted, &[])]
    fn passcred_judgement(#[case] o: PassCred, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn passcred_words() {
        let j = passcred_linux().judge();
        assert_eq!("off/on/off: none, pid 2444 uid 65534, none", j.key);
        assert_eq!(
            "datagrams from child processes, in turn: SO_PASSCRED 0: none; SO_PASSCRED 1: pid 2444 uid 65534 \
             gid 65534; SO_PASSCRED 0: none; on a UDP socket setsockopt: EOPNOTSUPP",
            j.because
        );
    }

    #[rstest]
    #[case::linux("ENOPROTOOPT", "ENOPROTOOPT", Verdict::Holds, &[])]
    #[case::unix_settable("ok", "ENOPROTOOPT", Verdict::Refuted, &["setsockopt(SO_PEERSEC) on AF_UNIX"])]
    #[case::tcp_settable("ENOPROTOOPT", "ok", Verdict::Refuted, &["setsockopt(SO_PEERSEC) on TCP"])]
    #[case::other_error("EINVAL", "ENOPROTOOPT", Verdict::Holds, &["setsockopt(SO_PEERSEC) on AF_UNIX"])]
    fn peersec_read_only_judgement(
        #[case] unix_set: &str,
        #[case] tcp_set: &str,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        let o = PeerSecReadOnly {
            unix_set: unix_set.into(),
            tcp_set: tcp_set.into(),
        };
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn peersec_read_only_words() {
        let j = PeerSecReadOnly {
            unix_set: "ENOPROTOOPT".into(),
            tcp_set: "EINVAL".into(),
        }
        .judge();
        assert_eq!("set: ENOPROTOOPT / EINVAL", j.key);
        assert_eq!(
            "setsockopt(SO_PEERSEC): ENOPROTOOPT on an AF_UNIX stream socket, EINVAL on TCP",
            j.because
        );
    }

    const LABEL: &str = "system_u:system_r:unconfined_t:s0";

    /// A machine running SELinux (this kernel runs no labelling LSM: the
    /// case skips there).
    fn context_selinux() -> PeerSecContext {
        PeerSecContext {
            lsms: vec!["capability".into(), "selinux".into()],
            own_label: LABEL.into(),
            socketpair: LABEL.into(),
            connected: LABEL.into(),
            tcp: "ENOPROTOOPT".into(),
        }
    }

    #[rstest]
    #[case::selinux(context_selinux(), Verdict::Holds, &[])]
    // Before Linux 4.18 a socketpair had no peer context.
    #[case::old_socketpair(PeerSecContext { socketpair: "ENOPROTOOPT".into(), ..context_selinux() },
        Verdict::Differs, &["SO_PEERSEC of a socketpair"])]
    #[case::other_connected(PeerSecContext { connected: "kernel".into(), ..context_selinux() },
        Verdict::Differs, &["SO_PEERSEC of a connected AF_UNIX stream"])]
    // No labels at all, as on this kernel: ENOPROTOOPT for both.
    #[case::unlabelled(PeerSecContext { socketpair: "ENOPROTOOPT".into(), connected: "ENOPROTOOPT".into(),
        ..context_selinux() }, Verdict::Refuted,
        &["SO_PEERSEC of a socketpair", "SO_PEERSEC of a connected AF_UNIX stream"])]
    // A labelled TCP peer changes nothing: TCP is shown, not judged.
    #[case::tcp_labelled(PeerSecContext { tcp: LABEL.into(), ..context_selinux() }, Verdict::Holds, &[])]
    fn context_judgement(
        #[case] o: PeerSecContext,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn context_words() {
        let j = context_selinux().judge();
        assert_eq!(format!("socketpair: {LABEL}; connected: {LABEL}"), j.key);
        assert_eq!(
            format!(
                "LSMs: capability, selinux; own label: {LABEL}; SO_PEERSEC on a socketpair: {LABEL}, a \
                 connected AF_UNIX stream: {LABEL}; TCP without labeled networking: ENOPROTOOPT"
            ),
            j.because
        );
        let unknown = PeerSecContext {
            lsms: Vec::new(),
            ..context_selinux()
        }
        .judge();
        assert!(unknown.because.starts_with("LSMs: unknown; "));
        assert_eq!(
            vec!["capability", "selinux", "ipe", "lsm 114", "lsm 99"],
            [100, 101, 113, 114, 99].map(lsm_name).to_vec()
        );
    }

    /// On this kernel (no labelling LSM) the cases that need labels skip and
    /// say why, with what the kernel answered.
    /// Debian's guest kernels before 7.x: AppArmor labels the process
    /// "unconfined" and its AF_UNIX sockets not at all. The cases skip
    /// there and name both; with SELinux or Smack they judge.
    #[test]
    fn apparmor_without_socket_labels_is_a_named_skip() {
        let debian: Vec<String> = ["lockdown", "capability", "apparmor", "bpf"]
            .map(String::from)
            .to_vec();
        assert!(!labels_every_socket(&debian));
        assert!(labels_every_socket(&["selinux".to_string()]));
        assert!(labels_every_socket(&[
            "capability".to_string(),
            "smack".to_string()
        ]));
        let e = no_socket_labels("unconfined", &debian, "SO_PEERSEC: ENOPROTOOPT");
        let text = &e.downcast_ref::<Skip>().expect("a skip").0;
        assert!(Skip::is_missing_facility(text), "{text}");
        assert!(
            text.ends_with(
                "active LSMs: lockdown, capability, apparmor, bpf; they label this process \
                 (unconfined) but not its sockets: SO_PEERSEC: ENOPROTOOPT"
            ),
            "{text}"
        );
    }

    #[test]
    fn no_labels_names_the_facility() {
        let e = no_labels("SO_PEERSEC fails with ENOPROTOOPT");
        let skip = e.downcast_ref::<Skip>().expect("a skip");
        let text = &skip.0;
        assert!(Skip::is_missing_facility(text), "{text}");
        assert!(text.contains("an LSM that labels sockets"), "{text}");
        assert!(
            text.ends_with(
                "/proc/self/attr/current has no label; SO_PEERSEC fails with ENOPROTOOPT"
            ),
            "{text}"
        );
        assert_eq!("unknown", lsm_list(&[]));
        assert_eq!(
            "bpf, landlock",
            lsm_list(&["bpf".into(), "landlock".into()])
        );
    }

    fn erange_selinux() -> PeerSecErange {
        PeerSecErange {
            own_label: LABEL.into(),
            short_errno: "ERANGE".into(),
            short_optlen: LABEL.len() + 1,
            retry: LABEL.into(),
        }
    }

    #[rstest]
    #[case::selinux(erange_selinux(), Verdict::Holds, &[])]
    #[case::without_nul(PeerSecErange { short_optlen: LABEL.len(), ..erange_selinux() }, Verdict::Holds, &[])]
    #[case::too_long(PeerSecErange { short_optlen: LABEL.len() + 2, ..erange_selinux() }, Verdict::Holds,
        &["optlen reports the context's length"])]
    #[case::too_short(PeerSecErange { short_optlen: LABEL.len() - 1, ..erange_selinux() }, Verdict::Holds,
        &["optlen reports the context's length"])]
    // A kernel that truncates silently instead of failing.
    #[case::truncates(PeerSecErange { short_errno: "ok".into(), short_optlen: 1, retry: "s".into(),
        ..erange_selinux() }, Verdict::Refuted,
        &["getsockopt with a one-byte buffer", "optlen reports the context's length",
          "a buffer of that length gets the context"])]
    #[case::retry_fails(PeerSecErange { retry: "ERANGE".into(), ..erange_selinux() }, Verdict::Refuted,
        &["a buffer of that length gets the context"])]
    fn erange_judgement(
        #[case] o: PeerSecErange,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn erange_words() {
        let j = erange_selinux().judge();
        assert_eq!("ERANGE, needs 34 B", j.key);
        assert_eq!(
            format!("one byte: ERANGE with optlen 34; 34 bytes: {LABEL}"),
            j.because
        );
    }

    /// A machine running SELinux (this kernel has no labelling LSM: the case
    /// skips there).
    fn passsec_selinux() -> PassSec {
        PassSec {
            lsms: vec!["capability".into(), "selinux".into()],
            own_label: LABEL.into(),
            set_result: "ok".into(),
            off: None,
            on: Some(LABEL.into()),
            udp_set: "EOPNOTSUPP".into(),
        }
    }

    #[rstest]
    #[case::selinux(passsec_selinux(), Verdict::Holds, &[])]
    // A libc that ignores the option: nothing arrives.
    #[case::ignored(PassSec { on: None, ..passsec_selinux() }, Verdict::Refuted,
        &["SCM_SECURITY with SO_PASSSEC"])]
    #[case::always(PassSec { off: Some(LABEL.into()), ..passsec_selinux() }, Verdict::Differs,
        &["SCM_SECURITY without SO_PASSSEC"])]
    #[case::other_context(PassSec { on: Some("kernel".into()), ..passsec_selinux() }, Verdict::Refuted,
        &["SCM_SECURITY with SO_PASSSEC"])]
    #[case::refused(PassSec { set_result: "EOPNOTSUPP".into(), ..passsec_selinux() }, Verdict::Refuted,
        &["setsockopt(SO_PASSSEC) on AF_UNIX"])]
    // Before 6.16 UDP accepted the option: not judged.
    #[case::old_udp(PassSec { udp_set: "ok".into(), ..passsec_selinux() }, Verdict::Holds, &[])]
    fn passsec_judgement(#[case] o: PassSec, #[case] verdict: Verdict, #[case] checks: &[&str]) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn passsec_words() {
        let j = passsec_selinux().judge();
        assert_eq!(format!("off/on: none / {LABEL}"), j.key);
        assert_eq!(
            format!(
                "LSMs: capability, selinux; own label: {LABEL}; setsockopt: ok; SCM_SECURITY without the \
                 option: none, with it: {LABEL}; on a UDP socket setsockopt: EOPNOTSUPP"
            ),
            j.because
        );
    }

    /// SELinux with NetLabel (this kernel has no labelling LSM: the case
    /// skips there).
    fn ip_labelled() -> IpPassSec {
        IpPassSec {
            own_label: LABEL.into(),
            udp_set: "ok".into(),
            udp_security: Some(LABEL.into()),
            udp_unasked: None,
            tcp_set: "ok".into(),
        }
    }

    const WITH: &str = "SCM_SECURITY with IP_PASSSEC carries a context";

    #[rstest]
    #[case::labelled(ip_labelled(), Verdict::Holds, &[])]
    // NetLabel passes only the MLS part: another context is still the peer's.
    #[case::mls_only(IpPassSec { udp_security: Some("system_u:object_r:netlabel_peer_t:s0".into()),
        ..ip_labelled() }, Verdict::Holds, &[])]
    #[case::ignored(IpPassSec { udp_security: None, ..ip_labelled() }, Verdict::Refuted, &[WITH])]
    #[case::empty(IpPassSec { udp_security: Some(String::new()), ..ip_labelled() }, Verdict::Refuted, &[WITH])]
    #[case::udp_refused(IpPassSec { udp_set: "ENOPROTOOPT".into(), ..ip_labelled() }, Verdict::Refuted,
        &["setsockopt(IP_PASSSEC) on UDP"])]
    #[case::unasked(IpPassSec { udp_unasked: Some(LABEL.into()), ..ip_labelled() }, Verdict::Differs,
        &["SCM_SECURITY without IP_PASSSEC"])]
    // The page's "only UDP": a TCP socket that refused would change nothing judged.
    #[case::tcp_refuses(IpPassSec { tcp_set: "ENOPROTOOPT".into(), ..ip_labelled() }, Verdict::Holds, &[])]
    fn ip_passsec_judgement(
        #[case] o: IpPassSec,
        #[case] verdict: Verdict,
        #[case] checks: &[&str],
    ) {
        assert_eq!((Some(verdict), checks.to_vec()), failed(&o.judge()));
    }

    #[test]
    fn ip_passsec_words() {
        let j = ip_labelled().judge();
        assert_eq!(format!("UDP off/on: none / {LABEL}"), j.key);
        assert_eq!(
            format!(
                "own label: {LABEL}; UDP: setsockopt ok, SCM_SECURITY without the option: none, with it: \
                 {LABEL}; TCP: setsockopt ok"
            ),
            j.because
        );
    }
}
