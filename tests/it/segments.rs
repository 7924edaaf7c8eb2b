//! The segment-cached encode equals one plain encode of the whole text, ids and offsets, on real
//! rendered conversations and on text full of control-token look-alikes.

use trajkit::tokenize::{Embedded, TextTokenizer, TokenizerSource};

fn tokenizer(which: Embedded) -> TextTokenizer {
    TextTokenizer::load(&TokenizerSource::Embedded(which)).unwrap()
}

fn golden_texts(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// Deterministic pseudo-random numbers (a linear congruential generator) from `seed`.
fn numbers(seed: u64) -> impl FnMut() -> usize {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as usize
    }
}

/// Deterministic pseudo-random text built from pieces that stress the cutting rule.
fn tricky_texts(seed: u64, count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<think>",
        "</think>",
        "<tool_call>",
        "</tool_call>",
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|return|>",
        "<|call|>",
        "<|constrain|>",
        "<|im_start",
        "|>",
        "<|",
        "\n",
        "\n\n",
        " ",
        "  ",
        "\t",
        "user",
        "assistant",
        "héllo",
        "日本語",
        "🙂",
        "{\"a\": 1}",
        "e\u{301}",
        "<<|im_end|>>",
        "<|im_end|><|im_start|>",
        "x",
        "1234",
        "\r\n",
    ];
    let mut next = numbers(seed);
    (0..count)
        .map(|_| {
            let n = 1 + next() % 40;
            (0..n).map(|_| PIECES[next() % PIECES.len()]).collect::<String>()
        })
        .collect()
}

fn assert_same(tok: &TextTokenizer, texts: &[String]) {
    for text in texts {
        // Twice: the second time the segments come from the cache.
        for _ in 0..2 {
            let cached = tok.encode(text).unwrap();
            let whole = tok.encode_whole(text).unwrap();
            assert_eq!(cached.ids, whole.ids, "ids differ for {text:?}");
            assert_eq!(cached.offsets, whole.offsets, "offsets differ for {text:?}");
        }
    }
}

#[test]
fn qwen3_segments_equal_whole_encode() {
    let tok = tokenizer(Embedded::Qwen3);
    let mut texts = golden_texts("fixtures/golden/qwen3.jsonl");
    texts.extend(golden_texts("fixtures/golden/chatml.jsonl"));
    assert!(texts.len() > 100);
    texts.extend(tricky_texts(1, 400));
    assert_same(&tok, &texts);
}

#[test]
fn gpt_oss_segments_equal_whole_encode() {
    let tok = tokenizer(Embedded::GptOss);
    let mut texts = golden_texts("fixtures/golden/harmony.jsonl");
    texts.extend(tricky_texts(2, 400));
    assert_same(&tok, &texts);
}

/// Text for the ASCII fast path: every ASCII character, contractions in any case, digits next to
/// whitespace runs, newlines before and after visible characters, and non-ASCII characters (which
/// go to the tokenizers crate) right next to the points where text is cut.
fn ascii_heavy_texts(seed: u64, count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        " ",
        "  ",
        "   ",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x1f",
        "\x00",
        "\x7f",
        "'",
        "'s",
        "'S",
        "'re",
        "'RE",
        "'rE",
        "'ve",
        "'ll",
        "'LL",
        "'m",
        "'d",
        "'x",
        "''",
        "a",
        "Hello",
        "world",
        "ZZ",
        "1",
        "42",
        "3.14",
        "-7",
        "{\"k\": [1, 2.5, true]}",
        "<tool_call>",
        "</think>",
        "<|im_end|>",
        "<|im_start|>",
        "!!",
        "?",
        "...",
        "#",
        "_",
        "é",
        "Lucía",
        "e\u{301}",
        "日本",
        "\u{a0}",
        "\u{3000}",
        "\u{85}",
        "ſ",
        "K",
        "٣",
        "🙂",
    ];
    let mut next = numbers(seed);
    let mut texts: Vec<String> = (0..count)
        .map(|_| {
            let n = 1 + next() % 60;
            (0..n).map(|_| PIECES[next() % PIECES.len()]).collect::<String>()
        })
        .collect();
    // Every ASCII character alone and between letters, digits and spaces.
    for b in 0u8..128 {
        let c = b as char;
        for context in ["{c}", "a{c}b", " {c} ", "1{c}2", "{c}{c}{c}x", "\n{c}\n", "'{c}", "  {c}"] {
            texts.push(context.replace("{c}", &c.to_string()));
        }
    }
    texts
}

#[test]
fn qwen3_fast_path_equals_whole_encode() {
    let tok = tokenizer(Embedded::Qwen3);
    assert!(tok.has_fast_path(), "the embedded Qwen3 tokenizer takes the fast path");
    assert_same(&tok, &ascii_heavy_texts(3, 3000));
    assert!(!tokenizer(Embedded::GptOss).has_fast_path(), "GPT-OSS has another pattern");
}

/// Sorted, disjoint byte ranges of `text` at character boundaries (some empty), from `seed`.
fn random_ranges(text: &str, seed: u64, allow_empty: bool) -> Vec<std::ops::Range<usize>> {
    let mut next = numbers(seed);
    let mut bounds: Vec<usize> = (0..next() % 12).map(|_| next() % (text.len() + 1)).collect();
    bounds.retain(|&b| text.is_char_boundary(b));
    bounds.sort_unstable();
    if !allow_empty {
        bounds.dedup();
    }
    bounds.chunks_exact(2).map(|pair| pair[0]..pair[1]).filter(|r| allow_empty || !r.is_empty()).collect()
}

/// The mask made while encoding equals the overlap rule applied to the offsets, for supervised
/// spans anywhere (inside, across and between segments, empty, the whole text) and with ordinary
/// ranges.
#[test]
fn masks_made_while_encoding_equal_the_overlap_rule() {
    for (which, golden) in
        [(Embedded::Qwen3, "fixtures/golden/qwen3.jsonl"), (Embedded::GptOss, "fixtures/golden/harmony.jsonl")]
    {
        let tok = tokenizer(which);
        let mut texts = golden_texts(golden);
        texts.extend(tricky_texts(4, 200));
        for (i, text) in texts.iter().enumerate() {
            let seed = i as u64;
            let mut span_sets = vec![Vec::new(), vec![0..text.len()]];
            span_sets.extend((0..4).map(|k| random_ranges(text, seed * 8 + k, true)));
            for spans in span_sets {
                let ordinary = match which {
                    Embedded::GptOss => random_ranges(text, seed * 8 + 5, false),
                    Embedded::Qwen3 => Vec::new(),
                };
                for _ in 0..2 {
                    let masked = tok.encode_masked(text, &ordinary, &spans).unwrap();
                    let tokens = tok.encode_with_ordinary(text, &ordinary).unwrap();
                    assert_eq!(masked.ids, tokens.ids, "{text:?}");
                    let expected = trajkit::mask::token_mask(&tokens.offsets, &spans);
                    assert_eq!(masked.mask, expected, "{text:?} spans {spans:?} ordinary {ordinary:?}");
                }
            }
        }
    }
}
