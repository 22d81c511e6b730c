//! What select(2), poll(2) and epoll(7) report for one descriptor: the three
//! select sets, poll's revents, epoll's events. `wait::ready` answers "is it
//! ready yet?"; these say exactly what each interface reported, for the cases
//! that compare them (SO_RCVLOWAT, SO_SELECT_ERR_QUEUE, timeouts).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};

/// select(2)'s three sets for one descriptor: asked for, or reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sets {
    pub read: bool,
    pub write: bool,
    pub except: bool,
}

impl Sets {
    pub const ALL: Sets = Sets {
        read: true,
        write: true,
        except: true,
    };
    pub const EXCEPT: Sets = Sets {
        read: false,
        write: false,
        except: true,
    };
    pub const READ: Sets = Sets {
        read: true,
        write: false,
        except: false,
    };
}

impl crate::model::Show for Sets {
    /// "readable, writable, exceptional" (the sets `fd` was reported in), or "none".
    fn show(&self) -> String {
        let names: Vec<&str> = [
            (self.read, "readable"),
            (self.write, "writable"),
            (self.except, "exceptional"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

fn timeval(d: Duration) -> libc::timeval {
    libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}

/// select(2) on `fd` in the sets `want`, waiting at most `timeout` (zero: a
/// look without waiting). Returns the sets `fd` was reported in.
pub fn select(fd: i32, want: Sets, timeout: Duration) -> Result<Sets> {
    ensure!(
        (0..libc::FD_SETSIZE as i32).contains(&fd),
        "fd {fd} does not fit an fd_set"
    );
    // SAFETY: fd_set is plain data; FD_ZERO/FD_SET/FD_ISSET work on our own
    // sets, and fd is below FD_SETSIZE (checked above).
    unsafe {
        let mut sets: [libc::fd_set; 3] = std::mem::zeroed();
        for (set, on) in sets.iter_mut().zip([want.read, want.write, want.except]) {
            libc::FD_ZERO(set);
            if on {
                libc::FD_SET(fd, set);
            }
        }
        let ptr = |i: usize, on: bool, sets: &mut [libc::fd_set; 3]| {
            if on {
                &mut sets[i] as *mut libc::fd_set
            } else {
                std::ptr::null_mut()
            }
        };
        let (r, w, x) = (
            ptr(0, want.read, &mut sets),
            ptr(1, want.write, &mut sets),
            ptr(2, want.except, &mut sets),
        );
        let mut tv = timeval(timeout);
        let n = libc::select(fd + 1, r, w, x, &mut tv);
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("select");
        }
        Ok(Sets {
            read: want.read && libc::FD_ISSET(fd, &sets[0]),
            write: want.write && libc::FD_ISSET(fd, &sets[1]),
            except: want.except && libc::FD_ISSET(fd, &sets[2]),
        })
    }
}

/// poll(2) on `fd` for `events` (POLLIN, POLLPRI...), waiting at most
/// `timeout`: the revents (0 when nothing was reported).
pub fn poll(fd: i32, events: i16, timeout: Duration) -> Result<i16> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one pollfd, alive for the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    if n < 0 {
        return Err(std::io::Error::last_os_error()).context("poll");
    }
    Ok(p.revents)
}

/// epoll_wait(2) on a new epoll instance watching `fd` for `events`
/// (level-triggered), waiting at most `timeout`: the events reported (0 when
/// none).
pub fn epoll(fd: i32, events: u32, timeout: Duration) -> Result<u32> {
    // SAFETY: plain epoll_create1; the descriptor is owned below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error()).context("epoll_create1");
    }
    // SAFETY: ep is fresh and ours.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    let mut ev = libc::epoll_event { events, u64: 0 };
    // SAFETY: ev is alive for the call.
    if unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error()).context("epoll_ctl ADD");
    }
    let mut out = [libc::epoll_event { events: 0, u64: 0 }];
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: room for one event.
    let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 1, ms) };
    if n < 0 {
        return Err(std::io::Error::last_os_error()).context("epoll_wait");
    }
    Ok(if n > 0 { out[0].events } else { 0 })
}

/// Names of the poll(2) bits set in `revents`: "POLLIN|POLLERR", or "none".
pub fn poll_names(revents: i16) -> String {
    let names: Vec<&str> = [
        (libc::POLLIN, "POLLIN"),
        (libc::POLLPRI, "POLLPRI"),
        (libc::POLLOUT, "POLLOUT"),
        (libc::POLLERR, "POLLERR"),
        (libc::POLLHUP, "POLLHUP"),
        (libc::POLLNVAL, "POLLNVAL"),
        (libc::POLLRDNORM, "POLLRDNORM"),
        (libc::POLLWRNORM, "POLLWRNORM"),
    ]
    .into_iter()
    .filter_map(|(bit, name)| (revents & bit != 0).then_some(name))
    .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Show;
    use pretty_assertions::assert_eq;

    #[test]
    fn sets_and_bits_read_like_their_names() {
        assert_eq!(
            "readable, exceptional",
            Sets {
                read: true,
                write: false,
                except: true
            }
            .show()
        );
        assert_eq!("none", Sets::default().show());
        assert_eq!("POLLPRI|POLLERR", poll_names(libc::POLLPRI | libc::POLLERR));
        assert_eq!("none", poll_names(0));
    }

    #[test]
    fn a_pipe_with_data_is_readable_everywhere() {
        let mut fds = [0i32; 2];
        // SAFETY: pipe fills two descriptors, closed below.
        assert_eq!(0, unsafe { libc::pipe(fds.as_mut_ptr()) });
        // SAFETY: one byte from a live buffer.
        assert_eq!(1, unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) });
        assert_eq!(
            Sets::READ,
            select(fds[0], Sets::ALL, Duration::ZERO).unwrap()
        );
        assert_eq!(
            libc::POLLIN,
            poll(fds[0], libc::POLLIN, Duration::ZERO).unwrap()
        );
        assert_eq!(
            libc::EPOLLIN as u32,
            epoll(fds[0], libc::EPOLLIN as u32, Duration::ZERO).unwrap()
        );
        // SAFETY: closing the descriptors pipe gave us.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}
