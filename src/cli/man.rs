//! The manual page, sockspec(1), generated from the command line's own
//! definitions: clap_mangen renders each command's synopsis, description and
//! options; the sections clap has no place for (the report's terms, exit
//! status, environment, files, examples) come from the same data as `--help`.

use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use super::{Section, ENVIRONMENT, EXAMPLES, EXIT_STATUS, INTRO, TERMS};

const FILES: &[(&str, &str)] = &[
    (
        "fixtures/baselines/<kernel release>.json",
        "the recorded baselines, built into sockspec for --baseline auto",
    ),
    (
        "sockspec-artifacts/<case id>.pcap",
        "the packets captured by a failing case (--artifacts), for tcpdump -r or Wireshark",
    ),
    (
        "<DIR>/<case id>.pcap",
        "every case's capture with run --pcap DIR",
    ),
    (
        "$XDG_STATE_HOME/sockspec/last-failed",
        "the cases that failed in the last report written with run --output, for run --failed \
         (~/.local/state/sockspec/last-failed when XDG_STATE_HOME is unset)",
    ),
    (
        "fixtures/report.schema.json",
        "the JSON Schema of the report (--format json), in the source tree",
    ),
];

const SEE_ALSO: &[(&str, &str)] = &[
    ("socket", "7"),
    ("tcp", "7"),
    ("udp", "7"),
    ("ip", "7"),
    ("ipv6", "7"),
    ("ip-netns", "8"),
    ("tcpdump", "8"),
];

/// Roff lines rendered by `render`, without the apostrophe preamble every
/// render starts with (the page has it once, at its top) and, with
/// `drop_heading`, without the `.SH` heading clap_mangen put first: the page
/// places that body under a heading of its own.
fn lines(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>, drop_heading: bool) -> String {
    let mut buf = Vec::new();
    if render(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let mut body = text
        .lines()
        .skip_while(|l| l.starts_with(".ie \\n(.g .ds Aq") || l.starts_with(".el .ds Aq"))
        .peekable();
    if drop_heading && body.peek().is_some_and(|l| l.starts_with(".SH")) {
        body.next();
    }
    body.map(|l| format!("{l}\n")).collect()
}

fn items(roff: &mut Roff, items: &[(&str, &str)]) {
    for (term, meaning) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*meaning)]);
    }
}

fn section(roff: &mut Roff, s: &Section) {
    roff.control("SH", [s.title.to_uppercase().as_str()]);
    items(roff, s.items);
}

/// sockspec(1) as roff.
pub fn page() -> String {
    let cmd = super::command().bin_name("sockspec");
    let version = cmd.get_version().unwrap_or_default().to_string();
    let commands: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        // Every command's -h/--help is said once, not under each command.
        .map(|c| {
            c.clone()
                .bin_name(format!("sockspec {}", c.get_name()))
                .disable_help_flag(true)
        })
        .collect();
    let man = Man::new(cmd);

    // The apostrophe preamble (all that an empty Roff renders), then the
    // title without a date, so the page is the same whenever it is generated
    // (the empty date is quoted: unquoted, .TH would read the source as the
    // date; clap_mangen leaves it unquoted).
    let mut page = String::new();
    let mut top = Vec::new();
    if Roff::new().to_writer(&mut top).is_ok() {
        page.push_str(&String::from_utf8_lossy(&top));
    }
    page.push_str(&format!(
        ".TH SOCKSPEC 1 \"\" \"sockspec {version}\" \"User Commands\"\n"
    ));
    page.push_str(&lines(|w| man.render_name_section(w), false));

    page.push_str(".SH SYNOPSIS\n");
    for (i, c) in commands.iter().enumerate() {
        if i > 0 {
            page.push_str(".br\n");
        }
        let m = Man::new(c.clone());
        page.push_str(&lines(|w| m.render_synopsis_section(w), true));
    }

    let mut description = Roff::new();
    description.control("SH", ["DESCRIPTION"]);
    description.text([roman(INTRO)]);
    items(&mut description, TERMS);
    description.text([roman("The verdicts:")]);
    items(&mut description, &super::verdicts());
    page.push_str(&lines(|w| description.to_writer(w), false));

    page.push_str(".SH COMMANDS\n");
    for c in &commands {
        page.push_str(&format!(".SS {}\n", c.get_name()));
        let m = Man::new(c.clone());
        page.push_str(&lines(|w| m.render_synopsis_section(w), true));
        page.push_str(".PP\n");
        page.push_str(&lines(|w| m.render_description_section(w), true));
        if c.get_arguments().any(|a| !a.is_hide_set()) {
            page.push_str(&lines(|w| m.render_options_section(w), true));
        }
    }

    let mut tail = Roff::new();
    section(&mut tail, &EXIT_STATUS);
    section(&mut tail, &ENVIRONMENT);
    tail.control("SH", ["FILES"]);
    items(&mut tail, FILES);
    section(&mut tail, &EXAMPLES);
    tail.control("SH", ["SEE ALSO"]);
    let mut refs = Vec::new();
    for (i, (name, sec)) in SEE_ALSO.iter().enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(*name));
        refs.push(roman(format!("({sec})")));
    }
    tail.text(refs);
    tail.control("SH", ["VERSION"]);
    tail.text([italic(version)]);
    page.push_str(&lines(|w| tail.to_writer(w), false));
    page
}
