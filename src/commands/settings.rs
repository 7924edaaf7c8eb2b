//! Turning command-line flags into pipeline settings, and the parallel, order-keeping record loop
//! every command shares.

use anyhow::{bail, Context as _, Result};
use rayon::prelude::*;

use crate::cli::{
    EmptyThinkArg, ExpandArg, HarmonyFlags, InputFlags, InputFormatArg, ReasoningArg, ReasoningEffortArg, RenderFlags,
};
use trajkit::conversation::normalize_tool;
use trajkit::ingest::{IngestOptions, InputFormat};
use trajkit::pipeline::{Converter, Expand};
use trajkit::render::{load, Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy, RenderOptions};
use trajkit::source::{RawRecord, RecordReader};
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

/// Build the converter the flags describe. `with_tokenizer` is false when nothing needs tokens.
pub fn converter(flags: &RenderFlags, with_tokenizer: bool) -> Result<Converter> {
    let date = match &flags.date {
        Some(d) => Date::parse(d).with_context(|| format!("--date {d}: expected YYYY-MM-DD"))?,
        None => Date::today(),
    };
    let options =
        load::LoadOptions { variant: flags.template_name.as_deref(), tokenizer: flags.tokenizer.as_deref(), date };
    let loaded = load::load_with(&flags.template, options)?;
    let tokenizer = if with_tokenizer {
        let source = match (&flags.tokenizer, &loaded.tokenizer) {
            (Some(spec), _) => TokenizerSource::parse(spec),
            (None, Some(source)) => source.clone(),
            (None, None) => {
                bail!("--template {}: no tokenizer.json next to the template; pass --tokenizer PATH", flags.template)
            }
        };
        Some(TextTokenizer::load(&source)?)
    } else {
        None
    };
    Ok(Converter {
        template: loaded.template,
        tokenizer,
        ingest: ingest_options(&flags.input)?,
        render: RenderOptions {
            reasoning: match flags.reasoning {
                ReasoningArg::Train => ReasoningPolicy::Train,
                ReasoningArg::Context => ReasoningPolicy::Context,
                ReasoningArg::Drop => ReasoningPolicy::Drop,
            },
            train_empty_think: matches!(flags.empty_think, EmptyThinkArg::Train),
            date,
            harmony: harmony_options(&flags.harmony),
        },
        expand: match flags.expand {
            ExpandArg::Conversation => Expand::Conversation,
            ExpandArg::PerTurn => Expand::PerTurn,
        },
    })
}

fn harmony_options(flags: &HarmonyFlags) -> HarmonyOptions {
    HarmonyOptions {
        reasoning_effort: match flags.reasoning_effort {
            ReasoningEffortArg::Low => ReasoningEffort::Low,
            ReasoningEffortArg::Medium => ReasoningEffort::Medium,
            ReasoningEffortArg::High => ReasoningEffort::High,
        },
        model_identity: flags.model_identity.clone(),
        knowledge_cutoff: flags.knowledge_cutoff.clone(),
        current_date: flags.current_date.clone(),
    }
}

/// How records are read: `--input-format`, the `--tools` file for records that carry none, and
/// whether trailing user messages stay.
pub fn ingest_options(flags: &InputFlags) -> Result<IngestOptions> {
    let default_tools = match &flags.tools {
        Some(path) => Some(std::sync::Arc::new(read_tools(path)?.into_iter().map(normalize_tool).collect())),
        None => None,
    };
    Ok(IngestOptions {
        format: flags.input_format.map(|f| match f {
            InputFormatArg::Raw => InputFormat::Raw,
            InputFormatArg::Messages => InputFormat::Messages,
            InputFormatArg::Sharegpt => InputFormat::ShareGpt,
        }),
        default_tools,
        check: None,
        drop_trailing_user: flags.drop_trailing_user,
    })
}

/// The `--tools` file as written: a JSON array of tool schemas.
pub fn read_tools(path: &str) -> Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("--tools {path}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("--tools {path}: not JSON"))?;
    let serde_json::Value::Array(items) = value else {
        bail!("--tools {path}: expected a JSON array of tool schemas");
    };
    Ok(items)
}

pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    Ok(builder.build()?)
}

/// Records are processed in batches of this many: large enough to keep every core busy, small
/// enough that memory stays flat however long the input is.
const BATCH: usize = 128;
/// A batch also ends once it holds this much text, so that a file of huge records stays flat too.
const BATCH_BYTES: usize = 64 << 20;

/// `--shard K/N`: the records whose index (0-based, counted across all inputs in order) is K modulo
/// N. Every process of N can take its part of the same inputs with no coordination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}`: expected K/N with 0 <= K < N, e.g. 0/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn takes(self, record_index: usize) -> bool {
        record_index % self.count == self.index
    }
}

/// Which records the loop takes and what it reports while reading.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    pub shard: Option<Shard>,
    /// Bytes read from the input files so far (for a progress bar).
    pub bytes_read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

/// Run `work` on every record of `inputs` in parallel and hand the results to `sink` in input
/// order. `sink` returns false to stop early.
pub fn for_each_record<T: Send>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    work: impl Fn(&RawRecord) -> T + Sync,
    sink: impl FnMut(&RawRecord, T) -> Result<bool>,
) -> Result<()> {
    for_each_selected_record(inputs, pool, &Selection::default(), work, sink)
}

/// [`for_each_record`] over the records `selection` takes. Memory stays flat: records are read in
/// batches, and while the pool converts one batch this thread hands the previous batch's results
/// to `sink` (in order) and reads the next one, so writing overlaps converting.
pub fn for_each_selected_record<T: Send>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    selection: &Selection,
    work: impl Fn(&RawRecord) -> T + Sync,
    mut sink: impl FnMut(&RawRecord, T) -> Result<bool>,
) -> Result<()> {
    let mut batches = Batches { inputs, selection, next_input: 0, reader: None, next_index: 0 };
    let mut current = batches.next_batch()?;
    let mut previous: Option<(Vec<RawRecord>, Vec<T>)> = None;
    let mut read_error = None;
    while !current.is_empty() || previous.is_some() {
        let mut results: Vec<T> = Vec::new();
        let mut next: Result<Vec<RawRecord>> = Ok(Vec::new());
        let mut handed: Result<bool> = Ok(true);
        pool.in_place_scope(|scope| {
            if !current.is_empty() {
                let (batch, results, work) = (&current, &mut results, &work);
                scope.spawn(move |_| *results = batch.par_iter().map(work).collect());
            }
            if let Some((records, outcomes)) = previous.take() {
                for (record, outcome) in records.iter().zip(outcomes) {
                    handed = sink(record, outcome);
                    if !matches!(handed, Ok(true)) {
                        return;
                    }
                }
            }
            if !current.is_empty() {
                next = batches.next_batch();
            }
        });
        if !handed? {
            return Ok(());
        }
        previous = (!current.is_empty()).then(|| (std::mem::take(&mut current), results));
        // A read error ends the input, after the batch already converted has been handed on.
        current = next.unwrap_or_else(|e| {
            read_error = Some(e);
            Vec::new()
        });
    }
    read_error.map_or(Ok(()), Err)
}

/// The selected records of all inputs, in batches.
struct Batches<'a> {
    inputs: &'a [String],
    selection: &'a Selection,
    next_input: usize,
    reader: Option<(RecordReader, &'a str)>,
    next_index: usize,
}

impl Batches<'_> {
    /// Up to [`BATCH`] records or [`BATCH_BYTES`] of text; empty at the end of the last input.
    fn next_batch(&mut self) -> Result<Vec<RawRecord>> {
        let (mut batch, mut bytes) = (Vec::with_capacity(BATCH), 0);
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            let Some((reader, input)) = &mut self.reader else {
                let Some(input) = self.inputs.get(self.next_input) else { break };
                self.next_input += 1;
                let opened = match &self.selection.bytes_read {
                    Some(counter) => RecordReader::open_counted(input, self.next_index, counter.clone()),
                    None => RecordReader::open(input, self.next_index),
                };
                self.reader = Some((opened.with_context(|| format!("cannot open {input}"))?, input.as_str()));
                continue;
            };
            let Some(record) = reader.next() else {
                self.next_index = reader.next_index();
                self.reader = None;
                continue;
            };
            let record = record.with_context(|| format!("reading {input}"))?;
            if self.selection.shard.is_some_and(|shard| !shard.takes(record.index)) {
                continue;
            }
            bytes += record.text.as_ref().map_or(0, String::len);
            batch.push(record);
        }
        Ok(batch)
    }
}
