//! `sockspec errata`: the man-page statements that this kernel does not bear
//! out, grouped by page, one line each with what was measured. Built from a
//! run's results (or a saved report): the man-page cases whose verdict is
//! differs or refuted.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{CaseResult, Outcome, Verdict};

/// The prefix of a man-page case's source ("man-pages 6.20 tcp(7) TCP_CORK").
const MAN: &str = "man-pages ";

/// One erratum: a man-page claim and what Linux did instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erratum {
    /// "tcp(7)" or "IP_FREEBIND(2const)".
    pub page: String,
    pub option: String,
    pub id: String,
    pub verdict: Verdict,
    pub claim: String,
    /// The measured fact behind the verdict.
    pub fact: String,
}

/// Page and option of a man-page source, or None for other sources:
/// "man-pages 6.20 tcp(7) TCP_CORK" names both; "man-pages 6.20
/// IP_MTU(2const)" is the option's own page.
fn page_and_option(source: &str) -> Option<(String, String)> {
    let rest = source.strip_prefix(MAN)?;
    let mut words = rest.split_whitespace();
    let _release = words.next()?;
    let page = words.next()?.to_string();
    let option = match words.next() {
        Some(option) => option.to_string(),
        None => page.strip_suffix("(2const)").unwrap_or("").to_string(),
    };
    Some((page, option))
}

/// The errata in `results`: passing man-page cases whose claim differs from
/// what Linux did or is refuted by it, in page order.
pub fn collect(results: &[CaseResult]) -> Vec<Erratum> {
    let mut out: Vec<Erratum> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Pass)
        .filter_map(|r| {
            let verdict = r.verdict.filter(|v| *v != Verdict::Holds)?;
            let (page, option) = page_and_option(&r.source)?;
            Some(Erratum {
                page,
                option,
                id: r.id.clone(),
                verdict,
                claim: r.claim.clone(),
                fact: if r.reason.is_empty() {
                    r.key.clone()
                } else {
                    r.reason.clone()
                },
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.page, &a.option, &a.id).cmp(&(&b.page, &b.option, &b.id)));
    out
}

/// The errata as text: a heading per page, then per case the option, id and
/// verdict, the page's claim, and what Linux did.
pub fn render(results: &[CaseResult], kernel: &str) -> String {
    let errata = collect(results);
    let man_cases = results.iter().filter(|r| r.source.starts_with(MAN)).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Errata: {} of {} man-page claims are not what Linux {kernel} does",
        errata.len(),
        man_cases
    );
    let mut by_page: BTreeMap<&str, Vec<&Erratum>> = BTreeMap::new();
    for e in &errata {
        by_page.entry(e.page.as_str()).or_default().push(e);
    }
    for (page, list) in by_page {
        let _ = writeln!(out, "\n{page}");
        for e in list {
            let _ = writeln!(out, "  {} ({}, {})", e.option, e.id, e.verdict);
            let _ = writeln!(out, "    the page: {}", e.claim);
            let _ = writeln!(out, "    Linux:    {}", e.fact);
        }
    }
    let skipped: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.source.starts_with(MAN) && r.outcome != Outcome::Pass)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "\nnot judged here ({}):", skipped.len());
        for r in skipped {
            let _ = writeln!(out, "  {} ({}): {}", r.id, r.outcome, r.reason);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn result(id: &str, source: &str, outcome: Outcome, verdict: Option<Verdict>) -> CaseResult {
        let mut r = CaseResult::without_evidence(
            &crate::cases::linger::ZERO_RST,
            outcome,
            format!("what {id} measured"),
            Default::default(),
        );
        r.id = id.into();
        r.source = source.into();
        r.claim = format!("the claim of {id}");
        r.verdict = verdict;
        r
    }

    #[test]
    fn lists_differing_and_refuted_man_page_claims_by_page() {
        let results = vec![
            result(
                "a.holds",
                "man-pages 6.20 tcp(7) TCP_CORK",
                Outcome::Pass,
                Some(Verdict::Holds),
            ),
            result(
                "b.differs",
                "man-pages 6.20 tcp(7) TCP_SYNCNT",
                Outcome::Pass,
                Some(Verdict::Differs),
            ),
            result(
                "c.refuted",
                "man-pages 6.20 socket(7) SO_PEEK_OFF",
                Outcome::Pass,
                Some(Verdict::Refuted),
            ),
            result(
                "d.notes",
                "004 (lecture notes) §5.2 SO_LINGER",
                Outcome::Pass,
                Some(Verdict::Refuted),
            ),
            result(
                "e.skip",
                "man-pages 6.20 socket(7) SO_PEERSEC",
                Outcome::Skip,
                None,
            ),
            result(
                "g.own_page",
                "man-pages 6.20 IP_MTU(2const)",
                Outcome::Pass,
                Some(Verdict::Differs),
            ),
            result(
                "f.fail",
                "man-pages 6.20 udp(7) UDP_GRO",
                Outcome::Fail,
                Some(Verdict::Refuted),
            ),
        ];
        let ids: Vec<String> = collect(&results).into_iter().map(|e| e.id).collect();
        assert_eq!(vec!["g.own_page", "c.refuted", "b.differs"], ids);
        let text = render(&results, "6.18");
        assert!(
            text.starts_with("Errata: 3 of 6 man-page claims are not what Linux 6.18 does"),
            "{text}"
        );
        // An option's own page names the option too.
        assert!(
            text.contains("\nIP_MTU(2const)\n  IP_MTU (g.own_page, differs)\n"),
            "{text}"
        );
        assert!(text.contains("\nsocket(7)\n  SO_PEEK_OFF (c.refuted, refuted)\n    the page: the claim of c.refuted\n    Linux:    what c.refuted measured\n"), "{text}");
        assert!(
            text.contains("not judged here (2):\n  e.skip (skip)"),
            "{text}"
        );
    }
}
