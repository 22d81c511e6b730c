//! `sockspec explain ID`: the claim, what Linux did, the verdict with its
//! numbers, and for TCP cases the captured exchange as a packet ladder.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::lab::packet::{Frame, Packet, Segment};
use crate::model::{Case, CaseResult};

pub fn render(case: &Case, r: &CaseResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", case.id);
    let _ = writeln!(out, "  source:      {}", case.source);
    let _ = writeln!(out, "  claim:       {}", case.claim);
    let _ = writeln!(out, "  linux does:  {}", case.expectation);
    let _ = writeln!(out, "  outcome:     {} ({} ms)", r.outcome, r.duration_ms);
    let verdict = r
        .verdict
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(out, "  verdict:     {verdict}: {}", r.reason);
    let _ = writeln!(out, "\nchecks:");
    for c in &r.checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(
            out,
            "  {mark} {}: expected {}, observed {}",
            c.what, c.expected, c.observed
        );
    }
    let _ = writeln!(out, "\nobserved:");
    for (k, v) in &r.observed {
        let _ = writeln!(out, "  {k} = {v}");
    }
    let ladder = ladder(&r.frames);
    if !ladder.is_empty() {
        let _ = writeln!(out, "\npacket ladder (time since first packet):");
        out.push_str(&ladder);
    }
    if let Some(p) = &r.pcap {
        let _ = writeln!(out, "\ncapture: {p}");
    }
    out
}

/// Draws TCP segments as a two-column sequence diagram: the endpoint that sent
/// the first segment is on the left.
pub fn ladder(frames: &[Frame]) -> String {
    let segs: Vec<(i64, Segment)> = frames
        .iter()
        .filter_map(|f| match f.decode() {
            Packet::Tcp(s) => Some((f.t_ns, s)),
            _ => None,
        })
        .collect();
    let Some((t0, first)) = segs.first() else {
        return String::new();
    };
    let left = SocketAddr::new(first.src, first.sport);
    let right = SocketAddr::new(first.dst, first.dport);
    let width = 44;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:>9}  {:<22}{:>w$}",
        "",
        left.to_string(),
        right.to_string(),
        w = width - 2
    );
    let mut rows = Vec::new();
    // Frames are listed in capture order; kernel stamps taken on two CPUs can
    // disagree by a little, so the time shown never runs backwards.
    let mut shown = *t0;
    for (t, s) in &segs {
        shown = shown.max(*t);
        let from_left = SocketAddr::new(s.src, s.sport) == left;
        let from_right = SocketAddr::new(s.src, s.sport) == right;
        if !from_left && !from_right {
            continue;
        }
        let label = describe(s);
        let arrow = if from_left {
            format!("|{:-<w$}>|", format!("-- {label} "), w = width)
        } else {
            format!("|<{:->w$}|", format!(" {label} --"), w = width)
        };
        rows.push(format!("  {:>7.3}ms  {arrow}", (shown - t0) as f64 / 1e6));
    }
    // A bulk transfer is thousands of rows: keep the start and the end, where
    // the handshake and the close are.
    const HEAD: usize = 40;
    const TAIL: usize = 20;
    if rows.len() > HEAD + TAIL + 1 {
        let hidden = rows.len() - HEAD - TAIL;
        rows.splice(
            HEAD..rows.len() - TAIL,
            [format!("  {:>9}  ... {hidden} segments not shown ...", "")],
        );
    }
    for r in rows {
        let _ = writeln!(out, "{r}");
    }
    out
}

fn describe(s: &Segment) -> String {
    let mut d = format!("[{}]", s.flags);
    if s.payload > 0 {
        let _ = write!(d, " {}B", s.payload);
    }
    let _ = write!(d, " win {}", s.window);
    if let Some(m) = s.mss {
        let _ = write!(d, " mss {m}");
    }
    if let Some(w) = s.wscale {
        let _ = write!(d, " ws {w}");
    }
    d
}
