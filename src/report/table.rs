//! The human-readable report: one row per case, fitted to the terminal's
//! width (the key observation is wrapped, then elided; the id, outcome and
//! verdict never are), the reasons of the cases that did not pass, and a
//! closing summary: outcomes, verdicts, the refuted and differing claims,
//! the failures.

use std::fmt::Write;

use super::{elide, wrap, Tally};
use crate::model::{CaseResult, Outcome, Verdict};

/// How the table is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Columns available: no line is wider.
    pub width: usize,
    /// ANSI colours (a terminal that wants them).
    pub color: bool,
    /// The reason of every case, not only of those that did not pass; the
    /// key observation whole.
    pub verbose: bool,
    /// Said in the summary when the report shows part of the run
    /// ("--outcome fail,error").
    pub filtered: Option<(usize, String)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            width: DEFAULT_WIDTH,
            color: false,
            verbose: false,
            filtered: None,
        }
    }
}

/// The width of a table that goes to no terminal (a pipe, a file).
pub const DEFAULT_WIDTH: usize = 100;
/// The narrowest table laid out: narrower terminals get lines this wide.
pub const MIN_WIDTH: usize = 60;

/// What the verdict column says of a case that gave no verdict.
pub const NO_VERDICT: &str = "no verdict";

/// An ANSI colour, or none.
#[derive(Clone, Copy)]
enum Paint {
    Green,
    Red,
    Yellow,
    Magenta,
    Dim,
    Bold,
}

fn paint(on: bool, p: Paint, text: &str) -> String {
    if !on || text.is_empty() {
        return text.to_string();
    }
    let code = match p {
        Paint::Green => "32",
        Paint::Red => "1;31",
        Paint::Yellow => "33",
        Paint::Magenta => "35",
        Paint::Dim => "2",
        Paint::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn outcome_paint(o: Outcome) -> Paint {
    match o {
        Outcome::Pass => Paint::Green,
        Outcome::Fail | Outcome::Error => Paint::Red,
        Outcome::Skip => Paint::Yellow,
    }
}

fn verdict_paint(v: Option<Verdict>) -> Option<Paint> {
    match v {
        Some(Verdict::Holds) => None,
        Some(Verdict::Differs) => Some(Paint::Yellow),
        Some(Verdict::Refuted) => Some(Paint::Magenta),
        None => Some(Paint::Dim),
    }
}

/// `text` padded to `w` columns, then painted (escape codes take no column).
fn cell(o: &Options, p: Option<Paint>, text: &str, w: usize) -> String {
    let pad = w.saturating_sub(text.chars().count());
    let painted = match p {
        Some(p) => paint(o.color, p, text),
        None => text.to_string(),
    };
    format!("{painted}{}", " ".repeat(pad))
}

/// What the verdict column says: a passing case's verdict, or that none is
/// given.
pub fn verdict_text(r: &CaseResult) -> String {
    r.shown_verdict()
        .map(|v| v.to_string())
        .unwrap_or_else(|| NO_VERDICT.to_string())
}

/// The column widths for `results` at `width`: the id's, the verdict's,
/// whether the time column fits, and the key observation's; when the key
/// column would be narrower than KEY_MIN, the key goes under its row
/// (`stacked`), as wide as the terminal.
struct Layout {
    id: usize,
    verdict: usize,
    time: bool,
    key: usize,
    stacked: bool,
}

const OUTCOME_W: usize = 7;
const TIME_W: usize = 7;
const GAP: usize = 2;
/// A stacked key is indented this much.
const STACK_INDENT: usize = 4;
/// The narrowest key column beside the row; the time column goes first.
const KEY_MIN: usize = 36;

fn layout(results: &[CaseResult], width: usize) -> Layout {
    let id = results
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    let verdict = results
        .iter()
        .map(|r| verdict_text(r).chars().count())
        .max()
        .unwrap_or(0)
        .max("verdict".len());
    let width = width.max(MIN_WIDTH);
    let fixed = id + GAP + OUTCOME_W + GAP + verdict + GAP;
    let with_time = width.saturating_sub(fixed + TIME_W + GAP);
    if with_time >= KEY_MIN {
        return Layout {
            id,
            verdict,
            time: true,
            key: with_time,
            stacked: false,
        };
    }
    let without = width.saturating_sub(fixed);
    if without >= KEY_MIN {
        return Layout {
            id,
            verdict,
            time: false,
            key: without,
            stacked: false,
        };
    }
    Layout {
        id,
        verdict,
        time: fixed + TIME_W <= width,
        key: width - STACK_INDENT,
        stacked: true,
    }
}

pub fn render(results: &[CaseResult], o: &Options) -> String {
    let l = layout(results, o.width);
    let mut out = String::new();
    let mut head = format!(
        "{:<id$}  {:<OUTCOME_W$}  {:<vw$}  ",
        "id",
        "outcome",
        "verdict",
        id = l.id,
        vw = l.verdict
    );
    if l.time {
        let _ = write!(head, "{:>TIME_W$}  ", "time");
    }
    if l.stacked {
        let _ = writeln!(out, "{}", paint(o.color, Paint::Bold, head.trim_end()));
        head = format!("{:STACK_INDENT$}key observation", "");
    } else {
        head.push_str("key observation");
    }
    let _ = writeln!(out, "{}", paint(o.color, Paint::Bold, &head));
    let indent = if l.stacked {
        STACK_INDENT
    } else {
        l.id + GAP + OUTCOME_W + GAP + l.verdict + GAP + if l.time { TIME_W + GAP } else { 0 }
    };
    for r in results {
        let key = if r.key.is_empty() { &r.reason } else { &r.key };
        let mut lines = wrap(key, l.key);
        // Two lines at most (all with --verbose); the rest is in `explain`.
        if !o.verbose && lines.len() > 2 {
            let rest = lines[1..].join(" ");
            lines.truncate(1);
            lines.push(elide(&rest, l.key));
        }
        let mut row = format!(
            "{}  {}  {}  ",
            cell(o, None, &r.id, l.id),
            cell(
                o,
                Some(outcome_paint(r.outcome)),
                &r.outcome.to_string(),
                OUTCOME_W
            ),
            cell(
                o,
                verdict_paint(r.shown_verdict()),
                &verdict_text(r),
                l.verdict
            ),
        );
        if l.time {
            let _ = write!(row, "{:>TIME_W$}  ", format!("{}ms", r.duration_ms));
        }
        let rest = if l.stacked {
            &lines[..]
        } else {
            row.push_str(&lines[0]);
            &lines[1..]
        };
        let _ = writeln!(out, "{}", row.trim_end());
        for more in rest {
            let _ = writeln!(out, "{:indent$}{more}", "");
        }
    }
    out.push_str(&why(results, o));
    out.push_str(&summary(results, o));
    out
}

/// "  first text", the text wrapped at `width` under its first line.
fn item(out: &mut String, first: &str, indent: usize, text: &str, width: usize) {
    let lead = first.chars().count();
    let lines = wrap(text, width.max(MIN_WIDTH).saturating_sub(indent).max(20));
    let pad = indent.saturating_sub(lead);
    let _ = writeln!(out, "{first}{:pad$}{}", "", lines[0]);
    for l in &lines[1..] {
        let _ = writeln!(out, "{:indent$}{l}", "");
    }
}

/// The reasons of the cases that did not pass (of all with --verbose): the
/// failed checks, the error or the skip's reason, the capture.
fn why(results: &[CaseResult], o: &Options) -> String {
    let shown: Vec<&CaseResult> = results
        .iter()
        .filter(|r| o.verbose || r.outcome != Outcome::Pass)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nwhy:\n");
    for r in shown {
        let outcome = paint(o.color, outcome_paint(r.outcome), &r.outcome.to_string());
        let _ = writeln!(out, "  {} [{outcome}]", r.id);
        if r.outcome == Outcome::Fail && !r.failed_checks().is_empty() {
            for c in r.failed_checks() {
                item(
                    &mut out,
                    "    - ",
                    6,
                    &format!(
                        "{}: expected {}, observed {}",
                        c.what, c.expected, c.observed
                    ),
                    o.width,
                );
            }
        } else {
            item(&mut out, "    ", 4, &r.reason, o.width);
        }
        if let Some(p) = &r.pcap {
            item(&mut out, "    capture: ", 13, p, o.width);
        }
    }
    out
}

/// The closing summary: counts of outcomes and verdicts, then the refuted
/// and the differing claims, then the failures and errors, one line each.
pub fn summary(results: &[CaseResult], o: &Options) -> String {
    let t = Tally::of(results);
    let width = o.width.max(MIN_WIDTH);
    let mut out = String::from("\n");
    let counts = format!(
        "{} passed, {} failed, {} skipped, {} errors (kernel {})",
        t.passed,
        t.failed,
        t.skipped,
        t.errors,
        super::kernel_release()
    );
    item(&mut out, "", 0, &counts, width);
    let verdicts: Vec<String> = Verdict::ALL
        .iter()
        .map(|v| {
            let n = results
                .iter()
                .filter(|r| r.shown_verdict() == Some(*v))
                .count();
            format!("{n} {v}")
        })
        .collect();
    let judged = results
        .iter()
        .filter(|r| r.shown_verdict().is_some())
        .count();
    let mut line = format!("verdicts: {}", verdicts.join(", "));
    let unjudged = results.len() - judged;
    if unjudged > 0 {
        let _ = write!(line, "; {unjudged} cases gave {NO_VERDICT}");
    }
    item(&mut out, "", 0, &line, width);
    let cpu: f64 = results.iter().map(|r| r.cpu_ms).sum();
    let mut line = format!("CPU {cpu:.0} ms in all ({} cases)", results.len());
    if let Some((ran, why)) = &o.filtered {
        let _ = write!(
            line,
            "; {} of the {ran} cases run are shown ({why})",
            results.len()
        );
    }
    item(&mut out, "", 0, &line, width);

    let idw = |list: &[&CaseResult]| list.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
    let mut list = |title: String, items: Vec<(&CaseResult, String)>| {
        if items.is_empty() {
            return;
        }
        out.push('\n');
        for l in wrap(&title, width) {
            let _ = writeln!(out, "{}", paint(o.color, Paint::Bold, &l));
        }
        let rs: Vec<&CaseResult> = items.iter().map(|(r, _)| *r).collect();
        let w = idw(&rs);
        for (r, text) in &items {
            let room = width.saturating_sub(2 + w + 2);
            let _ = writeln!(out, "  {:<w$}  {}", r.id, elide(text, room.max(10)));
        }
    };
    for v in [Verdict::Refuted, Verdict::Differs] {
        let items: Vec<(&CaseResult, String)> = results
            .iter()
            .filter(|r| r.shown_verdict() == Some(v))
            .map(|r| (r, r.claim.clone()))
            .collect();
        let n = items.len();
        list(format!("{v} ({n}): {}", v.meaning()), items);
    }
    let failed: Vec<(&CaseResult, String)> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| {
            let checks = r.failed_checks();
            let text = match checks.first() {
                Some(c) => {
                    let more = if checks.len() > 1 {
                        format!(" (and {} more)", checks.len() - 1)
                    } else {
                        String::new()
                    };
                    format!(
                        "{}: expected {}, observed {}{more}",
                        c.what, c.expected, c.observed
                    )
                }
                None => r.reason.clone(),
            };
            (r, text)
        })
        .collect();
    let n = failed.len();
    list(
        format!(
            "failed ({n}): the measurement contradicts the expectation, so {NO_VERDICT} is given"
        ),
        failed,
    );
    let errors: Vec<(&CaseResult, String)> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Error)
        .map(|r| (r, r.reason.clone()))
        .collect();
    let n = errors.len();
    list(format!("errors ({n}): the case did not complete"), errors);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Check;
    use pretty_assertions::assert_eq;

    fn result(id: &str, outcome: Outcome, verdict: Option<Verdict>, key: &str) -> CaseResult {
        let mut r = CaseResult::without_evidence(
            &crate::cases::linger::ZERO_RST,
            outcome,
            format!("the numbers behind {id}"),
            std::time::Duration::from_millis(1234),
        );
        r.id = id.into();
        r.verdict = verdict;
        r.key = key.into();
        r.claim = format!("the claim of {id}, which a source made at some length to be cut");
        if outcome == Outcome::Fail {
            r.checks = vec![
                Check {
                    what: "RST on the wire".into(),
                    expected: "true".into(),
                    observed: "false".into(),
                    ok: false,
                },
                Check {
                    what: "bytes delivered".into(),
                    expected: "24576".into(),
                    observed: "0".into(),
                    ok: false,
                },
            ];
        }
        r
    }

    fn sample() -> Vec<CaseResult> {
        let long = "RST, no FIN; delivered 24576 of 149504 B; the peer read ECONNRESET after \
                    the last byte it had; close() returned at once with 124928 B unsent";
        vec![
            result("linger.zero_rst", Outcome::Pass, Some(Verdict::Holds), long),
            result(
                "reuseaddr.child_server_restart",
                Outcome::Pass,
                Some(Verdict::Differs),
                "short",
            ),
            result(
                "lowat.sndlowat",
                Outcome::Pass,
                Some(Verdict::Refuted),
                "ENOPROTOOPT",
            ),
            // The judgement said refuted, but a check failed: no verdict.
            result(
                "nagle.coalesce",
                Outcome::Fail,
                Some(Verdict::Refuted),
                long,
            ),
            result("mcast.ttl", Outcome::Skip, None, ""),
        ]
    }

    fn opts(width: usize) -> Options {
        Options {
            width,
            ..Options::default()
        }
    }

    #[test]
    fn no_line_is_wider_than_the_terminal_and_rows_keep_id_outcome_verdict() {
        for width in [80, 100, 132, 200] {
            let text = render(&sample(), &opts(width));
            for l in text.lines() {
                assert!(l.chars().count() <= width, "{width}: {l:?}");
            }
            for (id, outcome, verdict) in [
                ("reuseaddr.child_server_restart", "pass", "differs"),
                ("nagle.coalesce", "fail", "no verdict"),
                ("mcast.ttl", "skip", "no verdict"),
            ] {
                let row = text
                    .lines()
                    .find(|l| l.starts_with(id))
                    .unwrap_or_else(|| panic!("{width}: no row for {id}:\n{text}"));
                let cols: Vec<&str> = row.split("  ").filter(|c| !c.is_empty()).collect();
                assert_eq!(
                    vec![id, outcome, verdict],
                    cols[..3].iter().map(|c| c.trim()).collect::<Vec<_>>(),
                    "{width}: {row}"
                );
            }
        }
    }

    #[test]
    fn a_narrow_terminal_puts_the_key_under_its_row_and_a_wide_one_beside_it() {
        let narrow = render(&sample(), &opts(80));
        assert!(
            narrow.contains("\nlinger.zero_rst                 pass     holds        1234ms\n    RST, no FIN; delivered"),
            "{narrow}"
        );
        let wide = render(&sample(), &opts(200));
        assert!(
            wide.contains(
                "\nlinger.zero_rst                 pass     holds        1234ms  RST, no FIN;"
            ),
            "{wide}"
        );
    }

    #[test]
    fn a_long_key_takes_two_lines_then_is_elided_unless_verbose() {
        let short = render(&sample(), &opts(100));
        let rows: Vec<&str> = short
            .lines()
            .skip_while(|l| !l.starts_with("linger.zero_rst"))
            .take(3)
            .collect();
        assert!(rows[1].ends_with('…'), "{short}");
        assert!(rows[2].starts_with("reuseaddr."), "{short}");
        let verbose = render(
            &sample(),
            &Options {
                verbose: true,
                ..opts(100)
            },
        );
        assert!(verbose.contains("124928 B unsent"), "{verbose}");
    }

    #[test]
    fn why_lines_only_for_cases_that_did_not_pass_unless_verbose() {
        let text = render(&sample(), &opts(100));
        let why: Vec<&str> = text
            .split("\nwhy:\n")
            .nth(1)
            .expect("a why section")
            .lines()
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(
            vec![
                "  nagle.coalesce [fail]",
                "    - RST on the wire: expected true, observed false",
                "    - bytes delivered: expected 24576, observed 0",
                "  mcast.ttl [skip]",
                "    the numbers behind mcast.ttl",
            ],
            why
        );
        let verbose = render(
            &sample(),
            &Options {
                verbose: true,
                ..opts(100)
            },
        );
        assert!(
            verbose.contains("  linger.zero_rst [pass]\n    the numbers behind linger.zero_rst\n"),
            "{verbose}"
        );
        let all_pass = render(&sample()[..3], &opts(100));
        assert!(!all_pass.contains("why:"), "{all_pass}");
    }

    #[test]
    fn the_summary_counts_then_lists_refuted_differing_and_failed_cases() {
        let text = summary(&sample(), &opts(80));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            format!(
                "3 passed, 1 failed, 1 skipped, 0 errors (kernel {})",
                crate::report::kernel_release()
            ),
            lines[1]
        );
        assert_eq!(
            "verdicts: 1 holds, 1 differs, 1 refuted; 2 cases gave no verdict",
            lines[2]
        );
        let rest = lines[4..].join("\n");
        assert_eq!(
            "\
\nrefuted (1): Linux does the opposite of what the source claims
  lowat.sndlowat  the claim of lowat.sndlowat, which a source made at some leng…

differs (1): Linux does it only partly, or in its own way: the claim needs a
qualification (a limit, a doubled value, another errno)
  reuseaddr.child_server_restart  the claim of reuseaddr.child_server_restart, …

failed (1): the measurement contradicts the expectation, so no verdict is given
  nagle.coalesce  RST on the wire: expected true, observed false (and 1 more)",
            rest
        );
    }

    #[test]
    fn colour_only_paints_what_the_plain_table_says() {
        let plain = render(&sample(), &opts(100));
        let coloured = render(
            &sample(),
            &Options {
                color: true,
                ..opts(100)
            },
        );
        assert!(coloured.contains("\x1b[32mpass\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[35mrefuted\x1b[0m"), "{coloured}");
        let mut stripped = String::new();
        let mut in_escape = false;
        for c in coloured.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (false, c) => stripped.push(c),
                _ => {}
            }
        }
        assert_eq!(plain, stripped);
    }
}
