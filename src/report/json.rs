//! The machine-readable report: one JSON object for the whole run, in a
//! declared format (`"format": 1`) described by a JSON Schema generated from
//! these types (fixtures/report.schema.json; `tests/schema.rs` keeps the two
//! in step and validates the recorded baselines against it).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::CaseResult;

/// The format this sockspec writes. Raise it when a field changes meaning or
/// goes away (adding a field is not a new format: readers ignore unknown
/// fields), and teach `parse` the old one.
pub const FORMAT: u32 = 1;

/// The oldest format this sockspec reads: 0, the reports written before the
/// format was declared (they have no `format` field and the same fields as 1).
pub const OLDEST_FORMAT: u32 = 0;

/// A sockspec run on one kernel.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "sockspec report")]
pub struct Report {
    /// The report format, 1. Reports written before the format was declared
    /// have no such field and are read as format 0 (the same fields).
    #[serde(default)]
    #[schemars(range(max = FORMAT))]
    pub format: u32,
    /// `uname -r` of the kernel the cases ran on.
    pub kernel: String,
    /// The sockspec version that wrote the report.
    pub sockspec: String,
    /// One result per case run, in catalogue order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// A report of `results` on this kernel. Of each capture it keeps the
    /// frames the packet ladder shows, headers only (`ladder::keep`): a
    /// saved report is explained without the run, and stays small; whole
    /// captures go to pcap files.
    pub fn new(results: &[CaseResult]) -> Report {
        let cases = results
            .iter()
            .cloned()
            .map(|mut r| {
                super::ladder::for_report(&mut r);
                r
            })
            .collect();
        Report {
            format: FORMAT,
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

/// Why a text is not a report this sockspec can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON, or not the fields of a sockspec report.
    NotAReport(String),
    /// A sockspec report of a format this sockspec does not know (a newer
    /// sockspec wrote it).
    UnknownFormat(u64),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::NotAReport(why) => write!(f, "is not a sockspec JSON report: {why}"),
            Unreadable::UnknownFormat(n) => write!(
                f,
                "is a sockspec report of format {n}, which this sockspec ({}) cannot read: \
                 it reads formats {OLDEST_FORMAT} to {FORMAT}",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// Reads a report of any format from `OLDEST_FORMAT` to `FORMAT`. The format
/// is looked at before anything else: a newer format's fields may mean other
/// things.
pub fn parse(text: &str) -> Result<Report, Unreadable> {
    let v: Value = serde_json::from_str(text).map_err(|e| Unreadable::NotAReport(e.to_string()))?;
    let format = match v.get("format") {
        None => u64::from(OLDEST_FORMAT),
        Some(f) => f.as_u64().ok_or_else(|| {
            Unreadable::NotAReport(format!("its format is {f}, not a whole number"))
        })?,
    };
    if !(u64::from(OLDEST_FORMAT)..=u64::from(FORMAT)).contains(&format) {
        return Err(Unreadable::UnknownFormat(format));
    }
    serde_json::from_value(v).map_err(|e| Unreadable::NotAReport(e.to_string()))
}

/// The JSON Schema of the report, as committed in fixtures/report.schema.json.
pub fn schema() -> String {
    let mut s = serde_json::to_string_pretty(&schemars::schema_for!(Report))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn kinds(text: &str) -> Result<u32, Unreadable> {
        parse(text).map(|r| r.format)
    }

    #[test]
    fn reads_the_formats_it_knows_and_names_the_ones_it_does_not() {
        let body = r#""kernel": "6.18.44", "sockspec": "0.1.0", "cases": []"#;
        assert_eq!(Ok(0), kinds(&format!("{{{body}}}")));
        assert_eq!(Ok(1), kinds(&format!(r#"{{"format": 1, {body}}}"#)));
        assert_eq!(
            Err(Unreadable::UnknownFormat(2)),
            kinds(&format!(r#"{{"format": 2, {body}}}"#))
        );
        // A newer format is recognised even when its fields changed.
        assert_eq!(
            Err(Unreadable::UnknownFormat(7)),
            kinds(r#"{"format": 7, "results": {}}"#)
        );
        assert!(matches!(
            kinds(&format!(r#"{{"format": "1", {body}}}"#)),
            Err(Unreadable::NotAReport(_))
        ));
        assert!(matches!(
            kinds(r#"{"kernel": "x"}"#),
            Err(Unreadable::NotAReport(_))
        ));
        assert!(matches!(kinds("[1, 2]"), Err(Unreadable::NotAReport(_))));
    }

    #[test]
    fn a_new_report_declares_the_current_format() {
        let v: Value = serde_json::from_str(&render(&[])).expect("json");
        assert_eq!(Some(u64::from(FORMAT)), v["format"].as_u64());
    }

    #[test]
    fn unknown_format_message_says_which_formats_are_read() {
        assert_eq!(
            format!(
                "is a sockspec report of format 9, which this sockspec ({}) cannot read: \
                 it reads formats 0 to 1",
                env!("CARGO_PKG_VERSION")
            ),
            Unreadable::UnknownFormat(9).to_string()
        );
    }
}
