//! AF_UNIX sockets for the credential cases: socket pairs, listeners in the
//! abstract namespace (which belongs to the case's network namespace, so
//! nothing appears on disk and no name collides with another case), the
//! peer's credentials, and another process to be the peer.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::sock::Sock;

/// A socketpair(AF_UNIX, kind) in the calling thread's namespace.
pub fn pair(kind: i32) -> Result<(Sock, Sock)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two descriptors into fds.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            kind | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error()).context("socketpair(AF_UNIX)");
    }
    // SAFETY: both descriptors are fresh and owned by us.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((Sock::adopt(a), Sock::adopt(b)))
}

/// A new AF_UNIX socket of `kind`.
pub fn socket(kind: i32) -> Result<Sock> {
    Sock::open(libc::AF_UNIX, kind, 0).context("socket(AF_UNIX)")
}

/// The abstract address `\0name` and its length.
fn abstract_addr(name: &str) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = name.as_bytes();
    let n = bytes.len().min(sun.sun_path.len() - 1);
    for (d, s) in sun.sun_path[1..=n].iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + 1 + n;
    (sun, len as libc::socklen_t)
}

/// bind() to the abstract name `name`.
pub fn bind(s: &Sock, name: &str) -> io::Result<()> {
    let (sun, len) = abstract_addr(name);
    // SAFETY: sun holds an address of len bytes.
    let rc = unsafe {
        libc::bind(
            s.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// connect() to the abstract name `name`. Allocates nothing, so a forked
/// child may call it.
pub fn connect(s: &Sock, name: &str) -> io::Result<()> {
    let (sun, len) = abstract_addr(name);
    // SAFETY: sun holds an address of len bytes.
    let rc = unsafe {
        libc::connect(
            s.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A listening AF_UNIX socket of `kind` on the abstract name `name`.
pub fn listener(name: &str, kind: i32) -> Result<Sock> {
    let s = socket(kind)?;
    bind(&s, name).with_context(|| format!("bind AF_UNIX @{name}"))?;
    s.listen(8).with_context(|| format!("listen on @{name}"))?;
    Ok(s)
}

/// struct ucred: what SO_PEERCRED returns and SCM_CREDENTIALS carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// Decodes a struct ucred (12 bytes, native endian).
    pub fn from_bytes(d: &[u8]) -> Option<Ucred> {
        let word = |i: usize| Some(u32::from_ne_bytes(d.get(i..i + 4)?.try_into().ok()?));
        Some(Ucred {
            pid: word(0)? as i32,
            uid: word(4)?,
            gid: word(8)?,
        })
    }

    /// The calling process's own pid, uid and gid.
    pub fn of_self() -> Ucred {
        Ucred {
            pid: std::process::id() as i32,
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }
}

impl crate::model::Show for Ucred {
    /// "pid 42 uid 0 gid 0"; an unset id (-1) shows as -1.
    fn show(&self) -> String {
        format!(
            "pid {} uid {} gid {}",
            self.pid, self.uid as i32, self.gid as i32
        )
    }
}

/// getsockopt(SO_PEERCRED).
pub fn peercred(s: &Sock) -> io::Result<Ucred> {
    let mut b = [0u8; 12];
    let n = s.get_raw(libc::SOL_SOCKET, libc::SO_PEERCRED, &mut b)?;
    Ucred::from_bytes(&b[..n]).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Runs `f` in a forked child process and waits for it; returns the child's
/// pid and exit status (what `f` returned). The case process is single
/// threaded, but `f` should still do plain syscalls only: the child leaves
/// with _exit, running no destructor and printing nothing.
pub fn in_child(f: impl FnOnce() -> i32) -> Result<(i32, i32)> {
    // SAFETY: fork in the case process; the child only runs `f` and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error()).context("fork");
    }
    if pid == 0 {
        let code = f();
        // SAFETY: leaving the child without unwinding or atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error()).context("waitpid");
    }
    if !libc::WIFEXITED(status) {
        bail!("the child process {pid} did not exit normally (status {status})");
    }
    Ok((pid, libc::WEXITSTATUS(status)))
}
