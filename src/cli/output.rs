//! Where a report goes: standard output, or the `--output` file. The file is
//! checked before any case runs (its directory exists and takes a new file),
//! and written whole or not at all: into a temporary file beside it, renamed
//! into place at the end, so an interrupted or failed run never leaves half a
//! report, and a report already there stays until the new one is complete.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::interrupt;

pub enum Sink {
    Stdout,
    File {
        target: PathBuf,
        temp: tempfile::NamedTempFile,
    },
}

impl Sink {
    /// Standard output, or a temporary file beside `output` (which proves at
    /// once that the report can be written there).
    pub fn open(output: Option<&Path>) -> Result<Sink, String> {
        let Some(target) = output else {
            return Ok(Sink::Stdout);
        };
        let cannot =
            |why: String| format!("cannot write the report to {}: {why}", target.display());
        if target.is_dir() {
            return Err(cannot("it is a directory".into()));
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(cannot(format!("no directory {}", dir.display())));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| cannot("it names no file".into()))?;
        // 0666 less the umask, as a plain create would give.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| cannot(e.to_string()))?;
        interrupt::writing(temp.path().to_path_buf());
        Ok(Sink::File {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// Writes the whole report. Returns Ok(false) when the run was
    /// interrupted meanwhile: nothing was written.
    pub fn write(self, text: &str) -> Result<bool, String> {
        match self {
            Sink::Stdout => {
                if interrupt::interrupted() {
                    return Ok(false);
                }
                std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .map_err(|e| format!("cannot write the report: {e}"))?;
                Ok(true)
            }
            Sink::File { target, mut temp } => {
                let failed = |e: std::io::Error| format!("cannot write {}: {e}", target.display());
                temp.write_all(text.as_bytes()).map_err(failed)?;
                temp.as_file().sync_all().map_err(failed)?;
                // A report replacing another keeps its permissions.
                if let Ok(old) = std::fs::metadata(&target) {
                    temp.as_file()
                        .set_permissions(old.permissions())
                        .map_err(failed)?;
                }
                match interrupt::unless_interrupted(|| temp.persist(&target)) {
                    None => Ok(false),
                    Some(Ok(_)) => Ok(true),
                    Some(Err(e)) => Err(failed(e.error)),
                }
            }
        }
    }
}
