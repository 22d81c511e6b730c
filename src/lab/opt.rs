//! Socket options by name, level and number: what a case declares it relies
//! on (`Case::relies_on`), and what the sabotage shim is told to ignore.

/// A socket option as setsockopt(2) takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opt {
    pub name: &'static str,
    pub level: i32,
    pub number: i32,
}

impl Opt {
    pub const fn new(name: &'static str, level: i32, number: i32) -> Opt {
        Opt {
            name,
            level,
            number,
        }
    }

    /// The sabotage shim's spelling: "level:number".
    pub fn shim_spec(&self) -> String {
        format!("{}:{}", self.level, self.number)
    }
}

impl std::fmt::Display for Opt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! opts {
    ($($level:ident: $($name:ident),* ;)*) => {
        $($(
            pub const $name: Opt = Opt::new(stringify!($name), libc::$level, libc::$name);
        )*)*
        /// Every option named in this module.
        pub const ALL: &[Opt] = &[$($($name),*),*];
    };
}

opts! {
    SOL_SOCKET: SO_LINGER, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF,
        SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO, SO_DEBUG, SO_TIMESTAMPNS, SO_RCVBUFFORCE, SO_SNDBUFFORCE, SO_SNDLOWAT, SO_RXQ_OVFL;
    IPPROTO_TCP: TCP_NODELAY, TCP_MAXSEG, TCP_QUICKACK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
        TCP_REPAIR, TCP_NOTSENT_LOWAT, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ;
    IPPROTO_IP: IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_MULTICAST_ALL,
        IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP;
    IPPROTO_IPV6: IPV6_UNICAST_HOPS, IPV6_V6ONLY;
    SOL_SOCKET: SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_LOCK_FILTER, SO_ATTACH_REUSEPORT_CBPF,
        SO_INCOMING_CPU, SO_BUSY_POLL;
    SOL_UDP: UDP_CORK, UDP_SEGMENT, UDP_GRO;
    IPPROTO_IPV6: IPV6_RECVPKTINFO, IPV6_HOPLIMIT, IPV6_RECVHOPLIMIT, IPV6_FLOWINFO, IPV6_TCLASS,
        IPV6_AUTHHDR, IPV6_HOPOPTS, IPV6_RECVHOPOPTS, IPV6_DSTOPTS, IPV6_RECVDSTOPTS,
        IPV6_RTHDR;
}

/// BSD's SO_TIMEOUT (0x1006), which Linux does not have: a case shows the
/// refusal.
pub const SO_TIMEOUT_BSD: Opt = Opt::new("SO_TIMEOUT (BSD 0x1006)", libc::SOL_SOCKET, 0x1006);

/// BSD's TCP_KEEPALIVE number (0x10): TCP_THIN_LINEAR_TIMEOUTS on Linux.
pub const TCP_KEEPALIVE_BSD: Opt = Opt::new("TCP_KEEPALIVE (BSD 0x10)", libc::IPPROTO_TCP, 0x10);
