//! The kernel matrix: several JSON reports (one per kernel) side by side, a
//! row per case and a column per kernel. `html` writes one self-contained page
//! (no external scripts, fonts or styles) where a click on a cell shows that
//! kernel's reason, checks and, when the report kept its frames, the packet
//! ladder; `markdown` prints the same table for a terminal or a pull-request
//! comment. A row *differs* when some kernel behaves differently from the
//! row's reference kernel (the first where the case passed, else the first
//! that ran it), in the sense of `sockspec diff`: its outcome, verdict, a
//! check's result or an observed fact changed.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::diff;
use super::json::Report;
use crate::model::{CaseResult, Outcome};

/// Where the catalogue puts a case id: its area (a module of src/cases), its
/// source and claim (for reports recorded before they carried them). Given in
/// catalogue order, which is the order of the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub area: String,
    pub source: String,
    pub claim: String,
}

/// Where a claim comes from, as the matrix groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The lecture notes and the blog post the catalogue started from.
    Seed,
    /// A Linux man page's statement.
    ManPage,
}

impl Kind {
    /// A man page's source names the release: "man-pages 6.20 socket(7) ...".
    pub fn of(source: &str) -> Kind {
        if source.starts_with("man-pages") {
            Kind::ManPage
        } else {
            Kind::Seed
        }
    }

    /// The word the page's filter and the markdown table use.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Seed => "seed",
            Kind::ManPage => "man",
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            Kind::Seed => "seeds (lecture notes, blog post)",
            Kind::ManPage => "man pages",
        }
    }
}

/// One case across the kernels.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    pub id: String,
    pub source: String,
    pub claim: String,
    /// One per kernel, in column order; `None` where that report lacks the id.
    pub cells: Vec<Option<&'a CaseResult>>,
    /// Per kernel, how it behaves differently from the reference kernel
    /// (`sockspec diff`'s lines); empty where it behaves the same.
    pub changes: Vec<Vec<String>>,
    /// The column the others are compared with: the first kernel where the
    /// case passed (a kernel where it errored says little about behaviour),
    /// else the first that ran it.
    pub reference: usize,
}

impl Row<'_> {
    /// Some kernel behaves differently. A kernel whose report lacks the case
    /// (an older catalogue) is no difference in behaviour.
    pub fn differs(&self) -> bool {
        self.changes.iter().any(|c| !c.is_empty())
    }
}

/// The rows of one area and one kind of source.
#[derive(Clone, Debug)]
pub struct Group<'a> {
    pub area: String,
    pub kind: Kind,
    pub rows: Vec<Row<'a>>,
}

/// Reports side by side.
#[derive(Clone, Debug)]
pub struct Matrix<'a> {
    /// Column headings: the kernel release of each report (made unique with
    /// `#2`, `#3` when two reports come from the same kernel).
    pub kernels: Vec<String>,
    pub reports: Vec<&'a Report>,
    pub groups: Vec<Group<'a>>,
}

impl<'a> Matrix<'a> {
    /// Lays the reports out by the catalogue: areas and rows in catalogue
    /// order, seeds before man pages within an area. Ids the catalogue does
    /// not know (a report from an older or newer catalogue) are placed by
    /// their id's prefix, after the known areas.
    pub fn new(reports: &[&'a Report], catalogue: &[Entry]) -> Matrix<'a> {
        let place: BTreeMap<&str, (usize, &Entry)> = catalogue
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), (i, e)))
            .collect();
        let mut area_rank: Vec<String> = Vec::new();
        for e in catalogue {
            if !area_rank.contains(&e.area) {
                area_rank.push(e.area.clone());
            }
        }
        // Every id of every report, each once, in the order first seen.
        let mut ids: Vec<&str> = Vec::new();
        for r in reports {
            for c in &r.cases {
                if !ids.contains(&c.id.as_str()) {
                    ids.push(&c.id);
                }
            }
        }
        let unknown_base = catalogue.len();
        let mut placed: Vec<(String, Kind, usize, Row<'a>)> = ids
            .iter()
            .enumerate()
            .map(|(seen, id)| {
                let cells: Vec<Option<&'a CaseResult>> = reports
                    .iter()
                    .map(|r| r.cases.iter().find(|c| c.id == *id))
                    .collect();
                let reference = cells
                    .iter()
                    .position(|c| c.is_some_and(|c| c.outcome == Outcome::Pass))
                    .or_else(|| cells.iter().position(Option::is_some))
                    .unwrap_or(0);
                let any = cells[reference];
                let from_report = |f: fn(&CaseResult) -> &str| {
                    cells
                        .iter()
                        .flatten()
                        .map(|c| f(c))
                        .find(|s| !s.is_empty())
                        .unwrap_or_default()
                        .to_string()
                };
                let (pos, area, mut source, mut claim) = match place.get(id) {
                    Some((i, e)) => (*i, e.area.clone(), e.source.clone(), e.claim.clone()),
                    None => (
                        unknown_base + seen,
                        prefix(id).to_string(),
                        String::new(),
                        String::new(),
                    ),
                };
                // What the report says wins: it is what that run checked.
                for (field, reported) in [
                    (&mut source, from_report(|c| &c.source)),
                    (&mut claim, from_report(|c| &c.claim)),
                ] {
                    if !reported.is_empty() {
                        *field = reported;
                    }
                }
                let changes = cells
                    .iter()
                    .map(|cell| match (any, cell) {
                        (Some(first), Some(c)) => diff::compare_case(first, c)
                            .changes
                            .into_iter()
                            // Cases of the old shape keep their judgement
                            // among the observations: it restates the
                            // outcome, verdict and checks compared above.
                            .filter(|ch| !ch.starts_with("observed judgement."))
                            .collect(),
                        _ => Vec::new(),
                    })
                    .collect();
                let kind = Kind::of(&source);
                let row = Row {
                    id: id.to_string(),
                    source,
                    claim,
                    cells,
                    changes,
                    reference,
                };
                (area, kind, pos, row)
            })
            .collect();
        let rank = |area: &str| {
            area_rank
                .iter()
                .position(|a| a == area)
                .unwrap_or(area_rank.len())
        };
        placed.sort_by(|a, b| (rank(&a.0), &a.0, a.1, a.2).cmp(&(rank(&b.0), &b.0, b.1, b.2)));
        let mut groups: Vec<Group<'a>> = Vec::new();
        for (area, kind, _, row) in placed {
            match groups.last_mut() {
                Some(g) if g.area == area && g.kind == kind => g.rows.push(row),
                _ => groups.push(Group {
                    area,
                    kind,
                    rows: vec![row],
                }),
            }
        }
        Matrix {
            kernels: labels(reports),
            reports: reports.to_vec(),
            groups,
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = &Row<'a>> {
        self.groups.iter().flat_map(|g| g.rows.iter())
    }

    pub fn differing(&self) -> usize {
        self.rows().filter(|r| r.differs()).count()
    }
}

/// The area an unknown id belongs to: its prefix (`rcvbuf.set_1024` -> `rcvbuf`).
fn prefix(id: &str) -> &str {
    id.split(['.', '@']).next().unwrap_or(id)
}

fn labels(reports: &[&Report]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in reports {
        let same = reports
            .iter()
            .take(out.len())
            .filter(|o| o.kernel == r.kernel)
            .count();
        out.push(if same == 0 {
            r.kernel.clone()
        } else {
            format!("{} #{}", r.kernel, same + 1)
        });
    }
    out
}

/// "pass · holds", "error" (no verdict), "—" (not in this report).
fn cell_text(c: Option<&CaseResult>) -> String {
    match c {
        None => "—".into(),
        Some(c) => match c.shown_verdict() {
            Some(v) => format!("{} · {v}", c.outcome),
            None => c.outcome.to_string(),
        },
    }
}

/// Counts per outcome, as "71 pass" or "69 pass, 1 fail, 1 error".
fn tally(r: &Report) -> String {
    let mut parts = Vec::new();
    for o in [Outcome::Pass, Outcome::Fail, Outcome::Skip, Outcome::Error] {
        let n = r.cases.iter().filter(|c| c.outcome == o).count();
        if n > 0 {
            parts.push(format!("{n} {o}"));
        }
    }
    if parts.is_empty() {
        return "no cases".into();
    }
    parts.join(", ")
}

fn summary_line(m: &Matrix) -> String {
    let n = m.rows().count();
    match m.differing() {
        0 => format!("no behaviour differences between the kernels ({n} cases)"),
        d => format!("{d} of {n} cases behave differently between the kernels (marked ≠)"),
    }
}

/// The table as GitHub-flavoured markdown: kernels and their tallies, then a
/// row per case (≠ where kernels differ) under a row per area and source,
/// then what differs.
pub fn markdown(m: &Matrix) -> String {
    let mut out = String::from("## sockspec kernel matrix\n\n");
    out.push_str("| kernel | cases |\n|---|---|\n");
    for (k, r) in m.kernels.iter().zip(&m.reports) {
        let _ = writeln!(out, "| {} | {} |", md(k), tally(r));
    }
    let _ = writeln!(out, "\n{}\n", summary_line(m));
    let _ = write!(out, "| | case | source |");
    for k in &m.kernels {
        let _ = write!(out, " {} |", md(k));
    }
    out.push_str("\n|---|---|---|");
    out.push_str(&"---|".repeat(m.kernels.len()));
    out.push('\n');
    for g in &m.groups {
        let _ = write!(out, "| | **{}** | {} |", md(&g.area), g.kind.word());
        out.push_str(&" |".repeat(m.kernels.len()));
        out.push('\n');
        for r in &g.rows {
            let mark = if r.differs() { "| ≠ |" } else { "| |" };
            let _ = write!(out, "{mark} `{}` | {} |", r.id, g.kind.word());
            for c in &r.cells {
                let text = cell_text(*c);
                let bad = c.is_some_and(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error));
                if bad {
                    let _ = write!(out, " **{text}** |");
                } else {
                    let _ = write!(out, " {text} |");
                }
            }
            out.push('\n');
        }
    }
    let differing: Vec<&Row> = m.rows().filter(|r| r.differs()).collect();
    if !differing.is_empty() {
        out.push_str("\n### What differs\n\n");
        for r in differing {
            let _ = writeln!(out, "- `{}` (against {}):", r.id, m.kernels[r.reference]);
            for (k, changes) in m.kernels.iter().zip(&r.changes) {
                if !changes.is_empty() {
                    let _ = writeln!(out, "  - {k}: {}", changes.join("; "));
                }
            }
        }
    }
    out
}

/// A markdown table cell: pipes would end it.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #fff; }
header { padding: 12px 20px; border-bottom: 1px solid #d0d7de; }
h1 { font-size: 20px; margin: 0 0 6px; }
.kernels { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 6px 0; }
.kernels span { white-space: nowrap; }
.controls { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; margin-top: 8px; }
.legend span { padding: 1px 6px; border-radius: 3px; margin-right: 4px; }
header, .wrap { margin-right: 36%; }
.wrap { overflow-x: auto; padding: 0 20px 20px; }
table { border-collapse: collapse; margin-top: 10px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f6f8fa; font-weight: 600; font-size: 12px; }
tr.head th { background: #eef1f4; font-size: 13px; }
td.case code { font-size: 13px; }
td.mark { width: 1em; text-align: center; font-weight: 700; color: #8250df; }
tr.differs td.case { border-left: 4px solid #8250df; }
td.cell { cursor: pointer; white-space: nowrap; font-size: 13px; }
td.cell:focus, td.cell.sel { outline: 3px solid #0969da; outline-offset: -3px; }
td.cell .v { margin-left: 6px; font-size: 12px; }
.pass { background: #dafbe1; } .fail { background: #ffd8d3; } .error { background: #ffe7b3; }
.skip { background: #eaeef2; } .absent { background: #fff; color: #8c959f; }
.v.holds { color: #116329; } .v.differs { color: #9a6700; } .v.refuted { color: #8250df; }
aside { position: fixed; top: 0; right: 0; bottom: 0; width: 36%; overflow: auto;
        border-left: 1px solid #d0d7de; padding: 12px 16px; box-sizing: border-box; background: #fff; }
aside h2 { font-size: 16px; margin: 0 0 6px; }
aside table { margin: 6px 0; font-size: 12px; }
aside pre { font-size: 11px; background: #f6f8fa; padding: 6px; overflow: auto; }
.ok { color: #116329; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; }
.detail { display: none; }
[hidden] { display: none !important; }
"#;

const SCRIPT: &str = r#"
(function () {
  var panel = document.getElementById('panel');
  function show(td) {
    var sel = document.querySelectorAll('td.cell.sel');
    for (var i = 0; i < sel.length; i++) sel[i].classList.remove('sel');
    td.classList.add('sel');
    panel.innerHTML = td.querySelector('.detail').innerHTML;
  }
  // A clicked cell's address names it: a link to it opens the same panel.
  function pick(td) {
    show(td);
    if (history.replaceState) history.replaceState(null, '', '#' + td.id);
  }
  var cells = document.querySelectorAll('td.cell');
  for (var i = 0; i < cells.length; i++) {
    cells[i].addEventListener('click', function () { pick(this); });
    cells[i].addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(this); }
    });
  }
  var only = document.getElementById('only-differs');
  var search = document.getElementById('search');
  function apply() {
    var kind = document.querySelector('input[name=kind]:checked').value;
    var text = search.value.trim().toLowerCase();
    var groups = document.querySelectorAll('tbody.group');
    for (var g = 0; g < groups.length; g++) {
      var rows = groups[g].querySelectorAll('tr.row'), shown = 0;
      for (var r = 0; r < rows.length; r++) {
        var tr = rows[r];
        var ok = (!only.checked || tr.classList.contains('differs')) &&
                 (kind === 'all' || tr.getAttribute('data-kind') === kind) &&
                 (text === '' || tr.getAttribute('data-id').indexOf(text) >= 0);
        tr.hidden = !ok;
        if (ok) shown++;
      }
      groups[g].hidden = shown === 0;
    }
  }
  only.addEventListener('change', apply);
  search.addEventListener('input', apply);
  var kinds = document.querySelectorAll('input[name=kind]');
  for (var k = 0; k < kinds.length; k++) kinds[k].addEventListener('change', apply);
  // matrix.html#differs opens on the rows where kernels differ,
  // #cell-K-ID on kernel K's (from 0) cell of case ID, #differs&cell-K-ID both.
  var parts = decodeURIComponent(location.hash.slice(1)).split('&'), linked = null;
  for (var p = 0; p < parts.length; p++) {
    if (parts[p] === 'differs') only.checked = true;
    if (parts[p].indexOf('cell-') === 0) linked = document.getElementById(parts[p]);
  }
  apply();
  if (linked) {
    show(linked);
    var box = linked.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) linked.scrollIntoView({block: 'center'});
  }
})();
"#;

/// The whole page: kernels and their tallies, the filters, the table, and the
/// panel that shows a clicked cell's details.
pub fn html(m: &Matrix) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>sockspec kernel matrix: {}</title>",
        esc(&m.kernels.join(", "))
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    out.push_str("<header>\n<h1>sockspec kernel matrix</h1>\n<div class=\"kernels\">");
    for (k, r) in m.kernels.iter().zip(&m.reports) {
        let _ = write!(
            out,
            "<span class=\"kernel\"><b>{}</b>: {} (sockspec {})</span>",
            esc(k),
            esc(&tally(r)),
            esc(&r.sockspec)
        );
    }
    out.push_str("</div>\n");
    let _ = writeln!(out, "<div id=\"summary\">{}</div>", esc(&summary_line(m)));
    out.push_str(concat!(
        "<div class=\"controls\">",
        "<label><input type=\"checkbox\" id=\"only-differs\"> only rows where kernels differ</label>",
        "<span><label><input type=\"radio\" name=\"kind\" value=\"all\" checked> all</label> ",
        "<label><input type=\"radio\" name=\"kind\" value=\"seed\"> seeds</label> ",
        "<label><input type=\"radio\" name=\"kind\" value=\"man\"> man pages</label></span>",
        "<label>id <input type=\"search\" id=\"search\" placeholder=\"linger.\"></label>",
        "<span class=\"legend\"><span class=\"pass\">pass</span><span class=\"fail\">fail</span>",
        "<span class=\"error\">error</span><span class=\"skip\">skip</span></span>",
        "<span>outcome: did Linux do what the expectation says; verdict: how the source's claim fares. ",
        "Click a cell for its reason and checks.</span>",
        "</div>\n</header>\n<main>\n<div class=\"wrap\">\n<table id=\"matrix\">\n<thead><tr><th></th><th>case</th>"
    ));
    for k in &m.kernels {
        let _ = write!(out, "<th class=\"kernel\">{}</th>", esc(k));
    }
    out.push_str("</tr></thead>\n");
    let cols = m.kernels.len() + 2;
    for g in &m.groups {
        let _ = writeln!(
            out,
            "<tbody class=\"group\" data-kind=\"{}\"><tr class=\"head\"><th colspan=\"{cols}\">{} · {}</th></tr>",
            g.kind.word(),
            esc(&g.area),
            g.kind.heading()
        );
        for r in &g.rows {
            row_html(&mut out, m, g.kind, r);
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n</div>\n<aside id=\"panel\"><p>Click a cell to see that kernel's reason, checks and packet ladder.</p></aside>\n</main>\n");
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn row_html(out: &mut String, m: &Matrix, kind: Kind, r: &Row) {
    let differs = r.differs();
    let _ = write!(
        out,
        "<tr class=\"row{}\" id=\"case-{}\" data-id=\"{}\" data-kind=\"{}\">",
        if differs { " differs" } else { "" },
        esc(&r.id),
        esc(&r.id.to_lowercase()),
        kind.word()
    );
    let _ = write!(
        out,
        "<td class=\"mark\" title=\"{}\">{}</td>",
        if differs {
            "kernels behave differently"
        } else {
            ""
        },
        if differs { "≠" } else { "" }
    );
    // The claim is the row's tooltip (and in every cell's panel): one line
    // per case keeps the whole matrix in view.
    let _ = write!(
        out,
        "<td class=\"case\" title=\"{}\"><code>{}</code></td>",
        esc(&r.claim),
        esc(&r.id)
    );
    for (k, cell) in r.cells.iter().enumerate() {
        let Some(c) = cell else {
            out.push_str("<td class=\"absent\" title=\"not in this report\">—</td>");
            continue;
        };
        let verdict = c.shown_verdict().map(|v| v.to_string());
        let _ = write!(
            out,
            "<td class=\"cell {}\" id=\"cell-{k}-{}\" tabindex=\"0\" data-kernel=\"{}\"><span class=\"o\">{}</span>",
            c.outcome,
            esc(&r.id),
            esc(&m.kernels[k]),
            c.outcome
        );
        if let Some(v) = &verdict {
            let _ = write!(out, "<span class=\"v {v}\">{v}</span>");
        }
        out.push_str("<div class=\"detail\">");
        detail_html(out, &m.kernels[k], r, c, &r.changes[k], first_kernel(m, r));
        out.push_str("</div></td>");
    }
    out.push_str("</tr>\n");
}

fn first_kernel<'m>(m: &'m Matrix, r: &Row) -> &'m str {
    &m.kernels[r.reference]
}

/// What the panel shows for one cell.
fn detail_html(
    out: &mut String,
    kernel: &str,
    r: &Row,
    c: &CaseResult,
    changes: &[String],
    first: &str,
) {
    let _ = write!(
        out,
        "<h2><code>{}</code> on {}</h2>",
        esc(&r.id),
        esc(kernel)
    );
    let field = |out: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = write!(out, "<p><b>{name}:</b> {}</p>", esc(value));
        }
    };
    field(out, "source", &r.source);
    field(out, "claim", &r.claim);
    field(out, "linux does", &c.expectation);
    let verdict = c
        .shown_verdict()
        .map(|v| v.to_string())
        .unwrap_or_else(|| super::explain::no_verdict(c).to_string());
    let _ = write!(
        out,
        "<p><b>outcome:</b> <span class=\"{}\">{}</span>, <b>verdict:</b> {verdict} ({} ms)</p>",
        c.outcome, c.outcome, c.duration_ms
    );
    field(out, "reason", &c.reason);
    field(out, "key observation", &c.key);
    if !c.checks.is_empty() {
        out.push_str("<table><tr><th></th><th>check</th><th>expected</th><th>observed</th></tr>");
        for ch in &c.checks {
            let (class, word) = if ch.ok { ("ok", "ok") } else { ("bad", "FAIL") };
            let _ = write!(
                out,
                "<tr><td class=\"{class}\">{word}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&ch.what),
                esc(&ch.expected),
                esc(&ch.observed)
            );
        }
        out.push_str("</table>");
    }
    if !changes.is_empty() {
        let _ = write!(out, "<p><b>differs from {}:</b></p><ul>", esc(first));
        for ch in changes {
            let _ = write!(out, "<li>{}</li>", esc(ch));
        }
        out.push_str("</ul>");
    }
    let ladder = super::ladder::render(c, 100);
    if !ladder.is_empty() {
        let _ = write!(
            out,
            "<p><b>packet ladder</b></p><pre>{}</pre>",
            esc(&ladder)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::packet::Frame;
    use crate::model::{Check, Verdict};
    use pretty_assertions::assert_eq;

    fn case(id: &str, source: &str, outcome: Outcome, verdict: Option<Verdict>) -> CaseResult {
        CaseResult {
            id: id.into(),
            source: source.into(),
            claim: format!("claim of {id}"),
            expectation: format!("what Linux does for {id}"),
            outcome,
            verdict,
            observed: Default::default(),
            reason: format!("reason of {id}"),
            duration_ms: 12,
            cpu_ms: 1.0,
            wire_bytes: 0,
            families: vec![],
            hosts: vec![],
            key: String::new(),
            checks: vec![Check {
                what: "rst on wire".into(),
                expected: "true".into(),
                observed: "true".into(),
                ok: true,
            }],
            privilege: None,
            pcap: None,
            frames: vec![],
            frames_captured: 0,
            frame_gaps: vec![],
            marks: vec![],
            endpoints: vec![],
        }
    }

    const SEED: &str = "004 (lecture notes) §5.2 SO_LINGER";
    const MAN: &str = "man-pages 6.20 socket(7) SO_LINGER";

    fn pass(id: &str, source: &str) -> CaseResult {
        case(id, source, Outcome::Pass, Some(Verdict::Holds))
    }

    fn report(kernel: &str, cases: Vec<CaseResult>) -> Report {
        Report {
            format: crate::report::json::FORMAT,
            kernel: kernel.into(),
            sockspec: "0.1.0".into(),
            cases,
        }
    }

    fn entry(id: &str, area: &str) -> Entry {
        Entry {
            id: id.into(),
            area: area.into(),
            source: String::new(),
            claim: String::new(),
        }
    }

    fn catalogue() -> Vec<Entry> {
        vec![
            entry("linger.zero_rst", "linger"),
            entry("linger.man_rst", "linger"),
            entry("linger.timeout", "linger"),
            entry("nagle.coalesce", "nagle"),
        ]
    }

    /// 6.1 and 6.12 agree; 7.3 refutes nagle.coalesce's claim and fails it.
    fn three() -> Vec<Report> {
        let base = || {
            vec![
                pass("nagle.coalesce", SEED),
                pass("linger.man_rst", MAN),
                pass("linger.zero_rst", SEED),
                pass("linger.timeout", SEED),
            ]
        };
        let mut rc = base();
        rc[0].outcome = Outcome::Fail;
        rc[0].verdict = Some(Verdict::Refuted);
        rc[0].checks[0].ok = false;
        rc[0].checks[0].observed = "false".into();
        vec![
            report("6.1.0-56-cloud-amd64", base()),
            report("6.12.117+deb12-cloud-amd64", base()),
            report("7.3-cloud-amd64", rc),
        ]
    }

    fn layout(m: &Matrix) -> Vec<(String, Kind, Vec<String>)> {
        m.groups
            .iter()
            .map(|g| {
                (
                    g.area.clone(),
                    g.kind,
                    g.rows.iter().map(|r| r.id.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn rows_follow_the_catalogue_grouped_by_area_then_source() {
        let reports = three();
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        assert_eq!(
            layout(&m),
            vec![
                (
                    "linger".to_string(),
                    Kind::Seed,
                    vec!["linger.zero_rst".to_string(), "linger.timeout".to_string()]
                ),
                (
                    "linger".to_string(),
                    Kind::ManPage,
                    vec!["linger.man_rst".to_string()]
                ),
                (
                    "nagle".to_string(),
                    Kind::Seed,
                    vec!["nagle.coalesce".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn ids_outside_the_catalogue_go_last_under_their_prefix() {
        let reports = [report(
            "6.1",
            vec![pass("zz.new@v6", MAN), pass("nagle.coalesce", SEED)],
        )];
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        assert_eq!(
            layout(&m),
            vec![
                (
                    "nagle".to_string(),
                    Kind::Seed,
                    vec!["nagle.coalesce".to_string()]
                ),
                (
                    "zz".to_string(),
                    Kind::ManPage,
                    vec!["zz.new@v6".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn a_report_without_sources_and_claims_takes_the_catalogues() {
        let mut old = pass("linger.man_rst", "");
        old.claim = String::new();
        let reports = [report("6.1", vec![old])];
        let refs: Vec<&Report> = reports.iter().collect();
        let mut cat = catalogue();
        cat[1].source = MAN.into();
        cat[1].claim = "the catalogue's claim".into();
        let m = Matrix::new(&refs, &cat);
        assert_eq!(m.groups[0].kind, Kind::ManPage);
        assert_eq!(m.groups[0].rows[0].source, MAN);
        assert_eq!(m.groups[0].rows[0].claim, "the catalogue's claim");
    }

    #[test]
    fn a_reports_source_and_claim_win_over_the_catalogues() {
        let reports = [report("6.1", vec![pass("linger.man_rst", MAN)])];
        let refs: Vec<&Report> = reports.iter().collect();
        let mut cat = catalogue();
        cat[1].source = SEED.into();
        cat[1].claim = "the catalogue's claim".into();
        let m = Matrix::new(&refs, &cat);
        assert_eq!(m.groups[0].kind, Kind::ManPage);
        assert_eq!(m.groups[0].rows[0].claim, "claim of linger.man_rst");
    }

    #[test]
    fn a_row_differs_when_a_kernel_behaves_differently_from_the_first() {
        let reports = three();
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        let differing: Vec<(&str, &Vec<Vec<String>>)> = m
            .rows()
            .filter(|r| r.differs())
            .map(|r| (r.id.as_str(), &r.changes))
            .collect();
        assert_eq!(
            differing,
            vec![(
                "nagle.coalesce",
                &vec![
                    vec![],
                    vec![],
                    vec![
                        "outcome: pass -> fail".to_string(),
                        "verdict: holds -> refuted".to_string(),
                        "check 'rst on wire': ok -> FAIL (expected true, observed true -> false)"
                            .to_string()
                    ]
                ]
            )]
        );
        assert_eq!(m.differing(), 1);
    }

    #[test]
    fn measured_numbers_and_missing_cases_are_no_difference() {
        let mut a = pass("nagle.coalesce", SEED);
        a.observed.insert("segments".into(), 2.into());
        let mut b = a.clone();
        b.observed.insert("segments".into(), 3.into());
        b.duration_ms = 999;
        let reports = [
            report("6.1", vec![a, pass("linger.zero_rst", SEED)]),
            report("6.12", vec![b]),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        assert_eq!(m.differing(), 0);
        let zero = m.rows().find(|r| r.id == "linger.zero_rst").expect("row");
        assert!(zero.cells[1].is_none());
    }

    #[test]
    fn the_first_kernel_that_ran_a_case_is_the_reference() {
        let mut late = pass("nagle.coalesce", SEED);
        late.verdict = Some(Verdict::Differs);
        let reports = [
            report("5.10", vec![]),
            report("6.1", vec![pass("nagle.coalesce", SEED)]),
            report("6.12", vec![late]),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        let row = m.rows().next().expect("row");
        assert_eq!(
            row.changes,
            vec![
                vec![],
                vec![],
                vec!["verdict: holds -> differs".to_string()]
            ]
        );
        assert!(markdown(&m)
            .contains("- `nagle.coalesce` (against 6.1):\n  - 6.12: verdict: holds -> differs\n"));
    }

    #[test]
    fn the_first_kernel_where_a_case_passed_is_the_reference() {
        let reports = [
            report(
                "5.10",
                vec![case("nagle.coalesce", SEED, Outcome::Error, None)],
            ),
            report("6.1", vec![pass("nagle.coalesce", SEED)]),
            report("6.12", vec![pass("nagle.coalesce", SEED)]),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        let row = m.rows().next().expect("row");
        assert_eq!(row.reference, 1);
        assert_eq!(
            row.changes,
            vec![
                vec![
                    "outcome: pass -> error".to_string(),
                    "verdict: holds -> -".to_string()
                ],
                vec![],
                vec![]
            ]
        );
        assert!(markdown(&m)
            .contains("- `nagle.coalesce` (against 6.1):\n  - 5.10: outcome: pass -> error;"));
    }

    #[test]
    fn a_judgement_kept_among_old_observations_is_not_listed_twice() {
        let mut a = pass("nagle.coalesce", SEED);
        a.observed
            .insert("judgement".into(), serde_json::json!({"verdict": "holds"}));
        let mut b = a.clone();
        b.verdict = Some(Verdict::Refuted);
        b.observed.insert(
            "judgement".into(),
            serde_json::json!({"verdict": "refuted"}),
        );
        let reports = [report("6.1", vec![a]), report("7.2", vec![b])];
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        assert_eq!(
            m.rows().next().expect("row").changes,
            vec![vec![], vec!["verdict: holds -> refuted".to_string()]]
        );
    }

    #[test]
    fn two_reports_of_one_kernel_get_distinct_columns() {
        let reports = [
            report("6.1", vec![]),
            report("6.12", vec![]),
            report("6.1", vec![]),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        assert_eq!(
            Matrix::new(&refs, &[]).kernels,
            vec!["6.1".to_string(), "6.12".to_string(), "6.1 #2".to_string()]
        );
    }

    #[test]
    fn markdown_is_a_table_with_area_rows_and_what_differs() {
        let reports = three();
        let refs: Vec<&Report> = reports.iter().collect();
        let m = Matrix::new(&refs, &catalogue());
        let expected = "\
## sockspec kernel matrix

| kernel | cases |
|---|---|
| 6.1.0-56-cloud-amd64 | 4 pass |
| 6.12.117+deb12-cloud-amd64 | 4 pass |
| 7.3-cloud-amd64 | 3 pass, 1 fail |

1 of 4 cases behave differently between the kernels (marked ≠)

| | case | source | 6.1.0-56-cloud-amd64 | 6.12.117+deb12-cloud-amd64 | 7.3-cloud-amd64 |
|---|---|---|---|---|---|
| | **linger** | seed | | | |
| | `linger.zero_rst` | seed | pass · holds | pass · holds | pass · holds |
| | `linger.timeout` | seed | pass · holds | pass · holds | pass · holds |
| | **linger** | man | | | |
| | `linger.man_rst` | man | pass · holds | pass · holds | pass · holds |
| | **nagle** | seed | | | |
| ≠ | `nagle.coalesce` | seed | pass · holds | pass · holds | **fail** |

### What differs

- `nagle.coalesce` (against 6.1.0-56-cloud-amd64):
  - 7.3-cloud-amd64: outcome: pass -> fail; verdict: holds -> refuted; check 'rst on wire': ok -> FAIL (expected true, observed true -> false)
";
        assert_eq!(markdown(&m), expected);
    }

    #[test]
    fn markdown_shows_absent_cases_and_outcomes_without_verdict() {
        let reports = [
            report(
                "6.1",
                vec![
                    case("nagle.coalesce", SEED, Outcome::Error, None),
                    pass("linger.zero_rst", SEED),
                ],
            ),
            report(
                "a|b",
                vec![case("nagle.coalesce", SEED, Outcome::Skip, None)],
            ),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        let md = markdown(&Matrix::new(&refs, &catalogue()));
        assert!(md.contains("| a\\|b | 1 skip |"), "{md}");
        assert!(
            md.contains("| | `linger.zero_rst` | seed | pass · holds | — |"),
            "{md}"
        );
        assert!(
            md.contains("| ≠ | `nagle.coalesce` | seed | **error** | skip |"),
            "{md}"
        );
        assert!(md.contains("| 6.1 | 1 pass, 1 error |"), "{md}");
    }

    #[test]
    fn no_difference_is_said_in_words() {
        let reports = [report("6.1", vec![]), report("6.12", vec![])];
        let refs: Vec<&Report> = reports.iter().collect();
        let md = markdown(&Matrix::new(&refs, &[]));
        assert!(md.contains("| 6.1 | no cases |"), "{md}");
        assert!(md.contains("no behaviour differences between the kernels (0 cases)"));
        assert!(!md.contains("What differs"));
    }

    #[test]
    fn the_page_is_self_contained_and_names_every_kernel_and_case() {
        let reports = three();
        let refs: Vec<&Report> = reports.iter().collect();
        let page = html(&Matrix::new(&refs, &catalogue()));
        for needle in [
            "6.1.0-56-cloud-amd64",
            "6.12.117+deb12-cloud-amd64",
            "7.3-cloud-amd64",
            "id=\"case-linger.zero_rst\"",
            "id=\"case-linger.man_rst\"",
            "id=\"case-linger.timeout\"",
            "id=\"case-nagle.coalesce\"",
            "<tr class=\"row differs\" id=\"case-nagle.coalesce\"",
            "linger · seeds (lecture notes, blog post)",
            "linger · man pages",
            "1 of 4 cases behave differently",
        ] {
            assert!(page.contains(needle), "page lacks {needle}");
        }
        for outside in ["http:", "https:", "<link", "src=", "@import", "url("] {
            assert!(!page.contains(outside), "page refers outside: {outside}");
        }
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
    }

    #[test]
    fn a_cell_carries_its_outcome_verdict_reason_checks_and_changes() {
        let reports = three();
        let refs: Vec<&Report> = reports.iter().collect();
        let page = html(&Matrix::new(&refs, &catalogue()));
        let row = page
            .lines()
            .find(|l| l.contains("id=\"case-nagle.coalesce\""))
            .expect("row");
        let cells: Vec<&str> = row.split("<td class=\"cell ").skip(1).collect();
        assert_eq!(cells.len(), 3);
        assert!(cells[0].starts_with("pass\" id=\"cell-0-nagle.coalesce\" tabindex=\"0\" data-kernel=\"6.1.0-56-cloud-amd64\"><span class=\"o\">pass</span><span class=\"v holds\">holds</span>"));
        assert!(cells[2].starts_with("fail\""));
        // A failing case gives no verdict, whatever its judgement said.
        assert!(!cells[2].contains("<span class=\"v "));
        assert!(cells[2].contains("<b>verdict:</b> no verdict: the measurement contradicts"));
        assert!(cells[2].contains("<b>reason:</b> reason of nagle.coalesce"));
        assert!(cells[2].contains(
            "<td class=\"bad\">FAIL</td><td>rst on wire</td><td>true</td><td>false</td>"
        ));
        assert!(cells[2].contains(
            "<b>differs from 6.1.0-56-cloud-amd64:</b></p><ul><li>outcome: pass -&gt; fail</li>"
        ));
        assert!(!cells[0].contains("differs from"));
        assert!(!row.contains("packet ladder"));
    }

    #[test]
    fn text_from_reports_is_escaped() {
        let mut c = pass("nagle.coalesce", SEED);
        c.claim = "<script>alert('x')</script> & co".into();
        let reports = [report("6.1 <b>", vec![c])];
        let refs: Vec<&Report> = reports.iter().collect();
        let page = html(&Matrix::new(&refs, &catalogue()));
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(page.contains("6.1 &lt;b&gt;"));
        assert!(!page.contains("<script>alert"));
    }

    #[test]
    fn absent_cells_are_marked_and_not_clickable() {
        let reports = [
            report("6.1", vec![pass("nagle.coalesce", SEED)]),
            report("6.12", vec![]),
        ];
        let refs: Vec<&Report> = reports.iter().collect();
        let page = html(&Matrix::new(&refs, &catalogue()));
        assert!(page.contains("<td class=\"absent\" title=\"not in this report\">—</td></tr>"));
        assert_eq!(page.matches("<td class=\"cell ").count(), 1);
    }

    /// An Ethernet + IPv4 + TCP SYN from 10.0.0.1:1000 to 10.0.0.2:2000.
    fn syn(t_ns: i64, from_left: bool) -> Frame {
        let (src, dst, sport, dport) = if from_left {
            ([10, 0, 0, 1], [10, 0, 0, 2], 1000u16, 2000u16)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 2000, 1000)
        };
        let mut d = vec![0u8; 14];
        d[12] = 0x08;
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip.extend(src);
        ip.extend(dst);
        d.extend(ip);
        d.extend(sport.to_be_bytes());
        d.extend(dport.to_be_bytes());
        d.extend([0, 0, 0, 1, 0, 0, 0, 0]);
        d.extend([
            0x50,
            if from_left { 0x02 } else { 0x12 },
            0xff,
            0xff,
            0,
            0,
            0,
            0,
        ]);
        Frame {
            t_ns,
            len: d.len() as u32,
            iface: "lo".into(),
            data: d,
        }
    }

    #[test]
    fn a_report_with_frames_shows_the_packet_ladder() {
        let mut c = pass("nagle.coalesce", SEED);
        c.frames = vec![syn(1_000_000, true), syn(1_500_000, false)];
        let ladder = crate::report::ladder::render(&c, 100);
        assert!(ladder.contains("client  10.0.0.1:1000"), "{ladder}");
        let reports = [report("6.1", vec![c])];
        let refs: Vec<&Report> = reports.iter().collect();
        let page = html(&Matrix::new(&refs, &catalogue()));
        assert!(page.contains("<b>packet ladder</b></p><pre>"));
        assert!(page.contains(&esc(&ladder)));
    }
}
