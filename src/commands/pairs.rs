//! `trajkit pairs`: DPO preference pairs in TRL's conversational preference format, from pair records
//! or synthesized from trajectories (`--synthesize`), with TRL's tokenized columns under `--template`.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _, Result};

use super::settings::{date, for_each_record, ingest_options, resolve, thread_pool};
use super::{Exit, Output};
use crate::cli::{ExpandArg, PairsArgs};
use trajkit::completion::Format;
use trajkit::diagnostic::Diagnostic;
use trajkit::ingest;
use trajkit::pairs::input::read_pair;
use trajkit::pairs::synthesize::{synthesize, Kind, Skip, SynthOptions};
use trajkit::pairs::tokenize::tokenize_pair;
use trajkit::pairs::{Pair, RowForm};
use trajkit::render::{ChatTemplate, RenderOptions};
use trajkit::tokenize::TextTokenizer;

/// What one input record became.
struct Outcome {
    rows: Vec<Result<serde_json::Value, (String, Diagnostic)>>,
    /// With --synthesize: what each kind made of the record's assistant moves.
    synth: Option<SynthCounts>,
    /// The record itself could not be read.
    error: Option<Diagnostic>,
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
    let ingest = ingest_options(&args.input)?;
    let synth = kinds.map(|kinds| SynthOptions {
        kinds,
        per_turn: matches!(args.expand, ExpandArg::PerTurn),
        seed: args.seed,
        max_per_kind: (args.max_per_kind > 0).then_some(args.max_per_kind),
        max_per_record: args.max_per_record,
        format,
    });

    let work = |record: &trajkit::source::RawRecord| -> Outcome {
        let fail = |p: Diagnostic| Outcome { rows: Vec::new(), synth: None, error: Some(p) };
        let parsed = match ingest::parse(record) {
            Ok(parsed) => parsed,
            Err(rejected) => return fail(rejected.problem),
        };
        let (pairs, counts): (Vec<Pair>, Option<SynthCounts>) = match &synth {
            Some(options) => match parsed.ingest(&ingest) {
                Ok(ingested) => {
                    let s = synthesize(&ingested.conversation, options);
                    (s.pairs, Some(SynthCounts { moves: s.moves, applied: s.applied, skipped: s.skipped }))
                }
                Err(rejected) => return fail(rejected.problem),
            },
            None => match read_pair(&parsed.value, &ingest::default_id(&parsed.location), &ingest) {
                Ok(pair) => (vec![pair], None),
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
        Outcome { rows, synth: counts, error: None }
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
        if let Some(counts) = outcome.synth {
            summary.add(counts);
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
    if let Some(path) = &args.report {
        let mut report = Output::open(Some(path)).with_context(|| format!("--report {path}"))?;
        report.line(&summary.json().to_string())?;
        report.finish()?;
    }
    Ok(Exit::Success)
}

/// What synthesis made of one record.
struct SynthCounts {
    moves: usize,
    applied: Vec<(Kind, usize)>,
    skipped: Vec<(Kind, Skip)>,
}

/// One kind over the whole input.
#[derive(Default)]
struct KindCounts {
    /// Records with at least one move the kind applied to.
    records: usize,
    /// Moves it applied to (before --max-per-kind / --max-per-record).
    moves: usize,
    /// Moves it did not apply to, by reason.
    skipped: BTreeMap<Skip, usize>,
    /// Records where it applied to no move, by the reason most of their moves gave.
    records_skipped: BTreeMap<Skip, usize>,
}

#[derive(Default)]
struct Summary {
    records: usize,
    written: usize,
    kinds: BTreeMap<String, usize>,
    /// With --synthesize: assistant moves considered, and what each kind made of them.
    moves: usize,
    synthesized: BTreeMap<Kind, KindCounts>,
    rejected: Vec<String>,
}

impl Summary {
    fn add(&mut self, counts: SynthCounts) {
        self.moves += counts.moves;
        for (kind, n) in counts.applied {
            let k = self.synthesized.entry(kind).or_default();
            k.moves += n;
            k.records += usize::from(n > 0);
            let mut here: BTreeMap<Skip, usize> = BTreeMap::new();
            for &(_, why) in counts.skipped.iter().filter(|(k, _)| *k == kind) {
                *here.entry(why).or_default() += 1;
            }
            for (&why, &m) in &here {
                *k.skipped.entry(why).or_default() += m;
            }
            if n == 0 {
                // The commonest reason, one that is not just the other shape of move first; on a
                // tie, the first in the order of `Skip`.
                let main = here
                    .iter()
                    .max_by(|a, b| (!a.0.is_shape(), a.1).cmp(&(!b.0.is_shape(), b.1)).then(b.0.cmp(a.0)))
                    .map(|(w, _)| *w);
                *k.records_skipped.entry(main.unwrap_or(Skip::NoAssistantMove)).or_default() += 1;
            }
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut kinds = serde_json::Map::new();
        for (kind, k) in &self.synthesized {
            let by = |m: &BTreeMap<Skip, usize>| -> serde_json::Value {
                m.iter().map(|(w, n)| (w.code().to_string(), serde_json::Value::from(*n))).collect()
            };
            kinds.insert(
                kind.as_str().into(),
                serde_json::json!({
                    "records": k.records,
                    "moves": k.moves,
                    "pairs": self.kinds.get(kind.as_str()).copied().unwrap_or(0),
                    "skipped_moves": by(&k.skipped),
                    "skipped_records": by(&k.records_skipped),
                }),
            );
        }
        serde_json::json!({"records": self.records, "moves": self.moves, "pairs": self.written,
            "rejected": self.rejected.len(), "kinds": kinds})
    }

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
        if self.synthesized.is_empty() {
            return s;
        }
        s.push_str(&format!(
            "synthesized from {} assistant moves in {} records:\n  {:<24} {:>9} {:>9} {:>7}\n",
            self.moves, self.records, "kind", "records", "moves", "pairs"
        ));
        for (kind, k) in &self.synthesized {
            let pairs = self.kinds.get(kind.as_str()).copied().unwrap_or(0);
            s.push_str(&format!("  {:<24} {:>9} {:>9} {pairs:>7}\n", kind.as_str(), k.records, k.moves));
        }
        s.push_str("skipped moves by reason (records where the kind made no pair, by their commonest reason):\n");
        for (kind, k) in &self.synthesized {
            for (why, n) in &k.skipped {
                let records = k.records_skipped.get(why).copied().unwrap_or(0);
                s.push_str(&format!(
                    "  {:<24} {:<30} {n:>6} moves {records:>5} records  {}\n",
                    kind.as_str(),
                    why.code(),
                    why.text()
                ));
            }
        }
        s
    }
}
