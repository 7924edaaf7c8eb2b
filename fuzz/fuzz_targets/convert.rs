//! Fuzz the whole pipeline: bytes → records (source) → ingest → render → tokenize → mask → JSON line.
//!
//! The first byte picks the settings (template, expansion, reasoning policy, length limit); the rest
//! is an input file. Any panic is a bug: every record must end as rows or as one located error, and
//! every row must be well formed and within the length limit.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trajkit::emit::EmitKind;
use trajkit::mask::token_mask;
use trajkit::pipeline::{Converter, Expand, LengthLimit, Truncate};
use trajkit::render::{load, Date, ReasoningPolicy, RenderOptions};
use trajkit::source::RecordReader;
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

const TEMPLATES: [&str; 3] = ["qwen3", "chatml", "harmony"];

/// The two embedded tokenizers, loaded once (slow under the sanitizer) and shared by the converters.
fn tokenizer(source: &TokenizerSource) -> TextTokenizer {
    static QWEN3: OnceLock<TextTokenizer> = OnceLock::new();
    static GPT_OSS: OnceLock<TextTokenizer> = OnceLock::new();
    let slot = if source.describe() == "qwen3" { &QWEN3 } else { &GPT_OSS };
    slot.get_or_init(|| TextTokenizer::load(source).unwrap()).clone()
}

fn converter(settings: u8) -> &'static Converter {
    static CONVERTERS: [OnceLock<Converter>; 12] = [const { OnceLock::new() }; 12];
    let template = usize::from(settings & 3) % 3;
    let per_turn = settings & 4 != 0;
    let drop_reasoning = settings & 8 != 0;
    let slot = template * 4 + usize::from(per_turn) * 2 + usize::from(drop_reasoning);
    CONVERTERS[slot].get_or_init(|| {
        let date = Date::parse("2026-01-15").unwrap();
        let loaded = load::load(TEMPLATES[template], None, date).unwrap();
        Converter {
            template: loaded.template,
            tokenizer: Some(tokenizer(loaded.tokenizer.as_ref().unwrap())),
            ingest: Default::default(),
            render: RenderOptions {
                date,
                reasoning: if drop_reasoning { ReasoningPolicy::Drop } else { ReasoningPolicy::Train },
                ..Default::default()
            },
            expand: if per_turn { Expand::PerTurn } else { Expand::Conversation },
            validation: None,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&settings, input)) = data.split_first() else { return };
    let converter = converter(settings);
    let limit = match settings >> 4 & 3 {
        0 => None,
        1 => Some(LengthLimit { max_tokens: 64, truncate: Truncate::Drop, bytes_per_token: None }),
        2 => Some(LengthLimit { max_tokens: 64, truncate: Truncate::Turns, bytes_per_token: Some(64) }),
        _ => Some(LengthLimit { max_tokens: 256, truncate: Truncate::Turns, bytes_per_token: None }),
    };
    let reader = RecordReader::from_reader("fuzz.jsonl", Box::new(Cursor::new(input.to_vec())), 0);
    for record in reader {
        let Ok(record) = record else { return };
        assert!(record.location.line >= 1);
        match converter.convert_within(&record, limit) {
            Ok(done) => {
                assert!(!done.rows.is_empty(), "a converted record has rows");
                for row in &done.rows {
                    assert_eq!(row.input_ids.len(), row.assistant_masks.len());
                    if let Some(limit) = limit {
                        assert!(row.input_ids.len() <= limit.max_tokens, "rows fit --max-length");
                    }
                    assert!(row.assistant_masks.contains(&1), "a row always trains on something");
                    for span in &row.spans {
                        assert!(span.start < span.end && span.end <= row.text.len());
                        assert!(row.text.is_char_boundary(span.start) && row.text.is_char_boundary(span.end));
                    }
                    // The mask made while encoding equals the overlap rule on the tokens' offsets.
                    let tokenizer = converter.tokenizer.as_ref().expect("fuzzed converters tokenize");
                    let tokens = tokenizer.encode_with_ordinary(&row.text, &row.ordinary).expect("it encoded once");
                    assert_eq!(tokens.ids, row.input_ids);
                    assert_eq!(token_mask(&tokens.offsets, &row.spans), row.assistant_masks);
                    for kind in [EmitKind::Tokens, EmitKind::Messages, EmitKind::Text] {
                        let line = row.to_json_line(kind);
                        assert!(!line.contains('\n'), "one row, one line");
                        serde_json::from_str::<serde_json::Value>(&line).expect("rows are JSON");
                    }
                }
            }
            Err(error) => {
                assert_eq!(error.location.line, record.location.line);
                assert_eq!(error.length.is_some(), error.problem.code == "too_long");
                assert!(!error.problem.code.is_empty());
                let _ = error.to_string();
            }
        }
    }
});
