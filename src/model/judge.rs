//! Measure, then judge. A case's measurement returns a typed observation (what
//! the kernel did); a pure function turns an observation into checks (did
//! Linux do what the expectation says?) and a verdict (how does the source's
//! claim compare?). Judgements need no kernel, so they are tested with
//! observations from other kernels, from BSD, or made up, and a recorded
//! report's observations can be judged again.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::show::Show;
use super::Verdict;
use crate::lab::Lab;

/// One comparison of a measurement against the expectation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
}

/// What a judgement makes of an observation: the checks against the
/// expectation and the verdict on the claim, with the numbers behind it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    pub checks: Vec<Check>,
    pub verdict: Option<Verdict>,
    /// The numbers behind the verdict, in a sentence.
    pub because: String,
    /// The one observation a table row shows.
    pub key: String,
}

impl Judgement {
    pub fn new() -> Judgement {
        Judgement::default()
    }

    /// Compares `observed` with `expected` (equality).
    pub fn expect_eq<T: PartialEq + Show + ?Sized>(
        &mut self,
        what: &str,
        expected: &T,
        observed: &T,
    ) -> bool {
        self.expect(what, expected == observed, expected.show(), observed.show())
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

    /// The result of the check named `what`, for tests of judgements.
    pub fn check(&self, what: &str) -> Option<bool> {
        self.checks.iter().find(|c| c.what == what).map(|c| c.ok)
    }

    /// The names of the checks that failed, for tests of judgements.
    pub fn failed(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.what.as_str())
            .collect()
    }
}

/// A case's typed observation: everything its judgement needs, nothing it
/// does not. Serialised into the report, so a recorded report can be judged
/// again (`Run::judge`).
pub trait Observation: Serialize + DeserializeOwned {
    fn judge(&self) -> Judgement;
}

/// A case's body with its observation type erased, as the runner needs it.
pub trait Run: Sync {
    /// Measures in the lab; returns the observation, serialised.
    fn measure(&self, lab: &mut Lab) -> anyhow::Result<Value>;
    /// Judges an observation: this run's, or one recorded elsewhere.
    fn judge(&self, observed: &Value) -> anyhow::Result<Judgement>;
}

/// The usual body: a function that measures and returns observation `O`,
/// judged by `O::judge`. Variants (the @v6 twins) are other closures:
/// `run: &Measure(|lab| zero_rst(lab, Family::V6))`.
pub struct Measure<O>(pub fn(&mut Lab) -> anyhow::Result<O>);

impl<O: Observation> Run for Measure<O> {
    fn measure(&self, lab: &mut Lab) -> anyhow::Result<Value> {
        let o = (self.0)(lab)?;
        Ok(serde_json::to_value(o)?)
    }

    fn judge(&self, observed: &Value) -> anyhow::Result<Judgement> {
        let o: O = serde_json::from_value(observed.clone()).map_err(|e| {
            anyhow::anyhow!(
                "the observation does not fit {}: {e}",
                std::any::type_name::<O>()
            )
        })?;
        Ok(o.judge())
    }
}
