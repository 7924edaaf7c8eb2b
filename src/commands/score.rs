//! `trajkit score`: the decomposed reward of each completion. `--serve` keeps one process open for
//! a training run: a reward function writes one JSON request line to its stdin and reads one JSON
//! line back, with no start-up cost per call. The protocol itself is [`trajkit::eval::score`].

use std::io::{self, BufRead, BufReader, Read};

use super::settings::{output_settings, read_gold};
use super::{Exit, Output};
use crate::cli::ScoreArgs;
use anyhow::{Context as _, Result};
use trajkit::eval::score::Scorer;
use trajkit::eval::{SchemaCache, Weights};
use trajkit::settings::read_weights;

pub fn run(args: ScoreArgs) -> Result<Exit> {
    let reader = output_settings(&args.output_flags).reader()?;
    let weights = match &args.weights {
        Some(path) => read_weights(path)?,
        None => Weights::default(),
    };
    let cache = SchemaCache::default();
    let gold = match &args.gold {
        Some(path) => Some(read_gold(path, &cache)?),
        None => None,
    };
    if args.serve {
        // Pay for the tokenizer now rather than in the first reward call (it is only needed for
        // completions given as ids; a template without one simply has none).
        let _ = reader.tokenizer();
    }
    let scorer = Scorer::new(reader, weights, gold, cache);
    let input: Box<dyn Read> = match args.input.as_deref() {
        None | Some("-") => Box::new(io::stdin().lock()),
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?),
    };
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut out = Output::open(args.output.as_deref())?;
    let mut line = String::new();
    let mut exit = Exit::Success;
    loop {
        line.clear();
        if input.read_line(&mut line).context("cannot read requests")? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let response = scorer.score_line(&line);
        if response.get("error").is_some() {
            exit = Exit::Problems;
        }
        // Serving, a reply is flushed at once unless the next request is already read in whole: a
        // client waiting for it gets it now, a client streaming requests gets replies in batches.
        let next_waiting = input.buffer().contains(&b'\n');
        let written = out.line(&response.to_string())?;
        if !written || (args.serve && !next_waiting && !out.flush()?) {
            return Ok(exit); // the reader has gone away
        }
    }
    out.finish()?;
    Ok(exit)
}
