//! socket(7) on SO_OOBINLINE: with it, out-of-band data stays in the normal
//! stream; without it, it is read only with MSG_OOB.
//!
//! TCP's urgent pointer marks one byte: of a send() with MSG_OOB only the
//! last byte is out of band, the others travel in the stream. The case sends
//! two bytes with MSG_OOB to show where each ends up.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lab::readiness;
use crate::lab::sock::Returned;
use crate::lab::{opt, phase, Family, Lab, TcpPair};
use crate::model::{
    Case, Judgement, Measure, Observation, Show, Source, Verdict, DEFAULT_DEADLINE,
};

pub static CASES: &[&Case] = &[&OOBINLINE];

pub static OOBINLINE: Case = Case {
    id: "so_oobinline.stream",
    source: Source::ManPage("man-pages 6.20 socket(7) SO_OOBINLINE"),
    claim: "with SO_OOBINLINE on, out-of-band data is placed in the normal receive stream; otherwise it is \
            passed only to a receive with MSG_OOB",
    expectation: "a sender sends abc, then XY with MSG_OOB, then de. Without the option the stream reads abcXde \
                  and recv(MSG_OOB) returns Y: only the last byte of an MSG_OOB send is out of band. With it the \
                  stream reads abcXYde and recv(MSG_OOB) fails with EINVAL",
    run: &Measure(oobinline),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[opt::SO_OOBINLINE],
};

/// What the receiving end read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Read {
    /// recv(MSG_OOB) for one byte: the byte as text, or the errno's name.
    pub oob: String,
    /// Everything read without MSG_OOB until end of stream.
    pub stream: String,
}

impl Show for Read {
    fn show(&self) -> String {
        format!("stream {}, MSG_OOB {}", self.stream, self.oob)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OobInline {
    /// The bytes sent with MSG_OOB.
    pub urgent: String,
    pub inline: Read,
    pub plain: Read,
}

const BEFORE: &[u8] = b"abc";
const URGENT: &[u8] = b"XY";
const AFTER: &[u8] = b"de";

fn exchange(inline: bool) -> Result<Read> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(Family::V4.loopback(), 0),
        |_| Ok(()),
        |c| {
            // Each send its own segment, at once.
            c.set_int(libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
                .context("TCP_NODELAY")
        },
    )?;
    if inline {
        pair.server
            .set_int(libc::SOL_SOCKET, libc::SO_OOBINLINE, 1)
            .context("SO_OOBINLINE")?;
    }
    pair.client.send_all(BEFORE).context("send before")?;
    pair.client
        .send(URGENT, libc::MSG_OOB)
        .context("send MSG_OOB")?;
    pair.client.send_all(AFTER).context("send after")?;
    pair.client.shutdown(libc::SHUT_WR).context("shutdown")?;
    // Everything is in once the FIN is.
    let fd = pair.server.as_raw_fd();
    let rdhup = libc::POLLRDHUP;
    if readiness::poll(fd, rdhup, Duration::from_secs(2))? & rdhup == 0 {
        anyhow::bail!("the sender's FIN never arrived");
    }
    let mut one = [0u8; 1];
    let oob = match Returned::of(
        &pair
            .server
            .recv(&mut one, libc::MSG_OOB | libc::MSG_DONTWAIT),
    ) {
        Returned::Bytes(1) => String::from_utf8_lossy(&one).into_owned(),
        other => other.show(),
    };
    let (data, err) = pair.server.read_to_end();
    if let Some(e) = err {
        return Err(anyhow::anyhow!(e).context("read the stream"));
    }
    Ok(Read {
        oob,
        stream: String::from_utf8_lossy(&data).into_owned(),
    })
}

fn oobinline(_lab: &mut Lab) -> Result<OobInline> {
    phase("abc, XY with MSG_OOB, de: without and with SO_OOBINLINE");
    Ok(OobInline {
        urgent: String::from_utf8_lossy(URGENT).into_owned(),
        plain: exchange(false)?,
        inline: exchange(true)?,
    })
}

impl Observation for OobInline {
    fn judge(&self) -> Judgement {
        let mut j = Judgement::new();
        j.expect_eq(
            "SO_OOBINLINE: the stream",
            "abcXYde",
            self.inline.stream.as_str(),
        );
        j.expect_eq(
            "SO_OOBINLINE: recv(MSG_OOB)",
            "EINVAL",
            self.inline.oob.as_str(),
        );
        j.expect_eq("without: the stream", "abcXde", self.plain.stream.as_str());
        j.expect_eq("without: recv(MSG_OOB)", "Y", self.plain.oob.as_str());
        let last = self
            .urgent
            .chars()
            .last()
            .map(String::from)
            .unwrap_or_default();
        let inline_as_said = self.inline.stream.contains(&self.urgent)
            && !self.urgent.contains(self.inline.oob.as_str());
        let apart_as_said =
            self.plain.oob == self.urgent && !self.plain.stream.contains(&self.urgent);
        let last_byte_only = self.plain.oob == last && !self.plain.stream.contains(&last);
        let verdict = match (inline_as_said, apart_as_said, last_byte_only) {
            (true, true, _) => Verdict::Holds,
            (true, false, true) => Verdict::Differs,
            _ => Verdict::Refuted,
        };
        j.verdict(
            verdict,
            format!(
                "abc, {} with MSG_OOB, de: with SO_OOBINLINE {}; without {}",
                self.urgent,
                self.inline.show(),
                self.plain.show()
            ),
        );
        j.key(format!(
            "inline: {}; without: {}",
            self.inline.show(),
            self.plain.show()
        ));
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn read(stream: &str, oob: &str) -> Read {
        Read {
            oob: oob.into(),
            stream: stream.into(),
        }
    }

    /// This kernel, from a run.
    fn linux() -> OobInline {
        OobInline {
            urgent: "XY".into(),
            inline: read("abcXYde", "EINVAL"),
            plain: read("abcXde", "Y"),
        }
    }

    const IN_STREAM: &str = "SO_OOBINLINE: the stream";
    const IN_OOB: &str = "SO_OOBINLINE: recv(MSG_OOB)";
    const STREAM: &str = "without: the stream";
    const OOB: &str = "without: recv(MSG_OOB)";

    #[rstest]
    #[case::linux(linux(), Verdict::Differs, &[])]
    // The page read literally: every byte sent with MSG_OOB is out of band.
    #[case::page(OobInline { plain: read("abcde", "XY"), ..linux() }, Verdict::Holds, &[STREAM, OOB])]
    // A libc that ignores the option: both sockets behave as without it.
    #[case::ignored(OobInline { inline: read("abcXde", "Y"), ..linux() }, Verdict::Refuted, &[IN_STREAM, IN_OOB])]
    // Urgent data lost altogether.
    #[case::lost(OobInline { plain: read("abcXde", "EINVAL"), ..linux() }, Verdict::Refuted, &[OOB])]
    #[case::urgent_in_stream(OobInline { plain: read("abcXYde", "Y"), ..linux() }, Verdict::Refuted, &[STREAM])]
    #[case::inline_readable_apart(OobInline { inline: read("abcXYde", "Y"), ..linux() }, Verdict::Refuted, &[IN_OOB])]
    #[case::inline_lost(OobInline { inline: read("abcde", "EINVAL"), ..linux() }, Verdict::Refuted, &[IN_STREAM])]
    fn judgement(#[case] o: OobInline, #[case] verdict: Verdict, #[case] failed: &[&str]) {
        let j = o.judge();
        assert_eq!((Some(verdict), failed.to_vec()), (j.verdict, j.failed()));
    }

    #[test]
    fn words() {
        let j = linux().judge();
        assert_eq!(
            "inline: stream abcXYde, MSG_OOB EINVAL; without: stream abcXde, MSG_OOB Y",
            j.key
        );
        assert_eq!(
            "abc, XY with MSG_OOB, de: with SO_OOBINLINE stream abcXYde, MSG_OOB EINVAL; without stream abcXde, \
             MSG_OOB Y",
            j.because
        );
    }
}
