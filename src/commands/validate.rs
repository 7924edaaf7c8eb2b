//! `trajkit validate`: every record, turn and step checked before anything is trained on it.

use std::collections::BTreeMap;

use anyhow::Result;

use super::settings::{for_each_record, input_settings, thread_pool};
use super::{Exit, Output};
use crate::cli::{FormatArg, ValidateArgs};
use trajkit::diagnostic::{Code, Diagnostic};
use trajkit::validate::{LocatedDiagnostic, RecordReport, Severity, Validator};

pub fn run(args: ValidateArgs) -> Result<Exit> {
    let input = input_settings(&args.input);
    let ingest = input.ingest_options()?;
    let written = input.read_tools()?;
    let (validator, tool_findings) = Validator::new(ingest, written.as_deref());
    let pool = thread_pool(args.threads)?;
    let mut out = Output::open(None)?;
    let mut summary = Summary::default();
    let json = matches!(args.format, FormatArg::Json);

    if let Some(tools) = &args.input.tools {
        summary.add_findings(&tool_findings);
        for finding in &tool_findings {
            if !out.line(&format_finding(json, tools, None, None, finding))? {
                return Ok(summary.exit());
            }
        }
    }
    let work = |record: &trajkit::source::RawRecord| trajkit::pairs::validate_record(&validator, record);
    for_each_record(&args.inputs, &pool, work, |record, report| {
        summary.add(&report);
        for finding in &report.findings {
            let line =
                format_finding(json, &record.location.file, Some(record.location.line), report.id.as_deref(), finding);
            if !out.line(&line)? {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    let table = summary.table();
    if json {
        eprint!("{table}");
    } else {
        out.line(table.trim_end())?;
    }
    out.finish()?;
    Ok(summary.exit())
}

/// One finding: `file:line: error[code] (id x) path: message`, or a JSON object.
fn format_finding(json: bool, file: &str, line: Option<usize>, id: Option<&str>, f: &Diagnostic) -> String {
    if json {
        return LocatedDiagnostic { file, line, id, diagnostic: f }.json_line();
    }
    let place = match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    };
    let id = id.map(|id| format!(" (id {id})")).unwrap_or_default();
    let path = if f.path.is_empty() { String::new() } else { format!(" {}", f.path) };
    format!("{place}: {}[{}]{id}{path}: {}", f.severity, f.code, f.message)
}

#[derive(Default)]
struct Summary {
    records: usize,
    with_errors: usize,
    with_warnings_only: usize,
    /// (severity, code) → (findings, records with it)
    codes: BTreeMap<(Severity, Code), (usize, usize)>,
}

impl Summary {
    fn add(&mut self, report: &RecordReport) {
        self.records += 1;
        let errors = report.errors();
        if errors > 0 {
            self.with_errors += 1;
        } else if !report.findings.is_empty() {
            self.with_warnings_only += 1;
        }
        self.add_findings(&report.findings);
    }

    fn add_findings(&mut self, findings: &[Diagnostic]) {
        let mut seen = std::collections::HashSet::new();
        for f in findings {
            let entry = self.codes.entry((f.severity, f.code)).or_default();
            entry.0 += 1;
            if seen.insert((f.severity, f.code)) {
                entry.1 += 1;
            }
        }
    }

    fn errors(&self) -> usize {
        self.codes.iter().filter(|((s, _), _)| *s == Severity::Error).map(|(_, (n, _))| n).sum()
    }

    fn exit(&self) -> Exit {
        if self.errors() > 0 {
            Exit::Problems
        } else {
            Exit::Success
        }
    }

    /// A count per code and severity, then one line for the records.
    fn table(&self) -> String {
        let mut s = String::new();
        if !self.codes.is_empty() {
            let width = self.codes.keys().map(|(_, c)| c.as_str().len()).max().unwrap_or(4).max(4);
            s.push_str(&format!("\n{:<width$}  {:<8}  {:>8}  {:>8}\n", "code", "severity", "findings", "records"));
            for ((severity, code), (n, records)) in &self.codes {
                s.push_str(&format!("{code:<width$}  {:<8}  {n:>8}  {records:>8}\n", severity.as_str()));
            }
        }
        let clean = self.records - self.with_errors - self.with_warnings_only;
        s.push_str(&format!(
            "validated {} records: {} with errors, {} with warnings only, {} clean\n",
            self.records, self.with_errors, self.with_warnings_only, clean
        ));
        s
    }
}
