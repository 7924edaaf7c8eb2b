//! `trajkit report`: one HTML page to look at a dataset before training. The rows are read and
//! linted by check-mask's code, the records classified by stats' code, the findings made by
//! validate's; this command only gathers them for [`trajkit::report`].

use std::collections::BTreeMap;

use anyhow::Result;
use rayon::prelude::*;

use super::settings::{convert_settings, converter, for_each_record, input_settings, thread_pool};
use super::{Exit, Output};
use crate::cli::ReportArgs;
use trajkit::check::{row_turns, Turn};
use trajkit::check_mask::{CheckTotals, Checked, MaskChecker};
use trajkit::diagnostic::Diagnostic;
use trajkit::mix::{record_stats, Totals};
use trajkit::report::{self, Distributions, FindingRef, Mix, Page, RowView, Sampler, TokenText, ViolationRef};
use trajkit::source::RawRecord;
use trajkit::tokenize::TextTokenizer;
use trajkit::validate::cases::{Case, Flags};
use trajkit::validate::Validator;

/// A row kept for the viewer, with what it needs to be drawn.
struct Kept {
    row: Checked,
    turns: Option<Vec<Turn>>,
    violations: Vec<Diagnostic>,
    tokenizer: TextTokenizer,
}

pub fn run(args: ReportArgs) -> Result<Exit> {
    let pool = thread_pool(args.render.threads)?;
    let checker = MaskChecker::new(convert_settings(&args.render));
    // Stats' classification needs no tokens (its tokens-per-row figures are not on the page).
    let stats_converter = converter(&args.render, false)?;
    let validator = match args.validate {
        true => {
            let input = input_settings(&args.render.input);
            Some(Validator::new(input.ingest_options()?, input.read_tools()?.as_deref()).0)
        }
        false => None,
    };

    let work = |record: &RawRecord| {
        let rows = checker.rows(record);
        let stats = record_stats(&stats_converter, record);
        let findings = validator.as_ref().map(|v| trajkit::pairs::validate_record(v, record));
        (rows, stats, findings)
    };

    let mut counts = CheckTotals::default();
    let mut page = Page::default();
    page.summary.inputs = args.inputs.clone();
    let mut totals = Totals::default();
    let mut sampler = Sampler::new(args.rows, args.seed);
    let mut kept: BTreeMap<usize, Kept> = BTreeMap::new();
    let mut dist = Distributions { max_length: args.max_length, ..Distributions::default() };
    let mut findings = Vec::new();

    for_each_record(&args.inputs, &pool, work, |record, (rows, stats, report)| {
        if let Ok(stats) = stats {
            for code in &stats.warnings {
                *page.summary.warnings.entry(code.to_string()).or_default() += 1;
            }
            totals.add(stats);
        }
        let first_row = counts.rows;
        if let Some(report) = report {
            for f in report.findings {
                findings.push(FindingRef {
                    location: record.location.to_string(),
                    id: report.id.clone(),
                    row: Some(first_row),
                    finding: f,
                });
            }
        }
        let rows = match rows {
            Ok(rows) => rows,
            Err(message) => {
                counts.unreadable += 1;
                eprintln!("error: {}: {message}", record.location);
                return Ok(true);
            }
        };
        for row in rows {
            let index = counts.rows;
            let tokenizer = checker.tokenizer(&row.info).map_err(anyhow::Error::msg)?;
            let checked = checker.check(&row, &tokenizer);
            counts.add(&row, &checked);
            let spec = args.render.tokenizer.clone().or_else(|| row.info.tokenizer.clone());
            *page.summary.tokenizers.entry(spec.unwrap_or_else(|| "qwen3".into())).or_default() += 1;
            let template = if row.info.template.is_empty() { "?" } else { &row.info.template };
            *page.summary.templates.entry(template.to_string()).or_default() += 1;
            let turns = row_turns(&row.info.template, &tokenizer, &row.ids, checker.markers());
            let supervised = row.mask.iter().filter(|&&m| m == 1).count();
            dist.lengths.push(row.ids.len());
            dist.shares.push(if row.ids.is_empty() { 0.0 } else { supervised as f64 / row.ids.len() as f64 });
            dist.calls.push(row.calls);
            dist.turns.push(row.user_turns);
            for v in &checked.violations {
                page.summary.violations.push(ViolationRef { row: index, id: row.id.clone(), violation: v.clone() });
            }
            let violating = !checked.violations.is_empty();
            // Violating rows are kept whatever the sample; a sampled row may push another one out.
            match sampler.offer(index) {
                Some(out) if out == index && !violating => continue,
                Some(out) if out != index && kept.get(&out).is_some_and(|k| k.violations.is_empty()) => {
                    kept.remove(&out);
                }
                _ => {}
            }
            kept.insert(index, Kept { row, turns, violations: checked.violations, tokenizer });
        }
        Ok(true)
    })?;

    page.summary.rows = counts.rows;
    page.summary.tokens = counts.tokens;
    page.summary.supervised = counts.supervised;
    page.summary.empty_think_rows = counts.empty_think_rows;
    page.summary.unreadable = counts.unreadable;
    page.mix = Mix {
        records: totals.records,
        cases: Case::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), totals.cases.get(c.as_str()).copied().unwrap_or(0)))
            .chain(totals.cases.iter().filter(|(k, _)| Case::parse(k).is_none()).map(|(k, v)| (k.clone(), *v)))
            .collect(),
        flags: Flags::NAMES.iter().map(|f| (f.to_string(), totals.flags.get(f).copied().unwrap_or(0))).collect(),
        warnings: totals.warnings(),
    };
    page.distributions = dist;
    page.sample = (sampler.taken().len(), args.seed);
    page.shown = kept.keys().copied().collect();
    // Rows are written in parallel (each lazy row is compressed), in the order they are shown.
    let kept: Vec<(&usize, &Kept)> = kept.iter().collect();
    // One display table (decoder, control tokens) per tokenizer, not per row.
    let mut texts: Vec<TokenText> = Vec::new();
    for (_, k) in &kept {
        if !texts.iter().any(|t| t.tokenizer().source == k.tokenizer.source) {
            texts.push(TokenText::new(&k.tokenizer));
        }
    }
    page.rows_html = pool.install(|| {
        kept.par_iter()
            .enumerate()
            .map(|(shown, (index, k))| {
                let text = texts.iter().find(|t| t.tokenizer().source == k.tokenizer.source).expect("made above");
                let view = RowView {
                    index: **index,
                    id: &k.row.id,
                    ids: &k.row.ids,
                    mask: &k.row.mask,
                    template: &k.row.info.template,
                    turns: k.turns.as_deref(),
                    no_loss_turns: &k.row.info.no_loss_turns,
                    violations: &k.violations,
                };
                let mut html = String::new();
                // The first rows and every violating row are drawn at once, the rest as they are scrolled to.
                let lazy = shown >= report::EAGER_ROWS && k.violations.is_empty();
                view.write_html(text, lazy, &mut html);
                html
            })
            .collect()
    });
    if validator.is_some() {
        for f in &mut findings {
            f.row = f.row.filter(|r| page.shown.contains(r));
        }
        page.findings = Some(findings);
    }

    let mut out = Output::open(args.output.as_deref())?;
    out.line(&page.html())?;
    out.finish()?;
    let violations = page.summary.violations.len();
    eprintln!(
        "report: {} rows ({} shown), {} supervised of {} tokens; {violations} violations{}",
        page.summary.rows,
        page.rows_html.len(),
        page.summary.supervised,
        page.summary.tokens,
        args.output.as_deref().map(|o| format!(" → {o}")).unwrap_or_default()
    );
    Ok(if violations > 0 || counts.unreadable > 0 { Exit::Problems } else { Exit::Success })
}
