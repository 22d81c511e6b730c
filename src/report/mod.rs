//! Output formats. Knows nothing about sockets: it only reads `CaseResult`s.

pub mod baseline;
pub mod diff;
pub mod errata;
pub mod explain;
pub mod json;
pub mod junit;
pub mod ktap;
pub mod ladder;
pub mod matrix;
pub mod table;

use crate::model::{CaseResult, Outcome};

/// Counts per outcome, for summary lines and exit codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Tally {
    pub fn of(results: &[CaseResult]) -> Tally {
        let mut t = Tally::default();
        for r in results {
            match r.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Fail => t.failed += 1,
                Outcome::Skip => t.skipped += 1,
                Outcome::Error => t.errors += 1,
            }
        }
        t
    }
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

/// Greedy word wrap of `text` at `width` columns; a word longer than a
/// line is cut across lines.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let lw = line.chars().count();
            let room = if lw == 0 {
                width
            } else {
                width.saturating_sub(lw + 1)
            };
            if word.len() <= room {
                if lw > 0 {
                    line.push(' ');
                }
                line.extend(word);
                break;
            }
            if lw > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.into_iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` cut to `width` columns, ending in an ellipsis when cut.
pub fn elide(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut t: String = text.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// `uname -r` of the running kernel.
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Check, Verdict};
    use pretty_assertions::assert_eq;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_what_no_line_holds() {
        assert_eq!(vec!["one two", "three"], wrap("one  two three", 8));
        assert_eq!(vec!["abcdefgh", "ij k"], wrap("abcdefghij k", 8));
        assert_eq!(vec![""], wrap("", 8));
        assert_eq!("abcd…", elide("abcdefgh", 5));
        assert_eq!("abc", elide("abc", 5));
    }

    /// KTAP and JUnit say a failing case gives no verdict, as the table does.
    #[test]
    fn a_failing_case_gives_no_verdict_in_any_format() {
        let mut r = CaseResult::without_evidence(
            &crate::cases::linger::ZERO_RST,
            Outcome::Fail,
            "RST: expected true, observed false".into(),
            Default::default(),
        );
        r.verdict = Some(Verdict::Refuted);
        r.checks = vec![Check {
            what: "RST".into(),
            expected: "true".into(),
            observed: "false".into(),
            ok: false,
        }];
        let one = std::slice::from_ref(&r);
        let ktap = ktap::render(one);
        assert!(
            ktap.contains("# linger.zero_rst: no verdict, 0 ms\n"),
            "{ktap}"
        );
        let junit = junit::render(one);
        assert!(
            junit.contains("<system-out>no verdict: the measurement contradicts"),
            "{junit}"
        );
        for text in [ktap, junit] {
            assert!(!text.contains("refuted"), "{text}");
        }
    }
}
