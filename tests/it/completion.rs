//! Round trip of the output parsers: for every golden conversation, what a template renders for an
//! assistant turn parses back into that turn (content, reasoning where the template keeps it, tool
//! calls with equal parsed arguments). Checked two ways: from the text trajkit's own template
//! renders (byte spans of the supervised part), and from the reference's token ids and assistant
//! masks in fixtures/golden (decoded with the template's tokenizer), which also covers Harmony
//! content that spells a control token.

use serde_json::Value;
use trajkit::completion::{parse_ids, parse_text, Format, ParseError};
use trajkit::conversation::{split_inline_reasoning, Conversation, Message, Role};
use trajkit::ingest::{ingest, IngestOptions};
use trajkit::render::{load, Date, RenderOptions};
use trajkit::tokenize::{Embedded, TextTokenizer, TokenizerSource};

fn read_jsonl(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn conversations(files: &[&str]) -> Vec<Conversation> {
    let mut out = Vec::new();
    for file in files {
        for case in read_jsonl(file) {
            let id = case["id"].as_str().unwrap().to_string();
            let mut c = ingest(&case.to_string(), &id, &IngestOptions::default()).unwrap().conversation;
            for m in &mut c.messages {
                m.train = true;
            }
            out.push(c);
        }
    }
    out
}

/// What a turn should parse back to: reasoning and content as the template writes them.
#[derive(Debug, Clone, PartialEq)]
struct Turn {
    content: String,
    reasoning: Option<String>,
    calls: Vec<(String, Option<Value>)>,
}

impl Turn {
    fn of(m: &Message) -> Turn {
        Turn {
            content: m.content.clone(),
            reasoning: m.reasoning.clone().filter(|r| !r.is_empty()),
            calls: m.tool_calls.iter().map(|c| (c.name.clone(), c.arguments.parsed())).collect(),
        }
    }

    /// Arguments the template writes verbatim and that are not a JSON object cannot be read back
    /// as a call: the parser must refuse them.
    fn has_unreadable_arguments(&self) -> bool {
        self.calls.iter().any(|(_, a)| !matches!(a, Some(Value::Object(_))))
    }
}

/// The turn as the template sees it. Qwen3 renders reasoning only after the last user message (and
/// on the last turn), stripping newlines around it and leading newlines of the content; ChatML
/// renders the content as written, inline `<think>` included, which the parser reads as reasoning;
/// Harmony renders reasoning after the last user message and content as written.
fn expected(format: Format, c: &Conversation, i: usize) -> Turn {
    let m = &c.messages[i];
    let last_user = match format {
        // Qwen3's template does not count a user message shaped like a tool response as a query.
        Format::Qwen3 => c.messages.iter().rposition(|m| {
            let t = m.content.as_str();
            m.role == Role::User && !(t.starts_with("<tool_response>") && t.ends_with("</tool_response>"))
        }),
        _ => c.last_user_index(),
    }
    .map_or(-1, |u| u as isize);
    let after_query = i as isize > last_user;
    let mut turn = Turn::of(m);
    match format {
        Format::Qwen3 => {
            let is_last = i + 1 == c.messages.len();
            if after_query && (is_last || turn.reasoning.is_some()) {
                turn.reasoning = turn.reasoning.map(|r| r.trim_matches('\n').to_string()).filter(|r| !r.is_empty());
                turn.content = turn.content.trim_start_matches('\n').to_string();
            } else {
                turn.reasoning = None;
            }
        }
        Format::ChatMl | Format::Hermes => {
            let written = m.inline_original.clone().unwrap_or_else(|| m.content.clone());
            match split_inline_reasoning(&written) {
                Some((r, a)) => (turn.reasoning, turn.content) = (Some(r).filter(|r| !r.is_empty()), a),
                None => (turn.reasoning, turn.content) = (None, written),
            }
        }
        Format::Harmony => match &m.inline_original {
            Some(original) => (turn.reasoning, turn.content) = (None, original.clone()),
            None if !after_query => turn.reasoning = None,
            None => {}
        },
    }
    turn
}

/// Consecutive assistant messages render as one run in Harmony; their parse is one message.
fn merge(turns: Vec<Turn>) -> Turn {
    let reasoning: Vec<String> = turns.iter().filter_map(|t| t.reasoning.clone()).collect();
    Turn {
        content: turns.iter().map(|t| t.content.as_str()).filter(|c| !c.is_empty()).collect::<Vec<_>>().join("\n"),
        reasoning: Some(reasoning.join("\n")).filter(|r| !r.is_empty()),
        calls: turns.into_iter().flat_map(|t| t.calls).collect(),
    }
}

/// Runs of consecutive assistant messages, as message indices.
fn assistant_runs(c: &Conversation) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (i, m) in c.messages.iter().enumerate() {
        if m.role != Role::Assistant {
            continue;
        }
        match runs.last_mut() {
            Some(run) if *run.last().unwrap() + 1 == i => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs
}

/// Harmony cases whose assistant content spells a control token: exact from ids, ambiguous as text.
const SPELLS_CONTROL_TOKENS: &[&str] = &["harmony_control_token_lookalikes", "control_like_text_in_tool_result"];

/// Cases whose rendering cannot be read back, and why.
fn not_invertible(format: Format, id: &str) -> Option<&'static str> {
    match (format, id) {
        // The answer quotes `<|endoftext|> <tool_call>`: Qwen's templates encode rendered text as a
        // whole, so it becomes the control token (and a call opening) in the training data too.
        (Format::Qwen3 | Format::ChatMl, "control_like_text_in_tool_result") => Some("content spells control tokens"),
        // The content itself contains `</think>`; Qwen3's template renders it after the real think
        // block, and the answer is what follows the last `</think>` (the template's own cut).
        (Format::Qwen3, "literal_think_tag_in_content_with_reasoning_field") => Some("content contains </think>"),
        _ => None,
    }
}

/// Compare a parse with the expected turn; unreadable arguments must be refused.
fn check(
    format: Format,
    id: &str,
    what: &str,
    want: &Turn,
    got: Result<Message, ParseError>,
    failures: &mut Vec<String>,
) -> bool {
    if want.has_unreadable_arguments() {
        match got {
            Err(ParseError::Arguments { .. }) | Err(ParseError::CallJson { .. }) => return true,
            other => {
                failures.push(format!("{id} {what}: verbatim non-JSON arguments should be refused, got {other:?}"));
                return false;
            }
        }
    }
    match got {
        Ok(m) if Turn::of(&m) == *want => true,
        Ok(m) => {
            if not_invertible(format, id).is_none() {
                failures.push(format!("{id} {what}:\n   got  {:?}\n   want {want:?}", Turn::of(&m)));
            }
            false
        }
        Err(e) => {
            if not_invertible(format, id).is_none() {
                failures.push(format!("{id} {what}: {e}"));
            }
            false
        }
    }
}

/// Render every conversation with trajkit's template; parse each supervised span.
fn round_trip_rendered(template: &str, format: Format, files: &[&str]) -> usize {
    let date = Date::parse("2026-01-15").unwrap();
    let loaded = load::load(template, None, date).unwrap();
    let options = RenderOptions { date, ..Default::default() };
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in conversations(files) {
        let Ok(rendered) = loaded.template.render(&c, &options) else { continue };
        let runs = assistant_runs(&c);
        assert_eq!(rendered.supervised.len(), runs.len(), "{}: one supervised span per assistant run", c.id);
        for (span, run) in rendered.supervised.iter().zip(runs) {
            let mut text = &rendered.text[span.clone()];
            if format == Format::ChatMl {
                // ChatML's span starts right after `<|im_start|>assistant`; the generation prompt
                // gives the newline that follows.
                text = text.strip_prefix('\n').unwrap();
            }
            if format == Format::Harmony && SPELLS_CONTROL_TOKENS.contains(&c.id.as_str()) {
                continue; // as text, ambiguous; harmony_reference_tokens_parse_back reads their ids
            }
            let want = merge(run.iter().map(|&i| expected(format, &c, i)).collect());
            checked += usize::from(check(format, &c.id, "(text)", &want, parse_text(format, text), &mut failures));
        }
    }
    assert!(failures.is_empty(), "{} turns do not round-trip:\n{}", failures.len(), failures.join("\n"));
    checked
}

/// Parse the reference's own assistant tokens (golden ids and masks) from ids, and from their text.
fn round_trip_golden(golden: &str, format: Format, files: &[&str], tokenizer: Embedded) -> usize {
    let tok = TextTokenizer::load(&TokenizerSource::Embedded(tokenizer)).unwrap();
    let by_id: std::collections::HashMap<String, Conversation> =
        conversations(files).into_iter().map(|c| (c.id.clone(), c)).collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in read_jsonl(golden) {
        let id = row["id"].as_str().unwrap();
        if row.get("error").is_some() {
            continue;
        }
        let c = &by_id[id];
        let ids: Vec<u32> = serde_json::from_value(row["input_ids"].clone()).unwrap();
        let mask: Vec<u8> = serde_json::from_value(row["assistant_masks"].clone()).unwrap();
        let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, &m) in mask.iter().enumerate() {
            match (m, spans.last_mut()) {
                (1, Some(s)) if s.end == i => s.end = i + 1,
                (1, _) => spans.push(i..i + 1),
                _ => {}
            }
        }
        let runs = assistant_runs(c);
        assert_eq!(spans.len(), runs.len(), "{id}: one masked run per assistant run");
        for (span, run) in spans.into_iter().zip(runs) {
            let mut want = merge(run.iter().map(|&i| expected(format, c, i)).collect());
            // Tokens say what the tokenizer's normalizer left of the text (Qwen's is NFC).
            want.content = tok.decode(&tok.encode(&want.content).unwrap().ids);
            want.reasoning = want.reasoning.map(|r| tok.decode(&tok.encode(&r).unwrap().ids));
            // The newline that ends the generation prompt (`assistant\n`) can be inside the span:
            // always for ChatML (its span starts right after `assistant`), and for Qwen3 when the
            // content starts with newlines and the tokenizer merged them with it. A model answering
            // the prompt would not produce such a merged token, so then only the text is checked.
            let newline_in_span = match format {
                Format::ChatMl => true,
                _ => format == Format::Qwen3 && tok.decode(&ids[span.start - 1..span.start]) != "\n",
            };
            let mut piece = &ids[span];
            let mut text = tok.decode(piece);
            let mut from_ids = true;
            if newline_in_span {
                text = text.strip_prefix('\n').unwrap().to_string();
                from_ids = tok.decode(&piece[..1]) == "\n";
                piece = &piece[1..];
            }
            if from_ids {
                checked +=
                    usize::from(check(format, id, "(ids)", &want, parse_ids(format, &tok, piece), &mut failures));
            }
            // From text, content that spells a control token cannot be told from the token.
            if format != Format::Harmony || !SPELLS_CONTROL_TOKENS.contains(&id) {
                checked += usize::from(check(format, id, "(text)", &want, parse_text(format, &text), &mut failures));
            }
        }
    }
    assert!(failures.is_empty(), "{} turns do not round-trip:\n{}", failures.len(), failures.join("\n"));
    checked
}

const CASES: &[&str] = &["fixtures/golden/cases.jsonl"];
const HARMONY_CASES: &[&str] = &["fixtures/golden/cases.jsonl", "fixtures/golden/cases_harmony.jsonl"];

#[test]
fn qwen3_renderings_parse_back() {
    assert!(round_trip_rendered("qwen3", Format::Qwen3, CASES) >= 60);
}

#[test]
fn chatml_renderings_parse_back() {
    assert!(round_trip_rendered("chatml", Format::ChatMl, CASES) >= 60);
}

#[test]
fn qwen3_reference_tokens_parse_back() {
    assert!(round_trip_golden("fixtures/golden/qwen3.jsonl", Format::Qwen3, CASES, Embedded::Qwen3) >= 120);
}

#[test]
fn chatml_reference_tokens_parse_back() {
    assert!(round_trip_golden("fixtures/golden/chatml.jsonl", Format::ChatMl, CASES, Embedded::Qwen3) >= 120);
}

#[test]
fn harmony_reference_tokens_parse_back() {
    assert!(
        round_trip_golden("fixtures/golden/harmony.jsonl", Format::Harmony, HARMONY_CASES, Embedded::GptOss) >= 150
    );
}

#[test]
fn harmony_renderings_parse_back() {
    assert!(round_trip_rendered("harmony", Format::Harmony, HARMONY_CASES) >= 70);
}

/// Malformed output is an error, never a panic: every prefix of every rendered assistant turn, and
/// the turns with control tokens and tags spliced in at pseudo-random places, in every format.
#[test]
fn broken_output_never_panics() {
    let date = Date::parse("2026-01-15").unwrap();
    let options = RenderOptions { date, ..Default::default() };
    let formats = [Format::Qwen3, Format::ChatMl, Format::Harmony, Format::Hermes];
    let noise = [
        "<|im_end|>",
        "<tool_call>",
        "</tool_call>",
        "<think>",
        "</think>",
        "<|start|>",
        "<|channel|>",
        "<|message|>",
        "<|call|>",
        "<|end|>",
        "<|return|>",
        "<|constrain|>",
        " to=",
        "{",
        "\"",
        "é",
        "\n",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0usize;
    for (template, files) in [("qwen3", CASES), ("harmony", HARMONY_CASES)] {
        let loaded = load::load(template, None, date).unwrap();
        for c in conversations(files) {
            let Ok(rendered) = loaded.template.render(&c, &options) else { continue };
            for span in &rendered.supervised {
                let text = &rendered.text[span.clone()];
                let cuts = text.char_indices().map(|(i, _)| i).chain([text.len()]);
                let mut variants: Vec<String> = cuts.map(|i| text[..i].to_string()).collect();
                for _ in 0..20 {
                    let mut v = text.to_string();
                    for _ in 0..3 {
                        let at = (next() as usize) % (v.len() + 1);
                        let at = (0..=at).rev().find(|&i| v.is_char_boundary(i)).unwrap();
                        v.insert_str(at, noise[(next() as usize) % noise.len()]);
                    }
                    variants.push(v);
                }
                for v in &variants {
                    for f in formats {
                        let _ = parse_text(f, v);
                        parsed += 1;
                    }
                }
            }
        }
    }
    assert!(parsed > 10_000);
}
