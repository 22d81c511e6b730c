//! One test per registered case, generated from the registry (src/cases/): a
//! new case needs no edit here, and `cargo test --test cases -- linger.`
//! selects by id. Each test runs its case in its own namespace, as `sockspec
//! run` does; the kernel must do what the case's expectation says (outcome
//! pass). A refuted claim is still a passing test: the verdict says how the
//! claim fares, the outcome whether Linux did what the case expects.
//!
//! A case that skips because the machine lacks a kernel facility it names
//! (`Skip::missing`) is reported as ignored, with the reason; any other skip
//! fails, unless SOCKSPEC_ALLOW_SKIP=1 says this machine cannot make
//! namespaces at all. An @v6 twin must show that it used IPv6.
//!
//! Verdicts are pinned on real kernels: when fixtures/baselines has a report
//! of this kernel (the same release, else the same version with another
//! build, else the same major.minor series), each case must behave as
//! recorded there: the same outcome, verdict, check results and observed
//! facts (report::diff), or the test fails with the difference.
//!
//! SOCKSPEC_AREA=linger keeps the cases of src/cases/linger.rs only (for
//! scripts/mutants.sh, which mutates one file at a time).

mod common;

use common::{run_case, Summary};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use pretty_assertions::assert_eq;
use sockspec::model::{Case, CaseResult, Outcome, Skip};
use sockspec::report::{self, baseline, json::Report};

/// Cases wait mostly on the kernel (linger and keep-alive timers), not the
/// CPU: run them all at once, as `sockspec run` does.
const THREADS: usize = 512;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = args.test_threads.or(Some(THREADS));
    let area = std::env::var("SOCKSPEC_AREA").ok();
    let trials = sockspec::cases::areas()
        .into_iter()
        .filter(|(name, _)| area.as_deref().is_none_or(|a| a == *name))
        .flat_map(|(_, cases)| cases.iter().copied())
        .map(|case| Trial::ignorable_test(case.id, move || kernel_behaves_as_expected(case)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn kernel_behaves_as_expected(case: &'static Case) -> Result<Completion, Failed> {
    let r = run_case(case.id, &[]);
    if r.outcome == Outcome::Skip {
        if Skip::is_missing_facility(&r.reason)
            || std::env::var("SOCKSPEC_ALLOW_SKIP").as_deref() == Ok("1")
        {
            return Ok(Completion::ignored_with(format!("skipped: {}", r.reason)));
        }
        return Err(format!("{} skipped: {}", case.id, r.reason).into());
    }
    assert_eq!(Summary::passed(case.id), Summary::of(&r));
    if let Some(difference) = differs_from_baseline(&r) {
        return Err(difference.into());
    }
    if case.id.ends_with("@v6") {
        assert!(
            r.families.iter().any(|f| f == "ipv6"),
            "{} is an IPv6 twin, yet its sockets and packets were {:?}",
            case.id,
            r.families
        );
    }
    Ok(Completion::Completed)
}

/// The recorded report of this kernel (series), read once.
fn kernel_baseline() -> Option<&'static (String, Report)> {
    static BASELINE: std::sync::OnceLock<Option<(String, Report)>> = std::sync::OnceLock::new();
    BASELINE
        .get_or_init(|| {
            let release = report::kernel_release();
            let found = baseline::find(&release)?;
            let name = found.describe(&release);
            let report = found
                .recorded
                .report()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            Some((name, report))
        })
        .as_ref()
}

/// How `r` behaves differently from its recorded baseline, if it does.
fn differs_from_baseline(r: &CaseResult) -> Option<String> {
    let (name, base) = kernel_baseline()?;
    let recorded = base.cases.iter().find(|c| c.id == r.id)?;
    let then = Report {
        cases: vec![recorded.clone()],
        ..base.clone()
    };
    let now = Report::new(std::slice::from_ref(r));
    let diffs = report::diff::compare(&then, &now);
    if diffs.is_empty() {
        return None;
    }
    Some(format!(
        "{} behaves differently from {name}:\n{}",
        r.id,
        report::diff::render(name, &then, "this run", &now, &diffs)
    ))
}
