//! Files a run leaves for the user (pcaps), written safely when sockspec runs
//! as root in a directory others can write to: the artifacts directory is
//! created with mode 0700 or must already be a plain directory owned by the
//! caller (never a symlink), files are created inside it relative to that
//! directory's descriptor with O_CREAT|O_EXCL|O_NOFOLLOW (a planted symlink is
//! removed, never followed), and under sudo both belong to the invoking user.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The user who asked for the run: SUDO_UID/SUDO_GID when root runs under
/// sudo, so that user can open the files without root.
fn owner() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let id = |v: &str| std::env::var(v).ok()?.parse::<u32>().ok();
    Some((id("SUDO_UID")?, id("SUDO_GID")?))
}

fn cstr(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).with_context(|| format!("{} has a NUL", p.display()))
}

/// Opens (creating it if missing) the artifacts directory `dir`.
fn open_dir(dir: &Path) -> Result<OwnedFd> {
    let c = cstr(dir)?;
    // SAFETY: c is a valid C string; mkdir does not keep the pointer.
    if unsafe { libc::mkdir(c.as_ptr(), 0o700) } == 0 {
        if let Some((uid, gid)) = owner() {
            // SAFETY: as above; lchown does not follow a symlink.
            unsafe { libc::lchown(c.as_ptr(), uid, gid) };
        }
    } else {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e)
                .with_context(|| format!("create the artifacts directory {}", dir.display()));
        }
    }
    // SAFETY: plain open(2); O_NOFOLLOW refuses a symlink as the last component.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "the artifacts directory {} is not a plain directory (a symlink?): refusing it",
                dir.display()
            )
        });
    }
    // SAFETY: fd is fresh and owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).context("fstat the artifacts directory")?;
    let caller = nix::unistd::geteuid().as_raw();
    let allowed = [Some(caller), owner().map(|(u, _)| u)];
    if !allowed.contains(&Some(st.st_uid)) {
        bail!(
            "the artifacts directory {} belongs to uid {}, not to this user: refusing to write there \
             (choose another with --artifacts)",
            dir.display(),
            st.st_uid
        );
    }
    Ok(fd)
}

/// Writes `bytes` as `dir/name` and returns the path. An existing entry of
/// that name (a stale file, or a planted symlink) is unlinked first, never
/// followed.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    if name.contains('/') || name.starts_with('.') {
        bail!("artifact name {name:?} is not a plain file name");
    }
    let d = open_dir(dir)?;
    let cname = CString::new(name).context("artifact name")?;
    // SAFETY: unlinkat relative to our directory fd; removes a symlink itself.
    unsafe { libc::unlinkat(d.as_raw_fd(), cname.as_ptr(), 0) };
    // SAFETY: openat relative to our directory fd with a valid C string.
    let fd = unsafe {
        libc::openat(
            d.as_raw_fd(),
            cname.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600,
        )
    };
    let path = dir.join(name);
    if fd < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("create {}", path.display()));
    }
    // SAFETY: fd is fresh and owned by the File from here on.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    if let Some((uid, gid)) = owner() {
        nix::unistd::fchown(f.as_raw_fd(), Some(uid.into()), Some(gid.into()))
            .with_context(|| format!("hand {} to uid {uid}", path.display()))?;
    }
    f.write_all(bytes)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn creates_a_private_directory_and_replaces_planted_links() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("art");
        let p = write(&dir, "a.pcap", b"one").unwrap();
        assert_eq!(b"one".to_vec(), std::fs::read(&p).unwrap());
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(0o700, mode);
        // A symlink planted where the next file goes is replaced, not followed.
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("b.pcap")).unwrap();
        write(&dir, "b.pcap", b"two").unwrap();
        assert_eq!(b"precious".to_vec(), std::fs::read(&victim).unwrap());
        assert!(!std::fs::symlink_metadata(dir.join("b.pcap"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn refuses_a_symlinked_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let link = tmp.path().join("art");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let e = write(&link, "a.pcap", b"x").unwrap_err();
        assert!(format!("{e:#}").contains("not a plain directory"), "{e:#}");
        assert_eq!(0, std::fs::read_dir(&elsewhere).unwrap().count());
    }

    #[test]
    fn refuses_names_that_leave_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(write(tmp.path(), "../x", b"").is_err());
        assert!(write(tmp.path(), ".hidden", b"").is_err());
        let _ = std::fs::metadata(tmp.path()).unwrap().uid();
    }
}
