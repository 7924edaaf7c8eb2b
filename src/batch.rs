//! The batch driver every command that reads records runs on: records are read in order, converted
//! in parallel, and handed back in input order, with memory flat however long the input. Knows
//! nothing of flags or commands; `--shard` is a [`Shard`] here and clap only parses it.

use std::io;

use rayon::prelude::*;

use crate::source::{RawRecord, RecordReader};

/// An input that could not be opened or read to the end.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open {input}")]
    Open {
        input: String,
        #[source]
        source: io::Error,
    },
    #[error("reading {input}")]
    Read {
        input: String,
        #[source]
        source: io::Error,
    },
}

/// A pool of `threads` workers (default: one per core).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    builder.build()
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
/// order. `sink` returns false to stop early; its errors end the run, as do [`ReadError`]s.
pub fn for_each_record<T: Send, E: From<ReadError>>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    work: impl Fn(&RawRecord) -> T + Sync,
    sink: impl FnMut(&RawRecord, T) -> Result<bool, E>,
) -> Result<(), E> {
    for_each_selected_record(inputs, pool, &Selection::default(), work, sink)
}

/// [`for_each_record`] over the records `selection` takes. Memory stays flat: records are read in
/// batches, and while the pool converts one batch this thread hands the previous batch's results
/// to `sink` (in order) and reads the next one, so writing overlaps converting.
pub fn for_each_selected_record<T: Send, E: From<ReadError>>(
    inputs: &[String],
    pool: &rayon::ThreadPool,
    selection: &Selection,
    work: impl Fn(&RawRecord) -> T + Sync,
    mut sink: impl FnMut(&RawRecord, T) -> Result<bool, E>,
) -> Result<(), E> {
    let mut batches = Batches { inputs, selection, next_input: 0, reader: None, next_index: 0 };
    let mut current = batches.next_batch()?;
    let mut previous: Option<(Vec<RawRecord>, Vec<T>)> = None;
    let mut read_error = None;
    while !current.is_empty() || previous.is_some() {
        let mut results: Vec<T> = Vec::new();
        let mut next: Result<Vec<RawRecord>, ReadError> = Ok(Vec::new());
        let mut handed: Result<bool, E> = Ok(true);
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
    read_error.map_or(Ok(()), |e| Err(e.into()))
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
    fn next_batch(&mut self) -> Result<Vec<RawRecord>, ReadError> {
        let (mut batch, mut bytes) = (Vec::with_capacity(BATCH), 0);
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            let Some((reader, input)) = &mut self.reader else {
                let Some(input) = self.inputs.get(self.next_input) else { break };
                self.next_input += 1;
                let opened = match &self.selection.bytes_read {
                    Some(counter) => RecordReader::open_counted(input, self.next_index, counter.clone()),
                    None => RecordReader::open(input, self.next_index),
                };
                let opened = opened.map_err(|source| ReadError::Open { input: input.clone(), source })?;
                self.reader = Some((opened, input.as_str()));
                continue;
            };
            let Some(record) = reader.next() else {
                self.next_index = reader.next_index();
                self.reader = None;
                continue;
            };
            let record = record.map_err(|source| ReadError::Read { input: input.to_string(), source })?;
            if self.selection.shard.is_some_and(|shard| !shard.takes(record.index)) {
                continue;
            }
            bytes += record.text.as_ref().map_or(0, String::len);
            batch.push(record);
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(name: &str, contents: &[&str]) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("trajkit-batch-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        contents
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.join(format!("{i}.jsonl"));
                std::fs::write(&path, text).unwrap();
                path.to_string_lossy().into_owned()
            })
            .collect()
    }

    #[test]
    fn records_come_back_in_input_order_and_shards_split_them() {
        let lines: String = (0..300).map(|i| format!("{{\"n\": {i}}}\n")).collect();
        let inputs = files("order", &[&lines, "{\"n\": 300}\n"]);
        let pool = thread_pool(Some(4)).unwrap();
        let mut seen = Vec::new();
        for_each_record::<_, ReadError>(
            &inputs,
            &pool,
            |r| r.index,
            |_, index| {
                seen.push(index);
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(seen, (0..=300).collect::<Vec<_>>());
        let selection = Selection { shard: Some(Shard::parse("1/3").unwrap()), bytes_read: None };
        let mut taken = Vec::new();
        for_each_selected_record::<_, ReadError>(
            &inputs,
            &pool,
            &selection,
            |r| r.index,
            |_, index| {
                taken.push(index);
                Ok(taken.len() < 50)
            },
        )
        .unwrap();
        assert_eq!(taken, (0..50).map(|k| 3 * k + 1).collect::<Vec<_>>(), "every third record, stopping when told");
    }

    #[test]
    fn an_input_that_cannot_be_opened_is_a_read_error() {
        let pool = thread_pool(Some(1)).unwrap();
        let missing = vec!["/nonexistent/trajkit-batch.jsonl".to_string()];
        let err = for_each_record::<_, ReadError>(&missing, &pool, |_| (), |_, ()| Ok(true)).unwrap_err();
        assert_eq!(err.to_string(), "cannot open /nonexistent/trajkit-batch.jsonl");
        assert_eq!(Shard::parse("3/3"), Err("`3/3`: expected K/N with 0 <= K < N, e.g. 0/8".to_string()));
    }
}
