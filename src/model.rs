//! The vocabulary shared by cases, the runner and the reports: what a case is,
//! what it hands back, and how its outcome and verdict are derived.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lab::packet::Frame;
use crate::lab::Lab;

/// Where a claim comes from (see CLAIMS.md: `004` lecture notes, `000` blog post).
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// 004_a410ba839558fc10.txt, chapter 5; the section name.
    LectureNotes(&'static str),
    /// 000_7c56b6a31111f9f6.txt.
    BlogPost,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::LectureNotes(s) => write!(f, "004 (lecture notes) §{s}"),
            Source::BlogPost => write!(f, "000 (Python blog post)"),
        }
    }
}

/// One claim turned into an executable check.
pub struct Case {
    /// Stable id from CLAIMS.md (`@v6` suffix for IPv6 variants).
    pub id: &'static str,
    pub source: Source,
    /// What the source says, paraphrased.
    pub claim: &'static str,
    /// What Linux does (socket(7), tcp(7), ip(7)... and experiment).
    pub expectation: &'static str,
    /// Builds whatever topology it needs in the lab, measures, and judges.
    pub run: fn(&mut Lab) -> anyhow::Result<Evidence>,
    /// Watchdog: the case is killed and reported as an error after this.
    pub deadline: Duration,
}

/// Default watchdog for a case: generous against load, far above any kernel wait
/// the cases impose (the longest is a few seconds).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
    Error,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Linux behaves as claimed.
    Holds,
    /// Partly, or with a Linux-specific difference.
    Differs,
    /// Linux does the opposite.
    Refuted,
}

impl Verdict {
    /// For claims that either hold or are refuted, nothing in between.
    pub fn holds_if(holds: bool) -> Verdict {
        if holds {
            Verdict::Holds
        } else {
            Verdict::Refuted
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Differs => "differs",
            Verdict::Refuted => "refuted",
        })
    }
}

/// One comparison of a measurement against the expectation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
}

/// A case cannot run here (missing privilege or kernel feature). Returned as an
/// error from a case body; the reason is reported, never hidden.
#[derive(Debug)]
pub struct Skip(pub String);

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped: {}", self.0)
    }
}
impl std::error::Error for Skip {}

/// What a case hands back: its measurements, the checks against the
/// expectation, and the verdict on the claim — all built from this run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evidence {
    pub observed: serde_json::Map<String, Value>,
    pub checks: Vec<Check>,
    pub verdict: Option<Verdict>,
    /// The numbers behind the verdict, in a sentence.
    pub because: String,
    /// The one observation a table row shows.
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
}

impl Evidence {
    pub fn new() -> Evidence {
        Evidence::default()
    }

    /// Records a measurement under `name`.
    pub fn observe(&mut self, name: &str, value: impl Serialize) -> &mut Self {
        let v = serde_json::to_value(value)
            .unwrap_or_else(|e| Value::String(format!("<unserialisable: {e}>")));
        self.observed.insert(name.to_string(), v);
        self
    }

    /// Compares `observed` with `expected` (equality).
    pub fn expect_eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        what: &str,
        expected: T,
        observed: T,
    ) -> bool {
        let ok = expected == observed;
        self.checks.push(Check {
            what: what.into(),
            expected: format!("{expected:?}"),
            observed: format!("{observed:?}"),
            ok,
        });
        ok
    }

    /// A check whose condition is not plain equality: `expected` describes it.
    pub fn expect(
        &mut self,
        what: &str,
        ok: bool,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> bool {
        self.checks.push(Check {
            what: what.into(),
            expected: expected.into(),
            observed: observed.into(),
            ok,
        });
        ok
    }

    /// The verdict on the source's claim, with the numbers behind it.
    pub fn verdict(&mut self, v: Verdict, because: impl Into<String>) -> &mut Self {
        self.verdict = Some(v);
        self.because = because.into();
        self
    }

    pub fn key(&mut self, key: impl Into<String>) -> &mut Self {
        self.key = key.into();
        self
    }

    pub fn frames(&mut self, frames: Vec<Frame>) -> &mut Self {
        self.frames = frames;
        self
    }

    pub fn outcome(&self) -> Outcome {
        if self.checks.is_empty() {
            // A case that checked nothing has shown nothing.
            return Outcome::Error;
        }
        if self.checks.iter().all(|c| c.ok) {
            if self.verdict.is_none() {
                // Every passing case says how the claim compares.
                return Outcome::Error;
            }
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }
}

/// The result of one case, as the runner reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub outcome: Outcome,
    pub verdict: Option<Verdict>,
    pub observed: serde_json::Map<String, Value>,
    /// Why: the verdict's numbers, the failed checks, the skip or error reason.
    pub reason: String,
    pub duration_ms: u64,
    pub key: String,
    pub checks: Vec<Check>,
    /// How the namespace was obtained ("root" or "user_namespace").
    #[serde(default)]
    pub privilege: Option<crate::lab::Privilege>,
    /// Path of the pcap written for a failing case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
}

impl CaseResult {
    pub fn from_evidence(
        id: &str,
        ev: Evidence,
        took: Duration,
        privilege: crate::lab::Privilege,
    ) -> CaseResult {
        let outcome = ev.outcome();
        let failed: Vec<String> = ev
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| {
                format!(
                    "{}: expected {}, observed {}",
                    c.what, c.expected, c.observed
                )
            })
            .collect();
        let reason = match outcome {
            Outcome::Pass => ev.because.clone(),
            Outcome::Error if ev.checks.is_empty() => "the case made no check".to_string(),
            Outcome::Error => "the case computed no verdict".to_string(),
            _ => failed.join("; "),
        };
        CaseResult {
            id: id.to_string(),
            outcome,
            verdict: ev.verdict,
            observed: ev.observed,
            reason,
            duration_ms: took.as_millis() as u64,
            key: ev.key,
            checks: ev.checks,
            privilege: Some(privilege),
            pcap: None,
            frames: ev.frames,
        }
    }

    /// A result with no evidence: skip or error, with its reason.
    pub fn without_evidence(
        id: &str,
        outcome: Outcome,
        reason: String,
        took: Duration,
    ) -> CaseResult {
        CaseResult {
            id: id.to_string(),
            outcome,
            verdict: None,
            observed: Default::default(),
            reason,
            duration_ms: took.as_millis() as u64,
            key: String::new(),
            checks: Vec::new(),
            privilege: None,
            pcap: None,
            frames: Vec::new(),
        }
    }

    pub fn failed_checks(&self) -> Vec<Check> {
        self.checks.iter().filter(|c| !c.ok).cloned().collect()
    }
}

/// serde helper: a Duration as whole milliseconds (f64 for sub-ms precision).
pub mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs_f64(f64::deserialize(d)? / 1e3))
    }
}

/// Milliseconds with three decimals, for observations.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
