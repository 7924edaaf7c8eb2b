//! `trajkit pairs`: DPO preference pairs in TRL's conversational preference format, from pair records
//! or synthesized from trajectories (`--synthesize`), with TRL's tokenized columns under `--template`.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::settings::{date, for_each_record, ingest_options, resolve, thread_pool};
use super::{Exit, Output};
use crate::cli::{ExpandArg, InputFlags, PairsArgs};
use trajkit::ingest::{self, Problem};
use trajkit::pairs::input::read_pair;
use trajkit::pairs::synthesize::{synthesize, Kind, SynthOptions};
use trajkit::pairs::tokenize::tokenize_pair;
use trajkit::pairs::{Pair, RowForm};
use trajkit::parse::Format;
use trajkit::render::{ChatTemplate, RenderOptions};
use trajkit::tokenize::TextTokenizer;

/// What one input record became.
struct Outcome {
    rows: Vec<Result<serde_json::Value, (String, Problem)>>,
    skipped: Vec<(Kind, String)>,
    /// The record itself could not be read.
    error: Option<Problem>,
}

pub fn run(args: PairsArgs) -> Result<Exit> {
    let kinds = args.synthesize.as_deref().map(Kind::parse_list).transpose().map_err(anyhow::Error::msg)?;
    let date = date(args.date.as_deref())?;
    let tokenized: Option<(ChatTemplate, TextTokenizer)> = match &args.template {
        None => None,
        Some(t) => {
            let resolved = resolve(t, None, args.tokenizer.as_deref(), args.date.as_deref())?;
            let tokenizer = resolved.load_tokenizer()?;
            Some((resolved.template, tokenizer))
        }
    };
    let format = Format::for_template(args.template.as_deref().unwrap_or("qwen3"));
    let mut form = match &tokenized {
        Some((template, _)) => RowForm::for_template(template.builtin, template.splits_reasoning()),
        None => RowForm::for_template(None, true),
    };
    if let Some((template, tokenizer)) = &tokenized {
        form.template = Some(template.name.clone());
        form.tokenizer = Some(tokenizer.source.describe());
    }
    let render = RenderOptions { date, ..RenderOptions::default() };
    let input =
        InputFlags { input_format: None, tools: args.tools.clone(), drop_trailing_user: args.drop_trailing_user };
    let ingest = ingest_options(&input)?;
    let synth = kinds.map(|kinds| SynthOptions {
        kinds,
        per_turn: matches!(args.expand, ExpandArg::PerTurn),
        seed: args.seed,
        max_per_record: args.max_per_record,
        format,
    });

    let work = |record: &trajkit::source::RawRecord| -> Outcome {
        let fail = |p: Problem| Outcome { rows: Vec::new(), skipped: Vec::new(), error: Some(p) };
        let parsed = match ingest::parse(record) {
            Ok(parsed) => parsed,
            Err(rejected) => return fail(rejected.problem),
        };
        let (pairs, skipped): (Vec<Pair>, Vec<(Kind, String)>) = match &synth {
            Some(options) => match parsed.ingest(&ingest) {
                Ok(ingested) => {
                    let s = synthesize(&ingested.conversation, options);
                    (s.pairs, s.skipped)
                }
                Err(rejected) => return fail(rejected.problem),
            },
            None => match read_pair(&parsed.value, &ingest::default_id(&parsed.location), &ingest) {
                Ok(pair) => (vec![pair], Vec::new()),
                Err(p) => return fail(p),
            },
        };
        let rows = pairs
            .into_iter()
            .map(|pair| {
                let tokens = match &tokenized {
                    Some((template, tokenizer)) => {
                        Some(tokenize_pair(template, tokenizer, &render, &pair).map_err(|p| (pair.id.clone(), p))?)
                    }
                    None => None,
                };
                Ok(pair.to_row(form.clone(), tokens.as_ref()))
            })
            .collect();
        Outcome { rows, skipped, error: None }
    };

    let pool = thread_pool(None)?;
    let mut out = Output::open(args.output.as_deref())?;
    let mut summary = Summary::default();
    let mut stopped: Option<String> = None;
    for_each_record(&args.inputs, &pool, work, |record, outcome| {
        summary.records += 1;
        if let Some(p) = outcome.error {
            summary.rejected.push(format!("{}: {p}", record.location));
            if args.strict {
                stopped = Some(format!("{}: {p}", record.location));
                return Ok(false);
            }
            return Ok(true);
        }
        for (kind, why) in outcome.skipped {
            *summary.skipped.entry((kind.as_str(), why)).or_default() += 1;
        }
        for row in outcome.rows {
            match row {
                Ok(row) => {
                    let kind = row.get("kind").and_then(|k| k.as_str()).unwrap_or("(none)").to_string();
                    *summary.kinds.entry(kind).or_default() += 1;
                    summary.written += 1;
                    if !out.line(&row.to_string())? {
                        return Ok(false);
                    }
                }
                Err((id, p)) => {
                    summary.rejected.push(format!("{} (pair {id}): {p}", record.location));
                    if args.strict {
                        stopped = Some(format!("{} (pair {id}): {p}", record.location));
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    })?;
    if let Some(why) = stopped {
        drop(out); // a file target is left as it was
        bail!("--strict: {why}");
    }
    out.finish()?;
    eprint!("{}", summary.text());
    Ok(Exit::Success)
}

#[derive(Default)]
struct Summary {
    records: usize,
    written: usize,
    kinds: BTreeMap<String, usize>,
    /// (kind, reason) → records
    skipped: BTreeMap<(&'static str, String), usize>,
    rejected: Vec<String>,
}

impl Summary {
    fn text(&self) -> String {
        let mut s = String::new();
        for line in self.rejected.iter().take(20) {
            s.push_str(&format!("rejected: {line}\n"));
        }
        if self.rejected.len() > 20 {
            s.push_str(&format!("… and {} more rejected\n", self.rejected.len() - 20));
        }
        s.push_str(&format!(
            "pairs: {} records read, {} pairs written, {} rejected\n",
            self.records,
            self.written,
            self.rejected.len()
        ));
        for (kind, n) in &self.kinds {
            s.push_str(&format!("  {kind:<24} {n:>6}\n"));
        }
        if !self.skipped.is_empty() {
            s.push_str("skipped (kind did not apply):\n");
            for ((kind, why), n) in &self.skipped {
                s.push_str(&format!("  {kind:<24} {n:>6} record(s): {why}\n"));
            }
        }
        s
    }
}
