//! `sockspec completions SHELL` and `sockspec man`, as a user installs them:
//! bash completes commands, options and case ids from the generated script;
//! the manual page renders with man(1) without a warning, and is found by
//! `man sockspec` once installed as the README says.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;
use rstest::rstest;

fn sockspec(args: &[&str]) -> Output {
    Command::new(common::exe())
        .args(args)
        .output()
        .expect("run sockspec")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Makes sure `cmd` exists, installing Debian's `package` as root the way
/// the scripts do (scripts/lib.sh's `need`).
fn need(cmd: &str, package: &str) {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lib.sh");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(". '{}' && need {cmd} {package}", lib.display()))
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert_eq!(
        Some(0),
        o.status.code(),
        "{cmd} is missing and could not be installed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// What bash offers after `line` (completing its last word), with the
/// completion script sockspec generated.
fn bash_completes(script: &Path, line: &str) -> Vec<String> {
    let mut words: Vec<&str> = line.split(' ').collect();
    let cword = words.len() - 1;
    let cur = words[cword];
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let array = words
        .iter_mut()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}'; COMP_WORDS=({array}); COMP_CWORD={cword}; COMP_LINE='{line}'; \
         COMP_POINT=${{#COMP_LINE}}; _sockspec sockspec '{cur}' '{prev}'; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .expect("bash");
    assert_eq!(
        Some(0),
        o.status.code(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_case_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("sockspec.bash");
    let o = sockspec(&["completions", "bash"]);
    assert_eq!(Some(0), o.status.code());
    std::fs::write(&script, &o.stdout).expect("write");

    assert_eq!(vec!["run"], bash_completes(&script, "sockspec ru"));
    assert_eq!(
        vec!["--format"],
        bash_completes(&script, "sockspec run --fo")
    );
    let shells = bash_completes(&script, "sockspec completions ");
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            shells.iter().any(|w| w == shell),
            "{shell} not in {shells:?}"
        );
    }
    let mut ids = bash_completes(&script, "sockspec explain linger.zero_");
    ids.sort();
    assert_eq!(vec!["linger.zero_rst", "linger.zero_rst@v6"], ids);
    let commands = bash_completes(&script, "sockspec ");
    for c in ["list", "run", "explain", "diff", "completions", "man"] {
        assert!(commands.iter().any(|w| w == c), "{c} not in {commands:?}");
    }
    assert!(
        !commands
            .iter()
            .any(|w| w == sockspec::runner::CHILD_COMMAND),
        "the hidden child command is offered: {commands:?}"
    );
}

/// fish's script completes commands and options but not case ids
/// (clap_complete's fish generator leaves positional values out).
#[rstest]
#[case::bash("bash", "_sockspec()", true)]
#[case::zsh("zsh", "#compdef sockspec", true)]
#[case::fish("fish", "complete -c sockspec", false)]
fn every_shell_gets_a_script_with_every_command(
    #[case] shell: &str,
    #[case] marker: &str,
    #[case] with_ids: bool,
) {
    let o = sockspec(&["completions", shell]);
    let text = stdout(&o);
    assert_eq!(Some(0), o.status.code());
    assert!(text.contains(marker), "{shell}: no {marker:?}");
    for c in [
        "list",
        "run",
        "explain",
        "diff",
        "completions",
        "man",
        "baseline",
    ] {
        assert!(text.contains(c), "{shell}: {c} missing");
    }
    assert_eq!(
        with_ids,
        text.contains("linger.zero_rst@v6"),
        "{shell}: case ids"
    );
    assert!(
        !text.contains(sockspec::runner::CHILD_COMMAND),
        "{shell}: offers the hidden child command"
    );
}

/// `man` on a page, as plain text 80 columns wide: (status, text, warnings).
fn man(args: &[&str], manpath: Option<&Path>) -> (Option<i32>, String, String) {
    need("man", "man-db");
    let mut c = Command::new("man");
    c.args(args)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    if let Some(p) = manpath {
        c.env("MANPATH", p);
    }
    let o = c.output().expect("man");
    (
        o.status.code(),
        stdout(&o),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn page(dir: &Path) -> PathBuf {
    let o = sockspec(&["man"]);
    assert_eq!(Some(0), o.status.code());
    let path = dir.join("sockspec.1");
    std::fs::write(&path, &o.stdout).expect("write the page");
    path
}

#[test]
fn the_man_page_renders_without_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = page(dir.path());
    let (status, text, warnings) = man(&["--warnings", "-l", path.to_str().expect("utf-8")], None);
    assert_eq!((Some(0), ""), (status, warnings.as_str()), "{text}");
    for part in [
        "SOCKSPEC(1)",
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "outcome",
        "verdict",
        "COMMANDS",
        "sockspec run",
        "--baseline",
        "--repeat",
        "sockspec explain",
        "sockspec diff",
        "sockspec completions",
        "EXIT STATUS",
        "130",
        "ENVIRONMENT",
        "SOCKSPEC_DEADLINE_SCALE",
        "SOCKSPEC_BASELINES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(text.contains(part), "the page lacks {part:?}:\n{text}");
    }
    assert!(
        !text.contains(sockspec::runner::CHILD_COMMAND),
        "the page shows the hidden child command"
    );
    // Every line fits the width asked for.
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
    assert_eq!(Vec::<&str>::new(), wide);
}

/// Installed as the README says (a man1 directory on the manual path),
/// `man sockspec` finds and shows it.
#[test]
fn the_installed_page_is_found_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let man1 = dir.path().join("share/man/man1");
    std::fs::create_dir_all(&man1).expect("mkdir");
    page(&man1);
    let manpath = dir.path().join("share/man");
    let (status, text, warnings) = man(&["sockspec"], Some(&manpath));
    assert_eq!(Some(0), status, "{warnings}");
    assert!(text.contains("SOCKSPEC(1)"), "{text}");
}
