//! `trajkit convert`: records in, training rows out, every record accounted for.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::{Context as _, Result};
use serde_json::json;

use super::settings::{converter, for_each_record, thread_pool};
use super::{Exit, Output};
use crate::cli::{ConvertArgs, EmitArg};
use trajkit::emit::EmitKind;
use trajkit::pipeline::Expand;

/// How many warning lines to print before only counting them.
const WARNINGS_SHOWN: usize = 20;

pub fn run(args: ConvertArgs) -> Result<Exit> {
    let emit = match args.emit {
        EmitArg::Tokens => EmitKind::Tokens,
        EmitArg::Messages => EmitKind::Messages,
        EmitArg::Text => EmitKind::Text,
    };
    let converter = converter(&args.render, emit == EmitKind::Tokens)?;
    let pool = thread_pool(args.render.threads)?;
    let converter = super::validate::with_validation(converter, args.validate, args.mask_bad_steps);
    let mut out = Output::open(args.output.as_deref())?;
    let mut rejects = match &args.rejects {
        Some(path) => Some(BufWriter::new(File::create(path).with_context(|| format!("cannot create {path}"))?)),
        None => None,
    };
    let progress = (!args.quiet && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} records · {per_sec} · {elapsed} {msg}")
                .expect("valid progress template"),
        );
        bar
    });
    let stderr = io::stderr();
    let (mut read, mut converted, mut rejected, mut rows, mut warnings, mut rewritten) = (0, 0, 0, 0, 0usize, 0);
    let mut exit = Exit::Success;
    for_each_record(
        &args.inputs,
        &pool,
        |record| converter.convert(record),
        |record, outcome| {
            read += 1;
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            match outcome {
                Ok(done) => {
                    converted += 1;
                    rewritten += usize::from(done.history_rewritten);
                    for w in &done.warnings {
                        warnings += 1;
                        if warnings <= WARNINGS_SHOWN {
                            let id = done.rows.first().map(|r| r.id.as_str()).unwrap_or("");
                            let line = format!("warning: {} (id {id}): {w}", record.location);
                            match &progress {
                                Some(bar) => bar.println(line),
                                None => eprintln!("{line}"),
                            }
                        }
                    }
                    for row in &done.rows {
                        rows += 1;
                        if !out.line(&row.to_json_line(emit))? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                }
                Err(error) => {
                    rejected += 1;
                    let line = format!("error: {error}");
                    match &progress {
                        Some(bar) => bar.println(line),
                        None => writeln!(stderr.lock(), "{line}")?,
                    }
                    if let Some(rejects) = &mut rejects {
                        let report = json!({
                            "file": &*record.location.file,
                            "line": record.location.line,
                            "id": error.id,
                            "code": error.problem.code,
                            "path": error.problem.path,
                            "message": error.problem.message,
                            "record": record.text.as_deref().unwrap_or(""),
                        });
                        writeln!(rejects, "{report}")?;
                    }
                    if args.strict {
                        exit = Exit::Error;
                        return Ok(false);
                    }
                    Ok(true)
                }
            }
        },
    )?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    out.finish()?;
    if let Some(mut rejects) = rejects {
        rejects.flush()?;
    }
    if warnings > WARNINGS_SHOWN {
        eprintln!("warning: {} more warnings not shown", warnings - WARNINGS_SHOWN);
    }
    if rewritten > 0 {
        eprintln!(
            "warning: in {rewritten} row(s) the {} template drops the reasoning of supervised turns before the last \
             user message, so those turns train without their thinking; use --expand per-turn to train every turn \
             with the history the model sees at inference",
            converter.template.name
        );
    }
    let expanded = if converter.expand == Expand::PerTurn { format!(", rows written {rows}") } else { String::new() };
    eprintln!("read {read}, converted {converted}, rejected {rejected}{expanded}");
    if exit == Exit::Error && args.strict {
        eprintln!("stopped at the first rejected record (--strict)");
    }
    Ok(exit)
}
