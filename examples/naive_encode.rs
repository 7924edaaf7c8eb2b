//! Benchmark baseline "the naive limit": the tokenizers crate encoding every already-rendered text
//! (with offsets) in parallel, nothing else. Input: `trajkit convert --emit text` output.
//!
//! usage: cargo run --release --example naive_encode -- TEXT_JSONL [qwen3|gpt-oss|PATH]

use std::io::BufRead;
use std::time::Instant;

use rayon::prelude::*;
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: naive_encode TEXT_JSONL [TOKENIZER]");
    let tokenizer = TextTokenizer::load(&TokenizerSource::parse(&args.next().unwrap_or_else(|| "qwen3".into())))
        .expect("tokenizer loads");
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(&path).expect("input opens"))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.expect("readable line")).expect("JSON line");
            v["text"].as_str().expect("a `text` field").to_string()
        })
        .collect();
    let start = Instant::now();
    let tokens: usize = texts.par_iter().map(|t| tokenizer.encode_whole(t).expect("encodes").ids.len()).sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"texts\": {}, \"tokens\": {tokens}, \"seconds\": {secs:.3}, \"tokens_per_s\": {:.0}, \"threads\": {}}}",
        texts.len(),
        tokens as f64 / secs,
        rayon::current_num_threads()
    );
}
