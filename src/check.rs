//! Check: read a row's tokens back as turns and lint its mask.
//!
//! A wrong mask silently ruins a run, so the checks work from the token ids alone (plus the tokenizer
//! and the list of turns deliberately kept without loss), not from the renderer that produced them:
//! a bug in rendering or masking cannot hide itself here.

use crate::diagnostic::{Code, Diagnostic};
use crate::render::probe::TextGrammar;
use crate::tokenize::TextTokenizer;

/// How a template family delimits turns in token space.
#[derive(Debug, Clone)]
pub struct TurnGrammar {
    pub name: &'static str,
    /// The control token that opens every message.
    start: u32,
    /// Where the header (role, channel …) ends: at a newline, or at a control token.
    header_end: HeaderEnd,
    /// Control tokens that end a message.
    ends: Vec<u32>,
    /// Consecutive assistant messages form one turn (Harmony: analysis, commentary, call …).
    merge_assistant_runs: bool,
    /// Control tokens that open a turn and name its role themselves (DeepSeek's `<｜User｜>`).
    role_tokens: Vec<(u32, &'static str)>,
    /// What the header calls the assistant when it is not `assistant` (Gemma's `model`).
    assistant_alias: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum HeaderEnd {
    Newline,
    Token(u32),
}

impl TurnGrammar {
    /// ChatML (`<|im_start|>role\n … <|im_end|>`): Qwen, ChatML, Hermes.
    pub fn chatml(tok: &TextTokenizer) -> Option<TurnGrammar> {
        Some(TurnGrammar {
            name: "chatml",
            start: tok.token_to_id("<|im_start|>")?,
            header_end: HeaderEnd::Newline,
            ends: vec![tok.token_to_id("<|im_end|>")?],
            merge_assistant_runs: false,
            role_tokens: vec![],
            assistant_alias: None,
        })
    }

    /// Llama 3 (`<|start_header_id|>role<|end_header_id|>\n\n … <|eot_id|>`, `<|eom_id|>` after a
    /// tool call that waits for its result).
    pub fn llama3(tok: &TextTokenizer) -> Option<TurnGrammar> {
        let mut ends = vec![tok.token_to_id("<|eot_id|>")?];
        ends.extend(tok.token_to_id("<|eom_id|>"));
        Some(TurnGrammar {
            name: "llama3",
            start: tok.token_to_id("<|start_header_id|>")?,
            header_end: HeaderEnd::Token(tok.token_to_id("<|end_header_id|>")?),
            ends,
            merge_assistant_runs: false,
            role_tokens: vec![],
            assistant_alias: None,
        })
    }

    /// Gemma (`<start_of_turn>role\n … <end_of_turn>`, the assistant is `model`).
    pub fn gemma(tok: &TextTokenizer) -> Option<TurnGrammar> {
        Some(TurnGrammar {
            name: "gemma",
            start: tok.token_to_id("<start_of_turn>")?,
            header_end: HeaderEnd::Newline,
            ends: vec![tok.token_to_id("<end_of_turn>")?],
            merge_assistant_runs: false,
            role_tokens: vec![],
            assistant_alias: Some("model"),
        })
    }

    /// DeepSeek V3 / R1 (`<｜User｜> … <｜Assistant｜> … <｜end▁of▁sentence｜>`): role tokens open
    /// turns; tool results run from `<｜tool▁outputs▁begin｜>`, and the answer after them starts at
    /// `<｜tool▁outputs▁end｜>`.
    pub fn deepseek(tok: &TextTokenizer) -> Option<TurnGrammar> {
        let assistant = tok.token_to_id("<｜Assistant｜>")?;
        let mut role_tokens = vec![(tok.token_to_id("<｜User｜>")?, "user"), (assistant, "assistant")];
        role_tokens.extend(tok.token_to_id("<｜tool▁outputs▁begin｜>").map(|t| (t, "tool")));
        role_tokens.extend(tok.token_to_id("<｜tool▁outputs▁end｜>").map(|t| (t, "assistant")));
        Some(TurnGrammar {
            name: "deepseek",
            start: assistant,
            header_end: HeaderEnd::Newline,
            ends: vec![tok.token_to_id("<｜end▁of▁sentence｜>")?],
            merge_assistant_runs: false,
            role_tokens,
            assistant_alias: None,
        })
    }

    /// Whether `id` opens a turn in this grammar.
    fn opens(&self, id: u32) -> bool {
        id == self.start || self.role_tokens.iter().any(|&(t, _)| t == id)
    }

    /// Harmony (`<|start|>role<|channel|>c<|message|> … <|end|>|<|call|>|<|return|>`): GPT-OSS.
    pub fn harmony(tok: &TextTokenizer) -> Option<TurnGrammar> {
        Some(TurnGrammar {
            name: "harmony",
            start: tok.token_to_id("<|start|>")?,
            header_end: HeaderEnd::Token(tok.token_to_id("<|message|>")?),
            ends: vec![tok.token_to_id("<|end|>")?, tok.token_to_id("<|call|>")?, tok.token_to_id("<|return|>")?],
            merge_assistant_runs: true,
            role_tokens: vec![],
            assistant_alias: None,
        })
    }

    /// The grammar for a template name, or the first one whose start token the ids use.
    pub fn for_row(template: &str, tok: &TextTokenizer, ids: &[u32]) -> Option<TurnGrammar> {
        match template {
            "qwen3" | "chatml" => return TurnGrammar::chatml(tok),
            "harmony" => return TurnGrammar::harmony(tok),
            _ => {}
        }
        [
            TurnGrammar::harmony(tok),
            TurnGrammar::chatml(tok),
            TurnGrammar::llama3(tok),
            TurnGrammar::gemma(tok),
            TurnGrammar::deepseek(tok),
        ]
        .into_iter()
        .flatten()
        .find(|g| ids.iter().any(|&id| g.opens(id)))
    }
}

/// One message as found in the token ids: `[start, end)` runs from its opening control token up to
/// the next message's opening token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: String,
    pub start: usize,
    pub end: usize,
    /// Positions of the end-of-message control tokens inside the turn.
    pub end_tokens: Vec<usize>,
    /// Where each message of the turn starts: one entry, or several when a run of assistant
    /// messages forms the turn (Harmony).
    pub message_starts: Vec<usize>,
}

impl Turn {
    pub fn is_assistant(&self) -> bool {
        self.role == "assistant"
    }
}

/// Split token ids into turns. Tokens before the first start token form a turn with role `""`.
pub fn turns(ids: &[u32], grammar: &TurnGrammar, tok: &TextTokenizer) -> Vec<Turn> {
    let starts: Vec<usize> = ids.iter().enumerate().filter(|(_, &id)| grammar.opens(id)).map(|(i, _)| i).collect();
    let mut out = Vec::new();
    if starts.first().is_some_and(|&s| s > 0) || (starts.is_empty() && !ids.is_empty()) {
        out.push(Turn {
            role: String::new(),
            start: 0,
            end: starts.first().copied().unwrap_or(ids.len()),
            end_tokens: vec![],
            message_starts: vec![0],
        });
    }
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(ids.len());
        let header_end = match grammar.header_end {
            HeaderEnd::Token(t) => ids[start + 1..end].iter().position(|&id| id == t).map_or(end, |p| start + 1 + p),
            HeaderEnd::Newline => (start + 1..end).find(|&i| tok.decode(&ids[i..i + 1]).contains('\n')).unwrap_or(end),
        };
        let header = tok.decode(&ids[start + 1..header_end.min(end)]);
        let mut role = header.split(|c: char| c.is_whitespace() || c == '<').next().unwrap_or("").to_string();
        // `User:`, `Assistant:` (SmolVLM, Idefics) name the same roles.
        role = role.trim_end_matches(':').to_lowercase();
        if let Some(&(_, named)) = grammar.role_tokens.iter().find(|&&(t, _)| t == ids[start]) {
            role = named.to_string();
        } else if grammar.assistant_alias == Some(role.as_str()) {
            role = "assistant".to_string();
        }
        let end_tokens = (start..end).filter(|&i| grammar.ends.contains(&ids[i])).collect();
        out.push(Turn { role, start, end, end_tokens, message_starts: vec![start] });
    }
    if grammar.merge_assistant_runs {
        let mut merged: Vec<Turn> = Vec::new();
        for t in out {
            match merged.last_mut() {
                Some(prev) if prev.is_assistant() && t.is_assistant() => {
                    prev.end = t.end;
                    prev.end_tokens.extend(t.end_tokens);
                    prev.message_starts.extend(t.message_starts);
                }
                _ => merged.push(t),
            }
        }
        return merged;
    }
    out
}

/// Split token ids into turns by finding a [`TextGrammar`]'s markers in the decoded text; `None`
/// when the decoded text does not encode back to the same ids (positions cannot be mapped).
pub fn text_turns(ids: &[u32], grammar: &TextGrammar, tok: &TextTokenizer) -> Option<Vec<Turn>> {
    if grammar.headers.is_empty() {
        return None;
    }
    let text = tok.decode(ids);
    let encoded = tok.encode(&text).ok()?;
    if encoded.ids != ids {
        return None;
    }
    let offsets = encoded.offsets;
    // The first token that starts at or after byte `b`: a token that straddles a turn boundary
    // (`|><|` in `<|END|><|START|>` under another family's tokenizer) stays with the turn it ends.
    let token_at = |b: usize| offsets.iter().position(|&(s, _)| s >= b).unwrap_or(ids.len());
    // The token holding byte `b`, for end markers.
    let token_with = |b: usize| offsets.iter().position(|&(_, e)| e > b).unwrap_or(ids.len());
    let mut opens: Vec<(usize, usize, &str)> = Vec::new();
    for (header, role) in &grammar.headers {
        opens.extend(text.match_indices(header.as_str()).map(|(at, h)| (at, h.len(), role.as_str())));
    }
    // At one place the longest header wins; a header inside another one is not a turn.
    opens.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept: Vec<(usize, usize, &str)> = Vec::new();
    for o in opens {
        if kept.last().is_none_or(|k| o.0 >= k.0 + k.1) {
            kept.push(o);
        }
    }
    // A tool result closed by a resume marker hands the turn back to the assistant.
    let mut resumed: Vec<(usize, usize, &str)> = Vec::new();
    for (k, &(at, len, role)) in kept.iter().enumerate() {
        if role != "tool" {
            continue;
        }
        let stop = kept.get(k + 1).map_or(text.len(), |n| n.0);
        for marker in &grammar.resumes {
            if let Some(e) = text[at + len..stop].find(marker.as_str()) {
                let from = at + len + e + marker.len();
                // Only tags before the next header (`<|tool_response>` opening the next result)
                // are not the assistant going on.
                let mut rest = text[from..stop].trim_start();
                while let Some(n) = crate::render::derive::tag_at(rest) {
                    rest = rest[n..].trim_start();
                }
                if !rest.is_empty() {
                    resumed.push((from, 0, "assistant"));
                }
            }
        }
    }
    kept.extend(resumed);
    kept.sort_by_key(|k| k.0);
    // An assistant going on after its results straight into a new assistant turn, with no end
    // marker between (DiffusionGemma writes a calling message's text after the results and opens
    // the next answer's turn without closing that one): one run of assistant messages, as in Harmony.
    let mut joined: Vec<usize> = Vec::new(); // bytes where a joined assistant message starts
    let mut k = 0;
    while k + 1 < kept.len() {
        let (at, len, role) = kept[k];
        let (next_at, next_len, next_role) = kept[k + 1];
        let unclosed = !grammar.ends.iter().any(|m| text[at..next_at].contains(m.as_str()));
        if role == "assistant" && len == 0 && next_role == "assistant" && next_len > 0 && unclosed {
            joined.push(next_at);
            kept.remove(k + 1);
        } else {
            k += 1;
        }
    }
    // Without an end-of-turn marker (GLM), the role token that opens the next turn is what ends an
    // assistant turn: it belongs to the assistant turn, as its end token.
    let mut borrowed_ends: Vec<(usize, usize)> = Vec::new(); // (turn index, byte of the end token)
    if grammar.ends.is_empty() {
        for k in 0..kept.len().saturating_sub(1) {
            let (at, len, _) = kept[k + 1];
            if kept[k].2 == "assistant" && len > 0 {
                if let Some(n) = crate::render::derive::tag_at(&text[at..]) {
                    borrowed_ends.push((k, at));
                    kept[k + 1] = (at + n, len.saturating_sub(n).max(1), kept[k + 1].2);
                }
            }
        }
    }
    let mut out = Vec::new();
    let first = kept.first().map_or(ids.len(), |k| token_at(k.0));
    if first > 0 {
        out.push(Turn { role: String::new(), start: 0, end: first, end_tokens: vec![], message_starts: vec![0] });
    }
    // A turn without a header (the assistant going on after a tool result) owns the token that
    // straddles its start; a header's turn leaves it to the turn before.
    let starts: Vec<usize> =
        kept.iter().map(|&(at, len, _)| if len == 0 { token_with(at) } else { token_at(at) }).collect();
    for (k, &(at, _, role)) in kept.iter().enumerate() {
        let start = starts[k];
        let byte_end = kept.get(k + 1).map_or(text.len(), |n| n.0);
        let end = starts.get(k + 1).copied().unwrap_or(ids.len());
        if start >= end {
            continue;
        }
        let mut end_tokens: Vec<usize> = Vec::new();
        if role == "assistant" {
            for marker in &grammar.ends {
                for (e, _) in text[at..byte_end].match_indices(marker.as_str()) {
                    end_tokens.push(token_with(at + e).min(end - 1));
                }
            }
            end_tokens.extend(borrowed_ends.iter().filter(|(t, _)| *t == k).map(|&(_, b)| token_with(b).min(end - 1)));
            end_tokens.sort_unstable();
            end_tokens.dedup();
        }
        let mut message_starts = vec![start];
        message_starts.extend(joined.iter().filter(|&&b| at < b && b < byte_end).map(|&b| token_at(b)));
        out.push(Turn { role: role.to_string(), start, end, end_tokens, message_starts });
    }
    Some(out)
}

/// The turns of a row: by `text`, the markers probed from the row's own template, when known;
/// else by the token grammar of its template family when the ids use one.
pub fn row_turns(template: &str, tok: &TextTokenizer, ids: &[u32], text: Option<&TextGrammar>) -> Option<Vec<Turn>> {
    let family = TurnGrammar::for_row(template, tok, ids);
    // The family's token grammar, unless the template ends its turns with other markers (SmolVLM
    // writes ChatML's `<|im_start|>` but ends with `<end_of_utterance>`).
    let fits = |g: &TurnGrammar| {
        text.is_none_or(|t| {
            t.ends.is_empty() || g.ends.iter().any(|&e| tok.id_to_token(e).is_some_and(|e| t.ends.contains(&e)))
        })
    };
    match family {
        Some(g) if fits(&g) => Some(turns(ids, &g, tok)),
        family => text.and_then(|t| text_turns(ids, t, tok)).or_else(|| family.map(|g| turns(ids, &g, tok))),
    }
}

/// Lint one row's mask against its turns. `no_loss_turns` are assistant turns (0-based) that the
/// row deliberately keeps without loss.
pub fn lint(mask: &[u8], turns: &[Turn], no_loss_turns: &[usize]) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    if !mask.contains(&1) {
        found.push(Diagnostic::error(Code::NoSupervisedTokens, "", "the row has no supervised token"));
        return found;
    }
    let mut assistant_k = 0;
    for turn in turns {
        let supervised = (turn.start..turn.end).filter(|&i| mask[i] == 1).count();
        if !turn.is_assistant() {
            if supervised > 0 {
                let first = (turn.start..turn.end).find(|&i| mask[i] == 1).unwrap_or(turn.start);
                let role = if turn.role.is_empty() { "text before the first turn" } else { turn.role.as_str() };
                found.push(Diagnostic::error(
                    Code::SupervisedOutsideAssistant,
                    "",
                    format!("{supervised} supervised token(s) in a `{role}` turn (first at token {first})"),
                ));
            }
            continue;
        }
        let intended_no_loss = no_loss_turns.contains(&assistant_k);
        match (supervised, intended_no_loss) {
            (0, false) => found.push(Diagnostic::error(
                Code::AssistantTurnUnsupervised,
                "",
                format!("assistant turn {assistant_k} (tokens {}..{}) has no supervised token", turn.start, turn.end),
            )),
            (n, true) if n > 0 => found.push(Diagnostic::error(
                Code::NoLossTurnSupervised,
                "",
                format!("assistant turn {assistant_k} is meant to carry no loss but has {n} supervised token(s)"),
            )),
            (n, false) if n > 0 => {
                for &e in &turn.end_tokens {
                    // The end token of a message that carries loss must carry it too. A message of a
                    // run kept entirely as context (Harmony analysis under --reasoning context) is
                    // left alone.
                    let from = turn.message_starts.iter().copied().filter(|&s| s <= e).max().unwrap_or(turn.start);
                    let message_trained = (from..e).any(|i| mask[i] == 1);
                    if mask[e] == 0 && message_trained {
                        found.push(Diagnostic::error(
                            Code::EndTokenUnsupervised,
                            "",
                            format!("assistant turn {assistant_k}: end-of-turn token at {e} is not supervised"),
                        ));
                    }
                }
                if turn.end_tokens.is_empty() {
                    found.push(Diagnostic::error(
                        Code::EndTokenUnsupervised,
                        "",
                        format!("assistant turn {assistant_k} has no end-of-turn token"),
                    ));
                }
            }
            _ => {}
        }
        assistant_k += 1;
    }
    found
}

/// Maximal runs of supervised tokens, as `[start, end)` token ranges.
pub fn supervised_runs(mask: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut open = None;
    for (i, &m) in mask.iter().enumerate() {
        match (m == 1, open) {
            (true, None) => open = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                open = None;
            }
            _ => {}
        }
    }
    if let Some(s) = open {
        runs.push(s..mask.len());
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: &str, start: usize, end: usize, ends: &[usize]) -> Turn {
        Turn { role: role.into(), start, end, end_tokens: ends.to_vec(), message_starts: vec![start] }
    }

    #[test]
    fn lint_finds_each_kind_of_problem() {
        let turns = [turn("user", 0, 3, &[2]), turn("assistant", 3, 7, &[6]), turn("assistant", 7, 10, &[9])];
        assert!(lint(&[0, 0, 0, 0, 1, 1, 1, 0, 1, 1], &turns, &[]).is_empty());
        let codes = |mask: &[u8], no_loss: &[usize]| -> Vec<&str> {
            lint(mask, &turns, no_loss).iter().map(|v| v.code.as_str()).collect()
        };
        assert_eq!(codes(&[0; 10], &[]), ["no_supervised_tokens"]);
        assert_eq!(codes(&[0, 1, 0, 0, 1, 1, 1, 0, 1, 1], &[]), ["supervised_outside_assistant"]);
        assert_eq!(codes(&[0, 0, 0, 0, 1, 1, 1, 0, 0, 0], &[]), ["assistant_turn_unsupervised"]);
        assert!(codes(&[0, 0, 0, 0, 1, 1, 1, 0, 0, 0], &[1]).is_empty());
        assert_eq!(codes(&[0, 0, 0, 0, 1, 1, 0, 0, 1, 1], &[]), ["end_token_unsupervised"]);
        assert_eq!(codes(&[0, 0, 0, 0, 1, 1, 1, 0, 1, 1], &[0]), ["no_loss_turn_supervised"]);
    }

    #[test]
    fn a_run_may_keep_one_message_as_context() {
        // user | assistant run: [3..6) analysis kept as context, [6..10) trained.
        let mut run = turn("assistant", 3, 10, &[5, 9]);
        run.message_starts.push(6);
        let turns = [turn("user", 0, 3, &[2]), run];
        assert!(lint(&[0, 0, 0, 0, 0, 0, 1, 1, 1, 1], &turns, &[]).is_empty());
        let codes: Vec<&str> =
            lint(&[0, 0, 0, 0, 1, 0, 1, 1, 1, 1], &turns, &[]).iter().map(|v| v.code.as_str()).collect();
        assert_eq!(codes, ["end_token_unsupervised"]);
    }

    #[test]
    fn runs_of_ones() {
        assert_eq!(supervised_runs(&[0, 1, 1, 0, 1]), vec![1..3, 4..5]);
    }
}
