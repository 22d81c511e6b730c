//! close() with unread data, and shutdown() (004 §5.2).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::lab::netlink::{ifindex, Netlink};
use crate::lab::sock::{errno_name, result_name};
use crate::lab::topo::Link;
use crate::lab::{phase, wait, wire, Capture, Family, Lab, TcpPair};
use crate::model::{ms, Case, Evidence, Legacy, Source, Verdict, DEFAULT_DEADLINE};

pub static CASES: &[&Case] = &[&UNREAD_DATA_RST, &WR_BLOCKS, &HALF_CLOSE, &RD];

pub static UNREAD_DATA_RST: Case = Case {
    id: "close.unread_data_rst",
    source: Source::LectureNotes("5.2 SO_LINGER (4-way handshake)"),
    claim: "(implied by the 4-way handshake slide) close() ends a connection with FIN",
    expectation:
        "closing a socket that still holds unread received data sends RST, not FIN (RFC 2525 \
                  2.17); the peer's next recv fails with ECONNRESET",
    run: &Legacy(unread_data_rst),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static WR_BLOCKS: Case = Case {
    id: "shutdown.wr_blocks",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim: "shutdown(SHUT_WR) blocks until the peer has acknowledged the FIN",
    expectation:
        "shutdown(SHUT_WR) returns at once even when the FIN is never acknowledged (the FIN is \
                  on the wire, unanswered); a reachable peer's read then returns 0",
    run: &Legacy(wr_blocks),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static HALF_CLOSE: Case = Case {
    id: "shutdown.half_close",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim:
        "after shutdown(SHUT_WR) the socket still reads what the peer sends, until the peer's FIN",
    expectation:
        "the peer reads 0 (our FIN), then sends data that we read in full; our read returns 0 at \
                  the peer's FIN",
    run: &Legacy(half_close),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

pub static RD: Case = Case {
    id: "shutdown.rd",
    source: Source::LectureNotes("5.2 shutdown()"),
    claim: "shutdown(SHUT_RD) closes the receive stream",
    expectation: "on Linux SHUT_RD sends nothing on the wire; recv returns 0 at once while nothing is queued; \
                  data the peer sends afterwards is still accepted and acknowledged, and recv returns it",
    run: &Legacy(rd),
    deadline: DEFAULT_DEADLINE,
    relies_on: &[],
};

fn unread_data_rst(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let closer_port = pair.port()?;
    pair.client.send_all(&[9u8; 100])?;
    phase("waiting for the data to arrive unread");
    wait::until(
        "100 unread bytes at the closer",
        Duration::from_secs(5),
        || Ok((pair.server.queued(libc::FIONREAD)? == 100).then_some(())),
    )?;
    let TcpPair {
        client,
        server,
        listener: _l,
    } = pair;
    let closed = server.close();
    let rst = cap
        .wait_segment("RST from the closer", Duration::from_secs(2), |s| {
            s.sport == closer_port && s.flags.rst
        })
        .is_ok();
    let segs = cap.segments()?;
    let fin = segs.iter().any(|s| s.sport == closer_port && s.flags.fin);
    let mut buf = [0u8; 16];
    let peer = client.recv(&mut buf, 0);

    let mut ev = Evidence::new();
    ev.observe("unread_bytes", 100)
        .observe("close", &closed)
        .observe("rst_on_wire", rst)
        .observe("fin_on_wire", fin)
        .observe("peer_recv", result_name(&peer));
    ev.expect_eq("the closer sends RST", true, rst);
    ev.expect_eq("the closer sends no FIN", false, fin);
    ev.expect_eq("the peer's recv", "ECONNRESET", result_name(&peer).as_str());
    let verdict = Verdict::holds_if(fin && !rst);
    ev.verdict(
        verdict,
        format!(
        "close() with 100 unread bytes: RST on the wire {rst}, FIN {fin}; the peer's recv -> {}",
        result_name(&peer)),
    );
    ev.key(format!(
        "RST={rst} FIN={fin}, peer recv {}",
        result_name(&peer)
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn wr_blocks(lab: &mut Lab) -> Result<Evidence> {
    // Unanswered FIN: a peer in host b that silently drops everything once
    // its address is gone (no RST, no ICMP).
    let link = Link::pair_v4(lab)?;
    let mut cap = Capture::start(&link.a_end.ifname)?;
    let pair = wire::tcp_across(&link, |_| Ok(()), |_| Ok(()))?;
    let port = pair.client.local_addr()?.port();
    let peer_addr = link.b_end.addr;
    link.b.run(|| -> Result<()> {
        Netlink::open()?.del_addr(ifindex(&link.b_end.ifname)?, peer_addr, 24)
    })??;
    let t = Instant::now();
    let r = pair.client.shutdown(libc::SHUT_WR);
    let took = t.elapsed();
    phase("waiting for the FIN on the wire");
    let fin = cap
        .wait_segment("the FIN", Duration::from_secs(2), |s| {
            s.sport == port && s.flags.fin
        })
        .ok();
    let fin_end = fin.as_ref().map(|f| f.seq.wrapping_add(f.payload + 1));
    let acked = cap
        .segments()?
        .iter()
        .any(|s| s.dport == port && s.flags.ack && Some(s.ack) == fin_end);
    let fin = fin.is_some();
    // Reachable peer: shutdown on loopback, the peer reads 0.
    let lo = TcpPair::loopback(Family::V4)?;
    lo.client.shutdown(libc::SHUT_WR)?;
    let mut buf = [0u8; 8];
    let peer_read = lo.server.recv(&mut buf, 0);

    let mut ev = Evidence::new();
    ev.observe("shutdown_result", result_name(&r))
        .observe("shutdown_ms", ms(took))
        .observe("fin_on_wire", fin)
        .observe("fin_acked", acked)
        .observe(
            "reachable_peer_read",
            result_name(&peer_read).replace("ok", &format!("{:?}", peer_read.as_ref().ok())),
        );
    ev.expect_eq("shutdown(SHUT_WR)", "ok", result_name(&r).as_str());
    ev.expect(
        "it returns at once, the FIN unacknowledged",
        took < Duration::from_millis(100),
        "< 100 ms",
        format!("{:.3} ms", ms(took)),
    );
    ev.expect_eq("the FIN is on the wire", true, fin);
    ev.expect_eq("nobody acknowledged it", false, acked);
    ev.expect_eq(
        "a reachable peer's read returns 0",
        Some(0),
        peer_read.as_ref().ok().copied(),
    );
    let verdict = Verdict::holds_if(took >= Duration::from_millis(100));
    ev.verdict(verdict, format!(
        "shutdown(SHUT_WR) returned {} in {:.3} ms with its FIN on the wire and never acknowledged; \
         the notes' \"blocks until the FIN is ACKed\" is not Linux behaviour", result_name(&r), ms(took)));
    ev.key(format!(
        "shutdown {:.3} ms, FIN sent {fin}, acked {acked}",
        ms(took)
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}

fn half_close(_lab: &mut Lab) -> Result<Evidence> {
    let pair = TcpPair::loopback(Family::V4)?;
    pair.client.send_all(b"request")?;
    pair.client
        .shutdown(libc::SHUT_WR)
        .context("shutdown(SHUT_WR)")?;
    let (request, _) = pair.server.read_to_end();
    let reply = vec![6u8; 10_000];
    pair.server.send_all(&reply)?;
    pair.server.shutdown(libc::SHUT_WR)?;
    pair.client
        .set_timeout(libc::SO_RCVTIMEO, Duration::from_secs(5))?;
    let (got, err) = pair.client.read_to_end();
    let end = err.as_ref().map(errno_name).unwrap_or_else(|| "EOF".into());

    let mut ev = Evidence::new();
    ev.observe("peer_read_before_eof", request.len())
        .observe("reply_sent", reply.len())
        .observe("reply_read_after_shut_wr", got.len())
        .observe("read_end", &end);
    ev.expect_eq("the peer sees our data then EOF", 7, request.len());
    ev.expect_eq(
        "we read the whole reply after SHUT_WR",
        reply.len(),
        got.len(),
    );
    ev.expect_eq("our read ends at the peer's FIN", "EOF", end.as_str());
    let holds = got.len() == reply.len() && end == "EOF";
    ev.verdict(Verdict::holds_if(holds), format!(
        "after SHUT_WR the peer read {} B then EOF; it replied {} B, all read by us ({} B), then EOF",
        request.len(), reply.len(), got.len()));
    ev.key(format!(
        "after SHUT_WR read {}/{} B then {end}",
        got.len(),
        reply.len()
    ));
    Ok(ev)
}

fn rd(_lab: &mut Lab) -> Result<Evidence> {
    let mut cap = Capture::start("lo")?;
    let pair = TcpPair::loopback(Family::V4)?;
    let port = pair.port()?;
    let before = cap.frames()?.len();
    pair.server
        .shutdown(libc::SHUT_RD)
        .context("shutdown(SHUT_RD)")?;
    let mut buf = [0u8; 1024];
    let t = Instant::now();
    let first = pair.server.recv(&mut buf, 0);
    let first_took = t.elapsed();
    let sent_by_shutdown = cap.frames()?.len() - before;
    pair.client.send_all(&[1u8; 500])?;
    let client_port = pair.client.local_addr()?.port();
    let acked = cap
        .wait_segment(
            "the peer's data acknowledged",
            Duration::from_secs(2),
            |s| s.sport == port && s.dport == client_port && s.flags.ack && !s.flags.syn,
        )
        .is_ok();
    let rst = cap.segments()?.iter().any(|s| s.flags.rst);
    let queued = pair.server.queued(libc::FIONREAD)?;
    let later = pair.server.recv(&mut buf, libc::MSG_DONTWAIT);
    let show = |r: &std::io::Result<usize>| match r {
        Ok(n) => format!("{n} B"),
        Err(e) => errno_name(e),
    };

    let mut ev = Evidence::new();
    ev.observe("packets_sent_by_shutdown_rd", sent_by_shutdown)
        .observe("recv_after_shut_rd", show(&first))
        .observe("recv_after_shut_rd_ms", ms(first_took))
        .observe("peer_data_acked", acked)
        .observe("rst_on_wire", rst)
        .observe("queued_after_peer_sent_500", queued)
        .observe("recv_of_later_data", show(&later));
    ev.expect_eq("SHUT_RD puts nothing on the wire", 0, sent_by_shutdown);
    ev.expect_eq("recv returns 0 at once", "0 B", show(&first).as_str());
    ev.expect_eq("data sent afterwards is acknowledged", true, acked);
    ev.expect_eq("no RST", false, rst);
    ev.expect_eq("and recv still returns it", "500 B", show(&later).as_str());
    let verdict = if show(&later) == "500 B" {
        Verdict::Differs
    } else {
        Verdict::Holds
    };
    ev.verdict(verdict, format!(
        "after SHUT_RD: {sent_by_shutdown} packets sent, recv -> {} in {:.3} ms; 500 B sent later were ACKed ({acked}), \
         queued ({queued}) and recv returned {}: the stream is marked closed for reading, not cut off",
        show(&first), ms(first_took), show(&later)));
    ev.key(format!(
        "recv {} at once; later data: acked {acked}, recv {}",
        show(&first),
        show(&later)
    ));
    ev.frames(cap.frames()?);
    Ok(ev)
}
