//! The calling thread's effective capabilities: a case lowers some for a
//! moment to see what the kernel refuses without them (a privilege rule is a
//! claim like any other). Only the effective set changes, so the permitted
//! set brings them back; other threads keep theirs (capabilities are per
//! thread).

use std::io;

use anyhow::{Context, Result};

pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;

/// _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn get() -> io::Result<[Data; 2]> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: capget fills two Data words for version 3; both live for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(d)
}

fn set(d: &[Data; 2]) -> io::Result<()> {
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset reads two Data words for version 3; both live for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether `cap` is in the calling thread's effective set.
pub fn has(cap: u32) -> Result<bool> {
    let d = get().context("capget")?;
    Ok(d[(cap / 32) as usize].effective & (1 << (cap % 32)) != 0)
}

/// Runs `f` with `caps` removed from the calling thread's effective set,
/// then puts the effective set back as it was.
pub fn without<T>(caps: &[u32], f: impl FnOnce() -> T) -> Result<T> {
    let before = get().context("capget")?;
    let mut lowered = before;
    for &c in caps {
        lowered[(c / 32) as usize].effective &= !(1 << (c % 32));
    }
    set(&lowered).context("capset: lower the effective set")?;
    let out = f();
    set(&before).context("capset: restore the effective set")?;
    Ok(out)
}
