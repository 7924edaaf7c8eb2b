//! `--template` resolution and the errors a user's template can give, through the binary: Hub names
//! from a cache folder the test builds, named templates, refusals, unsupported constructs, rows whose
//! spans cannot be found, and `inspect-template`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn trajkit(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trajkit"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("trajkit runs")
}

fn scratch(name: &str) -> PathBuf {
    crate::run::fresh_folder(&format!("byo-{name}"))
}

use crate::run::{rows, stderr};

const TOKENIZERS: &str = "fixtures/tokenizers";

fn write_input(dir: &Path, records: &[Value]) -> PathBuf {
    let path = dir.join("in.jsonl");
    let text: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

fn chat(id: &str) -> Value {
    json!({"id": id, "messages": [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"}]})
}

fn with_tools(id: &str) -> Value {
    json!({"id": id, "messages": [
        {"role": "user", "content": "Weather in Lyon?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Lyon"}}}]},
        {"role": "tool", "name": "get_weather", "content": "sunny"},
        {"role": "assistant", "content": "Sunny."}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]})
}

/// A Hugging Face cache holding a copy of the Llama 3.1 tokenizer folder, as huggingface_hub lays it
/// out (refs/main → snapshots/<commit>/).
fn hub_cache(dir: &Path) -> PathBuf {
    let cache = dir.join("hub");
    let repo = cache.join("models--acme--tiny-llama");
    let snap = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    for f in ["tokenizer.json.gz", "tokenizer_config.json"] {
        std::fs::copy(Path::new(TOKENIZERS).join("llama3_1").join(f), snap.join(f)).unwrap();
    }
    cache
}

#[test]
fn hub_names_resolve_from_the_local_cache() {
    let dir = scratch("hub");
    let cache = hub_cache(&dir);
    let input = write_input(&dir, &[chat("a")]);
    let by_name =
        trajkit(&["convert", input.to_str().unwrap(), "--template", "acme/tiny-llama"], &[("HF_HUB_CACHE", &cache)]);
    assert!(by_name.status.success(), "{}", stderr(&by_name));
    let folder = Path::new(TOKENIZERS).join("llama3_1");
    let by_path = trajkit(&["convert", input.to_str().unwrap(), "--template", folder.to_str().unwrap()], &[]);
    assert!(by_path.status.success(), "{}", stderr(&by_path));
    let (a, b) = (&rows(&by_name)[0], &rows(&by_path)[0]);
    assert_eq!(a["input_ids"], b["input_ids"]);
    assert_eq!(a["assistant_masks"], b["assistant_masks"]);
    assert_eq!(a["input_ids"][0], 128000, "bos_token from the cached tokenizer_config.json");
    // HF_HOME/hub is the default cache, and --tokenizer takes Hub names too.
    let home = dir.clone();
    let out = trajkit(
        &[
            "convert",
            input.to_str().unwrap(),
            "--template",
            "acme/tiny-llama@0123abcd",
            "--tokenizer",
            "acme/tiny-llama",
        ],
        &[("HF_HOME", &home)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Not cached: an error that says trajkit does not download.
    let out = trajkit(&["convert", input.to_str().unwrap(), "--template", "acme/other"], &[("HF_HUB_CACHE", &cache)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not in the Hugging Face cache"), "{}", stderr(&out));
}

#[test]
fn named_templates_pick_tool_use_for_rows_with_tools() {
    let dir = scratch("named");
    let config = json!({
        "eos_token": "<|im_end|>",
        "chat_template": [
            {"name": "default", "template": "{% for m in messages %}<|im_start|>{{ m.role }}\nD:{{ m.content }}<|im_end|>\n{% endfor %}"},
            {"name": "tool_use", "template": "{% for m in messages %}<|im_start|>{{ m.role }}\nT:{{ m.content }}<|im_end|>\n{% endfor %}"}
        ]
    });
    std::fs::write(dir.join("tokenizer_config.json"), config.to_string()).unwrap();
    std::fs::copy(Path::new(TOKENIZERS).join("qwen3/tokenizer.json.gz"), dir.join("tokenizer.json.gz")).unwrap();
    let input = write_input(&dir, &[chat("plain"), with_tools("tools")]);
    let text = |args: &[&str]| {
        let mut all = vec!["convert", input.to_str().unwrap(), "--template", dir.to_str().unwrap(), "--emit", "text"];
        all.extend_from_slice(args);
        let out = trajkit(&all, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        rows(&out).iter().map(|r| r["text"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let auto = text(&[]);
    assert!(auto[0].contains("D:Hi there") && auto[1].contains("T:Weather"), "{auto:?}");
    let forced = text(&["--template-name", "default"]);
    assert!(forced[1].contains("D:Weather"), "{forced:?}");
    let out = trajkit(
        &["convert", input.to_str().unwrap(), "--template", dir.to_str().unwrap(), "--template-name", "nope"],
        &[],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no chat template named `nope`") && stderr(&out).contains("default, tool_use"));
}

#[test]
fn refusals_unsupported_constructs_and_underivable_spans_are_located_errors() {
    let dir = scratch("errors");
    std::fs::copy(Path::new(TOKENIZERS).join("qwen3/tokenizer.json.gz"), dir.join("tokenizer.json.gz")).unwrap();
    let input = write_input(&dir, &[chat("r1")]);
    let run = |template: &str| {
        let path = dir.join("t.jinja");
        std::fs::write(&path, template).unwrap();
        let rejects = dir.join("rejects.jsonl");
        let out = trajkit(
            &[
                "convert",
                input.to_str().unwrap(),
                "--template",
                path.to_str().unwrap(),
                "--rejects",
                rejects.to_str().unwrap(),
            ],
            &[],
        );
        let reject: Value =
            serde_json::from_str(std::fs::read_to_string(&rejects).unwrap().lines().next().unwrap_or("null")).unwrap();
        (stderr(&out), reject)
    };
    // raise_exception: the record, the template's message.
    let (err, reject) = run("{{ raise_exception('Only system/user roles, please') }}");
    assert!(
        err.contains("in.jsonl:1") && err.contains("(id r1)") && err.contains("Only system/user roles, please"),
        "{err}"
    );
    assert_eq!(reject["code"], "template_refused");
    // A jinja2 filter minijinja does not have: named in the record's error.
    let (err, reject) = run("{% for m in messages %}{{ m.content | center(9) }}{% endfor %}");
    assert!(err.contains("filter center is unknown") && err.contains("does not provide"), "{err}");
    assert_eq!(reject["code"], "template_error");
    // A template that does not parse stops the run, with the line.
    let path = dir.join("bad.jinja");
    std::fs::write(&path, "line one\n{% for m in messages %}{{ m.content }}").unwrap();
    let out = trajkit(&["convert", input.to_str().unwrap(), "--template", path.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 2") || stderr(&out).contains(":2"), "{}", stderr(&out));
    // The template writes nothing for the assistant: rejected with the reason, no all-zero row.
    let (err, reject) = run("{% for m in messages %}{% if m.role == 'user' %}<|im_start|>user\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
    assert_eq!(reject["code"], "spans_not_found", "{err}");
}

#[test]
fn inspect_template_reports_what_it_supports() {
    let folder = Path::new(TOKENIZERS).join("llama3_1");
    let out = trajkit(&["inspect-template", folder.to_str().unwrap(), "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["generation_prompt"], "<|start_header_id|>assistant<|end_header_id|>\n\n");
    assert_eq!(report["system_prompt"]["status"], "yes");
    assert_eq!(report["reasoning"]["status"], "ignored");
    assert_eq!(report["prefix_preserving"]["preserving"], true);
    assert_eq!(report["end_of_turn"][0], "<|eot_id|>");
    assert_eq!(report["mask_covers_end"], true);
    let out = trajkit(&["inspect-template", "qwen3"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("prefix-preserving  no") && text.contains("drops old thinking yes"), "{text}");
    assert!(text.contains("mask covers it     yes"), "{text}");
}

/// Tool results written inside the calling message's turn and its text after them; an answer that
/// follows opens a new turn without closing that one (what TRL's diffusion_gemma.jinja does).
const LATE_TEXT_TEMPLATE: &str = r#"{%- for m in messages -%}
{%- if m.role == 'assistant' -%}
{{- '<|turn>model\n' -}}
{%- for c in m.tool_calls or [] -%}
{{- '<|tool_call>' + c.function.name + (c.function.arguments | tojson) + '<tool_call|>' -}}
{%- endfor -%}
{%- set ns = namespace(results=false, next=none, done=false) -%}
{%- if m.tool_calls -%}
{%- for j in range(loop.index0 + 1, messages | length) -%}
{%- if not ns.done and messages[j].role == 'tool' -%}
{{- '<|tool_response>response:' + messages[j].content + '<tool_response|>' -}}
{%- set ns.results = true -%}
{%- elif not ns.done -%}
{%- set ns.done = true -%}
{%- set ns.next = messages[j].role -%}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- m.content -}}
{%- if m.tool_calls and not ns.results -%}
{{- '<|tool_response>' -}}
{%- elif ns.next != 'assistant' -%}
{{- '<turn|>\n' -}}
{%- endif -%}
{%- elif m.role != 'tool' -%}
{{- '<|turn>' + m.role + '\n' + m.content + '<turn|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|turn>model\n' -}}
{%- endif -%}"#;

#[test]
fn text_written_after_the_tool_results_is_trained_and_lints_clean() {
    let dir = scratch("late");
    let template = dir.join("late.jinja");
    std::fs::write(&template, LATE_TEXT_TEMPLATE).unwrap();
    let call =
        |city: &str| json!({"type": "function", "function": {"name": "get_weather", "arguments": {"city": city}}});
    let record = json!({"id": "late", "messages": [
        {"role": "user", "content": "Weather in Oslo and Rome?"},
        {"role": "assistant", "content": "Checking both cities now.", "tool_calls": [call("Oslo"), call("Rome")]},
        {"role": "tool", "content": "{\"temp\": 3}"},
        {"role": "tool", "content": "{\"temp\": 18}"},
        {"role": "assistant", "content": "Oslo is 3 degrees, Rome 18."},
        {"role": "user", "content": "And Paris?"},
        {"role": "assistant", "content": "Looking up Paris.", "tool_calls": [call("Paris")]},
        {"role": "tool", "content": "{\"temp\": 11}"},
        {"role": "user", "content": "Thanks, that's enough."}],
        "tools": with_tools("t")["tools"]});
    let input = write_input(&dir, &[record]);
    let tokenizer = Path::new(TOKENIZERS).join("qwen3");
    let (template, tokenizer) = (template.to_str().unwrap(), tokenizer.to_str().unwrap());
    let out = trajkit(&["convert", input.to_str().unwrap(), "--template", template, "--tokenizer", tokenizer], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let converted = dir.join("out.jsonl");
    std::fs::write(&converted, &out.stdout).unwrap();
    let out =
        trajkit(&["check-mask", converted.to_str().unwrap(), "--template", template, "--tokenizer", tokenizer], &[]);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let spans: Vec<&str> = report.split('▶').skip(1).map(|s| s.split('◀').next().unwrap()).collect();
    // The calling messages' text, after their results, is output like the calls (the first one is
    // followed straight by the next answer's turn, the second closes its turn).
    assert!(spans.iter().any(|s| s.starts_with("Checking both cities now.")), "{report}");
    assert!(spans.contains(&"Looking up Paris.<turn|>\n"), "{report}");
    // ... and not the results.
    assert!(!spans.iter().any(|s| s.contains("temp")), "{report}");
    assert!(report.contains("; 0 violations"), "{report}\n{}", stderr(&out));
}
