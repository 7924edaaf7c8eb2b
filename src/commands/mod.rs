//! One file per subcommand, plus what they share.

pub mod check_mask;
pub mod convert;
pub mod inspect_template;
pub mod pairs;
pub mod eval;
pub mod score;
pub mod settings;
pub mod stats;
pub mod validate;

use std::fs::File;
use std::io::{self, BufWriter, Write};

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

/// Where rows go: stdout or a file. A closed pipe (`| head`) ends the run quietly.
pub struct Output {
    writer: BufWriter<Box<dyn Write>>,
    closed: bool,
}

impl Output {
    pub fn open(path: Option<&str>) -> Result<Output> {
        let writer: Box<dyn Write> = match path {
            None | Some("-") => Box::new(io::stdout().lock()),
            Some(p) => Box::new(File::create(p).with_context(|| format!("cannot create {p}"))?),
        };
        Ok(Output { writer: BufWriter::with_capacity(1 << 20, writer), closed: false })
    }

    /// Write one line; false once the reader has gone away.
    pub fn line(&mut self, text: &str) -> Result<bool> {
        if self.closed {
            return Ok(false);
        }
        let written = self.writer.write_all(text.as_bytes()).and_then(|_| self.writer.write_all(b"\n"));
        self.check(written)
    }

    pub fn finish(&mut self) -> Result<()> {
        if !self.closed {
            let flushed = self.writer.flush();
            self.check(flushed)?;
        }
        Ok(())
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
