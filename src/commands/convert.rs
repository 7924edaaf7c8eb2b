//! `trajkit convert`: records in, training rows out, every record accounted for.
//!
//! Each record read is written or rejected, and the counts add up (read = written + rejected) on
//! stderr and in `--report`; rejected records and over-long rows go to `--rejects` with their place.
//! Files named with `-o`, `--rejects` and `--report` appear whole or not at all ([`StagedFile`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::progress::Progress;
use super::settings::{converter, for_each_selected_record, thread_pool, validation, Selection};
use super::sink::{Prepared, RowSink};
use super::{Exit, StagedFile};
use crate::cli::{ConvertArgs, EmitArg, MaxRejects, TruncateArg};
use trajkit::diagnostic::{Code, Diagnostic};
use trajkit::emit::EmitKind;
use trajkit::pipeline::{bytes_per_token, Expand, LengthLimit, Truncate};
use trajkit::source::RawRecord;

/// How many warning lines to print before only counting them.
const WARNINGS_SHOWN: usize = 20;

pub fn run(args: ConvertArgs) -> Result<Exit> {
    let emit = match args.emit {
        EmitArg::Tokens => EmitKind::Tokens,
        EmitArg::Messages => EmitKind::Messages,
        EmitArg::Text => EmitKind::Text,
    };
    // A length limit needs the tokenizer even when no tokens are written.
    let converter = converter(&args.render, emit == EmitKind::Tokens || args.max_length.is_some())?;
    let limit = args.max_length.map(|max_tokens| LengthLimit {
        max_tokens,
        truncate: match args.truncate {
            TruncateArg::Drop => Truncate::Drop,
            TruncateArg::Turns => Truncate::Turns,
        },
        bytes_per_token: converter.tokenizer.as_ref().map(bytes_per_token),
    });
    let pool = thread_pool(args.render.threads)?;
    let mut converter = converter;
    if args.validate {
        converter.validation = Some(validation(&converter.ingest, args.mask_bad_steps));
    }
    let mut out = RowSink::open(args.output.as_deref(), args.output_format, emit)?;
    let mut rejects = args.rejects.as_deref().map(StagedFile::create).transpose()?;
    let progress = Progress::new(&args.inputs, args.quiet);
    let say = |line: String| progress.println(line);
    let mut report = Report {
        inputs: args.inputs.clone(),
        output: args.output.clone().unwrap_or_else(|| "-".into()),
        complete: true,
        ..Report::default()
    };
    let mut strict_stop = false;
    let selection = Selection { shard: args.shard, bytes_read: progress.bytes_read() };
    let format = out.format();
    let result = for_each_selected_record(
        &args.inputs,
        &pool,
        &selection,
        |record| format.prepare(converter.convert_within(record, limit)),
        |record, Prepared { outcome, lines, tokens }| {
            progress.record(tokens);
            match outcome {
                Ok(done) => {
                    if !out.rows(&done.rows, &lines)? {
                        report.stopped = Some("the output was closed".into());
                        return Ok(false);
                    }
                    report.read += 1;
                    report.written += 1;
                    report.rows_written += done.rows.len();
                    report.tokens_written += tokens;
                    report.history_rewritten += usize::from(done.history_rewritten);
                    for w in &done.warnings {
                        report.warnings += 1;
                        *report.warnings_by_code.entry(w.code).or_default() += 1;
                        if report.warnings <= WARNINGS_SHOWN {
                            let id = done.rows.first().map(|r| r.id.as_str()).unwrap_or("");
                            say(format!("warning: {} (id {id}): {w}", record.location));
                        }
                    }
                    for row in &done.too_long {
                        report.rows_rejected += 1;
                        *report.rejects_by_code.entry(row.problem.code).or_default() += 1;
                        say(format!("error: {} (row {}): {}", record.location, row.id, row.problem));
                        if let Some(rejects) = &mut rejects {
                            let line = RejectLine::new(record, "row", Some(&row.id), &row.problem, Some(row.length));
                            writeln!(rejects, "{}", serde_json::to_string(&line)?)?;
                        }
                    }
                    Ok(true)
                }
                Err(error) => {
                    report.read += 1;
                    report.rejected += 1;
                    *report.rejects_by_code.entry(error.problem.code).or_default() += 1;
                    say(format!("error: {error}"));
                    if let Some(rejects) = &mut rejects {
                        let length = error.length.map(|n| n as usize);
                        let line = RejectLine::new(record, "record", error.id.as_deref(), &error.problem, length);
                        writeln!(rejects, "{}", serde_json::to_string(&line)?)?;
                    }
                    if args.strict {
                        strict_stop = true;
                        report.stopped = Some("--strict: stopped at the first rejected record".into());
                        return Ok(false);
                    }
                    Ok(true)
                }
            }
        },
    );
    progress.finish();
    if let Err(e) = &result {
        report.stopped = Some(format!("{e:#}"));
    }
    report.complete = report.stopped.is_none();
    let exceeded = args.max_rejects.filter(|m| m.exceeded(report.rejected, report.read));
    let exit = if result.is_err() || strict_stop {
        Exit::Error
    } else if exceeded.is_some() {
        Exit::Problems
    } else {
        Exit::Success
    };
    // Output only replaces the target after a run that succeeded; the reports are written in any case,
    // since they say what went wrong.
    if exit == Exit::Success {
        out.finish()?;
    } else {
        out.abandon();
    }
    if let Some(rejects) = rejects {
        rejects.commit()?;
    }
    report.exit_code = exit.code();
    if let Some(path) = &args.report {
        let mut file = StagedFile::create(path)?;
        serde_json::to_writer_pretty(&mut file, &report)?;
        writeln!(file)?;
        file.commit()?;
    }
    print_summary(&report, converter.template.name.as_str(), converter.expand == Expand::PerTurn || limit.is_some());
    if strict_stop {
        eprintln!("stopped at the first rejected record (--strict)");
    }
    if let Some(max) = exceeded {
        let kept = match &args.output {
            Some(path) if path != "-" => format!("; {path} was left as it was"),
            _ => String::new(),
        };
        eprintln!(
            "error: {} of {} records rejected ({:.1}%), over --max-rejects {max}{kept}",
            report.rejected,
            report.read,
            percent(report.rejected, report.read)
        );
    }
    result?;
    Ok(exit)
}

/// What `--report` writes, and what the summary on stderr says.
#[derive(Debug, Default, Serialize)]
struct Report {
    inputs: Vec<String>,
    output: String,
    /// Records read: each is written or rejected.
    read: usize,
    written: usize,
    rejected: usize,
    /// Rows written: more than `written` with `--expand per-turn`.
    rows_written: usize,
    /// Tokens in the rows written (0 when no tokens are written).
    tokens_written: usize,
    /// Rows over `--max-length` left out of records that were written (per-turn rows).
    rows_rejected: usize,
    warnings: usize,
    warnings_by_code: BTreeMap<Code, usize>,
    /// Rejected records and rows, by error code.
    rejects_by_code: BTreeMap<Code, usize>,
    /// Rows in which the template dropped the reasoning of supervised turns.
    history_rewritten: usize,
    /// Whether all input was read; if not, `stopped` says why.
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
    exit_code: u8,
}

/// One line of `--rejects`: where the record is, what is wrong, and the record as read.
#[derive(Serialize)]
struct RejectLine<'a> {
    file: &'a str,
    line: usize,
    /// `record` (the whole record) or `row` (one per-turn row over `--max-length`).
    kind: &'static str,
    id: Option<&'a str>,
    code: Code,
    path: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<usize>,
    record: Cow<'a, str>,
}

impl<'a> RejectLine<'a> {
    fn new(
        record: &'a RawRecord,
        kind: &'static str,
        id: Option<&'a str>,
        problem: &'a Diagnostic,
        length: Option<usize>,
    ) -> Self {
        let location = &record.location;
        let (code, path, message) = (problem.code, problem.path.as_str(), problem.message.as_str());
        RejectLine {
            file: &location.file,
            line: location.line,
            kind,
            id,
            code,
            path,
            message,
            length,
            record: record.original(),
        }
    }
}

fn print_summary(report: &Report, template: &str, rows_differ: bool) {
    if report.warnings > WARNINGS_SHOWN {
        eprintln!("warning: {} more warnings not shown", report.warnings - WARNINGS_SHOWN);
    }
    if report.history_rewritten > 0 {
        eprintln!(
            "warning: in {} row(s) the {template} template drops the reasoning of supervised turns before the last \
             user message, so those turns train without their thinking; use --expand per-turn to train every turn \
             with the history the model sees at inference",
            report.history_rewritten
        );
    }
    let by_code = |counts: &BTreeMap<Code, usize>| {
        counts.iter().map(|(code, n)| format!("{code} {n}")).collect::<Vec<_>>().join(", ")
    };
    if !report.warnings_by_code.is_empty() {
        eprintln!("warnings: {}", by_code(&report.warnings_by_code));
    }
    if !report.rejects_by_code.is_empty() {
        eprintln!("rejected: {}", by_code(&report.rejects_by_code));
    }
    let mut summary = format!("read {}, converted {}, rejected {}", report.read, report.written, report.rejected);
    if rows_differ {
        summary.push_str(&format!(", rows written {}", report.rows_written));
    }
    if report.rows_rejected > 0 {
        summary.push_str(&format!(", rows rejected {}", report.rows_rejected));
    }
    eprintln!("{summary}");
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl MaxRejects {
    fn exceeded(self, rejected: usize, read: usize) -> bool {
        match self {
            MaxRejects::Count(n) => rejected > n,
            MaxRejects::Percent(p) => percent(rejected, read) > p,
        }
    }
}
