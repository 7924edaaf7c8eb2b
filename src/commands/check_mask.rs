//! `trajkit check-mask`: show people exactly what will be trained on, and lint it. Reading and
//! checking a row is the library's [`trajkit::check_mask`]; this prints it.

use std::io::{self, IsTerminal, Write};

use anyhow::Result;

use super::settings::{convert_settings, for_each_record, thread_pool};
use super::{Exit, Output};
use crate::cli::{CheckMaskArgs, ColorArg};
use trajkit::check::supervised_runs;
use trajkit::check_mask::{CheckTotals, Checked, MaskChecker, RowReport};
use trajkit::source::RawRecord;
use trajkit::tokenize::TextTokenizer;

pub fn run(args: CheckMaskArgs) -> Result<Exit> {
    let pool = thread_pool(args.render.threads)?;
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => io::stdout().is_terminal(),
    };
    let mut out = Output::open(None)?;
    let mut stats = CheckTotals::default();
    let checker = MaskChecker::new(convert_settings(&args.render));
    let rows_of = |record: &RawRecord| checker.rows(record);

    for_each_record(&args.inputs, &pool, rows_of, |record, rows| {
        let rows = match rows {
            Ok(rows) => rows,
            Err(message) => {
                stats.unreadable += 1;
                eprintln!("error: {}: {message}", record.location);
                return Ok(true);
            }
        };
        for row in rows {
            let tokenizer = checker.tokenizer(&row.info).map_err(anyhow::Error::msg)?;
            let report = checker.check(&row, &tokenizer);
            stats.add(&row, &report);
            if args.rows.is_none_or(|n| stats.rows <= n) {
                let text = render_report(&row, &report, &tokenizer, args.full, color);
                if !out.line(&text)? {
                    return Ok(false);
                }
            } else if !report.violations.is_empty() {
                for v in &report.violations {
                    eprintln!("violation: row {}: {} [{}]", row.id, v.message, v.code);
                }
            }
        }
        Ok(true)
    })?;
    // The located errors and violations on stderr come before the summary line.
    let _ = io::stderr().flush();
    out.line(&stats.line())?;
    out.finish()?;
    Ok(if stats.has_problems() { Exit::Problems } else { Exit::Success })
}

fn render_report(row: &Checked, report: &RowReport, tok: &TextTokenizer, full: bool, color: bool) -> String {
    let supervised = row.mask.iter().filter(|&&m| m == 1).count();
    let runs = supervised_runs(&row.mask);
    let mut s = format!(
        "━━ {} · {} tokens · {} supervised in {} span(s) · template {} ━━\n",
        row.id,
        row.ids.len(),
        supervised,
        runs.len(),
        if row.info.template.is_empty() { "?" } else { &row.info.template }
    );
    let (open, close) = if color { ("\x1b[1;32m", "\x1b[0m") } else { ("▶", "◀") };
    if full {
        let mut i = 0;
        for r in &runs {
            s.push_str(&tok.decode(&row.ids[i..r.start]));
            s.push_str(open);
            s.push_str(&tok.decode(&row.ids[r.clone()]));
            s.push_str(close);
            i = r.end;
        }
        s.push_str(&tok.decode(&row.ids[i..]));
        s.push('\n');
    } else {
        for (k, r) in runs.iter().enumerate() {
            s.push_str(&format!("── span {} · tokens {}..{} ({}) ──\n", k + 1, r.start, r.end, r.len()));
            s.push_str(open);
            s.push_str(&tok.decode(&row.ids[r.clone()]));
            s.push_str(close);
            s.push('\n');
        }
    }
    if report.empty_think_supervised > 0 {
        s.push_str(&format!(
            "note: {} supervised empty <think></think> block(s): the model learns to open and close thinking at once \
             (--empty-think context keeps them without loss)\n",
            report.empty_think_supervised
        ));
    }
    for v in &report.violations {
        s.push_str(&format!("VIOLATION [{}]: {}\n", v.code, v.message));
    }
    s
}
