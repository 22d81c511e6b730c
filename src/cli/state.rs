//! What `run --failed` runs again: the ids of the cases that failed or
//! errored in the last report written with `--output` (any format), kept in
//! `$XDG_STATE_HOME/sockspec/last-failed` (`~/.local/state/...` when
//! XDG_STATE_HOME is unset, as the XDG base directory specification says),
//! with the report's path on a comment line.

use std::io::Write;
use std::path::{Path, PathBuf};

use sockspec::model::{CaseResult, Outcome};

const FILE: &str = "last-failed";
const REPORT_LINE: &str = "# report: ";

/// Where the ids are kept, if this user has a state directory.
pub fn path() -> Option<PathBuf> {
    let dir = match std::env::var_os("XDG_STATE_HOME").filter(|d| Path::new(d).is_absolute()) {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".local/state")
        }
    };
    Some(dir.join("sockspec").join(FILE))
}

/// The ids (without a `--repeat` suffix) that failed or errored.
fn failed_ids(results: &[CaseResult]) -> Vec<String> {
    let mut ids: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error))
        .map(|r| r.id.split('#').next().unwrap_or(&r.id).to_string())
        .collect();
    ids.dedup();
    ids
}

/// Remembers which cases of the report just written to `report` failed.
pub fn remember(report: &Path, results: &[CaseResult]) -> Result<(), String> {
    let path = path().ok_or("neither XDG_STATE_HOME nor HOME is set")?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let report = std::path::absolute(report).unwrap_or_else(|_| report.to_path_buf());
    let mut text = format!(
        "# sockspec: the cases that failed or errored in the last report written with --output\n\
         {REPORT_LINE}{}\n",
        report.display()
    );
    for id in failed_ids(results) {
        text.push_str(&id);
        text.push('\n');
    }
    // Whole or not at all: two runs finishing together leave one list.
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    tmp.write_all(text.as_bytes()).map_err(cannot)?;
    tmp.persist(&path).map_err(|e| cannot(e.error))?;
    Ok(())
}

/// The report the ids came from, and the ids.
pub fn last_failed() -> Result<(String, Vec<String>), String> {
    let path = path().ok_or(
        "--failed needs to know where sockspec keeps its state: set XDG_STATE_HOME or HOME",
    )?;
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "--failed: no report has been written with --output yet (sockspec remembers its \
             failures in {})",
            path.display()
        ),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    let report = text
        .lines()
        .find_map(|l| l.strip_prefix(REPORT_LINE))
        .unwrap_or("an earlier report")
        .to_string();
    let ids = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    Ok((report, ids))
}
