//! The vocabulary shared by cases, the runner and the reports: what a case is,
//! what it hands back, and how its outcome and verdict are derived.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lab::packet::Frame;

mod judge;
pub mod show;

pub use crate::lab::opt::Opt;
pub use judge::{Check, Judgement, Measure, Observation, Run};
pub use show::Show;

/// Where a claim comes from (see CLAIMS.md: `004` lecture notes, `000` blog post).
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// 004_a410ba839558fc10.txt, chapter 5; the section name.
    LectureNotes(&'static str),
    /// 000_7c56b6a31111f9f6.txt.
    BlogPost,
    /// A Linux man page's statement: "man-pages 6.20 socket(7) SO_PEEK_OFF"
    /// (release, page, option), as the coverage check greps for it.
    ManPage(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::LectureNotes(s) => write!(f, "004 (lecture notes) §{s}"),
            Source::BlogPost => write!(f, "000 (Python blog post)"),
            Source::ManPage(s) => f.write_str(s),
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
    /// Measures in the lab (returning a typed observation) and judges it.
    pub run: &'static dyn Run,
    /// Watchdog: the case is killed and reported as an error after this.
    pub deadline: Duration,
    /// Options whose silent loss must make this case fail: with setsockopt
    /// ignoring one of them (tests/sabotage.rs), the case observes the kernel
    /// doing something else.
    pub relies_on: &'static [Opt],
}

/// Default watchdog for a case: generous against load, far above any kernel wait
/// the cases impose (the longest is a few seconds).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Every verdict, in the order reports count them.
    pub const ALL: [Verdict; 3] = [Verdict::Holds, Verdict::Differs, Verdict::Refuted];

    /// The verdict as reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Differs => "differs",
            Verdict::Refuted => "refuted",
        }
    }

    /// What the verdict says about the source's claim, for `--help`, the
    /// manual page and the run's closing summary.
    pub fn meaning(self) -> &'static str {
        match self {
            Verdict::Holds => "Linux does what the source claims",
            Verdict::Differs => {
                "Linux does it only partly, or in its own way: the claim needs a qualification \
                 (a limit, a doubled value, another errno)"
            }
            Verdict::Refuted => "Linux does the opposite of what the source claims",
        }
    }

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
        f.write_str(self.name())
    }
}

/// A case cannot run here (missing privilege or kernel feature). Returned as an
/// error from a case body; the reason is reported, never hidden.
#[derive(Debug)]
pub struct Skip(pub String);

/// How the reason of a skip for a missing kernel facility starts.
pub const NEEDS: &str = "needs ";

impl Skip {
    /// The kernel or machine lacks what the case observes: "needs an LSM that
    /// labels sockets (SELinux, Smack): /sys/kernel/security/lsm lists none".
    /// The test suite accepts such a skip (shown as ignored, with the reason);
    /// any other skip fails it.
    pub fn missing(facility: &str, detail: impl std::fmt::Display) -> Skip {
        Skip(format!("{NEEDS}{facility}: {detail}"))
    }

    /// Whether a skip's reason names a missing facility (see `missing`).
    pub fn is_missing_facility(reason: &str) -> bool {
        reason.starts_with(NEEDS)
    }
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "skipped: {}", self.0)
    }
}
impl std::error::Error for Skip {}

impl Judgement {
    /// pass when every check holds and a verdict was given; fail when a check
    /// does not hold; error when the case checked nothing or gave no verdict.
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

/// A moment on the case's time line that is not a packet: a syscall called or
/// returned (`close() called`), shown beside the captured frames.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Mark {
    /// Wall clock, nanoseconds since the Unix epoch (the frames' clock).
    pub t_ns: i64,
    pub what: String,
}

/// A name the case gave an address on its time line (`lab::record::endpoint`,
/// `lab::record::address`): "closer", "h2", "a".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Endpoint {
    /// An IP address with a port ("127.0.0.1:41392", "[::1]:80"), or an IP
    /// address alone for every port at it ("198.51.100.12").
    pub address: String,
    pub name: String,
}

/// Frames a report leaves out of a long capture (a bulk transfer): `count`
/// frames of the same connection or flow as the kept frame `after` (an index
/// into the report's `frames`) were captured after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameGap {
    pub after: u32,
    pub count: u32,
}

/// The result of one case, as the runner reports it.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseResult {
    pub id: String,
    /// Where the claim comes from, the claim and what Linux is expected to do,
    /// so that a report can be read on its own.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub claim: String,
    #[serde(default)]
    pub expectation: String,
    pub outcome: Outcome,
    pub verdict: Option<Verdict>,
    /// The case's typed observation: what the kernel did.
    pub observed: serde_json::Map<String, Value>,
    /// Why: the verdict's numbers, the failed checks, the skip or error reason.
    pub reason: String,
    pub duration_ms: u64,
    /// CPU time (user + system) of the case's process and its threads.
    #[serde(default)]
    pub cpu_ms: f64,
    /// Bytes sent on every interface of the namespaces the case created.
    #[serde(default)]
    pub wire_bytes: u64,
    /// Address families the case's sockets and captured packets used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<String>,
    /// The namespaces besides its own that the case used (its topology).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    pub key: String,
    pub checks: Vec<Check>,
    /// How the namespace was obtained ("root" or "user_namespace").
    #[serde(default)]
    #[schemars(schema_with = "privilege_schema")]
    pub privilege: Option<crate::lab::Privilege>,
    /// Path of the pcap written for the case (every failing case that
    /// captured, every capturing case with `--pcap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<String>,
    /// Captured frames. The case process hands the runner all of them (for
    /// the pcap); a report keeps those the packet ladder shows, headers only
    /// (`frames_captured` says how many there were, `frame_gaps` where some
    /// were left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "frames_text")]
    #[schemars(schema_with = "frames_schema")]
    pub frames: Vec<Frame>,
    /// How many frames the case captured, when a report kept only some.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub frames_captured: u32,
    /// Where a report left frames out of `frames`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_gaps: Vec<FrameGap>,
    /// The case's own syscalls on the frames' time line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// Names the case gave addresses, for the packet ladder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The JSON Schema of `CaseResult::frames` (lab/ knows nothing of schemas).
fn frames_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "Captured Ethernet frames in time order, one string each: the kernel's \
            receive time stamp (nanoseconds since the Unix epoch), the length on the wire, the \
            interface, and the bytes kept (the headers), in hexadecimal.",
        "type": "array",
        "items": {"type": "string", "pattern": "^-?[0-9]+ [0-9]+ [^ ]+ ([0-9a-f]{2})*$"}
    })
}

/// Frames as one line of text each ("1795773958409924092 74 lo 0000..."):
/// a report keeps dozens per case, and a JSON object per frame would take
/// six lines and twice the bytes.
mod frames_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::lab::packet::Frame;

    pub fn serialize<S: Serializer>(frames: &[Frame], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(frames.iter().map(|f| {
            let hex = crate::lab::packet::hex(&f.data);
            format!("{} {} {} {hex}", f.t_ns, f.len, f.iface)
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Frame>, D::Error> {
        let lines = Vec::<String>::deserialize(d)?;
        lines
            .iter()
            .map(|l| parse(l).map_err(D::Error::custom))
            .collect()
    }

    fn parse(line: &str) -> Result<Frame, String> {
        let bad = || format!("not a frame: {line}");
        let mut parts = line.split(' ');
        let mut next = || parts.next().ok_or_else(bad);
        let t_ns = next()?.parse().map_err(|_| bad())?;
        let len = next()?.parse().map_err(|_| bad())?;
        let iface = next()?.to_string();
        let data = crate::lab::packet::unhex(next()?).ok_or_else(bad)?;
        Ok(Frame {
            t_ns,
            len,
            iface,
            data,
        })
    }
}

/// The JSON Schema of `CaseResult::privilege`: the names `Privilege`
/// serialises to (lab/ knows nothing of schemas), or null.
fn privilege_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    use crate::lab::Privilege;
    // Every variant, so that a new one is a compile error here, not a
    // schema that rejects the reports naming it.
    let every = |p: Privilege| match p {
        Privilege::Root | Privilege::UserNamespace => p,
    };
    let mut names: Vec<Value> = [Privilege::Root, Privilege::UserNamespace]
        .into_iter()
        .map(every)
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    names.push(Value::Null);
    schemars::json_schema!({
        "description": "How the namespace was obtained (null when the case never entered one).",
        "enum": names,
    })
}

/// A case run whose measurement completed: what the runner builds a
/// `CaseResult` from.
pub struct Measured {
    pub observed: Value,
    pub judgement: Judgement,
    pub record: crate::lab::record::Record,
    pub privilege: crate::lab::Privilege,
}

impl CaseResult {
    pub fn from_measured(case: &Case, m: Measured, took: Duration) -> CaseResult {
        let j = m.judgement;
        let outcome = j.outcome();
        let failed: Vec<String> = j
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
            Outcome::Pass => j.because.clone(),
            Outcome::Error if j.checks.is_empty() => "the case made no check".to_string(),
            Outcome::Error => "the case computed no verdict".to_string(),
            _ => failed.join("; "),
        };
        let observed = match m.observed {
            Value::Object(map) => map,
            other => serde_json::Map::from_iter([("value".to_string(), other)]),
        };
        let families = m.record.families();
        let mut r = CaseResult::without_evidence(case, outcome, reason, took);
        r.verdict = j.verdict;
        r.observed = observed;
        r.key = j.key;
        r.checks = j.checks;
        r.privilege = Some(m.privilege);
        r.wire_bytes = m.record.wire_bytes;
        r.families = families;
        r.hosts = m.record.hosts;
        r.frames = m.record.frames;
        r.marks = m.record.marks;
        r.endpoints = m.record.endpoints;
        r
    }

    /// A result with no evidence: skip or error, with its reason.
    pub fn without_evidence(
        case: &Case,
        outcome: Outcome,
        reason: String,
        took: Duration,
    ) -> CaseResult {
        CaseResult {
            id: case.id.to_string(),
            source: case.source.to_string(),
            claim: case.claim.to_string(),
            expectation: case.expectation.to_string(),
            outcome,
            verdict: None,
            observed: Default::default(),
            reason,
            duration_ms: took.as_millis() as u64,
            cpu_ms: 0.0,
            wire_bytes: 0,
            families: Vec::new(),
            hosts: Vec::new(),
            key: String::new(),
            checks: Vec::new(),
            privilege: None,
            pcap: None,
            frames: Vec::new(),
            frames_captured: 0,
            frame_gaps: Vec::new(),
            marks: Vec::new(),
            endpoints: Vec::new(),
        }
    }

    /// The verdict a report presents: only a passing case gives one. When a
    /// check fails, the measurement contradicts the expectation the verdict
    /// is judged against, so the judged verdict (kept in `verdict` for the
    /// record) is not shown as the case's.
    pub fn shown_verdict(&self) -> Option<Verdict> {
        self.verdict.filter(|_| self.outcome == Outcome::Pass)
    }

    /// How many frames the case captured (a report may keep fewer).
    pub fn captured(&self) -> usize {
        (self.frames_captured as usize).max(self.frames.len())
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
