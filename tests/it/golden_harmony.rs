//! Golden tests for `--template harmony`: trajkit's ids and masks against what openai-harmony 0.0.8
//! `render_conversation_for_training` produced for the same conversations (fixtures/golden/harmony.jsonl,
//! made by scripts/golden/gen_harmony.py; rules in docs/harmony-spec.md). A mismatch prints the first
//! differing token with decoded context on both sides.

use std::collections::HashMap;

use serde_json::{json, Value};
use trajkit::diagnostic::Diagnostic;
use trajkit::ingest::{ingest, IngestOptions};
use trajkit::pipeline::{Converter, Expand};
use trajkit::render::{load, Date, HarmonyOptions, ReasoningEffort, ReasoningPolicy, RenderOptions};
use trajkit::tokenize::{Embedded, TextTokenizer, TokenizerSource};

fn read_jsonl(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn converter(render: RenderOptions, expand: Expand) -> Converter {
    let loaded = load::load("harmony", None, render.date).unwrap();
    let source = loaded.tokenizer.clone().unwrap();
    assert_eq!(source, TokenizerSource::Embedded(Embedded::GptOss), "harmony's own tokenizer is GPT-OSS");
    Converter {
        template: loaded.template,
        tokenizer: Some(TextTokenizer::load(&source).unwrap()),
        ingest: IngestOptions::default(),
        render,
        expand,
        validation: None,
    }
}

fn default_converter() -> Converter {
    converter(RenderOptions { date: Date::parse("2026-01-15").unwrap(), ..Default::default() }, Expand::Conversation)
}

/// Every input case, by id: the shared cases and the harmony-specific ones.
fn cases() -> HashMap<String, Value> {
    ["fixtures/golden/cases.jsonl", "fixtures/golden/cases_harmony.jsonl"]
        .iter()
        .flat_map(|p| read_jsonl(p))
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect()
}

fn convert(conv: &Converter, case: &Value, id: &str) -> Result<trajkit::emit::Row, String> {
    let ingested = ingest(&case.to_string(), id, &IngestOptions::default()).map_err(|e| e.to_string())?;
    let mut done = conv.convert_conversation(ingested.conversation, ingested.warnings).map_err(|e| e.to_string())?;
    assert_eq!(done.rows.len(), 1, "{id}: one row per conversation");
    Ok(done.rows.remove(0))
}

/// The window of 8 tokens each side of `at`, as ids and decoded text.
fn window(tok: &TextTokenizer, ids: &[u32], at: usize) -> String {
    let lo = at.saturating_sub(8).min(ids.len());
    let hi = (at + 8).min(ids.len());
    format!("{:?} «{}»", &ids[lo..hi], tok.decode(&ids[lo..hi]))
}

fn first_difference<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => Some(at),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

#[test]
fn harmony_matches_openai_harmony_token_for_token() {
    let conv = default_converter();
    let tok = conv.tokenizer.clone().unwrap();
    let cases = cases();
    let golden = read_jsonl("fixtures/golden/harmony.jsonl");
    let mut failures = Vec::new();
    let (mut ids_ok, mut masks_ok, mut refusals_ok, mut refusals) = (0, 0, 0, 0);
    for expected in &golden {
        let id = expected["id"].as_str().unwrap();
        let result = convert(&conv, &cases[id], id);
        if let Some(reason) = expected.get("error") {
            refusals += 1;
            match result {
                Ok(_) => failures.push(format!("{id}: openai-harmony refused ({reason}) but trajkit converted it")),
                Err(_) => refusals_ok += 1,
            }
            continue;
        }
        let row = match result {
            Ok(row) => row,
            Err(e) => {
                failures.push(format!("{id}: trajkit refused: {e}"));
                continue;
            }
        };
        let want_ids: Vec<u32> = serde_json::from_value(expected["input_ids"].clone()).unwrap();
        let want_mask: Vec<u8> = serde_json::from_value(expected["assistant_masks"].clone()).unwrap();
        if let Some(at) = first_difference(&row.input_ids, &want_ids) {
            failures.push(format!(
                "{id}: ids differ first at token {at} (lengths {} vs {})\n  trajkit:  {}\n  expected: {}",
                row.input_ids.len(),
                want_ids.len(),
                window(&tok, &row.input_ids, at),
                window(&tok, &want_ids, at)
            ));
            continue;
        }
        ids_ok += 1;
        if let Some(at) = first_difference(&row.assistant_masks, &want_mask) {
            let lo = at.saturating_sub(8);
            let hi = (at + 8).min(want_mask.len());
            failures.push(format!(
                "{id}: mask differs first at token {at} ({} «{}»)\n  trajkit:  {:?}\n  expected: {:?}",
                want_ids[at],
                window(&tok, &want_ids, at),
                &row.assistant_masks[lo..hi.min(row.assistant_masks.len())],
                &want_mask[lo..hi]
            ));
            continue;
        }
        masks_ok += 1;
    }
    let rendered = golden.len() - refusals;
    eprintln!("harmony golden: ids {ids_ok}/{rendered} masks {masks_ok}/{rendered} refusals {refusals_ok}/{refusals}");
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), golden.len(), failures.join("\n"));
    assert!(rendered >= 70 && refusals >= 2);
}

/// Text that spells control tokens inside content is ordinary text for Harmony (encode_ordinary),
/// unlike a whole-text encode with the Hugging Face tokenizer.
#[test]
fn control_token_text_in_content_stays_ordinary() {
    let conv = default_converter();
    let tok = conv.tokenizer.clone().unwrap();
    let cases = cases();
    let golden: HashMap<String, Value> = read_jsonl("fixtures/golden/harmony.jsonl")
        .into_iter()
        .map(|g| (g["id"].as_str().unwrap().to_string(), g))
        .collect();
    for id in
        ["control_like_text_in_tool_result", "harmony_control_token_lookalikes", "control_tokens_typed_in_user_content"]
    {
        let row = convert(&conv, &cases[id], id).unwrap();
        let want: Vec<u32> = serde_json::from_value(golden[id]["input_ids"].clone()).unwrap();
        assert_eq!(row.input_ids, want, "{id}");
        // Encoding the same text as a whole turns the typed control tokens into control ids.
        let whole = tok.encode(&row.text).unwrap().ids;
        let specials = |ids: &[u32]| ids.iter().filter(|&&i| i >= 199_998).count();
        if id != "control_tokens_typed_in_user_content" {
            assert!(specials(&whole) > specials(&row.input_ids), "{id}: the case must spell a GPT-OSS control token");
        }
    }
    // A user typing `<|end|>` gets the ordinary pieces, never id 200007 inside the message.
    let case = json!({"messages": [{"role": "user", "content": "say <|end|> and <|return|>"}, {"role": "assistant", "content": "ok"}]});
    let row = convert(&conv, &case, "typed").unwrap();
    let end = tok.token_to_id("<|end|>").unwrap();
    let ends: Vec<usize> = row.input_ids.iter().enumerate().filter(|(_, &i)| i == end).map(|(k, _)| k).collect();
    assert_eq!(ends.len(), 2, "only the system and user messages end with <|end|>: {}", tok.decode(&row.input_ids));
}

fn simple_conversation() -> Value {
    json!({"messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "reasoning_content": "Call the tool.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "-3C"},
        {"role": "assistant", "content": "It is -3°C.", "reasoning_content": "Answer."}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]})
}

#[test]
fn system_message_flags() {
    let render = RenderOptions {
        date: Date::parse("2026-01-15").unwrap(),
        harmony: HarmonyOptions {
            reasoning_effort: ReasoningEffort::High,
            model_identity: "You are a tester.".into(),
            knowledge_cutoff: "2025-01".into(),
            current_date: Some("2026-01-15".into()),
        },
        ..Default::default()
    };
    let row = convert(&converter(render, Expand::Conversation), &simple_conversation(), "flags").unwrap();
    assert!(
        row.text.starts_with(
            "<|start|>system<|message|>You are a tester.\nKnowledge cutoff: 2025-01\nCurrent date: 2026-01-15\n\nReasoning: high\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.\nCalls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Tools"
        ),
        "{}",
        row.text
    );
}

/// The supervised text of a row, run by run.
fn supervised_text(conv: &Converter, row: &trajkit::emit::Row) -> Vec<String> {
    let tok = conv.tokenizer.as_ref().unwrap();
    trajkit::check::supervised_runs(&row.assistant_masks).into_iter().map(|r| tok.decode(&row.input_ids[r])).collect()
}

#[test]
fn reasoning_context_keeps_analysis_without_loss_and_drop_removes_it() {
    let date = Date::parse("2026-01-15").unwrap();
    let train = convert(&default_converter(), &simple_conversation(), "r").unwrap();
    let context_conv = converter(
        RenderOptions { date, reasoning: ReasoningPolicy::Context, ..Default::default() },
        Expand::Conversation,
    );
    let context = convert(&context_conv, &simple_conversation(), "r").unwrap();
    assert_eq!(context.input_ids, train.input_ids, "context keeps the same tokens");
    assert_eq!(
        supervised_text(&context_conv, &context),
        [
            "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Oslo\"}<|call|>",
            "<|start|>assistant<|channel|>final<|message|>It is -3°C.<|return|>"
        ]
    );
    let drop_conv =
        converter(RenderOptions { date, reasoning: ReasoningPolicy::Drop, ..Default::default() }, Expand::Conversation);
    let dropped = convert(&drop_conv, &simple_conversation(), "r").unwrap();
    assert!(!dropped.text.contains("<|channel|>analysis"), "{}", dropped.text);
    assert_eq!(
        supervised_text(&drop_conv, &dropped),
        [
            " to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"city\":\"Oslo\"}<|call|>",
            "<|channel|>final<|message|>It is -3°C.<|return|>"
        ]
    );
}

#[test]
fn train_false_messages_carry_no_loss_and_per_turn_rows_lint_clean() {
    let case = json!({"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello.", "reasoning_content": "greet"},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": null, "reasoning_content": "Call the tool.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}], "train": false},
        {"role": "tool", "tool_call_id": "c1", "content": "-3C"},
        {"role": "assistant", "content": "It is -3°C."}],
        "tools": simple_conversation()["tools"].clone()});
    let conv = default_converter();
    let tok = conv.tokenizer.clone().unwrap();
    let row = convert(&conv, &case, "t").unwrap();
    assert_eq!(row.info.no_loss_turns, vec![1]);
    assert!(!row.text.contains("greet"), "reasoning before the last user message is dropped");
    assert_eq!(
        supervised_text(&conv, &row),
        ["<|channel|>final<|message|>Hello.<|end|>", "<|channel|>final<|message|>It is -3°C.<|return|>"]
    );
    let lint = |row: &trajkit::emit::Row| {
        let grammar = trajkit::check::TurnGrammar::for_row("harmony", &tok, &row.input_ids).unwrap();
        let turns = trajkit::check::turns(&row.input_ids, &grammar, &tok);
        trajkit::check::lint(&row.assistant_masks, &turns, &row.info.no_loss_turns)
    };
    assert!(lint(&row).is_empty(), "{:?}", lint(&row));

    let per_turn =
        converter(RenderOptions { date: Date::parse("2026-01-15").unwrap(), ..Default::default() }, Expand::PerTurn);
    let ingested = ingest(&case.to_string(), "t", &IngestOptions::default()).unwrap();
    let rows = per_turn.convert_conversation(ingested.conversation, ingested.warnings).unwrap().rows;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        supervised_text(&per_turn, &rows[0]),
        ["<|channel|>analysis<|message|>greet<|end|><|start|>assistant<|channel|>final<|message|>Hello.<|return|>"]
    );
    assert_eq!(supervised_text(&per_turn, &rows[1]), ["<|channel|>final<|message|>It is -3°C.<|return|>"]);
    for row in &rows {
        assert!(lint(row).is_empty(), "{}: {:?}", row.id, lint(row));
    }
}

/// Consecutive assistant messages form one turn for check-mask (one run); `no_loss_turns` counts
/// those runs, so a run kept as context, or mixing context and trained messages, lints clean.
#[test]
fn runs_of_assistant_messages_are_one_turn() {
    let case = json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "one", "train": false},
        {"role": "assistant", "content": "two", "train": false},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": "three", "train": false},
        {"role": "assistant", "content": "four"}]});
    let conv = default_converter();
    let tok = conv.tokenizer.clone().unwrap();
    let row = convert(&conv, &case, "runs").unwrap();
    assert_eq!(row.info.no_loss_turns, vec![0]);
    assert_eq!(supervised_text(&conv, &row), ["<|start|>assistant<|channel|>final<|message|>four<|return|>"]);
    assert!(lint_row(&tok, &row).is_empty(), "{:?}", lint_row(&tok, &row));
    let per_turn =
        converter(RenderOptions { date: Date::parse("2026-01-15").unwrap(), ..Default::default() }, Expand::PerTurn);
    let ingested = ingest(&case.to_string(), "runs", &IngestOptions::default()).unwrap();
    let rows = per_turn.convert_conversation(ingested.conversation, ingested.warnings).unwrap().rows;
    assert_eq!(rows.len(), 1, "the first turn trains nothing");
    assert_eq!(rows[0].info.no_loss_turns, vec![0]);
    assert!(lint_row(&tok, &rows[0]).is_empty(), "{:?}", lint_row(&tok, &rows[0]));
}

/// Choices the golden files do not pin (docs/harmony-spec.md §10).
#[test]
fn other_tool_kinds_are_left_out_and_a_lone_tool_owns_orphan_results() {
    let conv = default_converter();
    let weather = simple_conversation()["tools"][0].clone();
    let case = json!({"messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "Checking: get_weather(city=Oslo)"},
        {"role": "tool", "content": "-3C"},
        {"role": "assistant", "content": "It is -3°C."}],
        "tools": [{"type": "code_interpreter"}, weather]});
    let row = convert(&conv, &case, "lone").unwrap();
    assert!(row.text.contains("namespace functions {\n\n// Weather.\ntype get_weather"), "{}", row.text);
    assert!(!row.text.contains("code_interpreter"));
    assert!(row.text.contains("<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>-3C<|end|>"));
    // With only non-function tools there is no tools section at all.
    let mut only_code = case.clone();
    only_code["tools"] = json!([{"type": "code_interpreter"}]);
    let err = convert(&conv, &only_code, "code").unwrap_err();
    assert!(err.contains("answers no tool call"), "{err}");
    only_code["messages"] = json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]);
    let row = convert(&conv, &only_code, "code").unwrap();
    assert!(!row.text.contains("# Tools") && !row.text.contains("Calls to these tools"), "{}", row.text);
}

#[test]
fn refusals_name_the_problem() {
    let conv = default_converter();
    let bad_parameters = json!({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ok"}],
        "tools": [{"type": "function", "function": {"name": "bad", "parameters": "not a schema"}}]});
    let err = convert(&conv, &bad_parameters, "p").unwrap_err();
    assert!(err.contains("parameters must be a JSON schema object") && err.contains("template_refused"), "{err}");
    let late_system = json!({"messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "x"}, {"role": "assistant", "content": "ok"}]});
    let err = convert(&conv, &late_system, "s").unwrap_err();
    assert!(err.contains("system message is only allowed first"), "{err}");
}

/// Lint one row the way `check-mask` does: from the ids alone.
fn lint_row(tok: &TextTokenizer, row: &trajkit::emit::Row) -> Vec<Diagnostic> {
    let grammar = trajkit::check::TurnGrammar::for_row("harmony", tok, &row.input_ids).unwrap();
    let turns = trajkit::check::turns(&row.input_ids, &grammar, tok);
    trajkit::check::lint(&row.assistant_masks, &turns, &row.info.no_loss_turns)
}

/// Every text record of ../shared (samples and real data) converts with the harmony template and
/// lints clean, whole and per turn, reasoning trained or kept as context; skipped when absent.
#[test]
fn shared_samples_and_real_data_convert_and_lint_clean() {
    let shared = std::path::Path::new("../shared");
    if !shared.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    let inputs: Vec<&str> = crate::run::SHARED_INPUTS.iter().copied().chain(["conformance/cases.jsonl"]).collect();
    let date = Date::parse("2026-01-15").unwrap();
    for (reasoning, expand) in [
        (ReasoningPolicy::Train, Expand::Conversation),
        (ReasoningPolicy::Train, Expand::PerTurn),
        (ReasoningPolicy::Context, Expand::Conversation),
    ] {
        let conv = converter(RenderOptions { date, reasoning, ..Default::default() }, expand);
        let tok = conv.tokenizer.clone().unwrap();
        for &input in &inputs {
            let path = shared.join(input);
            let reader = trajkit::source::RecordReader::open(path.to_str().unwrap(), 0).unwrap();
            for record in reader {
                let record = record.unwrap();
                let done = conv.convert(&record).unwrap_or_else(|e| panic!("{input} ({reasoning:?}, {expand:?}): {e}"));
                for row in &done.rows {
                    let violations = lint_row(&tok, row);
                    assert!(violations.is_empty(), "{input} {} ({reasoning:?}, {expand:?}): {violations:?}", row.id);
                }
            }
        }
    }
    let vision = shared.join("real/functionary-tests/test_case_vision.json");
    let record = trajkit::source::RecordReader::open(vision.to_str().unwrap(), 0).unwrap().next().unwrap().unwrap();
    let err = default_converter().convert(&record).unwrap_err();
    assert_eq!(err.problem.code.as_str(), "image_content", "{err}");
}

/// The independent conformance vectors of ../shared (openai-harmony's ids and masks for 28
/// conversations); skipped when absent.
#[test]
fn shared_conformance_vectors() {
    let dir = std::path::Path::new("../shared/conformance");
    if !dir.exists() {
        eprintln!("../shared absent: skipped");
        return;
    }
    let conv = default_converter();
    let tok = conv.tokenizer.clone().unwrap();
    let cases: HashMap<String, Value> = read_jsonl(dir.join("cases.jsonl").to_str().unwrap())
        .into_iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect();
    let expected = read_jsonl(dir.join("expected/harmony.jsonl").to_str().unwrap());
    assert!(expected.len() >= 28);
    for want in expected {
        let id = want["id"].as_str().unwrap();
        let result = convert(&conv, &cases[id], id);
        if want.get("error").is_some() {
            assert!(result.is_err(), "{id}: openai-harmony refused it");
            continue;
        }
        let row = result.unwrap_or_else(|e| panic!("{id}: {e}"));
        let ids: Vec<u32> = serde_json::from_value(want["input_ids"].clone()).unwrap();
        let mask: Vec<u8> = serde_json::from_value(want["assistant_masks"].clone()).unwrap();
        if let Some(at) = first_difference(&row.input_ids, &ids) {
            panic!(
                "{id}: ids differ at {at}\n  trajkit:  {}\n  expected: {}",
                window(&tok, &row.input_ids, at),
                window(&tok, &ids, at)
            );
        }
        assert_eq!(first_difference(&row.assistant_masks, &mask), None, "{id}: masks differ");
    }
}
