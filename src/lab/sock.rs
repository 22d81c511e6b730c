//! A thin socket wrapper over libc: every call returns the kernel's answer
//! (value or errno) so cases can observe refusals, not just successes.
//! Calls go through the dynamic libc symbols on purpose: an LD_PRELOAD shim
//! that tampers with setsockopt affects sockspec exactly as it would any program.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// An errno as its symbolic name ("EADDRINUSE"), for reports.
pub fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{:?}", nix::errno::Errno::from_raw(n)),
        None => e.to_string(),
    }
}

/// The outcome of a syscall as a report shows it: "ok" or the errno name.
pub fn result_name<T>(r: &io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => errno_name(e),
    }
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn cvt_size(rc: libc::ssize_t) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

fn to_raw(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as u16,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as u16,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn from_raw(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let s6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            let ip = Ipv6Addr::from(s6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(s6.sin6_port),
                0,
                s6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// A socket address as the kernel takes it (sockaddr_storage and its length).
pub(crate) fn addr_to_storage(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    to_raw(addr)
}

/// A socket address the kernel filled in (AF_INET or AF_INET6).
pub(crate) fn addr_from_storage(ss: &libc::sockaddr_storage) -> Option<SocketAddr> {
    from_raw(ss)
}

/// IPv4 or IPv6, for cases that run on both (`@v6` variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn loopback(self) -> IpAddr {
        match self {
            Family::V4 => Ipv4Addr::LOCALHOST.into(),
            Family::V6 => Ipv6Addr::LOCALHOST.into(),
        }
    }
    pub fn any(self) -> IpAddr {
        match self {
            Family::V4 => Ipv4Addr::UNSPECIFIED.into(),
            Family::V6 => Ipv6Addr::UNSPECIFIED.into(),
        }
    }
    fn domain(self) -> libc::c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }
    /// "ipv4" or "ipv6", as reports name a family.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
    pub fn of(addr: &IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

#[derive(Debug)]
pub struct Sock {
    fd: OwnedFd,
}

impl AsRawFd for Sock {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Sock {
    fn new(family: Family, kind: libc::c_int) -> Result<Sock> {
        // SAFETY: plain socket(2); checked below.
        let fd = cvt(unsafe { libc::socket(family.domain(), kind | libc::SOCK_CLOEXEC, 0) })
            .with_context(|| format!("socket({family:?}, {kind})"))?;
        super::record::socket_family(family.name());
        // SAFETY: fd is fresh and owned by us.
        Ok(Sock {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
    pub fn tcp(family: Family) -> Result<Sock> {
        Sock::new(family, libc::SOCK_STREAM)
    }
    pub fn udp(family: Family) -> Result<Sock> {
        Sock::new(family, libc::SOCK_DGRAM)
    }
    /// A raw socket for IP protocol `protocol` (needs CAP_NET_RAW in the
    /// user namespace that owns the network namespace).
    pub fn raw(family: Family, protocol: i32) -> Result<Sock> {
        // SAFETY: plain socket(2); checked below.
        let fd = cvt(unsafe {
            libc::socket(
                family.domain(),
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        })
        .with_context(|| format!("socket({family:?}, SOCK_RAW, {protocol})"))?;
        super::record::socket_family(family.name());
        // SAFETY: fd is fresh and owned by us.
        Ok(Sock {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// socket(domain, kind, protocol) for any domain (AF_UNIX, AF_PACKET,
    /// raw sockets...): the kernel's answer, errno included.
    pub fn open(domain: i32, kind: i32, protocol: i32) -> io::Result<Sock> {
        // SAFETY: plain socket(2); checked below.
        let fd = cvt(unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) })?;
        match domain {
            libc::AF_INET => super::record::socket_family("ipv4"),
            libc::AF_INET6 => super::record::socket_family("ipv6"),
            _ => {}
        }
        // SAFETY: fd is fresh and owned by us.
        Ok(Sock {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Takes ownership of a socket descriptor made elsewhere (socketpair).
    pub fn adopt(fd: OwnedFd) -> Sock {
        Sock { fd }
    }

    pub fn set_int(&self, level: i32, opt: i32, val: i32) -> io::Result<()> {
        self.set_raw(level, opt, &val.to_ne_bytes())
    }
    pub fn set_raw(&self, level: i32, opt: i32, val: &[u8]) -> io::Result<()> {
        // SAFETY: val is a live slice of the length passed.
        cvt(unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                opt,
                val.as_ptr().cast(),
                val.len() as u32,
            )
        })
        .map(|_| ())
    }
    pub fn get_int(&self, level: i32, opt: i32) -> io::Result<i32> {
        let mut v = [0u8; 4];
        let n = self.get_raw(level, opt, &mut v)?;
        let _ = n;
        Ok(i32::from_ne_bytes(v))
    }
    pub fn get_raw(&self, level: i32, opt: i32, out: &mut [u8]) -> io::Result<usize> {
        let mut len = out.len() as libc::socklen_t;
        // SAFETY: out is a live buffer of len bytes.
        cvt(unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                level,
                opt,
                out.as_mut_ptr().cast(),
                &mut len,
            )
        })?;
        Ok(len as usize)
    }
    /// SO_LINGER {l_onoff, l_linger}.
    pub fn set_linger(&self, on: bool, secs: i32) -> io::Result<()> {
        let l = libc::linger {
            l_onoff: on as i32,
            l_linger: secs,
        };
        // SAFETY: a linger struct viewed as bytes for setsockopt.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&l as *const libc::linger).cast::<u8>(),
                std::mem::size_of::<libc::linger>(),
            )
        };
        self.set_raw(libc::SOL_SOCKET, libc::SO_LINGER, bytes)
    }
    pub fn linger(&self) -> io::Result<(bool, i32)> {
        let mut b = [0u8; 8];
        self.get_raw(libc::SOL_SOCKET, libc::SO_LINGER, &mut b)?;
        let on = i32::from_ne_bytes(b[0..4].try_into().expect("4 bytes"));
        Ok((
            on != 0,
            i32::from_ne_bytes(b[4..8].try_into().expect("4 bytes")),
        ))
    }
    pub fn set_timeout(&self, opt: i32, d: Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: d.as_secs() as i64,
            tv_usec: d.subsec_micros() as i64,
        };
        // SAFETY: a timeval viewed as bytes for setsockopt.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&tv as *const libc::timeval).cast::<u8>(),
                std::mem::size_of::<libc::timeval>(),
            )
        };
        self.set_raw(libc::SOL_SOCKET, opt, bytes)
    }

    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        let (ss, len) = to_raw(&addr);
        // SAFETY: ss holds a sockaddr of len bytes.
        cvt(unsafe {
            libc::bind(
                self.as_raw_fd(),
                (&ss as *const libc::sockaddr_storage).cast(),
                len,
            )
        })
        .map(|_| ())
    }
    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        // SAFETY: plain listen(2).
        cvt(unsafe { libc::listen(self.as_raw_fd(), backlog) }).map(|_| ())
    }
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        let (ss, len) = to_raw(&addr);
        // SAFETY: ss holds a sockaddr of len bytes.
        cvt(unsafe {
            libc::connect(
                self.as_raw_fd(),
                (&ss as *const libc::sockaddr_storage).cast(),
                len,
            )
        })
        .map(|_| ())
    }
    pub fn accept(&self) -> io::Result<Sock> {
        // SAFETY: accept4 without address output.
        let fd = cvt(unsafe {
            libc::accept4(
                self.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        })?;
        // SAFETY: fd is fresh and owned by us.
        Ok(Sock {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
    pub fn local_addr(&self) -> Result<SocketAddr> {
        // SAFETY: all-zero storage, filled by getsockname.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: ss is large enough for any address.
        cvt(unsafe {
            libc::getsockname(
                self.as_raw_fd(),
                (&mut ss as *mut libc::sockaddr_storage).cast(),
                &mut len,
            )
        })
        .context("getsockname")?;
        from_raw(&ss).context("getsockname: unexpected family")
    }

    pub fn send(&self, buf: &[u8], flags: i32) -> io::Result<usize> {
        // SAFETY: buf is live for the call.
        cvt_size(unsafe {
            libc::send(
                self.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | libc::MSG_NOSIGNAL,
            )
        })
    }
    pub fn send_to(&self, buf: &[u8], flags: i32, to: SocketAddr) -> io::Result<usize> {
        let (ss, len) = to_raw(&to);
        // SAFETY: buf and ss are live for the call.
        cvt_size(unsafe {
            libc::sendto(
                self.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | libc::MSG_NOSIGNAL,
                (&ss as *const libc::sockaddr_storage).cast(),
                len,
            )
        })
    }
    pub fn recv(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        // SAFETY: buf is live and writable for the call.
        cvt_size(unsafe { libc::recv(self.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) })
    }
    /// Writes all of `buf` (blocking socket), or fails with the errno.
    pub fn send_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.send(buf, 0)?;
            buf = &buf[n..];
        }
        Ok(())
    }
    /// Reads until EOF or an error; returns the bytes and the error that ended it, if any.
    pub fn read_to_end(&self) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            match self.recv(&mut buf, 0) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        // SAFETY: fcntl on our own fd.
        let flags = cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFL) })?;
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_SETFL, flags) }).map(|_| ())
    }
    pub fn is_nonblocking(&self) -> io::Result<bool> {
        // SAFETY: fcntl on our own fd.
        Ok(cvt(unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFL) })? & libc::O_NONBLOCK != 0)
    }
    pub fn shutdown(&self, how: i32) -> io::Result<()> {
        // SAFETY: plain shutdown(2).
        cvt(unsafe { libc::shutdown(self.as_raw_fd(), how) }).map(|_| ())
    }
    /// Bytes queued: SIOCINQ (unread) or SIOCOUTQ (unsent + unacked).
    pub fn queued(&self, request: libc::c_ulong) -> io::Result<i32> {
        let mut n: libc::c_int = 0;
        // SAFETY: the ioctl writes one int.
        cvt(unsafe { libc::ioctl(self.as_raw_fd(), request, &mut n) })?;
        Ok(n)
    }
    /// close(2), returning what it returned and how long it took. The
    /// descriptor is gone afterwards whatever the result (Linux semantics).
    pub fn close(self) -> Closed {
        let fd = self.fd.into_raw_fd();
        super::record::mark("close() called");
        let t = Instant::now();
        // SAFETY: we own fd and never use it again.
        let rc = unsafe { libc::close(fd) };
        let errno = (rc < 0).then(|| errno_name(&io::Error::last_os_error()));
        super::record::mark(format!(
            "close() returned {} after {:.0} ms",
            errno.as_deref().unwrap_or("0"),
            t.elapsed().as_secs_f64() * 1e3
        ));
        Closed {
            rc,
            errno,
            took: t.elapsed(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Closed {
    pub rc: i32,
    pub errno: Option<String>,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

/// What a call that moves bytes (recv, send) returned: the count, or the
/// errno's name. A bare number or a name in JSON; "1000 B" or "ECONNRESET"
/// in a report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Returned {
    Bytes(usize),
    Errno(String),
}

impl Returned {
    pub fn of(r: &io::Result<usize>) -> Returned {
        match r {
            Ok(n) => Returned::Bytes(*n),
            Err(e) => Returned::Errno(errno_name(e)),
        }
    }

    /// A failure with the errno named `name`, as an expectation writes it.
    pub fn errno(name: &str) -> Returned {
        Returned::Errno(name.to_string())
    }
}

impl crate::model::Show for Returned {
    fn show(&self) -> String {
        match self {
            Returned::Bytes(n) => format!("{n} B"),
            Returned::Errno(e) => e.clone(),
        }
    }
}

/// A connected TCP pair on one host: `client` connected to `server` (the
/// accepted socket), plus the port the listener used.
pub struct TcpPair {
    pub client: Sock,
    pub server: Sock,
    pub listener: Sock,
}

impl TcpPair {
    /// Listener on `addr` (port 0 picks one), options applied by `prep_listener`
    /// before listen() and by `prep_client` before connect().
    pub fn connect_with(
        addr: SocketAddr,
        prep_listener: impl FnOnce(&Sock) -> Result<()>,
        prep_client: impl FnOnce(&Sock) -> Result<()>,
    ) -> Result<TcpPair> {
        let family = Family::of(&addr.ip());
        let listener = Sock::tcp(family)?;
        prep_listener(&listener)?;
        listener
            .bind(addr)
            .with_context(|| format!("bind listener {addr}"))?;
        listener.listen(16).context("listen")?;
        let target = listener.local_addr()?;
        let client = Sock::tcp(family)?;
        prep_client(&client)?;
        client
            .connect(target)
            .with_context(|| format!("connect to {target}"))?;
        let server = listener.accept().context("accept")?;
        Ok(TcpPair {
            client,
            server,
            listener,
        })
    }

    /// A plain pair on the loopback address of `family`.
    pub fn loopback(family: Family) -> Result<TcpPair> {
        TcpPair::connect_with(
            SocketAddr::new(family.loopback(), 0),
            |_| Ok(()),
            |_| Ok(()),
        )
    }

    pub fn port(&self) -> Result<u16> {
        Ok(self.listener.local_addr()?.port())
    }

    /// The connection's two ends, owned; the listener is closed.
    pub fn into_connected(self) -> (Sock, Sock) {
        (self.client, self.server)
    }
}

/// Fills the peer's receive window and our send buffer: writes until EAGAIN on a
/// non-blocking socket. Returns the bytes accepted by the kernel.
pub fn fill_until_eagain(s: &Sock, chunk: usize) -> Result<usize> {
    s.set_nonblocking(true)?;
    let buf = vec![0x5au8; chunk];
    let mut total = 0;
    loop {
        match s.send(&buf, 0) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
            Err(e) => return Err(e).context("send while filling the window"),
        }
    }
}

/// The address `s` is connected to (getpeername).
pub fn peer_addr(s: &Sock) -> Result<SocketAddr> {
    // SAFETY: all-zero storage, filled by getpeername.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: ss is large enough for any address.
    cvt(unsafe {
        libc::getpeername(
            s.as_raw_fd(),
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    })
    .context("getpeername")?;
    from_raw(&ss).context("getpeername: unexpected family")
}

impl Sock {
    /// A connected pair of AF_UNIX sockets of `kind` (SOCK_STREAM or SOCK_DGRAM).
    pub fn unix_pair(kind: libc::c_int) -> Result<(Sock, Sock)> {
        let mut fds = [0i32; 2];
        // SAFETY: socketpair fills two descriptors, owned below.
        cvt(unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                kind | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        })
        .with_context(|| format!("socketpair(AF_UNIX, {kind})"))?;
        // SAFETY: both descriptors are fresh and owned by us.
        let own = |fd| Sock {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        };
        Ok((own(fds[0]), own(fds[1])))
    }
}
