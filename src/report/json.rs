//! The machine-readable report: one JSON object for the whole run.

use serde::{Deserialize, Serialize};

use crate::model::CaseResult;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub kernel: String,
    pub sockspec: String,
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// A report of `results` on this kernel; captured frames are left out
    /// (they go to pcap files and `explain`).
    pub fn new(results: &[CaseResult]) -> Report {
        let cases = results
            .iter()
            .cloned()
            .map(|mut r| {
                r.frames.clear();
                r
            })
            .collect();
        Report {
            kernel: super::kernel_release(),
            sockspec: env!("CARGO_PKG_VERSION").to_string(),
            cases,
        }
    }
}

pub fn render(results: &[CaseResult]) -> String {
    let mut s = serde_json::to_string_pretty(&Report::new(results))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
