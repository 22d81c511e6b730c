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
    IPPROTO_TCP: TCP_CORK, TCP_DEFER_ACCEPT, TCP_SYNCNT, TCP_LINGER2, TCP_WINDOW_CLAMP,
        TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_SAVE_SYN, TCP_FASTOPEN, TCP_FASTOPEN_CONNECT;
    IPPROTO_IP: IP_TTL, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_MULTICAST_ALL,
        IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP;
    IPPROTO_IPV6: IPV6_UNICAST_HOPS, IPV6_V6ONLY;
    SOL_SOCKET: SO_PEEK_OFF, SO_TIMESTAMP, SO_SELECT_ERR_QUEUE;
    SOL_SOCKET: SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_LOCK_FILTER, SO_ATTACH_REUSEPORT_CBPF,
        SO_INCOMING_CPU, SO_BUSY_POLL;
    SOL_UDP: UDP_CORK, UDP_SEGMENT, UDP_GRO;
    IPPROTO_IP: IP_MTU_DISCOVER, IP_RECVERR, IP_TOS, IP_OPTIONS, IP_HDRINCL, IP_ROUTER_ALERT,
        IP_NODEFRAG;
    IPPROTO_IPV6: IPV6_MTU_DISCOVER, IPV6_RECVERR, IPV6_MTU, IPV6_ROUTER_ALERT, IPV6_HOPOPTS;
    SOL_SOCKET: SO_TIMESTAMPING;
    SOL_SOCKET: SO_ACCEPTCONN, SO_DOMAIN, SO_PROTOCOL, SO_TYPE, SO_ERROR, SO_PEERCRED, SO_PASSCRED,
        SO_PEERSEC, SO_PASSSEC, SO_BSDCOMPAT, SO_PRIORITY, SO_MARK, SO_BINDTODEVICE;
    IPPROTO_IP: IP_PASSSEC;
    IPPROTO_IP: IP_ADD_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE,
        IP_UNBLOCK_SOURCE, IP_MSFILTER;
    IPPROTO_IPV6: IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP, IPV6_MULTICAST_IF,
        IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP;
    IPPROTO_IP: IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT;
    IPPROTO_IPV6: IPV6_ADDRFORM;
    IPPROTO_IP: IP_PKTINFO, IP_RECVTOS, IP_RECVTTL, IP_RECVOPTS, IP_RETOPTS,
        IP_RECVORIGDSTADDR;
    IPPROTO_IPV6: IPV6_RECVPKTINFO, IPV6_HOPLIMIT, IPV6_RECVHOPLIMIT, IPV6_FLOWINFO, IPV6_TCLASS,
        IPV6_AUTHHDR, IPV6_RECVHOPOPTS, IPV6_DSTOPTS, IPV6_RECVDSTOPTS, IPV6_RTHDR;
}

/// BSD's SO_TIMEOUT (0x1006), which Linux does not have: a case shows the
/// refusal.
pub const SO_TIMEOUT_BSD: Opt = Opt::new("SO_TIMEOUT (BSD 0x1006)", libc::SOL_SOCKET, 0x1006);

/// BSD's TCP_KEEPALIVE number (0x10): TCP_THIN_LINEAR_TIMEOUTS on Linux.
pub const TCP_KEEPALIVE_BSD: Opt = Opt::new("TCP_KEEPALIVE (BSD 0x10)", libc::IPPROTO_TCP, 0x10);

/// IP_LOCAL_PORT_RANGE (Linux 6.3, number 51): not in the libc crate yet.
pub const IP_LOCAL_PORT_RANGE: Opt = Opt::new("IP_LOCAL_PORT_RANGE", libc::IPPROTO_IP, 51);
