//! A forked child in a user namespace and a network namespace of its own: it
//! holds every capability there (CAP_NET_ADMIN over its network namespace
//! included) and none in the initial user namespace. For the cases that ask
//! which of the two a privileged socket option wants.
//!
//! The child runs only raw system calls (a fork of a process that may have
//! threads must not touch locks), then reports up to four integers through a
//! pipe and exits.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::sock::errno_name;

/// CAP_NET_ADMIN (linux/capability.h).
const CAP_NET_ADMIN: u32 = 12;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// What the child reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nested {
    /// unshare(CLONE_NEWUSER | CLONE_NEWNET): "ok" or the errno name.
    pub unshare: String,
    /// CAP_NET_ADMIN in the child's effective set afterwards (capget).
    pub cap_net_admin: bool,
    /// What the probe returned.
    pub values: [i64; 4],
}

/// The calling thread's errno.
pub fn errno() -> i64 {
    // SAFETY: reading this thread's errno.
    unsafe { *libc::__errno_location() as i64 }
}

/// A syscall's result as the probe reports it: 0 for success, the errno otherwise.
pub fn rc(r: libc::c_int) -> i64 {
    if r < 0 {
        errno()
    } else {
        0
    }
}

/// An errno value reported by the probe, as a report writes it ("ok" for 0).
pub fn errno_text(e: i64) -> String {
    if e == 0 {
        "ok".into()
    } else {
        errno_name(&std::io::Error::from_raw_os_error(e as i32))
    }
}

fn child_has_net_admin() -> bool {
    let mut hdr = [LINUX_CAPABILITY_VERSION_3, 0u32];
    let mut data = [0u32; 6];
    // SAFETY: capget fills two 3-word structs for a version-3 header.
    let rc = unsafe { libc::syscall(libc::SYS_capget, hdr.as_mut_ptr(), data.as_mut_ptr()) };
    rc == 0 && data[0] & (1 << CAP_NET_ADMIN) != 0
}

/// Runs `probe` in a forked child after unshare(CLONE_NEWUSER | CLONE_NEWNET).
/// `probe` may use raw system calls only (libc::socket, setsockopt, ...).
pub fn in_new_user_namespace(probe: fn() -> [i64; 4]) -> Result<Nested> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error()).context("pipe2");
    }
    // SAFETY: the child makes raw syscalls only, then _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error()).context("fork");
    }
    if pid == 0 {
        let mut out = [0i64; 6];
        // SAFETY: unshare takes flags only.
        out[0] = rc(unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) });
        if out[0] == 0 {
            out[1] = child_has_net_admin() as i64;
            out[2..].copy_from_slice(&probe());
        }
        // SAFETY: writing a local array to our pipe, then leaving at once.
        unsafe {
            libc::write(fds[1], out.as_ptr().cast(), std::mem::size_of_val(&out));
            libc::_exit(0);
        }
    }
    let mut out = [0i64; 6];
    // SAFETY: our copy of the write end is closed so that the read sees EOF if
    // the child dies; the read fills a local array.
    let n = unsafe {
        libc::close(fds[1]);
        let n = libc::read(fds[0], out.as_mut_ptr().cast(), std::mem::size_of_val(&out));
        libc::close(fds[0]);
        n
    };
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if n != std::mem::size_of_val(&out) as isize {
        bail!(
            "the child in a new user namespace reported nothing (read {n} bytes, status {status})"
        );
    }
    Ok(Nested {
        unshare: errno_text(out[0]),
        cap_net_admin: out[1] != 0,
        values: [out[2], out[3], out[4], out[5]],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn errno_values_read_as_names() {
        assert_eq!("ok", errno_text(0));
        assert_eq!("EPERM", errno_text(libc::EPERM as i64));
    }
}
