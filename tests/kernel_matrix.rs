//! scripts/kernel-matrix.sh: bad command lines are refused in one line; a
//! kernel package without a vmlinuz, without modules or without a module the
//! cases need is named with what it lacks; a guest that panics is reported
//! with its console's last lines (not as a timeout); one series gives its
//! report, the diff and the matrix page. The tests that boot Debian's 5.10
//! cloud kernel under qemu (downloaded once into the target directory) or
//! read Debian's package lists are ignored by default, for the suite's time;
//! run them with `cargo test --test kernel_matrix -- --ignored` (as root).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;

/// The script's output directory is shared (downloads are kept): one run at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn script(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kernel-matrix.sh"))
        .args(args)
        .env("SOCKSPEC_BIN", common::exe())
        .stdin(Stdio::null())
        .output()
        .expect("run kernel-matrix.sh")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("kernel-matrix.sh tests need root (the script installs qemu and friends): skipped");
    false
}

/// Where the booting tests keep their downloads between runs.
fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kernel-matrix")
}

#[test]
fn bad_command_lines_are_refused_in_one_line() {
    for (args, message) in [
        (
            &["7.9"][..],
            "kernel-matrix.sh: unknown kernel '7.9': a series (5.10 6.1 6.12 sid rc), host, a linux-image-* package name or a .deb file (see --help)\n",
        ),
        (&["--jobs", "0"][..], "kernel-matrix.sh: --jobs needs a number of guests (see --help)\n"),
        (&["--cases"][..], "kernel-matrix.sh: --cases needs a pattern (see --help)\n"),
        (&["--frobnicate"][..], "kernel-matrix.sh: unknown option '--frobnicate' (see --help)\n"),
        (&["nowhere.deb"][..], "kernel-matrix.sh: no such kernel package file 'nowhere.deb' (see --help)\n"),
    ] {
        let o = script(args);
        assert_eq!((o.status.code(), stderr(&o)), (Some(2), message.to_string()), "{args:?}");
    }
}

#[test]
fn help_names_the_series_and_the_default() {
    let o = script(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "5.10 (bullseye, bullseye-security)",
        "rc (the release candidate in",
        "Default: 5.10 6.1 6.12 sid host.",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
}

/// A kernel package of one's own, built with dpkg-deb from `files`
/// (path inside the package, contents).
fn fake_deb(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("DEBIAN")).expect("mkdir");
    std::fs::write(
        tree.join("DEBIAN/control"),
        "Package: linux-image-9.9.9-test\nVersion: 1\nArchitecture: amd64\nMaintainer: test <test@example.org>\nDescription: test kernel\n",
    )
    .expect("control");
    for (path, contents) in files {
        let p = tree.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, contents).expect("write");
    }
    let deb = dir.join("linux-image-9.9.9-test_1_amd64.deb");
    let st = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&tree)
        .arg(&deb)
        .stdout(Stdio::null())
        .status()
        .expect("dpkg-deb");
    assert!(st.success());
    deb
}

/// Runs the script on a made-up package; returns its last stderr line.
fn fails_on(files: &[(&str, &[u8])]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let deb = fake_deb(dir.path(), files);
    let out = dir.path().join("out");
    let o = script(&["--out", &out.to_string_lossy(), &deb.to_string_lossy()]);
    let err = stderr(&o);
    let last = err.lines().last().unwrap_or_default().to_string();
    (o.status.code(), last)
}

#[test]
fn a_package_without_vmlinuz_is_named() {
    if !root() {
        return;
    }
    assert_eq!(
        fails_on(&[("lib/modules/9.9.9-test/kernel/drivers/net/veth.ko", b"")]),
        (
            Some(1),
            "kernel-matrix.sh: linux-image-9.9.9-test_1_amd64.deb: no vmlinuz for 9.9.9-test in linux-image-9.9.9-test_1_amd64.deb (neither boot/vmlinuz-9.9.9-test nor usr/lib/modules/9.9.9-test/vmlinuz)".to_string()
        )
    );
}

#[test]
fn a_package_without_modules_is_named() {
    if !root() {
        return;
    }
    assert_eq!(
        fails_on(&[("boot/vmlinuz-9.9.9-test", b"not a kernel")]),
        (
            Some(1),
            "kernel-matrix.sh: linux-image-9.9.9-test_1_amd64.deb: no kernel modules in linux-image-9.9.9-test_1_amd64.deb (neither lib/modules/ nor usr/lib/modules/)".to_string()
        )
    );
}

#[test]
fn a_missing_module_the_cases_need_is_named() {
    if !root() {
        return;
    }
    let (code, last) = fails_on(&[
        ("usr/lib/modules/9.9.9-test/vmlinuz", b"not a kernel"),
        ("usr/lib/modules/9.9.9-test/kernel/fs/ext4.ko", b""),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        last.starts_with("kernel-matrix.sh: linux-image-9.9.9-test_1_amd64.deb: kernel module veth is missing: neither in ")
            && last.ends_with("/lib/modules/9.9.9-test nor built in (modules.builtin, config)"),
        "{last}"
    );
}

#[test]
#[ignore = "boots a Debian kernel under qemu (downloads it once): cargo test --test kernel_matrix -- --ignored"]
fn a_guest_that_panics_shows_its_console() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = out_dir();
    // No init in the initramfs: the kernel looks for a root file system, finds none, panics.
    let o = script(&[
        "--out",
        &out.to_string_lossy(),
        "--append",
        "rdinit=/nowhere",
        "--timeout",
        "120",
        "5.10",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("kernel-matrix.sh: 5.10: guest 5.10.0-"),
        "{err}"
    );
    assert!(err.contains("-cloud-amd64 panicked after "), "{err}");
    assert!(
        err.contains("    | ") && err.contains("Kernel panic"),
        "no console lines: {err}"
    );
    assert!(
        !err.contains("did not finish"),
        "a timeout that did not happen: {err}"
    );
}

#[test]
#[ignore = "boots a Debian kernel under qemu (downloads it once): cargo test --test kernel_matrix -- --ignored"]
fn one_series_gives_its_report_diff_and_page() {
    // One case with no timing in it (setsockopt's bounds): the test is about
    // the way there and back, and a loaded machine must not fail it.
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = out_dir();
    let o = script(&[
        "--out",
        &out.to_string_lossy(),
        "--cases",
        "ip_ttl.bounds",
        "5.10",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}{text}", stderr(&o));
    let report = std::fs::read_dir(&out)
        .expect("out dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("5.10.0-"))
                && p.extension().is_some_and(|e| e == "json")
        })
        .expect("a 5.10 report");
    let r = sockspec::report::diff::load(&report).expect("report");
    assert!(
        r.kernel.starts_with("5.10.0-") && r.kernel.ends_with("-cloud-amd64"),
        "{}",
        r.kernel
    );
    let ran: Vec<(&str, String)> = r
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.outcome.to_string()))
        .collect();
    assert_eq!(
        ran,
        vec![("ip_ttl.bounds", "pass".to_string())],
        "{}",
        r.cases[0].reason
    );
    let page = std::fs::read_to_string(out.join("matrix.html")).expect("matrix.html");
    assert!(page.contains(&r.kernel) && page.contains("id=\"case-ip_ttl.bounds\""));
    assert!(out.join("matrix.md").is_file() && out.join("diff.txt").is_file());
    assert!(text.contains("matrix: 1 kernels in "), "{text}");
}

/// Every series resolves, through the private apt configuration, to its
/// newest cloud kernel; sid's and the release candidate's come in the split
/// packaging (image, base, binary, modules).
#[test]
#[ignore = "reads Debian's package lists for five suites over the network: cargo test --test kernel_matrix -- --ignored"]
fn every_series_resolves_to_its_packages() {
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = out_dir();
    let o = script(&[
        "--out",
        &out.to_string_lossy(),
        "--list",
        "5.10",
        "6.1",
        "6.12",
        "sid",
        "rc",
        "host",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<(&str, Vec<&str>)> = text
        .lines()
        .map(|l| {
            let mut w = l.split(' ');
            (
                w.next().unwrap_or_default(),
                w.map(|p| p.split('=').next().unwrap_or_default()).collect(),
            )
        })
        .collect();
    let series: Vec<&str> = lines.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        series,
        vec!["5.10", "6.1", "6.12", "sid", "rc", "host"],
        "{text}"
    );
    let image = |i: usize| lines[i].1[0];
    assert!(
        image(0).starts_with("linux-image-5.10.0-") && image(0).ends_with("-cloud-amd64"),
        "{text}"
    );
    assert!(
        image(1).starts_with("linux-image-6.1.0-") && !image(1).contains("deb11"),
        "{text}"
    );
    assert!(image(2).starts_with("linux-image-6.12."), "{text}");
    for split in [3, 4] {
        let kinds: Vec<&str> = lines[split]
            .1
            .iter()
            .map(|p| p.split('-').nth(1).unwrap_or_default())
            .collect();
        assert_eq!(kinds, vec!["image", "base", "binary", "modules"], "{text}");
    }
    assert_eq!(lines[5].1, vec!["host"]);
    // /etc/apt is left alone: the suites are the script's own.
    let sources = std::fs::read_to_string(out.join("apt/sources.list")).expect("sources.list");
    assert!(
        sources.contains(" experimental main") && sources.contains(" bullseye-security main"),
        "{sources}"
    );
}

/// Processes whose command line mentions `needle` (qemu names its files by path).
fn processes_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.starts_with("qemu-system") && c.contains(needle))
        .collect()
}

/// A kill while a guest boots ends the guest too: nothing is left running.
#[test]
#[ignore = "boots a Debian kernel under qemu (downloads it once): cargo test --test kernel_matrix -- --ignored"]
fn killing_the_script_ends_its_guests() {
    use std::io::BufRead;
    if !root() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = out_dir();
    let mut child = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kernel-matrix.sh"))
        .args([
            "--out",
            &out.to_string_lossy(),
            "--cases",
            "ip_ttl.bounds",
            "5.10",
        ])
        .env("SOCKSPEC_BIN", common::exe())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kernel-matrix.sh");
    let err = child.stderr.take().expect("stderr");
    let booting = std::io::BufReader::new(err)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("booting 5.10"));
    assert!(booting, "the guest never started booting");
    assert!(
        !processes_with(&out.to_string_lossy()).is_empty(),
        "no qemu seen while booting"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(processes_with(&out.to_string_lossy()), Vec::<String>::new());
}

/// A mirror that cannot be reached is said as such, with apt's own words
/// (a closed port on this machine: refused at once).
#[test]
fn an_unreachable_mirror_is_named() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // apt's own configuration file, read before the script's options: no
    // retries (apt's default backs off 1, 2 and 4 s before giving up).
    let conf = dir.path().join("apt.conf");
    std::fs::write(&conf, "Acquire::Retries \"0\";\n").expect("apt.conf");
    let o = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kernel-matrix.sh"))
        .args(["--out", &dir.path().to_string_lossy(), "--list", "sid"])
        .env("SOCKSPEC_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
        .env("APT_CONFIG", &conf)
        .stdin(Stdio::null())
        .output()
        .expect("run kernel-matrix.sh");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "kernel-matrix.sh: cannot get Debian's package lists (apt-get update failed):\n"
        ),
        "{err}"
    );
    assert!(err.contains("127.0.0.1"), "apt's error is shown: {err}");
}
