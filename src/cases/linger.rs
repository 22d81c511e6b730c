//! SO_LINGER and what close() does with unsent data (004 §5.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::procnet;
use crate::lab::sock::{errno_name, fill_until_eagain};
use crate::lab::{phase, Capture, Family, Lab, TcpPair};
use crate::model::{ms, Case, Evidence, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[
    &ZERO_RST,
    &ZERO_RST_V6,
    &TIMEOUT_BLOCKS,
    &TIMEOUT_BLOCKS_V6,
    &NONBLOCKING,
    &DEFAULT_OFF,
];

pub static ZERO_RST: Case = Case {
    id: "linger.zero_rst",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "with l_onoff=1 and l_linger=0, close() throws away data still waiting in the send buffer",
    expectation: "close() returns at once and sends RST instead of FIN; the peer reads what had already \
                  arrived, then gets ECONNRESET; bytes still in the send buffer never arrive; the closer \
                  keeps no TIME_WAIT entry",
    run: |lab| zero_rst(lab, Family::V4),
    deadline: DEFAULT_DEADLINE,
};

pub static TIMEOUT_BLOCKS: Case = Case {
    id: "linger.timeout_blocks",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "with l_linger>0, close() blocks until the data is acknowledged or the timeout passes, and a \
            timeout makes close() fail with ETIMEDOUT (the data being thrown away)",
    expectation: "close() blocks for l_linger seconds when the peer's window stays closed, then returns 0 \
                  (no ETIMEDOUT); the kernel keeps the data and goes on sending it, so a peer that reads \
                  later still gets every byte and then the FIN",
    run: |lab| timeout_blocks(lab, Family::V4, false),
    deadline: DEFAULT_DEADLINE,
};

pub static ZERO_RST_V6: Case = Case {
    id: "linger.zero_rst@v6",
    run: |lab| zero_rst(lab, Family::V6),
    ..ZERO_RST
};

pub static TIMEOUT_BLOCKS_V6: Case = Case {
    id: "linger.timeout_blocks@v6",
    run: |lab| timeout_blocks(lab, Family::V6, false),
    ..TIMEOUT_BLOCKS
};

pub static NONBLOCKING: Case = Case {
    id: "linger.nonblocking",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim: "(implied) a lingering close() blocks, whatever the socket's mode",
    expectation: "on Linux O_NONBLOCK makes no difference: close() with l_linger=1 on a non-blocking socket \
                  still blocks for the linger time and returns 0 (BSD returns EWOULDBLOCK at once instead)",
    run: |lab| timeout_blocks(lab, Family::V4, true),
    deadline: DEFAULT_DEADLINE,
};

pub static DEFAULT_OFF: Case = Case {
    id: "linger.default_off",
    source: Source::LectureNotes("5.2 SO_LINGER"),
    claim:
        "without SO_LINGER, close() returns at once and the kernel still sends the remaining data",
    expectation:
        "SO_LINGER reads back {0,0} on a new socket; close() with unsent data returns 0 at once; \
                  once the peer reads, every byte arrives, followed by the FIN",
    run: default_off,
    deadline: DEFAULT_DEADLINE,
};

/// The sender's send buffer (doubled by the kernel).
const SENDER_SNDBUF: i32 = 64 * 1024;

/// The peer's receive buffer: small, so a few writes close its window.
const PEER_RCVBUF: i32 = 16 * 1024;

/// A connection whose receiver does not read: the sender has written until
/// EAGAIN and the receiver has advertised a zero window, so the sender's
/// buffer holds data that cannot leave.
struct Stalled {
    pair: TcpPair,
    written: usize,
    client_port: u16,
}

fn stalled_pair(cap: &mut Capture, family: Family) -> Result<Stalled> {
    let pair = TcpPair::connect_with(
        SocketAddr::new(family.loopback(), 0),
        |l| Ok(l.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, PEER_RCVBUF)?),
        // A modest send buffer: enough unsent data to matter, little to capture.
        |c| Ok(c.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, SENDER_SNDBUF)?),
    )?;
    let client_port = pair.client.local_addr()?.port();
    let server_port = pair.port()?;
    let written = fill_until_eagain(&pair.client, 4096)?;
    phase("waiting for the receiver's zero window");
    cap.wait_segment(
        "a zero-window advertisement from the receiver",
        Duration::from_secs(5),
        |s| s.sport == server_port && s.window == 0 && !s.flags.syn,
    )?;
    // More can be queued once the zero window is in: fill the send buffer again.
    let written = written + fill_until_eagain(&pair.client, 4096)?;
    Ok(Stalled {
        pair,
        written,
        client_port,
    })
}

fn zero_rst(_lab: &mut Lab, family: Family) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, family)?;
    let unsent_before_close = st.pair.client.queued(libc::TIOCOUTQ)?;
    st.pair
        .client
        .set_linger(true, 0)
        .context("SO_LINGER {1,0}")?;
    let TcpPair {
        client,
        server,
        listener: _listener,
    } = st.pair;
    let closed = client.close();
    phase("waiting for the closer's RST");
    let rst = cap
        .wait_segment("RST from the closer", Duration::from_secs(2), |s| {
            s.sport == st.client_port && s.flags.rst
        })
        .ok();
    server.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let (delivered, read_err) = server.read_to_end();
    let segs = cap.segments()?;
    let fin_from_closer = segs
        .iter()
        .any(|s| s.sport == st.client_port && s.flags.fin);
    let closer_states = procnet::states_on_port(st.client_port)?;
    let peer_error = read_err.as_ref().map(errno_name);

    let mut ev = Evidence::new();
    ev.observe("bytes_written", st.written)
        .observe("bytes_unsent_at_close", unsent_before_close)
        .observe("close", &closed)
        .observe("rst_on_wire", rst.is_some())
        .observe("fin_on_wire", fin_from_closer)
        .observe("bytes_delivered", delivered.len())
        .observe("peer_read_error", &peer_error)
        .observe("closer_socket_states", &closer_states);
    ev.expect(
        "closer sends RST",
        rst.is_some(),
        "RST captured",
        format!("RST captured: {}", rst.is_some()),
    );
    ev.expect_eq("closer sends no FIN", false, fin_from_closer);
    ev.expect(
        "close() returns 0 at once",
        closed.rc == 0 && closed.took < Duration::from_millis(500),
        "rc 0 in < 500 ms",
        format!("rc {} in {:.1} ms", closed.rc, ms(closed.took)),
    );
    ev.expect_eq(
        "peer's read ends with",
        Some("ECONNRESET".to_string()),
        peer_error.clone(),
    );
    ev.expect(
        "unsent bytes never arrive",
        delivered.len() < st.written,
        format!("fewer than {} bytes", st.written),
        format!("{} bytes", delivered.len()),
    );
    ev.expect_eq(
        "closer keeps no TIME_WAIT",
        false,
        closer_states.contains(&"TIME_WAIT"),
    );

    let discarded = st.written.saturating_sub(delivered.len());
    let verdict = Verdict::holds_if(discarded > 0 && rst.is_some());
    ev.verdict(verdict, format!(
        "wrote {} bytes, {} still unsent at close; peer received {} then {}; {} bytes discarded; wire: {}",
        st.written, unsent_before_close, delivered.len(), peer_error.as_deref().unwrap_or("EOF"), discarded,
        if rst.is_some() { "RST, no FIN" } else { "no RST" }));
    ev.key(format!(
        "RST={} FIN={} delivered {}/{} B",
        rst.is_some(),
        fin_from_closer,
        delivered.len(),
        st.written
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

/// l_linger for the timeout case: the smallest whole second.
const LINGER_SECS: i32 = 1;

fn timeout_blocks(_lab: &mut Lab, family: Family, nonblocking: bool) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, family)?;
    let TcpPair {
        client,
        server,
        listener: _listener,
    } = st.pair;
    client.set_nonblocking(nonblocking)?;
    client
        .set_linger(true, LINGER_SECS)
        .context("SO_LINGER {1,1}")?;
    let unsent = client.queued(libc::TIOCOUTQ)?;
    phase("in a lingering close()");
    let closed = client.close();
    let after_close = cap.frames()?.len();
    // Now the receiver reads: does the data the close "timed out" on still come?
    server.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    phase("reading what the orphaned socket still delivers");
    let t = Instant::now();
    let (delivered, read_err) = server.read_to_end();
    let drain_took = t.elapsed();
    let segs = cap.segments()?;
    let rst_from_closer = segs
        .iter()
        .any(|s| s.sport == st.client_port && s.flags.rst);
    let fin_from_closer = segs
        .iter()
        .any(|s| s.sport == st.client_port && s.flags.fin);
    let peer_error = read_err.as_ref().map(errno_name);

    let mut ev = Evidence::new();
    ev.observe("o_nonblock", nonblocking);
    ev.observe("l_linger_s", LINGER_SECS)
        .observe("bytes_written", st.written)
        .observe("bytes_unsent_at_close", unsent)
        .observe("close", &closed)
        .observe("bytes_delivered_after_close", delivered.len())
        .observe(
            "peer_read_end",
            peer_error.clone().unwrap_or_else(|| "EOF".into()),
        )
        .observe("peer_drain_ms", ms(drain_took))
        .observe("rst_on_wire", rst_from_closer)
        .observe("fin_on_wire", fin_from_closer);
    let linger = Duration::from_secs(LINGER_SECS as u64);
    // The kernel's timer fires on a jiffy; allow 50 ms early (HZ=100 rounding)
    // and up to 1.5 s late (a loaded machine).
    let lo = linger - Duration::from_millis(50);
    let hi = linger + Duration::from_millis(1500);
    ev.expect(
        "close() blocks for l_linger",
        closed.took >= lo && closed.took <= hi,
        format!("{:.0}..{:.0} ms", ms(lo), ms(hi)),
        format!("{:.1} ms", ms(closed.took)),
    );
    ev.expect_eq("close() return value", 0, closed.rc);
    ev.expect_eq("close() errno", None, closed.errno.clone());
    ev.expect_eq(
        "every byte still reaches the peer",
        st.written,
        delivered.len(),
    );
    ev.expect_eq(
        "peer's read ends with",
        "EOF".to_string(),
        peer_error.clone().unwrap_or_else(|| "EOF".into()),
    );
    ev.expect_eq("no RST from the closer", false, rst_from_closer);

    let blocked = closed.took >= lo;
    let etimedout = closed.errno.as_deref() == Some("ETIMEDOUT");
    let discarded = delivered.len() < st.written;
    let verdict = match (nonblocking, blocked, etimedout || discarded) {
        // The non-blocking variant judges the implied claim "it blocks".
        (true, true, _) => Verdict::Holds,
        (true, false, _) => Verdict::Refuted,
        (false, true, true) => Verdict::Holds,
        (false, true, false) => Verdict::Differs,
        (false, false, _) => Verdict::Refuted,
    };
    ev.verdict(verdict, format!(
        "close() blocked {:.0} ms (l_linger {} s) and returned {}{}; {} of {} unsent bytes were then delivered \
         ({} bytes in all), ended by {}",
        ms(closed.took), LINGER_SECS, closed.rc, closed.errno.as_deref().map(|e| format!(" {e}")).unwrap_or_default(),
        unsent, unsent, delivered.len(), peer_error.as_deref().unwrap_or("FIN (EOF)")));
    ev.key(format!(
        "close {:.0} ms rc={} delivered {}/{} B",
        ms(closed.took),
        closed.rc,
        delivered.len(),
        st.written
    ));
    ev.observe("frames_before_close_returned", after_close);
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn default_off(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let st = stalled_pair(&mut cap, Family::V4)?;
    let TcpPair {
        client,
        server,
        listener: _listener,
    } = st.pair;
    let linger = client.linger()?;
    let unsent = client.queued(libc::TIOCOUTQ)?;
    let closed = client.close();
    server.set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    phase("reading what the closed socket still delivers");
    let (delivered, read_err) = server.read_to_end();
    let segs = cap.segments()?;
    let fin = segs
        .iter()
        .find(|s| s.sport == st.client_port && s.flags.fin);
    let last_data_end = segs
        .iter()
        .filter(|s| s.sport == st.client_port && s.payload > 0)
        .map(|s| s.seq.wrapping_add(s.payload))
        .max();
    let fin_after_data = matches!((fin, last_data_end), (Some(f), Some(end)) if f.seq.wrapping_add(f.payload) == end);
    let peer_end = read_err
        .as_ref()
        .map(errno_name)
        .unwrap_or_else(|| "EOF".into());

    let mut ev = Evidence::new();
    ev.observe("so_linger_default", linger)
        .observe("bytes_written", st.written)
        .observe("bytes_unsent_at_close", unsent)
        .observe("close", &closed)
        .observe("bytes_delivered", delivered.len())
        .observe("peer_read_end", &peer_end)
        .observe("fin_after_last_byte", fin_after_data);
    ev.expect_eq("SO_LINGER on a new socket", (false, 0), linger);
    ev.expect(
        "close() returns 0 at once",
        closed.rc == 0 && closed.took < Duration::from_millis(500),
        "rc 0 in < 500 ms",
        format!("rc {} in {:.1} ms", closed.rc, ms(closed.took)),
    );
    ev.expect_eq("every byte reaches the peer", st.written, delivered.len());
    ev.expect_eq("peer's read ends with", "EOF", peer_end.as_str());
    ev.expect_eq("FIN follows the last data byte", true, fin_after_data);
    let holds = closed.took < Duration::from_millis(500) && delivered.len() == st.written;
    ev.verdict(Verdict::holds_if(holds), format!(
        "close() returned {} in {:.1} ms with {unsent} bytes unsent; the peer then read {} of {} bytes and {peer_end}; \
         FIN after the last byte: {fin_after_data}", closed.rc, ms(closed.took), delivered.len(), st.written));
    ev.key(format!(
        "close {:.1} ms, delivered {}/{} B, FIN last: {fin_after_data}",
        ms(closed.took),
        delivered.len(),
        st.written
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}
