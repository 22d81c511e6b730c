//! Entering a fresh network namespace, and the extra "hosts" (more namespaces)
//! a topology needs.
//!
//! A case runs in its own single-threaded child process, so `unshare` is always
//! allowed (CLONE_NEWUSER is refused to multi-threaded processes). When that
//! process exits, every namespace it created — and the interfaces inside — is
//! freed by the kernel: nothing is mounted or named on the host.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::sched::{setns, unshare, CloneFlags};

use super::netlink::Netlink;
use crate::model::Skip;

/// How the case's namespace was obtained; reported so a reader knows which
/// privileges the observations were made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Real root: a plain network namespace, full capabilities in the init user ns.
    Root,
    /// Ordinary user (or a root without CAP_SYS_ADMIN): a user namespace owns the
    /// network namespace, so capabilities hold only inside it.
    UserNamespace,
}

/// A network namespace the case created ("a host" in a topology).
pub struct Host {
    pub name: String,
    ns: OwnedFd,
}

impl Host {
    /// Runs `f` with the calling thread inside this host's namespace. Sockets
    /// created in `f` stay in this namespace for their whole life.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let back = open_current_netns()?;
        setns(self.ns.as_fd(), CloneFlags::CLONE_NEWNET)
            .with_context(|| format!("setns into host {}", self.name))?;
        let out = f();
        setns(back.as_fd(), CloneFlags::CLONE_NEWNET)
            .context("setns back to the case namespace")?;
        Ok(out)
    }

    /// A namespace someone else created and named (e.g. /run/netns/NAME,
    /// made by scripts/netns.sh). Entering it needs real root.
    pub fn named(name: &str, path: &str) -> Result<Host> {
        let f = fs::File::open(path).with_context(|| format!("open network namespace {path}"))?;
        super::record::host(name);
        Ok(Host {
            name: name.to_string(),
            ns: OwnedFd::from(f),
        })
    }

    /// Another handle on the same namespace.
    pub fn clone_of(other: &Host) -> Result<Host> {
        Ok(Host {
            name: other.name.clone(),
            ns: other.ns.try_clone().context("dup namespace fd")?,
        })
    }

    /// Raw fd of the namespace, for netlink's IFLA_NET_NS_FD.
    pub fn ns_fd(&self) -> i32 {
        self.ns.as_raw_fd()
    }
}

fn open_current_netns() -> Result<OwnedFd> {
    let f = fs::File::open("/proc/thread-self/ns/net").context("open /proc/thread-self/ns/net")?;
    Ok(OwnedFd::from(f))
}

/// Moves the calling (single-threaded) process into a new network namespace,
/// through a user namespace when not root. Returns a `Skip` carrying the reason
/// when the kernel or the policy refuses both ways.
pub fn enter_fresh_namespace() -> std::result::Result<Privilege, Skip> {
    super::procnet::snapshot_global_sysctls();
    let euid = nix::unistd::geteuid();
    if euid.is_root() && unshare(CloneFlags::CLONE_NEWNET).is_ok() {
        return Ok(Privilege::Root);
    }
    let egid = nix::unistd::getegid();
    if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET) {
        return Err(Skip(format!(
            "cannot create a network namespace: unshare(CLONE_NEWUSER|CLONE_NEWNET) failed with {e}; \
             run as root or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, \
             user.max_user_namespaces>0)"
        )));
    }
    // Map our own uid/gid to root inside, so we hold the namespace's capabilities.
    let maps = [
        ("/proc/self/setgroups", "deny".to_string()),
        ("/proc/self/uid_map", format!("0 {euid} 1")),
        ("/proc/self/gid_map", format!("0 {egid} 1")),
    ];
    for (path, content) in maps {
        if let Err(e) = fs::write(path, &content) {
            // setgroups is absent on very old kernels; the maps are not optional.
            if path.ends_with("setgroups") {
                continue;
            }
            return Err(Skip(format!("cannot write {path} ({content}): {e}")));
        }
    }
    Ok(Privilege::UserNamespace)
}

/// The hosts of one case. The first host is the namespace the case process was
/// put into; more can be added, each a fresh namespace with `lo` up.
pub struct Lab {
    pub privilege: Privilege,
    pub main: Host,
    /// The namespaces added with `add_host` (their traffic is counted too).
    extra: Vec<Host>,
    /// Held for the case's life: the kernel turns packet timestamping on
    /// machine-wide only after a deferred work item runs, so asking early
    /// means captures started later get kernel timestamps from their first frame.
    _timestamps: Option<std::net::UdpSocket>,
}

impl Lab {
    /// Called once in the case process after `enter_fresh_namespace`.
    pub fn new(privilege: Privilege) -> Result<Lab> {
        let stamps = std::net::UdpSocket::bind("0.0.0.0:0").ok();
        if let Some(u) = &stamps {
            let _ = super::capture::set_int(
                std::os::fd::AsRawFd::as_raw_fd(u),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                1,
            );
        }
        let main = Host {
            name: "main".into(),
            ns: open_current_netns()?,
        };
        Netlink::open()?
            .set_up(1)
            .context("bring lo up in the case namespace")?;
        Ok(Lab {
            privilege,
            main,
            extra: Vec::new(),
            _timestamps: stamps,
        })
    }

    /// A new namespace ("host") with `lo` up. The calling thread stays where it was.
    pub fn add_host(&mut self, name: &str) -> Result<Host> {
        let back = open_current_netns()?;
        unshare(CloneFlags::CLONE_NEWNET)
            .with_context(|| format!("unshare a netns for host {name}"))?;
        let ns = open_current_netns()?;
        let up = Netlink::open().and_then(|nl| nl.set_up(1));
        setns(back.as_fd(), CloneFlags::CLONE_NEWNET)
            .context("setns back after creating a host")?;
        up.with_context(|| format!("bring lo up in host {name}"))?;
        let host = Host {
            name: name.to_string(),
            ns,
        };
        super::record::host(name);
        self.extra.push(Host::clone_of(&host)?);
        Ok(host)
    }

    /// Bytes sent on every interface of every namespace this lab created
    /// (/proc/net/dev of each): how much the case moved.
    pub fn wire_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for host in std::iter::once(&self.main).chain(&self.extra) {
            total += host.run(tx_bytes)??;
        }
        Ok(total)
    }
}

/// The sum of the tx_bytes column of /proc/thread-self/net/dev.
fn tx_bytes() -> Result<u64> {
    let text = fs::read_to_string("/proc/thread-self/net/dev").context("read /proc/net/dev")?;
    // "  lo: rx_bytes rx_packets ... (8 rx columns) tx_bytes ..."
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(_, cols)| cols.split_whitespace().nth(8)?.parse::<u64>().ok())
        .sum())
}
