//! Check: read a row's tokens back as turns and lint its mask.
//!
//! A wrong mask silently ruins a run, so the checks work from the token ids alone (plus the tokenizer
//! and the list of turns deliberately kept without loss), not from the renderer that produced them:
//! a bug in rendering or masking cannot hide itself here.

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
        })
    }

    /// Harmony (`<|start|>role<|channel|>c<|message|> … <|end|>|<|call|>|<|return|>`): GPT-OSS.
    pub fn harmony(tok: &TextTokenizer) -> Option<TurnGrammar> {
        Some(TurnGrammar {
            name: "harmony",
            start: tok.token_to_id("<|start|>")?,
            header_end: HeaderEnd::Token(tok.token_to_id("<|message|>")?),
            ends: vec![tok.token_to_id("<|end|>")?, tok.token_to_id("<|call|>")?, tok.token_to_id("<|return|>")?],
            merge_assistant_runs: true,
        })
    }

    /// The grammar for a template name, or the first one whose start token the ids use.
    pub fn for_row(template: &str, tok: &TextTokenizer, ids: &[u32]) -> Option<TurnGrammar> {
        match template {
            "qwen3" | "chatml" => return TurnGrammar::chatml(tok),
            "harmony" => return TurnGrammar::harmony(tok),
            _ => {}
        }
        [TurnGrammar::harmony(tok), TurnGrammar::chatml(tok)].into_iter().flatten().find(|g| ids.contains(&g.start))
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
    let starts: Vec<usize> = ids.iter().enumerate().filter(|(_, &id)| id == grammar.start).map(|(i, _)| i).collect();
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
        let role = header.split(|c: char| c.is_whitespace() || c == '<').next().unwrap_or("").to_string();
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

/// A mask problem in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

/// Lint one row's mask against its turns. `no_loss_turns` are assistant turns (0-based) that the
/// row deliberately keeps without loss.
pub fn lint(mask: &[u8], turns: &[Turn], no_loss_turns: &[usize]) -> Vec<Violation> {
    let mut found = Vec::new();
    if !mask.contains(&1) {
        found.push(Violation { code: "no_supervised_tokens", message: "the row has no supervised token".into() });
        return found;
    }
    let mut assistant_k = 0;
    for turn in turns {
        let supervised = (turn.start..turn.end).filter(|&i| mask[i] == 1).count();
        if !turn.is_assistant() {
            if supervised > 0 {
                let first = (turn.start..turn.end).find(|&i| mask[i] == 1).unwrap_or(turn.start);
                let role = if turn.role.is_empty() { "text before the first turn" } else { turn.role.as_str() };
                found.push(Violation {
                    code: "supervised_outside_assistant",
                    message: format!("{supervised} supervised token(s) in a `{role}` turn (first at token {first})"),
                });
            }
            continue;
        }
        let intended_no_loss = no_loss_turns.contains(&assistant_k);
        match (supervised, intended_no_loss) {
            (0, false) => found.push(Violation {
                code: "assistant_turn_unsupervised",
                message: format!(
                    "assistant turn {assistant_k} (tokens {}..{}) has no supervised token",
                    turn.start, turn.end
                ),
            }),
            (n, true) if n > 0 => found.push(Violation {
                code: "no_loss_turn_supervised",
                message: format!(
                    "assistant turn {assistant_k} is meant to carry no loss but has {n} supervised token(s)"
                ),
            }),
            (n, false) if n > 0 => {
                for &e in &turn.end_tokens {
                    // The end token of a message that carries loss must carry it too. A message of a
                    // run kept entirely as context (Harmony analysis under --reasoning context) is
                    // left alone.
                    let from = turn.message_starts.iter().copied().filter(|&s| s <= e).max().unwrap_or(turn.start);
                    let message_trained = (from..e).any(|i| mask[i] == 1);
                    if mask[e] == 0 && message_trained {
                        found.push(Violation {
                            code: "end_token_unsupervised",
                            message: format!(
                                "assistant turn {assistant_k}: end-of-turn token at {e} is not supervised"
                            ),
                        });
                    }
                }
                if turn.end_tokens.is_empty() {
                    found.push(Violation {
                        code: "end_token_unsupervised",
                        message: format!("assistant turn {assistant_k} has no end-of-turn token"),
                    });
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
            lint(mask, &turns, no_loss).iter().map(|v| v.code).collect()
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
        let codes: Vec<&str> = lint(&[0, 0, 0, 0, 1, 0, 1, 1, 1, 1], &turns, &[]).iter().map(|v| v.code).collect();
        assert_eq!(codes, ["end_token_unsupervised"]);
    }

    #[test]
    fn runs_of_ones() {
        assert_eq!(supervised_runs(&[0, 1, 1, 0, 1]), vec![1..3, 4..5]);
    }
}
