//! One file per subcommand, plus what they share.

pub mod check_mask;
pub mod convert;
pub mod eval;
pub mod inspect_template;
pub mod pairs;
pub mod progress;
pub mod report;
pub mod score;
pub mod settings;
pub mod sink;
pub mod stats;
pub mod validate;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context as _, Result};

/// Exit codes, as ripgrep uses them: 0 ok, 1 the checks found problems, 2 could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Problems,
    Error,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Problems => 1,
            Exit::Error => 2,
        }
    }
}

/// The exit code after Ctrl-C (128 + SIGINT), also used for SIGTERM and SIGHUP.
pub const INTERRUPTED: i32 = 130;

/// Where rows go: stdout, or a file that appears whole or not at all ([`StagedFile`]). A closed pipe
/// (`| head`) ends the run quietly.
pub struct Output {
    target: Option<Target>,
    closed: bool,
}

/// Output buffer size. A record's rows are usually larger and then go to the OS as they are,
/// without a copy through the buffer (a per-turn run writes ~15x its input).
const WRITE_BUFFER: usize = 64 << 10;

enum Target {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File(StagedFile),
}

impl Output {
    pub fn open(path: Option<&str>) -> Result<Output> {
        let target = match path {
            None | Some("-") => Target::Stdout(BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock())),
            Some(p) => Target::File(StagedFile::create(p)?),
        };
        Ok(Output { target: Some(target), closed: false })
    }

    /// Write one line; false once the reader has gone away.
    pub fn line(&mut self, text: &str) -> Result<bool> {
        self.write(&[text.as_bytes(), b"\n"])
    }

    /// Write whole lines, each ending in a newline, as they are (no UTF-8 check: the caller made
    /// them); false once the reader has gone away.
    pub fn lines(&mut self, lines: &[u8]) -> Result<bool> {
        debug_assert!(lines.is_empty() || lines.ends_with(b"\n"));
        self.write(&[lines])
    }

    fn write(&mut self, parts: &[&[u8]]) -> Result<bool> {
        let Some(writer) = self.writer() else { return Ok(false) };
        let written = parts.iter().try_for_each(|part| writer.write_all(part));
        self.check(written)
    }

    /// Hand what is buffered to the reader now (a reply a client is waiting for; a file target still
    /// appears only at [`Output::finish`]); false once the reader has gone away.
    pub fn flush(&mut self) -> Result<bool> {
        let Some(writer) = self.writer() else { return Ok(false) };
        let flushed = writer.flush();
        self.check(flushed)
    }

    fn writer(&mut self) -> Option<&mut dyn Write> {
        match &mut self.target {
            _ if self.closed => None,
            Some(Target::Stdout(w)) => Some(w),
            Some(Target::File(f)) => Some(f),
            None => None,
        }
    }

    /// Flush stdout, or put the finished file in place. Without this, a file target is left as it
    /// was before the run.
    pub fn finish(&mut self) -> Result<()> {
        match self.target.take() {
            Some(Target::Stdout(mut w)) if !self.closed => {
                let flushed = w.flush();
                self.check(flushed)?;
            }
            Some(Target::File(f)) => f.commit()?,
            _ => {}
        }
        Ok(())
    }

    /// End a run that failed: stdout keeps what was written, a file target is left as it was.
    pub fn abandon(mut self) {
        if let Some(Target::Stdout(mut w)) = self.target.take() {
            let _ = w.flush();
        }
    }

    fn check(&mut self, result: io::Result<()>) -> Result<bool> {
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(e).context("cannot write output"),
        }
    }
}

/// A file written under a temporary name beside its target (`.NAME.trajkit-PID.tmp`, same folder so
/// the rename cannot cross file systems) and renamed over the target once complete and synced. The
/// target therefore holds its previous contents or the whole new file, never a part of one: an error
/// (a full disk), Ctrl-C or SIGTERM remove the temporary file; after SIGKILL it is left beside the
/// target, which is still untouched. A symbolic link stays a link (the file it points to is
/// replaced), a replaced file keeps its permissions, and a target that is not a regular file (a
/// device such as `/dev/stdout`, a named pipe) is written directly, since it cannot be replaced.
pub struct StagedFile {
    target: PathBuf,
    /// `None` when writing directly to the target.
    temp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

/// Temporary files not yet renamed, for the interrupt handler to remove.
static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl StagedFile {
    pub fn create(target: &str) -> Result<StagedFile> {
        let cannot = || format!("cannot create {target}");
        let existing = fs::metadata(target).ok();
        if existing.as_ref().is_some_and(|m| !m.is_file() && !m.is_dir()) {
            let file = OpenOptions::new().write(true).open(target).with_context(cannot)?;
            let writer = Some(BufWriter::with_capacity(WRITE_BUFFER, file));
            return Ok(StagedFile { target: target.into(), temp: None, writer });
        }
        let is_link = fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink());
        let target = if is_link { fs::canonicalize(target).with_context(cannot)? } else { PathBuf::from(target) };
        let name = target.file_name().with_context(|| format!("{}: not a file name", cannot()))?;
        let temp = target.with_file_name(format!(".{}.trajkit-{}.tmp", name.to_string_lossy(), std::process::id()));
        let mut staged = STAGED.lock().unwrap_or_else(|e| e.into_inner());
        let file = OpenOptions::new().write(true).create_new(true).open(&temp).with_context(cannot)?;
        staged.push(temp.clone());
        if let Some(previous) = existing {
            let _ = file.set_permissions(previous.permissions());
        }
        Ok(StagedFile { target, temp: Some(temp), writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)) })
    }

    /// Flush, sync and rename over the target.
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take().expect("a staged file is committed once");
        let written = writer.into_inner().map_err(|e| e.into_error());
        let Some(temp) = self.temp.take() else {
            return written.map(drop).with_context(|| format!("cannot write {}", self.target.display()));
        };
        let result = written
            .and_then(|file| file.sync_all())
            .with_context(|| format!("cannot write {}", self.target.display()))
            .and_then(|()| {
                let mut staged = STAGED.lock().unwrap_or_else(|e| e.into_inner());
                fs::rename(&temp, &self.target).with_context(|| format!("cannot create {}", self.target.display()))?;
                staged.retain(|p| p != &temp);
                Ok(())
            });
        if result.is_err() {
            discard(&temp);
        } else {
            sync_folder(&self.target);
        }
        result
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not yet committed").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for StagedFile {
    /// Not committed: close without writing what is still buffered, and remove the temporary file.
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            drop(writer.into_parts());
            if let Some(temp) = &self.temp {
                discard(temp);
            }
        }
    }
}

fn discard(temp: &Path) {
    let mut staged = STAGED.lock().unwrap_or_else(|e| e.into_inner());
    let _ = fs::remove_file(temp);
    staged.retain(|p| p != temp);
}

/// Make the rename itself durable (best effort; only where folders can be opened and synced).
fn sync_folder(target: &Path) {
    #[cfg(unix)]
    if let Some(folder) = target.parent() {
        let folder = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
        let _ = File::open(folder).and_then(|f| f.sync_all());
    }
    #[cfg(not(unix))]
    let _ = target;
}

/// On Ctrl-C, SIGTERM or SIGHUP: remove the temporary files of unfinished output, then exit 130.
/// Output already complete stays; stdout is cut where it was.
pub fn clean_up_on_interrupt() {
    let installed = ctrlc::set_handler(|| {
        let staged = STAGED.lock().unwrap_or_else(|e| e.into_inner());
        for temp in staged.iter() {
            let _ = fs::remove_file(temp);
        }
        let _ = writeln!(io::stderr(), "trajkit: interrupted");
        std::process::exit(INTERRUPTED);
    });
    if let Err(e) = installed {
        let _ = writeln!(io::stderr(), "trajkit: warning: cannot handle Ctrl-C: {e}");
    }
}
