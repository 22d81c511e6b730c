//! The sockspec command line: parse arguments (cli/), pick cases, run them,
//! hand the results to report/.

mod cli;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::FromArgMatches;

use cli::output::Sink;
use cli::usage::Usage;
use cli::{
    interrupt, Baseline, Cli, ColorWhen, Command, Format, ListFormat, MatrixFormat, RunArgs, Shell,
};
use sockspec::cases;
use sockspec::model::{Case, CaseResult, Outcome};
use sockspec::report::{self, baseline, json::Report, Tally};
use sockspec::runner::{self, RunOptions};

/// Scales every case's watchdog deadline (slow emulated machines).
const DEADLINE_SCALE_ENV: &str = "SOCKSPEC_DEADLINE_SCALE";

/// How long the case launchers may take to end once a run is over.
const LAUNCHERS_END_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let parsed = cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return parse_error(&e, &args),
    };
    let r = match cli.command {
        Command::List {
            format,
            exclude,
            patterns,
        } => cmd_list(format, &patterns, &exclude),
        Command::Run(args) => cmd_run(args),
        Command::Explain { id, report } => cmd_explain(&id, report.as_deref()),
        Command::Diff { a, b } => cmd_diff(&a, &b),
        Command::Errata { report } => cmd_errata(report.as_deref()),
        Command::Matrix {
            format,
            output,
            reports,
        } => cmd_matrix(format, output.as_deref(), &reports),
        Command::Completions { shell } => cmd_completions(shell),
        Command::Man => cmd_man(),
        Command::Case { id } => cmd_child(&id),
        Command::Launcher => Ok(ExitCode::from(runner::launcher_main() as u8)),
    };
    // No case launcher outlives the run that started it.
    runner::shut_down(LAUNCHERS_END_WITHIN);
    r.unwrap_or_else(|usage| {
        eprintln!("{}", usage.line());
        ExitCode::from(2)
    })
}

/// Help and version go to stdout (exit 0); any other parse error is one line
/// on stderr (exit 2).
fn parse_error(e: &clap::Error, args: &[OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // The command whose arguments were wrong, to say so ("for run").
    let command = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| !a.starts_with('-'))
        .filter(|c| cli::command().find_subcommand(c).is_some());
    eprintln!("{}", cli::usage::from_clap(e, command).line());
    ExitCode::from(2)
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a message.
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// The size of the terminal on `fd`, if it is one.
fn tty_columns(fd: i32) -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills a winsize; the result is checked.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// The width to lay text out for: COLUMNS, else the terminal's (standard
/// output's, else standard error's: `sockspec run | less` is read there),
/// else the table's default.
fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .or_else(|| tty_columns(1))
        .or_else(|| tty_columns(2))
        .unwrap_or(report::table::DEFAULT_WIDTH)
}

/// Whether the table is coloured: --color, else a terminal on standard
/// output that is not dumb, unless NO_COLOR is set and not empty
/// (https://no-color.org).
fn use_color(when: ColorWhen, to_file: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            !to_file
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").as_deref() != Ok("dumb")
        }
    }
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
    // A line longer than the terminal would wrap, and \r would then rewrite
    // only its last part.
    let width = tty_columns(2).unwrap_or(80).saturating_sub(1);
    let line: String = line.chars().take(width).collect();
    let end = if p.done == p.total { "\r\x1b[2K" } else { "" };
    eprint!("\r\x1b[2K{line}{end}");
}

/// The cases of `patterns` (all when none) less those of `exclude`; a
/// pattern of either that matches no case is a mistake, said as such.
fn select(patterns: &[String], exclude: &[String]) -> Result<Vec<&'static Case>, Usage> {
    let selected = cases::select(patterns).map_err(Usage)?;
    let all = cases::all();
    if let Some(p) = exclude
        .iter()
        .find(|p| !all.iter().any(|c| cases::glob(p, c.id)))
    {
        return Err(Usage(format!(
            "no case matches --exclude '{p}' (see `sockspec list` for the ids)"
        )));
    }
    Ok(selected
        .into_iter()
        .filter(|c| !exclude.iter().any(|p| cases::glob(p, c.id)))
        .collect())
}

fn cmd_list(
    format: ListFormat,
    patterns: &[String],
    exclude: &[String],
) -> Result<ExitCode, Usage> {
    let all = select(patterns, exclude)?;
    let text = match format {
        ListFormat::Json => {
            let items: Vec<_> = all
                .iter()
                .map(|c| {
                    serde_json::json!({"id": c.id, "source": c.source.to_string(), "claim": c.claim,
                        "expectation": c.expectation})
                })
                .collect();
            format!("{}\n", serde_json::Value::Array(items))
        }
        ListFormat::Table => {
            let w = all.iter().map(|c| c.id.len()).max().unwrap_or(0);
            all.iter()
                .map(|c| format!("{:<w$}  {}\n{:<w$}  ({})\n", c.id, c.claim, "", c.source))
                .collect()
        }
    };
    print(&text);
    Ok(ExitCode::SUCCESS)
}

/// `SOCKSPEC_DEADLINE_SCALE`, 1 when unset.
fn deadline_scale() -> Result<f64, Usage> {
    let Ok(v) = std::env::var(DEADLINE_SCALE_ENV) else {
        return Ok(1.0);
    };
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| {
            Usage(format!(
                "{DEADLINE_SCALE_ENV} takes a positive number, not '{v}'"
            ))
        })
}

fn run_options(artifacts: &Path) -> Result<RunOptions, Usage> {
    let exe = runner::current_exe().map_err(|e| Usage(format!("{e:#}")))?;
    let mut opts = RunOptions::new(exe);
    opts.artifacts = artifacts.to_path_buf();
    opts.deadline_scale = deadline_scale()?;
    Ok(opts)
}

/// A baseline to compare with: how to name it, and the report.
fn load_baseline(b: &Baseline) -> Result<(String, Report), Usage> {
    if let Baseline::File(p) = b {
        return Ok((
            p.display().to_string(),
            report::diff::load(p).map_err(Usage)?,
        ));
    }
    let release = report::kernel_release();
    let all = baseline::recorded().map_err(Usage)?;
    let Some((i, matched)) = baseline::choose(&release, all.iter().map(|r| r.release.as_str()))
    else {
        let names: Vec<&str> = all.iter().map(|r| r.release.as_str()).collect();
        let names = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        return Err(Usage(format!(
            "no recorded baseline fits kernel {release} (recorded: {names}); record one with \
             'sockspec run --format json --output {release}.json' and pass it to --baseline"
        )));
    };
    let found = baseline::Found {
        recorded: all[i].clone(),
        matched,
    };
    let base = found.recorded.report().map_err(Usage)?;
    eprintln!("sockspec: comparing with {}", found.describe(&release));
    Ok((found.recorded.to_string(), base))
}

/// The cases `run` runs: its patterns less --exclude, and with --failed
/// only those that failed in the last report written with --output. None
/// when --failed finds nothing to run (said on stderr).
fn run_selection(args: &RunArgs) -> Result<Option<Vec<&'static Case>>, Usage> {
    let selected = select(&args.patterns, &args.exclude)?;
    if !args.failed {
        return Ok(Some(selected));
    }
    let (report, ids) = cli::state::last_failed().map_err(Usage)?;
    let again: Vec<&'static Case> = selected
        .into_iter()
        .filter(|c| ids.iter().any(|id| id == c.id))
        .collect();
    if again.is_empty() {
        let which = if ids.is_empty() { "" } else { " of these" };
        eprintln!("sockspec: no case{which} failed in the last report written with --output ({report}): nothing to run");
        return Ok(None);
    }
    eprintln!(
        "sockspec: running again the {} cases that failed in {report}",
        again.len()
    );
    Ok(Some(again))
}

/// The results --outcome and --verdict keep (all without them).
fn shown(args: &RunArgs, results: &[CaseResult]) -> Vec<CaseResult> {
    results
        .iter()
        .filter(|r| {
            args.outcome.is_empty() || args.outcome.iter().any(|o| o.outcome() == r.outcome)
        })
        .filter(|r| {
            args.verdict.is_empty()
                || args
                    .verdict
                    .iter()
                    .any(|v| Some(v.verdict()) == r.shown_verdict())
        })
        .cloned()
        .collect()
}

/// How the table says what --outcome and --verdict left out.
fn filter_note(args: &RunArgs) -> Option<String> {
    let names = |v: Vec<String>| v.join(",");
    let mut parts = Vec::new();
    if !args.outcome.is_empty() {
        parts.push(format!(
            "--outcome {}",
            names(
                args.outcome
                    .iter()
                    .map(|o| o.outcome().to_string())
                    .collect()
            )
        ));
    }
    if !args.verdict.is_empty() {
        parts.push(format!(
            "--verdict {}",
            names(
                args.verdict
                    .iter()
                    .map(|v| v.verdict().to_string())
                    .collect()
            )
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn cmd_run(args: RunArgs) -> Result<ExitCode, Usage> {
    let Some(selected) = run_selection(&args)? else {
        return Ok(ExitCode::SUCCESS);
    };
    // Everything that can be wrong with the command line is found before any
    // case runs: the baseline is read, the output file's place is checked.
    let baseline = args.baseline.as_ref().map(load_baseline).transpose()?;
    let mut opts = run_options(&args.artifacts)?;
    opts.repeat = args.repeat;
    opts.jobs = args.jobs;
    opts.pcap.clone_from(&args.pcap);
    if let Err(e) = interrupt::watch() {
        return Ok(fatal(&e));
    }
    let sink = Sink::open(args.output.as_deref()).map_err(Usage)?;
    let results = if std::io::stderr().is_terminal() {
        runner::run_all_with_progress(&selected, &opts, progress_line)
    } else {
        runner::run_all(&selected, &opts)
    };
    let shown = shown(&args, &results);
    let text = match args.format {
        Format::Table => {
            let o = report::table::Options {
                width: columns(),
                color: use_color(args.color, args.output.is_some()),
                verbose: args.verbose,
                filtered: filter_note(&args).map(|n| (results.len(), n)),
            };
            report::table::render(&shown, &o)
        }
        Format::Json => report::json::render(&shown),
        Format::Ktap => report::ktap::render(&shown),
        Format::Junit => report::junit::render(&shown),
    };
    match sink.write(&text) {
        Ok(true) => {}
        Ok(false) => interrupt::wait_for_exit(),
        Err(e) => return Ok(fatal(&e)),
    }
    if let Some(path) = &args.output {
        if let Err(e) = cli::state::remember(path, &results) {
            eprintln!("sockspec: warning: --failed will not know this run's failures: {e}");
        }
    }
    let code = exit_for(&results);
    Ok(match baseline {
        Some((name, base)) => check_baseline(&base, &name, &results).unwrap_or(code),
        None => code,
    })
}

/// Compares this run with a recorded baseline (only the ids that ran). Prints
/// the differences on stderr and returns exit status 1 when there are any.
fn check_baseline(base: &Report, name: &str, results: &[CaseResult]) -> Option<ExitCode> {
    let now = Report::new(results);
    let mut base = base.clone();
    base.cases.retain(|c| results.iter().any(|r| r.id == c.id));
    let diffs = report::diff::compare(&base, &now);
    if diffs.is_empty() {
        eprintln!(
            "sockspec: same behaviour as the baseline {name} ({} cases)",
            base.cases.len()
        );
        return None;
    }
    eprint!(
        "{}",
        report::diff::render(name, &base, "this run", &now, &diffs)
    );
    eprintln!("sockspec: the kernel behaves differently from the baseline {name}");
    Some(ExitCode::from(1))
}

fn cmd_diff(a: &Path, b: &Path) -> Result<ExitCode, Usage> {
    let ra = report::diff::load(a).map_err(Usage)?;
    let rb = report::diff::load(b).map_err(Usage)?;
    let diffs = report::diff::compare(&ra, &rb);
    print(&report::diff::render(
        &a.display().to_string(),
        &ra,
        &b.display().to_string(),
        &rb,
        &diffs,
    ));
    Ok(if diffs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The reports of several kernels side by side.
fn cmd_matrix(
    format: MatrixFormat,
    output: Option<&Path>,
    paths: &[std::path::PathBuf],
) -> Result<ExitCode, Usage> {
    let reports = paths
        .iter()
        .map(|p| report::diff::load(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Usage)?;
    let sink = Sink::open(output).map_err(Usage)?;
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
    let refs: Vec<&Report> = reports.iter().collect();
    let m = report::matrix::Matrix::new(&refs, &catalogue);
    let text = match format {
        MatrixFormat::Html => report::matrix::html(&m),
        MatrixFormat::Markdown => report::matrix::markdown(&m),
    };
    Ok(match sink.write(&text) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fatal(&e),
    })
}

/// The man-page errata of this kernel (a run of the man-page cases), or of a
/// saved report.
fn cmd_errata(saved: Option<&Path>) -> Result<ExitCode, Usage> {
    let (results, kernel) = match saved {
        Some(p) => {
            let r = report::diff::load(p).map_err(Usage)?;
            (r.cases, r.kernel)
        }
        None => {
            let man: Vec<_> = cases::all()
                .into_iter()
                .filter(|c| matches!(c.source, sockspec::model::Source::ManPage(_)))
                .collect();
            let opts = run_options(runner::default_artifacts())?;
            if let Err(e) = interrupt::watch() {
                return Ok(fatal(&e));
            }
            let results = runner::run_all(&man, &opts);
            if interrupt::interrupted() {
                interrupt::wait_for_exit();
            }
            (results, report::kernel_release())
        }
    };
    print(&report::errata::render(&results, &kernel));
    Ok(exit_for(&results))
}

fn exit_for(results: &[CaseResult]) -> ExitCode {
    if Tally::of(results).ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A case of a saved report: what `explain --report` shows. Nothing runs.
fn saved_result(path: &Path, id: &str) -> Result<CaseResult, Usage> {
    let saved = report::diff::load(path).map_err(Usage)?;
    let mut r = saved
        .cases
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Usage(format!("{} has no case '{id}'", path.display())))?;
    // Reports written before they carried the claim: the registry's.
    if let Some(case) = cases::find(id).filter(|_| r.claim.is_empty()) {
        r.source = case.source.to_string();
        r.claim = case.claim.to_string();
        r.expectation = case.expectation.to_string();
    }
    Ok(r)
}

fn cmd_explain(id: &str, saved: Option<&Path>) -> Result<ExitCode, Usage> {
    let r = match saved {
        Some(path) => saved_result(path, id)?,
        None => {
            let case = cases::find(id)
                .ok_or_else(|| Usage(format!("unknown case id '{id}' (see `sockspec list`)")))?;
            let opts = run_options(runner::default_artifacts())?;
            if let Err(e) = interrupt::watch() {
                return Ok(fatal(&e));
            }
            let r = runner::run_one(case, &opts);
            if interrupt::interrupted() {
                interrupt::wait_for_exit();
            }
            r
        }
    };
    print(&report::explain::render(&r, columns()));
    Ok(if matches!(r.outcome, Outcome::Fail | Outcome::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_completions(shell: Shell) -> Result<ExitCode, Usage> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli::completion_command(), "sockspec", &mut out);
    print(&String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

fn cmd_man() -> Result<ExitCode, Usage> {
    print(&cli::man::page());
    Ok(ExitCode::SUCCESS)
}

fn cmd_child(id: &str) -> Result<ExitCode, Usage> {
    let case = cases::find(id).ok_or_else(|| Usage(format!("unknown case id '{id}'")))?;
    Ok(ExitCode::from(runner::child_main(case) as u8))
}

fn fatal(msg: &str) -> ExitCode {
    eprintln!("sockspec: error: {msg}");
    ExitCode::from(1)
}
