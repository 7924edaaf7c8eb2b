//! Where `convert` puts its rows: JSON lines (stdout or a file), or a Parquet file.

use anyhow::{bail, Context as _, Result};

use super::{Output, StagedFile};
use crate::cli::OutputFormatArg;
use trajkit::emit::{EmitKind, Row};
use trajkit::parquet_out::ParquetRows;

pub enum RowSink {
    Lines { out: Output, emit: EmitKind, line: Vec<u8> },
    Parquet { rows: Box<ParquetRows<StagedFile>> },
}

impl RowSink {
    /// `--output-format`, else Parquet when the output file ends in `.parquet`, else JSONL.
    pub fn open(path: Option<&str>, format: Option<OutputFormatArg>, emit: EmitKind) -> Result<RowSink> {
        let parquet = match format {
            Some(f) => matches!(f, OutputFormatArg::Parquet),
            None => path.is_some_and(|p| p.to_ascii_lowercase().ends_with(".parquet")),
        };
        if !parquet {
            return Ok(RowSink::Lines { out: Output::open(path)?, emit, line: Vec::with_capacity(1 << 20) });
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

    /// Write one row; false once the reader has gone away (a closed pipe).
    pub fn row(&mut self, row: &Row) -> Result<bool> {
        match self {
            RowSink::Lines { out, emit, line } => {
                line.clear();
                row.write_json_line(*emit, line);
                out.line(std::str::from_utf8(line).expect("JSON is UTF-8"))
            }
            RowSink::Parquet { rows } => {
                rows.push(row).context("cannot write the Parquet output")?;
                Ok(true)
            }
        }
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
