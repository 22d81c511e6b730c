//! What the command line accepts: commands, options and their help, defined
//! once (clap derive). `--help`, the man page (`sockspec man`) and the shell
//! completions (`sockspec completions SHELL`) are all generated from here.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub mod interrupt;
pub mod man;
pub mod output;
pub mod state;
pub mod usage;

/// One line: what sockspec is (NAME in the man page).
pub const ABOUT: &str =
    "What people believe about Linux socket options, checked against this kernel";

/// What every case does, before the terms of its report.
pub const INTRO: &str = "Every case runs in its own fresh network namespace (as root, or as an \
ordinary user through a user namespace), observes what the kernel does (packets on the wire, \
errno, timing, bytes delivered) and reports:";

/// The two things reported per case.
pub const TERMS: &[(&str, &str)] = &[
    (
        "outcome",
        "pass | fail | skip | error: did Linux do what the case's expectation says?",
    ),
    (
        "verdict",
        "holds | differs | refuted: how does the source's claim compare with what Linux did? \
         A refuted claim is a passing case. Only a passing case gives a verdict: when a check \
         fails, the measurement contradicts the expectation the claim is judged against, and \
         the report says no verdict.",
    ),
];

/// The three verdicts and what each says of a claim (from the model, as the
/// run's closing summary says them).
pub fn verdicts() -> Vec<(&'static str, &'static str)> {
    sockspec::model::Verdict::ALL
        .iter()
        .map(|v| (v.name(), v.meaning()))
        .collect()
}

/// A titled list of (term, meaning), in `--help` and in the man page.
pub struct Section {
    pub title: &'static str,
    pub items: &'static [(&'static str, &'static str)],
}

pub const EXIT_STATUS: Section = Section {
    title: "Exit status",
    items: &[
        (
            "0",
            "every selected case passed or was skipped (skips say why)",
        ),
        (
            "1",
            "a case failed or errored, the run differs from --baseline, or diff found changes",
        ),
        (
            "2",
            "bad command line: unknown command, option or case id, a report that cannot be read \
             (or of a format this sockspec does not know), --output not writable, no baseline \
             fits this kernel",
        ),
        (
            "130",
            "interrupted (Ctrl-C): the running cases were stopped and no report was written (a \
             report already at --output is left as it was); 143 for SIGTERM",
        ),
    ],
};

pub const ENVIRONMENT: Section = Section {
    title: "Environment",
    items: &[
        (
            "SOCKSPEC_DEADLINE_SCALE",
            "multiply every case's watchdog deadline (slow emulated machines), e.g. 4",
        ),
        (
            "COLUMNS",
            "the width the table is laid out for (default: the terminal's, else 100)",
        ),
        (
            "NO_COLOR",
            "when set and not empty, no colour with --color auto",
        ),
        (
            "XDG_STATE_HOME",
            "where run --output remembers the cases that failed, for --failed: \
             $XDG_STATE_HOME/sockspec/last-failed (~/.local/state/sockspec/last-failed when unset)",
        ),
        (
            "SOCKSPEC_BASELINES",
            "a directory of <kernel release>.json reports for --baseline auto, instead of the \
             baselines built into sockspec (fixtures/baselines)",
        ),
    ],
};

pub const EXAMPLES: Section = Section {
    title: "Examples",
    items: &[
        ("sockspec run", "the whole catalogue"),
        (
            "sockspec run 'linger.*' --format json",
            "the linger cases, as JSON",
        ),
        (
            "sockspec explain linger.zero_rst",
            "one case, with its packet ladder",
        ),
        (
            "sockspec run --format json --output now.json --pcap caps",
            "a report that stands alone, and every case's capture in caps/",
        ),
        (
            "sockspec explain linger.zero_rst --report now.json",
            "the same case as that report saw it, without running anything",
        ),
        (
            "sockspec run --failed",
            "run again what failed in the last report written with --output",
        ),
        (
            "sockspec run --exclude 'mcast.*' --verdict refuted",
            "the refuted claims outside multicast",
        ),
        (
            "sockspec run --baseline auto",
            "fails when this kernel behaves differently from its recorded baseline",
        ),
        (
            "sockspec run --format ktap --output results.ktap",
            "kselftest TAP into a file",
        ),
        (
            "sockspec run --format json --output now.json && sockspec diff old.json now.json",
            "what changed since an earlier run",
        ),
        (
            "sockspec completions bash > ~/.local/share/bash-completion/completions/sockspec",
            "completion of commands, options and case ids in bash",
        ),
        (
            "sockspec man > /usr/local/share/man/man1/sockspec.1",
            "install the manual page (then: man sockspec)",
        ),
    ],
};

/// The command line.
#[derive(Parser, Debug)]
#[command(name = "sockspec", version, about = ABOUT, long_about = long_about(), max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every case id (or those matching a PATTERN) with its source and claim
    #[command(args_override_self = true)]
    List {
        /// table, or json (an array of id, source, claim, expectation)
        #[arg(long, value_enum, default_value_t = ListFormat::Table, hide_possible_values = true)]
        format: ListFormat,
        /// Leave out the cases whose id matches PATTERN (repeatable)
        #[arg(long, value_name = "PATTERN")]
        exclude: Vec<String>,
        /// Case ids or shell globs ('linger.*')
        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
    },
    /// Run the cases whose id matches a PATTERN (all cases when none is given)
    ///
    /// PATTERN is a shell glob on the case id ('linger.*', 'nagle.coalesce').
    /// Cases run in parallel, each in its own network namespace.
    #[command(args_override_self = true)]
    Run(RunArgs),
    /// Run one case and show what Linux did, the verdict and the packet ladder
    ///
    /// Prints the case's claim, what Linux did, the verdict with its numbers,
    /// every check, what was observed, and the captured packets as a ladder:
    /// each TCP connection with its client on the left and its server on the
    /// right, seq and ack relative to each side's first, other frames (UDP,
    /// IGMP, MLD, ICMP, ARP) with the fields cases judge (group, TTL or hop
    /// limit, TOS, MAC), and the case's own syscalls (close() called) on the
    /// same time line. A case that puts nothing it judges on the wire says so.
    /// With --report, the case as a saved JSON report recorded it: nothing
    /// runs, and no privilege is needed.
    Explain {
        /// A case id, as `sockspec list` prints it
        #[arg(value_name = "ID")]
        id: String,
        /// Explain the case as this JSON report (`sockspec run --format json`) recorded it, without running it
        #[arg(long, value_name = "REPORT.json", value_hint = clap::ValueHint::FilePath)]
        report: Option<PathBuf>,
    },
    /// Compare two JSON reports (two kernels, or two runs)
    ///
    /// Per case id, what behaves differently: outcome, verdict, checks,
    /// observed facts; nothing for ids that behave the same. Exit status 1
    /// when something differs. Reads reports of any format this sockspec
    /// knows.
    Diff {
        /// The earlier report (`sockspec run --format json`)
        #[arg(value_name = "A.json", value_hint = clap::ValueHint::FilePath)]
        a: PathBuf,
        /// The later report
        #[arg(value_name = "B.json", value_hint = clap::ValueHint::FilePath)]
        b: PathBuf,
    },
    /// Put the reports of several kernels side by side
    ///
    /// A row per case (grouped by area, seeds apart from man pages), a column
    /// per kernel, rows where kernels differ marked. html (default): one
    /// self-contained page; a click on a cell shows its reason and checks.
    /// markdown: the table, for a terminal or a pull-request comment.
    Matrix {
        /// html or markdown
        #[arg(long, value_enum, default_value_t = MatrixFormat::Html, hide_possible_values = true)]
        format: MatrixFormat,
        /// Write the page to FILE instead of standard output
        #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        output: Option<PathBuf>,
        /// One JSON report per kernel (`sockspec run --format json`)
        #[arg(value_name = "REPORT.json", required = true, value_hint = clap::ValueHint::FilePath)]
        reports: Vec<PathBuf>,
    },
    /// List the man-page claims that this kernel does not bear out
    ///
    /// Runs the cases whose source is a Linux man page (or reads a saved JSON
    /// report with --report) and prints, page by page, every claim whose
    /// verdict is differs or refuted, with what Linux did instead.
    Errata {
        /// Read the results from this JSON report instead of running the cases
        #[arg(long, value_name = "REPORT.json", value_hint = clap::ValueHint::FilePath)]
        report: Option<PathBuf>,
    },
    /// Print a completion script for bash, zsh or fish
    ///
    /// bash (with the bash-completion package): sockspec completions bash >
    /// ~/.local/share/bash-completion/completions/sockspec
    ///
    /// zsh: sockspec completions zsh > ~/.zfunc/_sockspec, with
    /// fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc
    ///
    /// fish: sockspec completions fish > ~/.config/fish/completions/sockspec.fish
    ///
    /// Commands, options and (bash, zsh) case ids are completed.
    Completions {
        /// bash, zsh or fish
        #[arg(value_enum, hide_possible_values = true)]
        shell: Shell,
    },
    /// Print the manual page, sockspec(1), as roff
    ///
    /// After cargo install: sockspec man > ~/.cargo/share/man/man1/sockspec.1
    /// (man finds it through ~/.cargo/bin on the PATH); for everyone:
    /// sockspec man > /usr/local/share/man/man1/sockspec.1. Then: man sockspec.
    /// Without installing: sockspec man | man -l -
    Man,
    /// Runs one case in this process (the runner's child; not for people)
    #[command(name = sockspec::runner::CHILD_COMMAND, hide = true)]
    Case { id: String },
    /// Forks the case processes of a run (the runner's helper; not for people)
    #[command(name = sockspec::runner::LAUNCHER_COMMAND, hide = true)]
    Launcher,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Report format: table, json (one object: format, kernel, cases[] with id, outcome, verdict, observed, reason, duration_ms), ktap (kselftest TAP) or junit (JUnit XML)
    #[arg(long, value_enum, default_value_t = Format::Table, hide_possible_values = true)]
    pub format: Format,
    /// Write the report to FILE instead of standard output; checked before any case runs, and written whole or not at all
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub output: Option<PathBuf>,
    /// Compare with a recorded JSON report: a FILE, or auto for the recorded baseline of this kernel (the same release, else the same version with another build suffix, else the same major.minor series); differences are printed on stderr and make the exit status 1
    #[arg(long, value_name = "FILE|auto", value_parser = parse_baseline, value_hint = clap::ValueHint::FilePath)]
    pub baseline: Option<Baseline>,
    /// Where pcaps of failing cases go
    #[arg(long, value_name = "DIR", default_value = "sockspec-artifacts", value_hint = clap::ValueHint::DirPath)]
    pub artifacts: PathBuf,
    /// Write every case's capture to DIR/<case id>.pcap, passing or not (failing cases' pcaps go there too); DIR is created, mode 0700
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub pcap: Option<PathBuf>,
    /// Leave out the cases whose id matches PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Run the cases that failed or errored in the last report written with --output (remembered in $XDG_STATE_HOME/sockspec/last-failed, ~/.local/state/sockspec/last-failed when XDG_STATE_HOME is unset); with PATTERNs, those of them that match
    #[arg(long)]
    pub failed: bool,
    /// Report only the cases with one of these outcomes (pass, fail, skip, error; comma-separated); the exit status still covers every case run
    #[arg(
        long,
        value_name = "OUTCOME",
        value_enum,
        value_delimiter = ',',
        hide_possible_values = true
    )]
    pub outcome: Vec<OutcomeArg>,
    /// Report only the cases with one of these verdicts (holds, differs, refuted; comma-separated): only passing cases have one
    #[arg(
        long,
        value_name = "VERDICT",
        value_enum,
        value_delimiter = ',',
        hide_possible_values = true
    )]
    pub verdict: Vec<VerdictArg>,
    /// Table: the reasons of every case (not only of those that did not pass), and each key observation whole
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Table colours: auto (on a terminal, unless NO_COLOR is set), always or never
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorWhen::Auto, hide_possible_values = true)]
    pub color: ColorWhen,
    /// Run every case N times, all at once (ids suffixed #1..#N): the load of a catalogue N times larger
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_repeat)]
    pub repeat: usize,
    /// Run at most N cases at once (default: all at once; the longest start first). For a machine with one slow CPU, such as an emulated guest: the cases that wait on kernel timers still overlap, and the ones that compute do not starve each other past their deadlines
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Case ids or shell globs ('linger.*')
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ktap,
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    Pass,
    Fail,
    Skip,
    Error,
}

impl OutcomeArg {
    pub fn outcome(self) -> sockspec::model::Outcome {
        use sockspec::model::Outcome;
        match self {
            OutcomeArg::Pass => Outcome::Pass,
            OutcomeArg::Fail => Outcome::Fail,
            OutcomeArg::Skip => Outcome::Skip,
            OutcomeArg::Error => Outcome::Error,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerdictArg {
    Holds,
    Differs,
    Refuted,
}

impl VerdictArg {
    pub fn verdict(self) -> sockspec::model::Verdict {
        use sockspec::model::Verdict;
        match self {
            VerdictArg::Holds => Verdict::Holds,
            VerdictArg::Differs => Verdict::Differs,
            VerdictArg::Refuted => Verdict::Refuted,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    Html,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// What `--baseline` compares with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// The recorded baseline that fits this kernel (`report::baseline::find`).
    Auto,
    File(PathBuf),
}

fn parse_baseline(v: &str) -> Result<Baseline, String> {
    Ok(match v {
        "auto" => Baseline::Auto,
        path => Baseline::File(PathBuf::from(path)),
    })
}

/// The largest `--repeat`: 64 copies of the catalogue is already far beyond
/// the load a person runs it under.
pub const MAX_REPEAT: usize = 64;

fn parse_repeat(v: &str) -> Result<usize, String> {
    v.parse()
        .ok()
        .filter(|n| (1..=MAX_REPEAT).contains(n))
        .ok_or_else(|| format!("a number from 1 to {MAX_REPEAT}"))
}

fn parse_jobs(v: &str) -> Result<usize, String> {
    v.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| "a number of cases, 1 or more".to_string())
}

/// The long description: what sockspec does, and the two terms of its report.
pub fn long_about() -> String {
    let mut s = format!("{ABOUT}\n\n{}\n", wrap(INTRO, 80).join("\n"));
    s.push_str(&render_items(TERMS, 80));
    s.push_str("\nVerdicts:\n");
    s.push_str(&render_items(&verdicts(), 80));
    s.trim_end().to_string()
}

/// Greedy word wrap at `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// "  term  meaning", the meanings aligned and wrapped at `width` columns.
fn render_items(items: &[(&str, &str)], width: usize) -> String {
    let term_width = items.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    let indent = " ".repeat(term_width + 4);
    let mut out = String::new();
    for (term, meaning) in items {
        let text =
            wrap(meaning, width.saturating_sub(indent.len()).max(20)).join(&format!("\n{indent}"));
        out.push_str(&format!("  {term:<term_width$}  {text}\n"));
    }
    out
}

/// The whole command line, with the parts of `--help` that clap does not
/// derive: the run options (so one `--help` shows them all, as they are
/// defined for `run`), exit status, environment and examples.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let run_options = cmd
        .find_subcommand("run")
        .map(|run| {
            run.clone()
                .disable_help_flag(true)
                .help_template("{options}")
                .render_help()
                .to_string()
        })
        .unwrap_or_default();
    let mut tail = format!("Run options (sockspec run --help):\n{run_options}");
    for section in [&EXIT_STATUS, &ENVIRONMENT, &EXAMPLES] {
        tail.push('\n');
        tail.push_str(&render_section(section));
    }
    cmd.after_long_help(tail)
        .after_help("Exit status: 0 all passed, 1 a case failed or the run differs, 2 bad command line, 130 interrupted.")
}

fn render_section(s: &Section) -> String {
    let mut out = format!("{}:\n", s.title);
    if s.title == EXAMPLES.title {
        for (command, what) in s.items {
            out.push_str(&format!("  {command}\n      {what}\n"));
        }
    } else {
        out.push_str(&render_items(s.items, 100));
    }
    out
}

/// The command line as the completion scripts see it: without the hidden
/// child command (clap_complete would offer it), and with the case ids (from
/// the registry, as this binary has it) as the values of `run` and `explain`.
pub fn completion_command() -> clap::Command {
    let ids: Vec<&'static str> = sockspec::cases::all().iter().map(|c| c.id).collect();
    let ids = clap::builder::PossibleValuesParser::new(ids);
    let full = command();
    let mut visible = clap::Command::new("sockspec")
        .about(ABOUT)
        .version(env!("CARGO_PKG_VERSION"));
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub = match sub.get_name() {
            "run" => sub
                .clone()
                .mut_arg("patterns", |a| a.value_parser(ids.clone())),
            "explain" => sub.clone().mut_arg("id", |a| a.value_parser(ids.clone())),
            "list" => sub
                .clone()
                .mut_arg("patterns", |a| a.value_parser(ids.clone())),
            _ => sub.clone(),
        };
        visible = visible.subcommand(sub);
    }
    visible
}
