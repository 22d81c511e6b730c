//! The sockspec command line: parse arguments, pick cases, run them, hand the
//! results to report/.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use sockspec::model::Outcome;
use sockspec::report::{self, Tally};
use sockspec::runner::{self, RunOptions};
use sockspec::{cases, model::CaseResult};

const HELP: &str = "\
sockspec — what people believe about Linux socket options, checked against this kernel

Every case runs in its own fresh network namespace (as root, or as an ordinary
user through a user namespace), observes what the kernel does (packets on the
wire, errno, timing, bytes delivered) and reports:
  outcome  pass | fail | skip | error  — did Linux do what the expectation says?
  verdict  holds | differs | refuted   — how the source's claim compares

USAGE:
  sockspec list [--format table|json]
  sockspec run [OPTIONS] [PATTERN...]
  sockspec explain ID
  sockspec diff A.json B.json
  sockspec matrix REPORT.json... [--format html|markdown] [--output FILE]
  sockspec --help | --version

COMMANDS:
  list      Print every case id with its source and claim.
  run       Run the cases whose id matches a PATTERN (shell glob: 'linger.*',
            'nagle.coalesce'); all cases when none is given. Cases run in parallel.
  explain   Run one case and print its claim, what Linux did, the verdict with
            its numbers, every check, and the captured packets as a ladder.
  diff      Compare two JSON reports (two kernels, or two runs): per case id,
            what behaves differently (outcome, verdict, checks, observed facts);
            nothing for ids that behave the same. Exit 1 when something differs.
  matrix    Reports of several kernels side by side: a row per case (by area,
            seeds apart from man pages), a column per kernel, rows where kernels
            differ marked. html (default): one self-contained page, a click on a
            cell shows its reason and checks; markdown: the table for a terminal
            or a pull-request comment.

RUN OPTIONS:
  --format FORMAT       table (default), json (one object: kernel, cases[] with id,
                        outcome, verdict, observed, reason, duration_ms), ktap
                        (kselftest TAP), or junit (JUnit XML).
  --output FILE         Write the report to FILE instead of standard output.
  --baseline FILE       Compare with a recorded JSON report (e.g.
                        fixtures/baselines/$(uname -r).json); differences are
                        printed on stderr and make the exit status 1.
  --artifacts DIR       Where pcaps of failing cases go (default: ./sockspec-artifacts).
  --repeat N            Run every case N times, all at once (ids suffixed #1..#N):
                        the load of a catalogue N times larger.

EXIT STATUS:
  0  every selected case passed or was skipped (skips say why)
  1  a case failed or errored, the run differs from --baseline, or diff found changes
  2  bad command line (unknown command, option or case id, unreadable report)

ENVIRONMENT:
  SOCKSPEC_DEADLINE_SCALE  multiply every case's watchdog deadline (slow emulated
                           machines), e.g. 4

EXAMPLES:
  sockspec run                        # the whole catalogue
  sockspec run 'linger.*' --format json
  sockspec explain linger.zero_rst
  sockspec run --format ktap --output results.ktap
  sockspec run --format json --output now.json && sockspec diff old.json now.json
";

/// A command-line mistake: printed on one line, exit status 2.
struct Usage(String);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Ktap,
    Junit,
}

struct RunArgs {
    format: Format,
    output: Option<PathBuf>,
    baseline: Option<PathBuf>,
    artifacts: PathBuf,
    repeat: usize,
    patterns: Vec<String>,
}

fn parse_format(v: &str) -> Result<Format, Usage> {
    match v {
        "table" => Ok(Format::Table),
        "json" => Ok(Format::Json),
        "ktap" => Ok(Format::Ktap),
        "junit" => Ok(Format::Junit),
        other => Err(Usage(format!(
            "unknown format '{other}' (use table, json, ktap or junit)"
        ))),
    }
}

/// Takes the value of `--name VALUE` or `--name=VALUE`.
fn value(
    arg: &str,
    name: &str,
    it: &mut impl Iterator<Item = String>,
) -> Result<Option<String>, Usage> {
    if arg == name {
        return it
            .next()
            .map(Some)
            .ok_or_else(|| Usage(format!("{name} needs a value")));
    }
    Ok(arg
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix('='))
        .map(str::to_string))
}

fn parse_run(args: Vec<String>) -> Result<RunArgs, Usage> {
    let mut ra = RunArgs {
        format: Format::Table,
        output: None,
        baseline: None,
        artifacts: runner::default_artifacts().to_path_buf(),
        repeat: 1,
        patterns: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if let Some(v) = value(&a, "--format", &mut it)? {
            ra.format = parse_format(&v)?;
        } else if let Some(v) = value(&a, "--output", &mut it)? {
            ra.output = Some(PathBuf::from(v));
        } else if let Some(v) = value(&a, "--baseline", &mut it)? {
            ra.baseline = Some(PathBuf::from(v));
        } else if let Some(v) = value(&a, "--artifacts", &mut it)? {
            ra.artifacts = PathBuf::from(v);
        } else if let Some(v) = value(&a, "--repeat", &mut it)? {
            ra.repeat = v
                .parse()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| Usage(format!("--repeat takes a number from 1 to 64, not '{v}'")))?;
        } else if a.starts_with('-') {
            return Err(Usage(format!("unknown option '{a}' for run")));
        } else {
            ra.patterns.push(a);
        }
    }
    Ok(ra)
}

/// Where a report goes: stdout, or a file opened before any case runs so a
/// bad path is reported at once, not after the run.
enum Sink {
    Stdout,
    File(PathBuf, std::fs::File),
}

impl Sink {
    fn open(output: Option<&PathBuf>) -> Result<Sink, String> {
        match output {
            None => Ok(Sink::Stdout),
            Some(p) => std::fs::File::create(p)
                .map(|f| Sink::File(p.clone(), f))
                .map_err(|e| format!("cannot write the report to {}: {e}", p.display())),
        }
    }

    fn write(self, text: &str) -> Result<(), String> {
        match self {
            Sink::Stdout => std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write the report: {e}")),
            Sink::File(p, mut f) => f
                .write_all(text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", p.display())),
        }
    }
}

fn emit(text: &str, output: Option<&PathBuf>) -> Result<(), String> {
    Sink::open(output)?.write(text)
}

/// One status line on a terminal's stderr, rewritten as cases finish; nothing
/// when stderr is a pipe or a file (CI logs stay clean).
fn progress_line(p: &runner::Progress) {
    let mut line = format!("  {}/{} done", p.done, p.total);
    if let Some(first) = p.running.first() {
        line.push_str(&format!(", running: {first}"));
        if p.running.len() > 1 {
            line.push_str(&format!(" (+{} more)", p.running.len() - 1));
        }
    }
    let line: String = line.chars().take(100).collect();
    let end = if p.done == p.total { "\r\x1b[2K" } else { "" };
    eprint!("\r\x1b[2K{line}{end}");
}

fn cmd_list(args: Vec<String>) -> Result<ExitCode, Usage> {
    let mut format = Format::Table;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match value(&a, "--format", &mut it)? {
            Some(v) => format = parse_format(&v)?,
            None => return Err(Usage(format!("unexpected argument '{a}' for list"))),
        }
    }
    if matches!(format, Format::Ktap | Format::Junit) {
        return Err(Usage("list supports --format table or json".into()));
    }
    let all = cases::all();
    let text = match format {
        Format::Json => {
            let items: Vec<_> = all
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c.id, "source": c.source.to_string(), "claim": c.claim,
                        "expectation": c.expectation})
                })
                .collect();
            format!("{}\n", serde_json::Value::Array(items))
        }
        _ => {
            let w = all.iter().map(|c| c.id.len()).max().unwrap_or(0);
            all.iter()
                .map(|c| format!("{:<w$}  {}\n{:<w$}  ({})\n", c.id, c.claim, "", c.source))
                .collect()
        }
    };
    let _ = emit(&text, None);
    Ok(ExitCode::SUCCESS)
}

fn run_options(artifacts: PathBuf) -> Result<RunOptions, String> {
    let exe = runner::current_exe().map_err(|e| format!("{e:#}"))?;
    let mut opts = RunOptions::new(exe);
    opts.artifacts = artifacts;
    Ok(opts)
}

fn cmd_run(args: Vec<String>) -> Result<ExitCode, Usage> {
    let ra = parse_run(args)?;
    let selected = cases::select(&ra.patterns).map_err(Usage)?;
    // Read the baseline first: a bad path is a usage error, before any case runs.
    let baseline = match &ra.baseline {
        Some(p) => Some(report::diff::load(p).map_err(Usage)?),
        None => None,
    };
    let mut opts = match run_options(ra.artifacts.clone()) {
        Ok(o) => o,
        Err(e) => return Ok(fatal(&e)),
    };
    opts.repeat = ra.repeat;
    let sink = match Sink::open(ra.output.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(fatal(&e)),
    };
    let results = if std::io::stderr().is_terminal() {
        runner::run_all_with_progress(&selected, &opts, progress_line)
    } else {
        runner::run_all(&selected, &opts)
    };
    let text = match ra.format {
        Format::Table => report::table::render(&results),
        Format::Json => report::json::render(&results),
        Format::Ktap => report::ktap::render(&results),
        Format::Junit => report::junit::render(&results),
    };
    if let Err(e) = sink.write(&text) {
        return Ok(fatal(&e));
    }
    let code = exit_for(&results);
    match (baseline, &ra.baseline) {
        (Some(base), Some(path)) => Ok(check_baseline(&base, path, &results).unwrap_or(code)),
        _ => Ok(code),
    }
}

/// Compares this run with a recorded baseline (only the ids that ran). Prints
/// the differences on stderr and returns exit status 1 when there are any.
fn check_baseline(
    base: &report::json::Report,
    path: &std::path::Path,
    results: &[CaseResult],
) -> Option<ExitCode> {
    let now = report::json::Report::new(results);
    let mut base = base.clone();
    base.cases.retain(|c| results.iter().any(|r| r.id == c.id));
    let diffs = report::diff::compare(&base, &now);
    if diffs.is_empty() {
        eprintln!(
            "sockspec: same behaviour as the baseline {} ({} cases)",
            path.display(),
            base.cases.len()
        );
        return None;
    }
    eprint!(
        "{}",
        report::diff::render(&path.display().to_string(), &base, "this run", &now, &diffs)
    );
    eprintln!(
        "sockspec: the kernel behaves differently from the baseline {}",
        path.display()
    );
    Some(ExitCode::from(1))
}

fn cmd_diff(args: Vec<String>) -> Result<ExitCode, Usage> {
    let [a, b] = args.as_slice() else {
        return Err(Usage(
            "diff takes two JSON reports: sockspec diff A.json B.json".into(),
        ));
    };
    let ra = report::diff::load(std::path::Path::new(a)).map_err(Usage)?;
    let rb = report::diff::load(std::path::Path::new(b)).map_err(Usage)?;
    let diffs = report::diff::compare(&ra, &rb);
    let _ = emit(&report::diff::render(a, &ra, b, &rb, &diffs), None);
    Ok(if diffs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `sockspec matrix REPORT.json... [--format html|markdown] [--output FILE]`.
fn cmd_matrix(args: Vec<String>) -> Result<ExitCode, Usage> {
    let (mut markdown, mut output, mut paths) = (false, None, Vec::new());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if let Some(v) = value(&a, "--format", &mut it)? {
            markdown = match v.as_str() {
                "html" => false,
                "markdown" => true,
                other => {
                    return Err(Usage(format!(
                        "unknown matrix format '{other}' (use html or markdown)"
                    )))
                }
            };
        } else if let Some(v) = value(&a, "--output", &mut it)? {
            output = Some(PathBuf::from(v));
        } else if a.starts_with('-') {
            return Err(Usage(format!("unknown option '{a}' for matrix")));
        } else {
            paths.push(a);
        }
    }
    if paths.is_empty() {
        return Err(Usage(
            "matrix takes one JSON report per kernel: sockspec matrix A.json B.json...".into(),
        ));
    }
    let reports = paths
        .iter()
        .map(|p| report::diff::load(std::path::Path::new(p)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Usage)?;
    let catalogue: Vec<report::matrix::Entry> = cases::areas()
        .into_iter()
        .flat_map(|(area, cases)| {
            cases.iter().map(move |c| report::matrix::Entry {
                id: c.id.to_string(),
                area: area.to_string(),
                source: c.source.to_string(),
                claim: c.claim.to_string(),
            })
        })
        .collect();
    let refs: Vec<&report::json::Report> = reports.iter().collect();
    let m = report::matrix::Matrix::new(&refs, &catalogue);
    let text = if markdown {
        report::matrix::markdown(&m)
    } else {
        report::matrix::html(&m)
    };
    Ok(match emit(&text, output.as_ref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    })
}

fn exit_for(results: &[CaseResult]) -> ExitCode {
    if Tally::of(results).ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn cmd_explain(args: Vec<String>) -> Result<ExitCode, Usage> {
    let [id] = args.as_slice() else {
        return Err(Usage("explain takes exactly one case id".into()));
    };
    let case = cases::find(id)
        .ok_or_else(|| Usage(format!("unknown case id '{id}' (see `sockspec list`)")))?;
    let opts = match run_options(runner::default_artifacts().to_path_buf()) {
        Ok(o) => o,
        Err(e) => return Ok(fatal(&e)),
    };
    let r = runner::run_one(case, &opts);
    let _ = emit(&report::explain::render(case, &r), None);
    Ok(if matches!(r.outcome, Outcome::Fail | Outcome::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_child(args: Vec<String>) -> Result<ExitCode, Usage> {
    let [id] = args.as_slice() else {
        return Err(Usage("internal: __case takes one id".into()));
    };
    let case = cases::find(id).ok_or_else(|| Usage(format!("unknown case id '{id}'")))?;
    Ok(ExitCode::from(runner::child_main(case) as u8))
}

fn fatal(msg: &str) -> ExitCode {
    eprintln!("sockspec: error: {msg}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        eprintln!("sockspec: error: no command given (try 'sockspec --help')");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    let r = match cmd.as_str() {
        "-h" | "--help" | "help" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        "-V" | "--version" => {
            println!("sockspec {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        "list" => cmd_list(rest),
        "run" => cmd_run(rest),
        "explain" => cmd_explain(rest),
        "diff" => cmd_diff(rest),
        "matrix" => cmd_matrix(rest),
        runner::CHILD_COMMAND => cmd_child(rest),
        other if other.starts_with('-') => Err(Usage(format!("unknown option '{other}'"))),
        other => Err(Usage(format!("unknown command '{other}'"))),
    };
    match r {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("sockspec: error: {msg} (try 'sockspec --help')");
            ExitCode::from(2)
        }
    }
}
