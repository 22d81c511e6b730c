//! Capabilities of one thread. Linux keeps capability sets per thread, so a
//! case that compares what a privileged and an unprivileged caller may do
//! drops a capability from the effective set of a helper thread only; the
//! rest of the case keeps its privileges.

use anyhow::{anyhow, Context, Result};

/// CAP_NET_ADMIN (linux/capability.h).
pub const CAP_NET_ADMIN: u32 = 12;

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

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

fn get() -> Result<[Data; 2]> {
    let mut hdr = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget fills two Data structs for a version-3 header.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).context("capget");
    }
    Ok(data)
}

fn set(data: &[Data; 2]) -> Result<()> {
    let mut hdr = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset reads two Data structs for a version-3 header.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error()).context("capset");
    }
    Ok(())
}

/// Whether the calling thread holds `cap` in its effective set.
pub fn effective(cap: u32) -> Result<bool> {
    let d = get()?;
    Ok(d[(cap / 32) as usize].effective & (1 << (cap % 32)) != 0)
}

/// Runs `f` on a new thread whose effective set lacks `cap` (the calling
/// thread keeps it).
pub fn without<T: Send>(cap: u32, f: impl FnOnce() -> T + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| -> Result<T> {
            let mut d = get()?;
            d[(cap / 32) as usize].effective &= !(1 << (cap % 32));
            set(&d).with_context(|| format!("drop capability {cap} from the effective set"))?;
            Ok(f())
        })
        .join()
        .map_err(|_| anyhow!("the thread without capability {cap} panicked"))?
    })
}
