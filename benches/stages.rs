//! Criterion benches of each pipeline stage on the same records: ingest, render, tokenize, mask,
//! emit. Run with `cargo bench --bench stages`; `cargo test` does not build them.
//!
//! Input: the first 200 records of `$TRAJKIT_BENCH_INPUT` (e.g. target/bench/realistic.jsonl made by
//! scripts/bench/run.sh), else the golden cases (fixtures/golden/cases.jsonl).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

use trajkit::conversation::Conversation;
use trajkit::emit::{messages_json, EmitKind, Row};
use trajkit::family::Family;
use trajkit::ingest::{ingest, IngestOptions};
use trajkit::mask::token_mask;
use trajkit::render::{ChatTemplate, Date, RenderOptions, Rendered};
use trajkit::tokenize::{Embedded, TextTokenizer, TokenizerSource, Tokens};

fn records() -> Vec<String> {
    let path = std::env::var("TRAJKIT_BENCH_INPUT").unwrap_or_else(|_| "fixtures/golden/cases.jsonl".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).take(200).map(str::to_string).collect()
}

fn stages(c: &mut Criterion) {
    let records = records();
    let bytes: usize = records.iter().map(String::len).sum();
    let options = RenderOptions { date: Date::parse("2026-01-15").unwrap(), ..RenderOptions::default() };
    let template = ChatTemplate::builtin(Family::Qwen3, options.date).unwrap();
    let tokenizer = TextTokenizer::load(&TokenizerSource::Embedded(Embedded::Qwen3)).unwrap();

    let conversations: Vec<Conversation> = records
        .iter()
        .filter_map(|r| ingest(r, "bench", &IngestOptions::default()).ok())
        .map(|i| i.conversation)
        .collect();
    let rendered: Vec<(Conversation, Rendered)> =
        conversations.iter().filter_map(|c| Some((c.clone(), template.render(c, &options).ok()?))).collect();
    let tokens: Vec<Tokens> = rendered.iter().map(|(_, r)| tokenizer.encode(&r.text).unwrap()).collect();
    let token_count: usize = tokens.iter().map(|t| t.ids.len()).sum();
    let rows: Vec<Row> = rendered
        .iter()
        .zip(&tokens)
        .map(|((c, r), t)| {
            let mut row = Row::new("bench".into(), c, messages_json(&c.messages, true), r.clone());
            row.assistant_masks = token_mask(&t.offsets, &row.spans);
            row.input_ids = t.ids.clone();
            row
        })
        .collect();

    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("ingest", |b| {
        b.iter(|| records.iter().filter_map(|r| ingest(black_box(r), "bench", &IngestOptions::default()).ok()).count())
    });
    g.throughput(Throughput::Elements(token_count as u64));
    g.bench_function("render", |b| {
        b.iter(|| conversations.iter().filter_map(|c| template.render(c, &options).ok()).count())
    });
    g.bench_function("tokenize (segment cache, warm)", |b| {
        b.iter(|| rendered.iter().map(|(_, r)| tokenizer.encode(black_box(&r.text)).unwrap().ids.len()).sum::<usize>())
    });
    g.bench_function("tokenize (tokenizers crate, whole text)", |b| {
        b.iter(|| {
            rendered.iter().map(|(_, r)| tokenizer.encode_whole(black_box(&r.text)).unwrap().ids.len()).sum::<usize>()
        })
    });
    g.bench_function("mask", |b| {
        b.iter(|| rows.iter().zip(&tokens).map(|(row, t)| token_mask(&t.offsets, &row.spans).len()).sum::<usize>())
    });
    g.bench_function("emit (JSON line)", |b| {
        let mut line = Vec::new();
        b.iter(|| {
            rows.iter()
                .map(|row| {
                    line.clear();
                    row.write_json_line(EmitKind::Tokens, &mut line);
                    line.len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
