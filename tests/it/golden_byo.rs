//! Bring-your-own templates against transformers: every original chat template TRL ships
//! (`trl/chat_templates/*.jinja` without `_training`) and the `chat_template` of four npm tokenizer
//! packages, rendered by trajkit and compared text for text, token for token and mask for mask with
//! fixtures/golden/byo (made by scripts/golden/gen_byo.py).
//!
//! The TRL templates are not committed (docs/templates.md says why); set `TRL_TEMPLATES` to the
//! `trl/chat_templates` folder of trl 1.16 to include them, e.g.
//! `TRL_TEMPLATES=$(python -c 'import trl,os;print(os.path.dirname(trl.__file__))')/chat_templates`.
//! Without it those checks are skipped with a note; the npm templates always run.
//!
//! Long trajectories: fixtures/golden/byo_long/<template>.jsonl.gz holds the same comparison for the
//! generated long agent trajectories of fixtures/golden/long_cases.jsonl (scripts/golden/gen_long_cases.py):
//! ids (no text; the ids decode to it), refusals, and masks as run lengths (`assistant_mask_runs`).
//!
//! Masks: the golden mask is TRL's `_training` template's `{% generation %}` mask, present where that
//! template renders the same ids. trajkit is checked two ways: given the `_training` template itself it
//! must give exactly that mask (the marker path), and given the original template (no markers) its
//! derived mask must be equal too, except for the token-level conventions listed in
//! [`MASK_CONVENTIONS`], which are asserted to be the only differences.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;
use trajkit::check::{lint, row_turns};
use trajkit::ingest::{ingest, IngestOptions};
use trajkit::pipeline::{Converter, Expand};
use trajkit::render::load::{load_with, LoadOptions};
use trajkit::render::{split_markers, Date, RenderOptions};
use trajkit::tokenize::{TextTokenizer, TokenizerSource};

const GOLDEN: &str = "fixtures/golden/byo";
const GOLDEN_LONG: &str = "fixtures/golden/byo_long";

fn read_jsonl(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        String::from_utf8(bytes).unwrap()
    };
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A mask from the run lengths of the long-case files (alternating 0s and 1s, 0s first).
fn mask_from_runs(runs: &Value) -> Vec<u8> {
    let mut mask = Vec::new();
    for (i, n) in runs.as_array().unwrap().iter().enumerate() {
        mask.extend(std::iter::repeat_n((i % 2) as u8, n.as_u64().unwrap() as usize));
    }
    mask
}

fn date() -> Date {
    Date::parse("2026-01-15").unwrap()
}

fn tokenizer_dir(family: &str) -> PathBuf {
    PathBuf::from("fixtures/tokenizers").join(family)
}

fn trl_dir() -> Option<PathBuf> {
    std::env::var_os("TRL_TEMPLATES").map(PathBuf::from).filter(|p| p.is_dir())
}

fn meta() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{GOLDEN}/_meta.json")).unwrap()).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    // Small SHA-256 so the test needs no extra crate: checks the template is the one the goldens
    // were made from.
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = bytes.to_vec();
    let bits = (bytes.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(chunk[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// A converter for `template` (path) with the tokenizer folder of `family`, special tokens from it.
fn converter(template: &Path, family: &str) -> Result<Converter, String> {
    let tok_dir = tokenizer_dir(family);
    let tok_spec = tok_dir.to_string_lossy().into_owned();
    let loaded =
        load_with(&template.to_string_lossy(), LoadOptions { variant: None, tokenizer: Some(&tok_spec), date: date() })
            .map_err(|e| e.to_string())?;
    let tokenizer = TextTokenizer::load(&TokenizerSource::Path(tok_dir)).map_err(|e| e.to_string())?;
    Ok(Converter {
        template: loaded.template,
        tokenizer: Some(tokenizer),
        ingest: IngestOptions::default(),
        render: RenderOptions { date: date(), ..Default::default() },
        expand: Expand::Conversation,
        validation: None,
    })
}

/// Where two id sequences first differ, with decoded text around it.
fn explain(tok: &TextTokenizer, got: &[u32], want: &[u32]) -> String {
    let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let window = |ids: &[u32]| {
        let lo = at.saturating_sub(6).min(ids.len());
        let hi = (at + 6).min(ids.len());
        format!("{:?} «{}»", &ids[lo..hi], tok.decode(&ids[lo..hi]).escape_debug())
    };
    format!(
        "first difference at token {at} (lengths {} vs {}): trajkit {} expected {}",
        got.len(),
        want.len(),
        window(got),
        window(want)
    )
}

fn first_text_difference(got: &str, want: &str) -> String {
    let at = got.bytes().zip(want.bytes()).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    let mut lo = at.saturating_sub(40);
    while !got.is_char_boundary(lo) || !want.is_char_boundary(lo) {
        lo -= 1;
    }
    let cut = |s: &str| {
        let mut hi = (at + 40).min(s.len());
        while !s.is_char_boundary(hi) {
            hi -= 1;
        }
        s[lo.min(hi)..hi].escape_debug().to_string()
    };
    format!("text differs at byte {at}: trajkit «{}» expected «{}»", cut(got), cut(want))
}

/// Mask differences that follow from a TRL training template's own convention rather than from
/// what the model generates (docs/templates.md explains each): the template, and the only tokens
/// (as decoded) where trajkit's derived mask may differ from TRL's.
const MASK_CONVENTIONS: &[(&str, &[&str])] = &[
    // TRL opens the span right after "<|im_start|>assistant", so the "\n" that the generation prompt
    // already contains is supervised.
    ("qwen2_5", &["\n"]),
    // The assistant's role token is inside TRL's span (the generation prompt supplies it), and
    // after tool results so is `<｜tool▁outputs▁end｜>`, which the template writes as part of the
    // answer while the generation prompt after tool results is empty.
    ("deepseekv3", &["<｜Assistant｜>"]),
    ("deepseek_r1_distill", &["<｜Assistant｜>", "<｜tool▁outputs▁end｜>"]),
    // The `<|start|>assistant` header of every assistant message is inside TRL's span.
    ("gptoss", &["<|start|>", "assistant"]),
    ("muse_glimmer", &["<|", "|", "start", "|>", ">", "><", "assistant"]),
    // Tool results written inside the model's turn: trajkit trains the `<|tool_response>` the
    // template writes after the calls (the model emits it to hand over to the tool); TRL does not.
    // The text of a calling message, which this template writes after the tool results, is trained
    // by both (derive.rs `late_text`).
    ("diffusion_gemma", &["<|", "|", "tool", "_", "response", ">", "><"]),
];

/// Templates that write no end-of-turn token after an assistant message (docs/templates.md).
const NO_END_OF_TURN: &[&str] = &["glm4moe"];

#[derive(Default, Debug)]
struct Tally {
    rows: usize,
    /// Of `rows`, the generated long trajectories (compared on ids only).
    long_rows: usize,
    long_ids: usize,
    text: usize,
    ids: usize,
    refusals: usize,
    refusals_ok: usize,
    masks: usize,
    masks_equal: usize,
    masks_convention: usize,
    training_masks_equal: usize,
    lint_clean: usize,
    linted: usize,
    /// Tokens where a derived mask differs from TRL's by a listed convention: «token:TRL's value».
    convention_tokens: BTreeMap<String, usize>,
    /// Rows rendered exactly whose assistant spans could not be derived (rejected with a reason).
    spans_rejected: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn exact(&self) -> bool {
        self.text == self.rows && self.ids == self.rows && self.refusals_ok == self.refusals
    }
}

fn case_map() -> HashMap<String, Value> {
    ["fixtures/golden/cases.jsonl", "fixtures/golden/long_cases.jsonl"]
        .iter()
        .flat_map(|p| read_jsonl(Path::new(p)))
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect()
}

/// The golden rows of a template: the hand-written cases, then the long trajectories when present.
fn golden_rows(name: &str) -> Vec<Value> {
    let mut rows = read_jsonl(&Path::new(GOLDEN).join(format!("{name}.jsonl")));
    let long = Path::new(GOLDEN_LONG).join(format!("{name}.jsonl.gz"));
    rows.extend(read_jsonl(&long));
    rows
}

/// Convert `case` with `conv`; Ok(row) or Err(message).
fn convert(conv: &Converter, id: &str, case: &Value) -> Result<trajkit::emit::Row, String> {
    let i = ingest(&case.to_string(), id, &IngestOptions::default()).map_err(|e| e.to_string())?;
    conv.convert_conversation(i.conversation, i.warnings).map(|mut d| d.rows.remove(0)).map_err(|e| e.to_string())
}

/// The text trajkit renders for `case` (no spans needed).
fn render_text(conv: &Converter, id: &str, case: &Value) -> Result<String, String> {
    let i = ingest(&case.to_string(), id, &IngestOptions::default()).map_err(|e| e.to_string())?;
    let c = i.conversation;
    let template = conv.template.for_conversation(&c);
    template.render_marked(&c, &conv.render, false).map(|m| split_markers(&m).text).map_err(|e| e.to_string())
}

/// The case as trajkit reads it when a message has `content: null` or no `content` (empty content).
fn null_as_empty(case: &Value) -> Value {
    let mut case = case.clone();
    for m in case["messages"].as_array_mut().unwrap() {
        if m.get("content").is_none_or(Value::is_null) {
            m["content"] = Value::String(String::new());
        }
    }
    case
}

fn check_template(name: &str, template: &Path, training: Option<&Path>, family: &str) -> Tally {
    let mut t = Tally::default();
    let conv = match converter(template, family) {
        Ok(c) => c,
        Err(e) => {
            t.failures.push(format!("cannot load: {e}"));
            return t;
        }
    };
    let training_conv = training.map(|p| converter(p, family).expect("training template loads"));
    let tok = conv.tokenizer.clone().unwrap();
    let text_grammar = trajkit::render::probe::text_grammar(&conv.template);
    let cases = case_map();
    for golden in golden_rows(name) {
        let id = golden["id"].as_str().unwrap();
        let mut case = cases[id].clone();
        let mut expected = golden.clone();
        if let Some(variant) = golden.get("null_as_empty") {
            // trajkit reads `content: null` and absent content as "" (see tests/golden.rs); compare
            // with that input.
            case = null_as_empty(&case);
            expected = variant.clone();
        }
        // The rendering alone first (text, ids, refusals), then the converted row (masks).
        let rendered = render_text(&conv, id, &case);
        if let Some(reason) = expected.get("error") {
            t.refusals += 1;
            match rendered {
                Err(_) => t.refusals_ok += 1,
                Ok(_) => t.failures.push(format!("{id}: the reference refused ({reason}) but trajkit rendered it")),
            }
            continue;
        }
        t.rows += 1;
        let long = expected.get("text").is_none();
        t.long_rows += usize::from(long);
        let text = match rendered {
            Ok(text) => text,
            Err(e) => {
                t.failures.push(format!("{id}: trajkit refused: {e}"));
                continue;
            }
        };
        let want_ids: Vec<u32> = serde_json::from_value(expected["input_ids"].clone()).unwrap();
        let ids = tok.encode(&text).unwrap().ids;
        if let Some(want_text) = expected.get("text").and_then(Value::as_str) {
            if text != want_text {
                t.failures.push(format!("{id}: {}", first_text_difference(&text, want_text)));
                continue;
            }
        } else if ids != want_ids {
            // Long rows carry no text: show where trajkit's text leaves the decoded reference ids.
            t.failures.push(format!("{id}: ids differ; {}", first_text_difference(&text, &tok.decode(&want_ids))));
            continue;
        }
        t.text += 1;
        if ids != want_ids {
            t.failures.push(format!("{id}: ids differ: {}", explain(&tok, &ids, &want_ids)));
            continue;
        }
        t.ids += 1;
        t.long_ids += usize::from(long);
        let row = match convert(&conv, id, &case) {
            Ok(row) => row,
            Err(e) if e.contains("spans_not_found") => {
                t.spans_rejected.push(format!("{id}: {e}"));
                continue;
            }
            Err(e) => {
                t.failures.push(format!("{id}: rendered, but the row was rejected: {e}"));
                continue;
            }
        };
        assert_eq!(row.input_ids, want_ids, "{id}: the converted row has other ids than the rendering");
        // check-mask's lint on trajkit's own row.
        if let Some(turns) = row_turns(&row.info.template, &tok, &row.input_ids, Some(&text_grammar)) {
            t.linted += 1;
            let found = lint(&row.assistant_masks, &turns, &row.info.no_loss_turns);
            // The user typed `<|im_start|>assistant` into their message: the tokenizer makes it a real
            // turn header (as transformers does), and check-mask rightly reports an assistant turn
            // without loss there.
            let typed_header = id == "control_tokens_typed_in_user_content"
                && !found.is_empty()
                && found.iter().all(|v| v.code.as_str() == "assistant_turn_unsupervised");
            // GLM writes no end-of-turn token: the next role token ends a turn (trajkit trains it),
            // but the row's final answer has none, and check-mask says so.
            let last = turns.iter().filter(|t| t.is_assistant()).count().saturating_sub(1);
            let no_stop = NO_END_OF_TURN.contains(&name)
                && found.len() == 1
                && found[0].message == format!("assistant turn {last} has no end-of-turn token");
            if found.is_empty() || typed_header || no_stop {
                t.lint_clean += 1;
            } else {
                t.failures.push(format!(
                    "{id}: check-mask: {}",
                    found.iter().map(|v| v.message.clone()).collect::<Vec<_>>().join("; ")
                ));
            }
        } else {
            t.failures.push(format!("{id}: check-mask finds no turn grammar"));
        }
        let want: Vec<u8> = match (expected.get("assistant_masks"), expected.get("assistant_mask_runs")) {
            (Some(m), _) => serde_json::from_value(m.clone()).unwrap(),
            (None, Some(runs)) => mask_from_runs(runs),
            (None, None) => continue,
        };
        assert_eq!(want.len(), want_ids.len(), "{id}: golden mask length");
        t.masks += 1;
        if let Some(tc) = &training_conv {
            match convert(tc, id, &case) {
                Ok(r) if r.input_ids == want_ids && r.assistant_masks == want => t.training_masks_equal += 1,
                Ok(r) => t.failures.push(format!(
                    "{id}: with the _training template: {}",
                    mask_difference(&tok, &r.input_ids, &r.assistant_masks, &want)
                )),
                Err(e) => t.failures.push(format!("{id}: the _training template failed: {e}")),
            }
        }
        if row.assistant_masks == want {
            t.masks_equal += 1;
        } else if MASK_CONVENTIONS.iter().any(|(n, _)| *n == name) {
            t.masks_convention += 1;
            for i in (0..want.len()).filter(|&i| row.assistant_masks[i] != want[i]) {
                let piece = format!("{}:{}", tok.decode(&row.input_ids[i..i + 1]), want[i]);
                *t.convention_tokens.entry(piece).or_default() += 1;
            }
        } else {
            t.failures
                .push(format!("{id}: derived {}", mask_difference(&tok, &row.input_ids, &row.assistant_masks, &want)));
        }
    }
    t
}

fn mask_difference(tok: &TextTokenizer, ids: &[u32], got: &[u8], want: &[u8]) -> String {
    let diffs: Vec<usize> = (0..got.len().min(want.len())).filter(|&i| got[i] != want[i]).collect();
    let shown: Vec<String> = diffs
        .iter()
        .take(4)
        .map(|&i| {
            format!("token {i} «{}» trajkit {} expected {}", tok.decode(&ids[i..i + 1]).escape_debug(), got[i], want[i])
        })
        .collect();
    format!("mask differs at {} token(s): {}", diffs.len(), shown.join(", "))
}

fn report(results: &BTreeMap<String, Tally>) -> String {
    let mut s = String::from(
        "template                    rows (long) text  ids (long)  refusals  masks(derived/conv/training)  lint  no-spans\n",
    );
    for (name, t) in results {
        s.push_str(&format!(
            "{name:26} {:4} ({:3}) {:4} {:4} ({:3})  {:3}/{:<3}   {:3}/{:<3}/{:<3}/{:<3}            {}/{}  {}{}\n",
            t.rows,
            t.long_rows,
            t.text,
            t.ids,
            t.long_ids,
            t.refusals_ok,
            t.refusals,
            t.masks_equal,
            t.masks_convention,
            t.training_masks_equal,
            t.masks,
            t.lint_clean,
            t.linted,
            t.spans_rejected.len(),
            if t.exact() { "" } else { "  NOT EXACT" }
        ));
    }
    s
}

fn failures(results: &BTreeMap<String, Tally>, names: &[&str]) -> String {
    let mut s = String::new();
    for (name, t) in results.iter().filter(|(n, _)| names.contains(&n.as_str())) {
        for f in t.failures.iter().take(5) {
            s.push_str(&format!("  {name}: {f}\n"));
        }
    }
    s
}

/// Templates trajkit does not render exactly, with the reason (docs/templates.md).
const NOT_EXACT: &[(&str, &str)] = &[];

#[test]
fn trl_original_templates_match_transformers() {
    let Some(dir) = trl_dir() else {
        eprintln!("skipped: set TRL_TEMPLATES to trl 1.16's trl/chat_templates folder to compare the TRL templates");
        return;
    };
    let meta = meta();
    let mut results = BTreeMap::new();
    let mut skipped = Vec::new();
    // BYO_ONLY=name[,name] restricts the run and prints every failure (for debugging).
    let only: Option<Vec<String>> = std::env::var("BYO_ONLY").ok().map(|v| v.split(',').map(str::to_string).collect());
    for (name, m) in meta["templates"].as_object().unwrap() {
        if name.starts_with("npm_") || only.as_ref().is_some_and(|o| !o.contains(name)) {
            continue;
        }
        let path = dir.join(format!("{name}.jinja"));
        let source = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            sha256_hex(&source),
            m["sha256"].as_str().unwrap(),
            "{}: not the template the goldens were made from (trl 1.16); regenerate with scripts/golden/gen_byo.py",
            path.display()
        );
        let family = m["tokenizer"].as_str().unwrap();
        if !tokenizer_dir(family).is_dir() {
            skipped.push(name.clone());
            continue;
        }
        let training = dir.join(format!("{name}_training.jinja"));
        let training = training.exists().then_some(training);
        let t = check_template(name, &path, training.as_deref(), family);
        results.insert(name.clone(), t);
    }
    let table = report(&results);
    eprintln!("{table}");
    if only.is_some() {
        for (name, t) in &results {
            for f in t.failures.iter().chain(&t.spans_rejected) {
                eprintln!("{name}: {f}");
            }
            if !t.convention_tokens.is_empty() {
                eprintln!("{name}: convention differences {:?}", t.convention_tokens);
            }
        }
        return;
    }
    let exact: Vec<&str> = results.iter().filter(|(_, t)| t.exact()).map(|(n, _)| n.as_str()).collect();
    let not_exact: Vec<&str> = results.iter().filter(|(_, t)| !t.exact()).map(|(n, _)| n.as_str()).collect();
    if !skipped.is_empty() {
        eprintln!("skipped (tokenizer folder absent from fixtures/tokenizers): {}", skipped.join(", "));
    }
    assert_eq!(results.len() + skipped.len(), 41, "trl 1.16 ships 41 original templates");
    for name in &not_exact {
        assert!(
            NOT_EXACT.iter().any(|(n, _)| n == name),
            "{name} is not exact and not listed in NOT_EXACT:\n{}",
            failures(&results, &[name])
        );
    }
    assert!(exact.len() + skipped.len() >= 38, "only {} of 41 templates exact:\n{table}", exact.len());
    // Masks: the training template reproduces TRL's masks exactly; the derived masks equal them
    // except for the listed conventions, on the listed tokens only; check-mask lints every row clean.
    let mut problems = String::new();
    for (name, t) in &results {
        let mut mine: Vec<String> = t.failures.iter().take(4).cloned().collect();
        if let Some((_, allowed)) = MASK_CONVENTIONS.iter().find(|(n, _)| n == name) {
            for piece in t.convention_tokens.keys() {
                let token = piece.rsplit_once(':').map_or(piece.as_str(), |(tok, _)| tok);
                if !allowed.contains(&token) {
                    mine.push(format!(
                        "derived mask differs from TRL's on «{piece}», which is not a listed convention"
                    ));
                }
            }
        }
        if !t.spans_rejected.is_empty() {
            mine.extend(t.spans_rejected.iter().take(2).cloned());
        }
        if !mine.is_empty() {
            problems.push_str(&format!("{name}:\n  {}\n", mine.join("\n  ")));
        }
    }
    assert!(problems.is_empty(), "problems:\n{problems}\n{table}");
}

#[test]
fn npm_tokenizer_config_templates_match_transformers() {
    let meta = meta();
    let mut results = BTreeMap::new();
    for (name, m) in meta["templates"].as_object().unwrap() {
        let Some(family) = name.strip_prefix("npm_") else { continue };
        assert_eq!(m["tokenizer"].as_str(), Some(family));
        if !tokenizer_dir(family).is_dir() {
            eprintln!("skipped {name}: fixtures/tokenizers/{family} is absent");
            continue;
        }
        // The model folder is the template: its tokenizer_config.json's chat_template.
        let t = check_template(name, &tokenizer_dir(family), None, family);
        results.insert(name.clone(), t);
    }
    let table = report(&results);
    eprintln!("{table}");
    assert!(!results.is_empty() && results.len() <= 4);
    let names: Vec<&str> = results.keys().map(String::as_str).collect();
    assert!(results.values().all(|t| t.exact() && t.failures.is_empty()), "{table}\n{}", failures(&results, &names));
}
