//! Output formats. Knows nothing about sockets: it only reads `CaseResult`s.

pub mod baseline;
pub mod diff;
pub mod errata;
pub mod explain;
pub mod json;
pub mod junit;
pub mod ktap;
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

/// `uname -r` of the running kernel.
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}
