//! A minimal generic netlink client for the "netdev" family (Linux 6.5+):
//! the NAPI instances a device has, so that a case can compare what a
//! socket reports (SO_INCOMING_NAPI_ID) with what the kernel lists for the
//! device. (A veth lists none for its RX queues: it never calls
//! netif_queue_set_napi, so NAPI_GET, not QUEUE_GET, is the question to ask.)
//! Hand-rolled like netlink.rs, for the same static binary.

use std::os::fd::{AsRawFd, OwnedFd};

use anyhow::{bail, Context, Result};

const NETLINK_GENERIC: i32 = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NETDEV_CMD_NAPI_GET: u8 = 11;
const NETDEV_A_NAPI_IFINDEX: u16 = 1;
const NETDEV_A_NAPI_ID: u16 = 2;

/// A request: netlink header, generic netlink header, attributes.
fn request(family: u16, cmd: u8, flags: u16, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut buf = vec![0u8; 16];
    buf[4..6].copy_from_slice(&family.to_ne_bytes());
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    buf[8..12].copy_from_slice(&1u32.to_ne_bytes());
    buf.extend_from_slice(&[cmd, 1, 0, 0]);
    for (kind, data) in attrs {
        buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(data);
        while buf.len() % 4 != 0 {
            buf.push(0);
        }
    }
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf
}

/// The attributes of a generic netlink reply's payload: (type, data).
fn attributes(payload: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = payload;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            break;
        }
        out.push((kind, &rest[4..len]));
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    out
}

type Attrs = Vec<(u16, Vec<u8>)>;

/// What one request got back: the attributes of each reply message (one
/// for a plain request, one per object for a dump), or the errno of a
/// refusal.
enum Reply {
    Messages(Vec<Attrs>),
    Refused(i32),
}

/// The messages of one datagram: (type, generic netlink payload).
fn messages(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < 16 || len > rest.len() {
            break;
        }
        out.push((kind, &rest[16..len]));
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    out
}

/// Sends `msg` and reads replies until the request is answered: one reply
/// (or an error) for a plain request, NLMSG_DONE for a dump.
fn call(fd: &OwnedFd, msg: &[u8], dump: bool, what: &str) -> Result<Reply> {
    nix::unistd::write(fd, msg).with_context(|| format!("genetlink send: {what}"))?;
    let mut buf = vec![0u8; 32768];
    let mut got = Vec::new();
    loop {
        let n = nix::unistd::read(fd.as_raw_fd(), &mut buf)
            .with_context(|| format!("genetlink recv: {what}"))?;
        let msgs = messages(&buf[..n]);
        if msgs.is_empty() {
            bail!("{what}: a short reply ({n} bytes)");
        }
        for (kind, payload) in msgs {
            match kind {
                NLMSG_ERROR => {
                    let err = i32::from_ne_bytes(
                        payload
                            .get(..4)
                            .with_context(|| format!("{what}: a short error"))?
                            .try_into()?,
                    );
                    if err != 0 {
                        return Ok(Reply::Refused(-err));
                    }
                    return Ok(Reply::Messages(got));
                }
                NLMSG_DONE => return Ok(Reply::Messages(got)),
                _ => got.push(
                    attributes(payload.get(4..).unwrap_or_default())
                        .into_iter()
                        .map(|(k, d)| (k, d.to_vec()))
                        .collect(),
                ),
            }
        }
        if !dump && !got.is_empty() {
            return Ok(Reply::Messages(got));
        }
    }
}

fn u32_attr(attrs: &[(u16, Vec<u8>)], kind: u16) -> Option<u32> {
    let (_, d) = attrs.iter().find(|(k, _)| *k == kind)?;
    Some(u32::from_ne_bytes(d.get(..4)?.try_into().ok()?))
}

/// The NAPI ids the kernel lists for interface `ifindex` (calling thread's
/// namespace), ascending; None when the kernel has no netdev family
/// (before 6.5) or no NAPI listing (NAPI_GET, Linux 6.9).
pub fn device_napi_ids(ifindex: i32) -> Result<Option<Vec<u32>>> {
    use nix::sys::socket::{bind, NetlinkAddr};
    // SAFETY: plain socket(2); checked below.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_GENERIC,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(AF_NETLINK, NETLINK_GENERIC)");
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).context("bind generic netlink")?;
    let family = request(
        GENL_ID_CTRL,
        CTRL_CMD_GETFAMILY,
        0,
        &[(CTRL_ATTR_FAMILY_NAME, b"netdev\0".to_vec())],
    );
    let id = match call(&fd, &family, false, "resolve the netdev family")? {
        Reply::Refused(libc::ENOENT) => return Ok(None),
        Reply::Refused(e) => bail!("resolve the netdev family: errno {e}"),
        Reply::Messages(m) => match m.iter().flatten().find(|(k, _)| *k == CTRL_ATTR_FAMILY_ID) {
            Some((_, d)) if d.len() >= 2 => u16::from_ne_bytes([d[0], d[1]]),
            _ => bail!("the netdev family's id is missing from the reply"),
        },
    };
    let get = request(
        id,
        NETDEV_CMD_NAPI_GET,
        NLM_F_DUMP,
        &[(
            NETDEV_A_NAPI_IFINDEX,
            (ifindex as u32).to_ne_bytes().to_vec(),
        )],
    );
    Ok(match call(&fd, &get, true, "netdev napi-get dump")? {
        // Before NAPI_GET existed the family refuses the command.
        Reply::Refused(libc::EOPNOTSUPP) | Reply::Refused(libc::EINVAL) => None,
        Reply::Refused(e) => bail!("netdev napi-get dump: errno {e}"),
        Reply::Messages(m) => Some(napi_ids_of(&m, ifindex)),
    })
}

/// The NAPI ids among dump replies that belong to `ifindex`, ascending.
fn napi_ids_of(replies: &[Attrs], ifindex: i32) -> Vec<u32> {
    let mut ids: Vec<u32> = replies
        .iter()
        .filter(|a| u32_attr(a, NETDEV_A_NAPI_IFINDEX) == Some(ifindex as u32))
        .filter_map(|a| u32_attr(a, NETDEV_A_NAPI_ID))
        .collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn requests_are_padded_and_replies_parsed() {
        let r = request(0x10, 3, 0, &[(2, b"netdev\0".to_vec())]);
        // 16 header + 4 genl + 4 attr header + 7 data, padded to 32.
        assert_eq!(32, r.len());
        assert_eq!(32, u32::from_ne_bytes(r[0..4].try_into().unwrap()));
        assert_eq!(11, u16::from_ne_bytes([r[20], r[21]]));
        let attrs = attributes(&r[20..]);
        assert_eq!(vec![(2u16, &b"netdev\0"[..])], attrs);
        let owned = vec![(4u16, 261u32.to_ne_bytes().to_vec())];
        assert_eq!(Some(261), u32_attr(&owned, 4));
        assert_eq!(None, u32_attr(&owned, 1));
        let r2 = r.clone();
        let two = [r, r2.clone()].concat();
        assert_eq!(2, messages(&two).len());
        assert_eq!(0x10, messages(&two)[0].0);
        assert_eq!(&r2[16..], messages(&two)[1].1);
    }

    #[test]
    fn napi_ids_belong_to_the_device() {
        let napi = |ifindex: u32, id: u32| {
            vec![
                (NETDEV_A_NAPI_IFINDEX, ifindex.to_ne_bytes().to_vec()),
                (NETDEV_A_NAPI_ID, id.to_ne_bytes().to_vec()),
            ]
        };
        let replies = vec![napi(2, 268), napi(3, 300), napi(2, 267)];
        assert_eq!(vec![267, 268], napi_ids_of(&replies, 2));
        assert_eq!(Vec::<u32>::new(), napi_ids_of(&replies, 4));
    }
}
