//! The matrix page in a real browser: headless Chromium loads the page that
//! `sockspec matrix` writes from the recorded baselines plus a kernel that
//! behaves differently, takes a screenshot, and the DOM it rendered (after the
//! page's own script ran) holds every kernel and every case id, lists only the
//! differing row under `#differs`, and shows a cell's reason and checks in
//! the panel when the address names that cell. Chromium (Debian's `chromium`)
//! is installed when missing, as root.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pretty_assertions::assert_eq;
use serde_json::Value;

fn baselines() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/baselines");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/baselines")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Chromium, installed with apt-get when missing and running as root.
fn chromium() -> PathBuf {
    if let Some(c) = find_chromium() {
        return c;
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs Chromium: install Debian's package (as root: apt-get install chromium)"
    );
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium"][..],
    ] {
        let st = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .expect("run apt-get");
        assert!(st.success(), "apt-get {args:?} failed");
    }
    find_chromium().expect("chromium installed but not on PATH")
}

/// Loads `url` headless; returns the DOM after the page's scripts ran.
fn render(url: &str, screenshot: Option<&Path>) -> String {
    let mut cmd = Command::new(chromium());
    // --no-sandbox: Chromium's sandbox refuses to start as root.
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1400,900",
        "--dump-dom",
    ]);
    if let Some(p) = screenshot {
        cmd.arg(format!("--screenshot={}", p.display()));
    }
    let out = cmd
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed on {url}");
    String::from_utf8(out.stdout).expect("DOM is UTF-8")
}

/// A copy of `base` from another made-up kernel that behaves the same.
fn same_kernel(base: &Path, dir: &Path) -> PathBuf {
    let mut r: Value =
        serde_json::from_str(&std::fs::read_to_string(base).expect("read")).expect("json");
    r["kernel"] = "7.2-test-amd64".into();
    let p = dir.join("7.2-test-amd64.json");
    std::fs::write(&p, r.to_string()).expect("write");
    p
}

/// A report's frame (time, length, interface, hex): a SYN, or a SYN-ACK.
fn frame(t_ns: i64, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, ack: bool) -> String {
    let mut b = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, 1000, 512)
        .syn();
    if ack {
        b = b.ack(1001);
    }
    let mut data = Vec::new();
    b.write(&mut data, &[]).expect("frame");
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{} {} lo {hex}",
        1_700_000_000_000_000_000 + t_ns,
        data.len()
    )
}

/// A copy of `base` from a made-up kernel on which `id` fails.
fn changed_kernel(base: &Path, id: &str, dir: &Path) -> PathBuf {
    let mut r: Value =
        serde_json::from_str(&std::fs::read_to_string(base).expect("read")).expect("json");
    r["kernel"] = "7.3-test-amd64".into();
    let case = r["cases"]
        .as_array_mut()
        .expect("cases")
        .iter_mut()
        .find(|c| c["id"] == id)
        .expect("case in baseline");
    case["outcome"] = "fail".into();
    case["checks"][0]["ok"] = false.into();
    case["checks"][0]["observed"] = "something else".into();
    // The frames a report keeps for the packet ladder: a SYN and its SYN-ACK.
    case["frames"] = serde_json::json!([
        frame(0, [10, 0, 0, 1], 40000, [10, 0, 0, 2], 80, false),
        frame(50_000, [10, 0, 0, 2], 80, [10, 0, 0, 1], 40000, true),
    ]);
    let p = dir.join("7.3-test-amd64.json");
    std::fs::write(&p, r.to_string()).expect("write");
    p
}

/// `<tr ...>` of the row with this id attribute.
fn row_tag<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"case-{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}"));
    let start = dom[..at].rfind("<tr").expect("row start");
    &dom[start..at + dom[at..].find('>').expect("tag end")]
}

#[test]
fn the_matrix_page_renders_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A recorded baseline, the same behaviour on another kernel, and a kernel
    // on which one case fails: exactly one row differs, whatever the
    // recorded baselines say of one another.
    let base = baselines()
        .pop()
        .expect("no baselines in fixtures/baselines");
    let changed = "linger.zero_rst";
    let reports = vec![
        base.clone(),
        same_kernel(&base, dir.path()),
        changed_kernel(&base, changed, dir.path()),
    ];
    let page = dir.path().join("matrix.html");
    let st = Command::new(common::exe())
        .arg("matrix")
        .args(&reports)
        .arg("--output")
        .arg(&page)
        .status()
        .expect("run sockspec matrix");
    assert!(st.success());
    let parsed: Vec<sockspec::report::json::Report> = reports
        .iter()
        .map(|p| sockspec::report::diff::load(p).expect("report"))
        .collect();
    let mut ids: Vec<&str> = parsed
        .iter()
        .flat_map(|r| r.cases.iter().map(|c| c.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();

    let shot = dir.path().join("matrix.png");
    let url = format!("file://{}", page.display());
    let dom = render(&format!("{url}#differs"), Some(&shot));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);

    // Every kernel heads a column, every case has its row.
    let heads: Vec<String> = dom
        .split("<th class=\"kernel\">")
        .skip(1)
        .map(|s| s[..s.find('<').expect("end")].to_string())
        .collect();
    let kernels: Vec<String> = parsed.iter().map(|r| r.kernel.clone()).collect();
    assert_eq!(heads, kernels);
    let missing: Vec<&&str> = ids
        .iter()
        .filter(|id| !dom.contains(&format!("id=\"case-{id}\"")))
        .collect();
    assert_eq!(missing, Vec::<&&str>::new());

    // The page's script ran: under #differs only the changed row is shown.
    let shown: Vec<&&str> = ids
        .iter()
        .filter(|id| !row_tag(&dom, id).contains("hidden"))
        .collect();
    assert_eq!(shown, vec![&changed]);
    assert!(row_tag(&dom, changed).contains("class=\"row differs\""));
    assert!(dom.contains("1 of"), "summary names one differing case");

    // An address naming a cell opens its panel: reason, checks, what differs.
    let k = kernels.len() - 1;
    let dom = render(&format!("{url}#cell-{k}-{changed}"), None);
    let panel = &dom[dom.find("<aside id=\"panel\">").expect("panel")..];
    let panel = &panel[..panel.find("</aside>").expect("panel end")];
    for needle in [
        format!("<code>{changed}</code> on 7.3-test-amd64"),
        "<b>reason:</b>".to_string(),
        "<td class=\"bad\">FAIL</td>".to_string(),
        format!("<b>differs from {}:</b>", kernels[0]),
        "<li>outcome: pass -&gt; fail</li>".to_string(),
        "<b>packet ladder</b>".to_string(),
        "client |-- S ----&gt;| server".to_string(),
    ] {
        assert!(panel.contains(&needle), "panel lacks {needle}: {panel}");
    }
}
