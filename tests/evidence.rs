//! What a person sees, over the whole catalogue from one run: every case
//! that captured explains itself with a packet ladder (from the saved
//! report, without root and without running it again), `--pcap` writes one
//! readable capture per capturing case, no Rust syntax reaches any report
//! format, and the table fits an 80-column terminal with a summary of the
//! refuted and differing claims.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use pretty_assertions::assert_eq;
use sockspec::model::{CaseResult, Outcome};
use sockspec::report::{self, json::Report};

/// One run of the whole catalogue: its JSON report and its pcaps.
struct Run {
    _dir: tempfile::TempDir,
    report_path: PathBuf,
    report: Report,
    pcaps: PathBuf,
    /// What `sockspec explain ID --report` prints for every case, by id:
    /// rendered here by the function the command calls (one process per
    /// case would cost a debug binary's report parsing 238 times); the
    /// command itself is checked on one case of each outcome.
    explained: Vec<(String, String)>,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let report_path = dir.path().join("report.json");
        let pcaps = dir.path().join("pcaps");
        let o = Command::new(common::exe())
            .env("XDG_STATE_HOME", dir.path())
            .args(["run", "--format", "json", "--output"])
            .arg(&report_path)
            .arg("--pcap")
            .arg(&pcaps)
            .output()
            .expect("run the catalogue");
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let report = report::diff::load(&report_path).expect("the report");
        let explained = report
            .cases
            .iter()
            .map(|c| (c.id.clone(), report::explain::render(c, 100)))
            .collect();
        Run {
            _dir: dir,
            report_path,
            report,
            pcaps,
            explained,
        }
    })
}

fn explain(exe: &Path, id: &str, report: &Path) -> Output {
    Command::new(exe)
        .env("COLUMNS", "100")
        .args(["explain", id, "--report"])
        .arg(report)
        .output()
        .expect("explain")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn case<'r>(r: &'r Run, id: &str) -> &'r CaseResult {
    r.report
        .cases
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the report"))
}

/// Every case of the registry: a ladder when it captured, a sentence saying
/// why not when it did not. For one case of each outcome, `sockspec explain
/// --report` prints exactly that and exits 1 for a failure or an error.
#[test]
fn every_case_that_captured_explains_itself_with_a_ladder() {
    let r = run();
    let mut wrong = Vec::new();
    let mut outcomes_checked = Vec::new();
    for c in sockspec::cases::all() {
        let result = case(r, c.id);
        let (_, out) = r
            .explained
            .iter()
            .find(|(id, _)| id == c.id)
            .expect("explained");
        if !outcomes_checked.contains(&result.outcome) {
            outcomes_checked.push(result.outcome);
            let o = explain(&common::exe(), c.id, &r.report_path);
            let expected_status = match result.outcome {
                Outcome::Fail | Outcome::Error => 1,
                _ => 0,
            };
            if o.status.code() != Some(expected_status) || text(&o) != *out {
                wrong.push(format!(
                    "{}: `sockspec explain --report` exited {:?} (expected {expected_status}) and \
                     printed {}the rendering: {}",
                    c.id,
                    o.status.code(),
                    if text(&o) == *out { "" } else { "other than " },
                    String::from_utf8_lossy(&o.stderr)
                ));
            }
        }
        let arrows = out
            .lines()
            .filter(|l| l.contains("|--") || l.contains("|<-"))
            .count();
        if result.captured() > 0 {
            if !out.contains("\npacket ladder: ") || arrows == 0 {
                wrong.push(format!(
                    "{}: captured {} frames but explain shows no ladder:\n{out}",
                    c.id,
                    result.captured()
                ));
            }
        } else if !out.contains("\nno capture: ") {
            wrong.push(format!(
                "{}: captured nothing and does not say so:\n{out}",
                c.id
            ));
        }
    }
    assert_eq!(Vec::<String>::new(), wrong);
}

/// Where `Some(` or a `None` word occurs in `text`, with some context.
fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for needle in ["Some(", "None"] {
        for (at, _) in text.match_indices(needle) {
            let word_end = text[at + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            let word_start = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            if needle == "None" && !(word_end && word_start) {
                continue;
            }
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(40)
                .map_or(0, |(i, _)| i);
            let to = text[at..]
                .char_indices()
                .nth(50)
                .map_or(text.len(), |(i, _)| at + i);
            found.push(text[from..to].replace('\n', " "));
        }
    }
    found
}

/// No Rust Option syntax in the table, JSON, KTAP, JUnit or explain of any
/// case: each leak is reported with its case, its format and the text around
/// it. (The catalogue's areas are converted to `Show` one by one; until all
/// are, this names the cases that still leak.)
#[test]
fn no_rust_option_syntax_reaches_any_report() {
    let r = run();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&r.report_path).expect("report"))
            .expect("json");
    let table_options = report::table::Options::default();
    let mut all = Vec::new();
    for c in &r.report.cases {
        let one = std::slice::from_ref(c);
        let json_case = json["cases"]
            .as_array()
            .and_then(|cs| cs.iter().find(|x| x["id"] == c.id.as_str()))
            .map(|x| serde_json::to_string_pretty(x).unwrap_or_default())
            .unwrap_or_default();
        let explained = r
            .explained
            .iter()
            .find(|(id, _)| *id == c.id)
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        for (format, out) in [
            ("table", report::table::render(one, &table_options)),
            ("json", json_case),
            ("ktap", report::ktap::render(one)),
            ("junit", report::junit::render(one)),
            ("explain", explained),
        ] {
            let found = leaks(&out);
            for leak in found.iter().take(2) {
                all.push(format!("{} ({format}): ...{leak}...", c.id));
            }
            if found.len() > 2 {
                all.push(format!("{} ({format}): and {} more", c.id, found.len() - 2));
            }
        }
    }
    assert!(
        all.is_empty(),
        "Rust syntax in the reports of these cases:\n{}",
        all.join("\n")
    );
}

/// The pcap files: nanosecond magic, Ethernet, then (time, lengths, bytes)
/// records. Returns the frames' bytes.
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    assert!(b.len() >= 24, "{}: no pcap header", path.display());
    assert_eq!(
        (0xa1b2_3c4d, 1),
        (u32_at(0), u32_at(20)),
        "{}: magic, link type",
        path.display()
    );
    let mut frames = Vec::new();
    let mut at = 24;
    while at < b.len() {
        let caplen = u32_at(at + 8) as usize;
        frames.push(b[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    frames
}

/// tcpdump, installed with apt-get when missing and running as root.
fn tcpdump() -> Option<PathBuf> {
    let find = || {
        ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    };
    if find().is_none() && nix::unistd::geteuid().is_root() {
        for args in [&["update", "-qq"][..], &["install", "-y", "-qq", "tcpdump"]] {
            let _ = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    find()
}

#[test]
fn pcap_dir_holds_one_readable_capture_per_capturing_case() {
    let r = run();
    let mut written: Vec<String> = std::fs::read_dir(&r.pcaps)
        .expect("the --pcap directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = r
        .report
        .cases
        .iter()
        .filter(|c| c.captured() > 0)
        .map(|c| sockspec::runner::pcap_name(&c.id))
        .collect();
    expected.sort();
    assert_eq!(expected, written);
    let tcpdump = tcpdump();
    if tcpdump.is_none() {
        eprintln!(
            "tcpdump is missing (and cannot be installed here): pcaps read by this test only"
        );
    }
    for c in r.report.cases.iter().filter(|c| c.captured() > 0) {
        let path = r.pcaps.join(sockspec::runner::pcap_name(&c.id));
        let frames = read_pcap(&path);
        assert_eq!(c.captured(), frames.len(), "{}", path.display());
        for f in &frames {
            assert!(
                etherparse::LaxSlicedPacket::from_ethernet(f).is_ok(),
                "{}: a frame that is not Ethernet",
                path.display()
            );
        }
        if let Some(t) = &tcpdump {
            let o = Command::new(t)
                .args(["-nn", "-r"])
                .arg(&path)
                .output()
                .expect("tcpdump");
            assert!(
                o.status.success(),
                "tcpdump -r {}: {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(
                frames.len(),
                text(&o).lines().count(),
                "tcpdump -r {}",
                path.display()
            );
        }
        assert_eq!(
            Some(path.display().to_string()),
            c.pcap,
            "the report names the pcap"
        );
    }
}

/// `explain --report` reads the report and nothing else: what it prints
/// comes from the file (a reason and a duration written into it show, so
/// the case was not run again), and it needs no privilege (run as nobody
/// when the suite runs as root). How quick it is belongs to a benchmark, not
/// to a test that a loaded machine would fail.
#[test]
fn explain_of_a_saved_report_runs_nothing_and_needs_no_root() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let r = run();
    let id = "linger.zero_rst";
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&r.report_path).expect("report"))
            .expect("json");
    let saved = doc["cases"]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c["id"] == id))
        .expect("the case");
    saved["reason"] = "a reason only this report holds".into();
    saved["duration_ms"] = 4242.into();
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = common::public_copy(dir.path());
    let path = dir.path().join("saved.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let mut cmd = Command::new(&exe);
    cmd.env("COLUMNS", "100")
        .args(["explain", id, "--report"])
        .arg(&path)
        .current_dir(dir.path());
    if nix::unistd::geteuid().is_root() {
        cmd.uid(65534).gid(65534);
    }
    let o = cmd.output().expect("explain");
    let out = text(&o);
    assert_eq!(
        Some(0),
        o.status.code(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("a reason only this report holds"), "{out}");
    assert!(out.contains("outcome:     pass (4242 ms)"), "{out}");
    assert!(out.contains("\npacket ladder: "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("|-- R. --->|") && l.contains("seq")),
        "the closer's RST: {out}"
    );

    let o = Command::new(&exe)
        .args(["explain", "nosuch.case", "--report"])
        .arg(&path)
        .output()
        .expect("explain");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        (Some(2), 1),
        (o.status.code(), err.lines().count()),
        "{err}"
    );
    assert!(err.contains("has no case 'nosuch.case'"), "{err}");
}

/// The table of the whole catalogue laid out for 80 columns (the same
/// rendering `sockspec run` does, on this run's results): no line is wider,
/// and the summary names every refuted and every differing claim.
#[test]
fn the_catalogue_table_fits_80_columns_and_sums_up_the_verdicts() {
    let r = run();
    let o = report::table::Options {
        width: 80,
        ..Default::default()
    };
    let table = report::table::render(&r.report.cases, &o);
    assert_fits(&table, 80);
    for v in [
        sockspec::model::Verdict::Refuted,
        sockspec::model::Verdict::Differs,
    ] {
        let ids: Vec<&str> = r
            .report
            .cases
            .iter()
            .filter(|c| c.shown_verdict() == Some(v))
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, listed(&table, &format!("{v} (")), "{table}");
    }
}

fn assert_fits(text: &str, width: usize) {
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > width).collect();
    assert_eq!(Vec::<&str>::new(), wide, "lines wider than {width}");
}

/// The ids the summary lists under the heading that starts with `heading`.
fn listed<'t>(table: &'t str, heading: &str) -> Vec<&'t str> {
    table
        .lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .skip_while(|l| !l.starts_with("  "))
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// `sockspec run` itself at COLUMNS=80 (a few quick cases with a refuted,
/// a differing and a holding claim).
#[test]
fn run_at_80_columns_fits_and_lists_the_refuted_and_differing_claims() {
    let o = Command::new(common::exe())
        .env("COLUMNS", "80")
        .args(["run", "waitall.*", "recv.*", "lowat.*"])
        .output()
        .expect("run");
    let table = text(&o);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_fits(&table, 80);
    // The rows: id, outcome, verdict.
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let selected =
        sockspec::cases::select(&["waitall.*".into(), "recv.*".into(), "lowat.*".into()])
            .expect("cases");
    assert_eq!(selected.len(), rows.len(), "{table}");
    for verdict in ["refuted", "differs"] {
        let ids: Vec<&str> = rows
            .iter()
            .filter(|r| r[1] == "pass" && r[2] == verdict)
            .map(|r| r[0])
            .collect();
        assert!(
            !ids.is_empty(),
            "no {verdict} claim among these cases: {table}"
        );
        assert_eq!(ids, listed(&table, &format!("{verdict} (")), "{table}");
    }
}
