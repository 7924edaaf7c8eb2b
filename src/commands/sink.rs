//! Where `convert` puts its rows: JSON lines (stdout or a file), or a Parquet file.

use anyhow::{bail, Context as _, Result};

use super::{Output, StagedFile};
use crate::cli::OutputFormatArg;
use trajkit::emit::{EmitKind, Row};
use trajkit::parquet_out::ParquetRows;
use trajkit::pipeline::Outcome;

pub enum RowSink {
    Lines { out: Output, emit: EmitKind },
    Parquet { rows: Box<ParquetRows<StagedFile>> },
}

/// How rows are written, known to the workers so they can do the writing's work in parallel.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Lines(EmitKind),
    Parquet,
}

/// A converted record ready for the sink: for JSON lines, its rows already written as bytes (by the
/// worker that converted it) and the rows' big columns dropped, so a batch in flight holds no more
/// than its output.
pub struct Prepared {
    pub outcome: Outcome,
    pub lines: Vec<u8>,
    /// Tokens in the record's rows.
    pub tokens: usize,
}

impl Format {
    pub fn prepare(self, mut outcome: Outcome) -> Prepared {
        let (mut lines, mut tokens) = (Vec::new(), 0);
        if let Ok(done) = &mut outcome {
            tokens = done.rows.iter().map(|r| r.input_ids.len()).sum();
            if let Format::Lines(emit) = self {
                // Ids, masks and labels take about 7 + 2 + 5 bytes per token, and each list wants
                // room for 8 while it is written (emit::write_list); the text is there about twice,
                // in messages and tools. Reserved once instead of grown by copying; room never
                // touched costs no memory.
                lines.reserve(done.rows.iter().map(|r| r.input_ids.len() * 18 + 2 * r.text.len() + 1024).sum());
                for row in &mut done.rows {
                    row.write_json_line(emit, &mut lines);
                    lines.push(b'\n');
                    row.input_ids = Vec::new();
                    row.assistant_masks = Vec::new();
                    row.messages = Vec::new();
                    row.tools = Default::default();
                    row.text = String::new();
                    row.spans = Vec::new();
                    row.ordinary = Vec::new();
                }
            }
        }
        Prepared { outcome, lines, tokens }
    }
}

impl RowSink {
    pub fn format(&self) -> Format {
        match self {
            RowSink::Lines { emit, .. } => Format::Lines(*emit),
            RowSink::Parquet { .. } => Format::Parquet,
        }
    }

    /// Write a record's rows (`lines` when [`Format::prepare`] wrote them); false once the reader
    /// has gone away (a closed pipe).
    pub fn rows(&mut self, rows: &[Row], lines: &[u8]) -> Result<bool> {
        match self {
            // Written by emit as UTF-8 JSON, one row per line.
            RowSink::Lines { out, .. } => out.lines(lines),
            RowSink::Parquet { rows: parquet } => {
                for row in rows {
                    parquet.push(row).context("cannot write the Parquet output")?;
                }
                Ok(true)
            }
        }
    }

    /// `--output-format`, else Parquet when the output file ends in `.parquet`, else JSONL.
    pub fn open(path: Option<&str>, format: Option<OutputFormatArg>, emit: EmitKind) -> Result<RowSink> {
        let parquet = match format {
            Some(f) => matches!(f, OutputFormatArg::Parquet),
            None => path.is_some_and(|p| p.to_ascii_lowercase().ends_with(".parquet")),
        };
        if !parquet {
            return Ok(RowSink::Lines { out: Output::open(path)?, emit });
        }
        if emit != EmitKind::Tokens {
            bail!("Parquet output holds token rows; --emit messages and --emit text write JSONL");
        }
        let path = match path {
            Some(p) if p != "-" => p,
            _ => bail!("Parquet output needs a file: -o FILE.parquet"),
        };
        let rows = ParquetRows::new(StagedFile::create(path)?).with_context(|| format!("cannot write {path}"))?;
        Ok(RowSink::Parquet { rows: Box::new(rows) })
    }

    /// Complete the output (see [`Output::finish`]); a Parquet file gets its footer and is put in place.
    pub fn finish(self) -> Result<()> {
        match self {
            RowSink::Lines { mut out, .. } => out.finish(),
            RowSink::Parquet { rows } => rows.finish().context("cannot write the Parquet output")?.commit(),
        }
    }

    /// End a run that failed (see [`Output::abandon`]); a Parquet file is not created.
    pub fn abandon(self) {
        if let RowSink::Lines { out, .. } = self {
            out.abandon();
        }
    }
}
