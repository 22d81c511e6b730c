//! IP_ROUTER_ALERT(2const) and IPV6_ROUTER_ALERT(2const): a raw socket on a
//! router taps the forwarded packets that carry a router alert, and the
//! kernel does not forward them. Host -> router -> far host (lab::router);
//! the host sends one datagram with the alert and one without.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::opt;
use crate::lab::router::{Routed, HOST_IF};
use crate::lab::sock::result_name;
use crate::lab::{wait, Capture, Family, Lab, Sock};
use crate::model::{Case, Judgement, Measure, Observation, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&ALERT, &ALERT_V6];

pub static ALERT: Case = Case {
    id: "ip_router_alert.tapped",
    source: Source::ManPage("man-pages 6.20 IP_ROUTER_ALERT(2const) IP_ROUTER_ALERT"),
    claim: "a raw socket with IP_ROUTER_ALERT gets every to-be-forwarded packet that carries the router \
            alert option, and the kernel does not forward those; the option is valid only for raw sockets",
    expectation: "a raw socket of protocol UDP on the router takes the option and reads the datagram the \
                  host sent with a router alert option (IP_OPTIONS 148), and the far host never gets it; the \
                  datagram without the option is forwarded and not tapped; an IPPROTO_RAW socket and a UDP \
                  socket get EINVAL",
    run: &Measure(|lab| alert(lab, Family::V4)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IP_ROUTER_ALERT, opt::IP_OPTIONS],
};

pub static ALERT_V6: Case = Case {
    id: "ipv6_router_alert.tapped",
    source: Source::ManPage("man-pages 6.20 IPV6_ROUTER_ALERT(2const) IPV6_ROUTER_ALERT"),
    claim: "a raw socket with IPV6_ROUTER_ALERT set to a value gets the forwarded packets whose hop-by-hop \
            router alert carries that value, and the kernel does not forward them; only raw sockets may set it",
    expectation: "only an IPPROTO_RAW socket takes the option (a raw socket of protocol UDP and a UDP socket \
                  get ENOPROTOOPT); with IPV6_ROUTER_ALERT 1 (RSVP) it reads the datagram the host sent with a \
                  hop-by-hop router alert of value 1 (IPV6_HOPOPTS), and the far host never gets it; the \
                  datagram without it is forwarded and not tapped",
    run: &Measure(|lab| alert(lab, Family::V6)),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::IPV6_ROUTER_ALERT, opt::IPV6_HOPOPTS],
};

/// IPv4 router alert option (RFC 2113): type 148, length 4, value 0.
const RA_V4: [u8; 4] = [148, 4, 0, 0];
/// An IPv6 hop-by-hop header (next header filled in by the kernel, length
/// 0: 8 bytes) with a router alert (RFC 2711: type 5, length 2, value 1 =
/// RSVP) and 2 bytes of PadN.
const RA_V6: [u8; 8] = [0, 0, 5, 2, 0, 1, 1, 0];
/// The router alert value the IPv6 socket asks for.
const RA_V6_VALUE: i32 = 1;

/// What the router's tap and the far host saw of the two datagrams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub family: String,
    /// setsockopt on a raw socket of protocol UDP (the protocol the tap
    /// filters on) and on an IPPROTO_RAW socket.
    pub set_raw_udp: String,
    pub set_raw_raw: String,
    /// The same option on a UDP socket.
    pub set_udp: String,
    /// The host's first datagram left with a router alert.
    pub alert_on_wire: bool,
    /// The raw socket read the datagram with the alert / without it.
    pub alert_tapped: bool,
    pub plain_tapped: bool,
    /// The far host received the datagram with the alert / without it.
    pub alert_forwarded: bool,
    pub plain_forwarded: bool,
}

fn alert(lab: &mut Lab, family: Family) -> Result<Alert> {
    let t = Routed::build(lab, family, 1500)?;
    let (level, opt, value) = match family {
        Family::V4 => (libc::IPPROTO_IP, libc::IP_ROUTER_ALERT, 1),
        Family::V6 => (libc::IPPROTO_IPV6, libc::IPV6_ROUTER_ALERT, RA_V6_VALUE),
    };
    let rx = t.far.run(|| -> Result<Sock> {
        let rx = Sock::udp(family)?;
        rx.bind(SocketAddr::new(t.far_addr, 0))
            .context("bind the far receiver")?;
        rx.set_nonblocking(true)?;
        Ok(rx)
    })??;
    let to = rx.local_addr()?;
    let (tap, set_raw_udp, set_raw_raw, set_udp) =
        t.router
            .run(|| -> Result<(Sock, String, String, String)> {
                let by_proto = Sock::raw(family, libc::IPPROTO_UDP)?;
                let set_raw_udp = result_name(&by_proto.set_int(level, opt, value));
                let any = Sock::raw(family, libc::IPPROTO_RAW)?;
                let set_raw_raw = result_name(&any.set_int(level, opt, value));
                let set_udp = result_name(&Sock::udp(family)?.set_int(level, opt, value));
                // The tap is whichever raw socket took the option.
                let tap = if set_raw_udp == "ok" { by_proto } else { any };
                tap.set_nonblocking(true)?;
                Ok((tap, set_raw_udp, set_raw_raw, set_udp))
            })??;
    let mut cap = Capture::start(HOST_IF)?;
    // Tokens unique to this run: the IPv6 alert chain is machine-wide, so a
    // tap elsewhere may see this run's datagram and this tap another run's.
    let pid = std::process::id();
    let alert_token = format!("alert-{pid}");
    let plain_token = format!("plain-{pid}");
    let sender = Sock::udp(family)?;
    match family {
        Family::V4 => sender.set_raw(libc::IPPROTO_IP, libc::IP_OPTIONS, &RA_V4),
        Family::V6 => sender.set_raw(libc::IPPROTO_IPV6, libc::IPV6_HOPOPTS, &RA_V6),
    }
    .context("put a router alert on the sender's datagrams")?;
    sender
        .send_to(alert_token.as_bytes(), 0, to)
        .context("send the alert datagram")?;
    Sock::udp(family)?
        .send_to(plain_token.as_bytes(), 0, to)
        .context("send the plain datagram")?;
    // The plain datagram follows the alert one through the router: once the
    // far host has it, the router has handled both.
    let mut far = Vec::new();
    let mut buf = vec![0u8; 2048];
    while !far.contains(&plain_token) {
        if !wait::readable(rx.as_raw_fd(), Duration::from_secs(5))? {
            bail!("the plain datagram never reached the far host");
        }
        if let Ok(n) = rx.recv(&mut buf, 0) {
            far.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    let mut tapped = Vec::new();
    while let Ok(n) = tap.recv(&mut buf, 0) {
        tapped.push(buf[..n].to_vec());
    }
    let holds = |list: &[Vec<u8>], token: &str| {
        list.iter()
            .any(|d| d.windows(token.len()).any(|w| w == token.as_bytes()))
    };
    let token = alert_token.as_bytes().to_vec();
    let alert_on_wire = cap.frames()?.iter().any(|f| {
        f.data.windows(token.len()).any(|w| w == token)
            && f.ip().is_some_and(|h| {
                h.options.first() == Some(&RA_V4[0]) || h.extensions.first() == Some(&0)
            })
    });
    Ok(Alert {
        family: family.name().to_string(),
        set_raw_udp,
        set_raw_raw,
        set_udp,
        alert_on_wire,
        alert_tapped: holds(&tapped, &alert_token),
        plain_tapped: holds(&tapped, &plain_token),
        alert_forwarded: far.contains(&alert_token),
        plain_forwarded: true,
    })
}

impl Observation for Alert {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        let v4 = self.family == "ipv4";
        // IPv4 taps by protocol and refuses IPPROTO_RAW; IPv6 delivers
        // router alerts only to IPPROTO_RAW sockets (net/ipv6/ipv6_sockglue.c).
        let (by_proto, any) = if v4 {
            ("ok", "EINVAL")
        } else {
            ("ENOPROTOOPT", "ok")
        };
        j.expect_eq(
            "setsockopt on a raw socket of protocol UDP",
            &by_proto,
            &self.set_raw_udp.as_str(),
        );
        j.expect_eq(
            "setsockopt on an IPPROTO_RAW socket",
            &any,
            &self.set_raw_raw.as_str(),
        );
        j.expect_eq(
            "setsockopt on a UDP socket",
            &if v4 { "EINVAL" } else { "ENOPROTOOPT" },
            &self.set_udp.as_str(),
        );
        j.expect_eq(
            "the alert datagram carries the option",
            &true,
            &self.alert_on_wire,
        );
        j.expect_eq(
            "the tap reads the alert datagram",
            &true,
            &self.alert_tapped,
        );
        j.expect_eq(
            "the alert datagram is not forwarded",
            &false,
            &self.alert_forwarded,
        );
        j.expect_eq(
            "the tap does not read the plain one",
            &false,
            &self.plain_tapped,
        );
        j.expect_eq("the plain one is forwarded", &true, &self.plain_forwarded);
        let verdict = match (self.alert_tapped, self.alert_forwarded) {
            // The page: any raw socket may take it.
            (true, false)
                if self.set_udp != "ok"
                    && !self.plain_tapped
                    && self.set_raw_udp == "ok"
                    && self.set_raw_raw == "ok" =>
            {
                Verdict::Holds
            }
            (false, true) => Verdict::Refuted,
            _ => Verdict::Differs,
        };
        let said = |b: bool| if b { "yes" } else { "no" };
        j.verdict(
            verdict,
            format!(
                "with the alert: tapped {}, forwarded {}; without: tapped {}, forwarded {}; the option on a \
                 raw UDP socket: {}, on an IPPROTO_RAW socket: {}, on a UDP socket: {}",
                said(self.alert_tapped),
                said(self.alert_forwarded),
                said(self.plain_tapped),
                said(self.plain_forwarded),
                self.set_raw_udp,
                self.set_raw_raw,
                self.set_udp
            ),
        );
        j.key(format!(
            "alert tapped {}, forwarded {}; raw UDP {}, IPPROTO_RAW {}",
            said(self.alert_tapped),
            said(self.alert_forwarded),
            self.set_raw_udp,
            self.set_raw_raw
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn linux(v4: bool) -> Alert {
        Alert {
            family: if v4 { "ipv4" } else { "ipv6" }.into(),
            set_raw_udp: if v4 { "ok" } else { "ENOPROTOOPT" }.into(),
            set_raw_raw: if v4 { "EINVAL" } else { "ok" }.into(),
            set_udp: if v4 { "EINVAL" } else { "ENOPROTOOPT" }.into(),
            alert_on_wire: true,
            alert_tapped: true,
            plain_tapped: false,
            alert_forwarded: false,
            plain_forwarded: true,
        }
    }

    /// The page's world: any raw socket takes the option.
    fn page(v4: bool) -> Alert {
        Alert {
            set_raw_udp: "ok".into(),
            set_raw_raw: "ok".into(),
            ..linux(v4)
        }
    }

    const TAP: &str = "the tap reads the alert datagram";
    const FWD: &str = "the alert datagram is not forwarded";
    const RAW_UDP: &str = "setsockopt on a raw socket of protocol UDP";
    const RAW_RAW: &str = "setsockopt on an IPPROTO_RAW socket";

    #[rstest]
    #[case::linux(linux(true), Verdict::Differs, &[])]
    #[case::linux_v6(linux(false), Verdict::Differs, &[])]
    #[case::page(page(true), Verdict::Holds, &[RAW_RAW])]
    #[case::page_v6(page(false), Verdict::Holds, &[RAW_UDP])]
    // The option ignored: nothing tapped, the datagram forwarded.
    #[case::ignored(Alert { alert_tapped: false, alert_forwarded: true, ..linux(true) }, Verdict::Refuted,
        &[TAP, FWD])]
    #[case::no_alert_sent(Alert { alert_on_wire: false, alert_tapped: false, alert_forwarded: true,
        ..linux(false) }, Verdict::Refuted, &["the alert datagram carries the option", TAP, FWD])]
    // Tapped and forwarded as well: a copy, not an interception.
    #[case::copied(Alert { alert_forwarded: true, ..page(true) }, Verdict::Differs, &[RAW_RAW, FWD])]
    // Swallowed without reaching the tap.
    #[case::lost(Alert { alert_tapped: false, ..page(true) }, Verdict::Differs, &[RAW_RAW, TAP])]
    #[case::taps_all(Alert { plain_tapped: true, ..page(true) }, Verdict::Differs,
        &[RAW_RAW, "the tap does not read the plain one"])]
    #[case::udp_allowed(Alert { set_udp: "ok".into(), ..page(true) }, Verdict::Differs,
        &[RAW_RAW, "setsockopt on a UDP socket"])]
    #[case::udp_other_errno(Alert { set_udp: "ENOPROTOOPT".into(), ..page(true) }, Verdict::Holds,
        &[RAW_RAW, "setsockopt on a UDP socket"])]
    #[case::raw_refused(Alert { set_raw_udp: "EPERM".into(), set_raw_raw: "EPERM".into(), alert_tapped: false,
        alert_forwarded: true, ..linux(true) }, Verdict::Refuted, &[RAW_UDP, RAW_RAW, TAP, FWD])]
    #[case::plain_lost(Alert { plain_forwarded: false, ..page(true) }, Verdict::Holds,
        &[RAW_RAW, "the plain one is forwarded"])]
    fn alert_judgement(#[case] o: Alert, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn alert_words() {
        let j = linux(false).judge();
        assert_eq!(
            "alert tapped yes, forwarded no; raw UDP ENOPROTOOPT, IPPROTO_RAW ok",
            j.key
        );
        assert_eq!(
            "with the alert: tapped yes, forwarded no; without: tapped no, forwarded yes; the option on a raw \
             UDP socket: ENOPROTOOPT, on an IPPROTO_RAW socket: ok, on a UDP socket: ENOPROTOOPT",
            j.because
        );
    }
}
