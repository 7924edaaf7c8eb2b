//! Assistant spans for a user's template, found without any per-model code.
//!
//! A template with `{% generation %}` markers says itself what to train on. For one without them,
//! the span of each assistant message is what the model has to produce at that point: the text the
//! template adds for the message after the generation prompt's role header, through the end of the
//! message (its end-of-turn token included), found by rendering the conversation cut short:
//!
//! ```text
//! P = render(messages[..k])                               history
//! G = render(messages[..k], add_generation_prompt=True)   history + generation prompt
//! H = render(messages[..=k], add_generation_prompt=True)  history + message k + next generation prompt
//! ```
//!
//! Where P and G part is where message k begins; the first line of G's addition is the role header
//! (`<|im_start|>assistant\n`, `<|start_header_id|>assistant<|end_header_id|>\n\n`, `<start_of_turn>model\n`);
//! whatever the prompt adds after that line (a `<think>\n` prefill) is output the model is trained on.
//! Message k ends where H's next generation prompt begins (for the last message: the end of the text,
//! so an `eos_token` the template closes the conversation with is trained too). When the template is
//! not prefix-preserving (it renders history differently once the conversation goes on: Qwen3 drops
//! old reasoning, GPT-OSS ends the last turn with `<|return|>`), the boundaries are carried over to the
//! full rendering by aligning the two texts: common prefix, then the longest suffix of the rest that
//! occurs in the full text. A row whose spans cannot be found this way is rejected with the reason.
//! docs/templates.md defends the method and lists where it differs from TRL's training templates.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Value as Json};

use super::{split_markers, ChatTemplate, ReasoningPolicy, RenderError, RenderOptions, Rendered};
use crate::conversation::{Conversation, Role};

/// A message as transformers passes it to a template: reasoning is also given as `thinking`
/// (first key), which GPT-OSS-style templates read.
pub fn as_transformers_passes(message: Json) -> Json {
    let Json::Object(map) = message else { return message };
    let Some(reasoning) = map.get("reasoning_content").filter(|r| !r.is_null()).cloned() else {
        return Json::Object(map);
    };
    let mut out = Map::new();
    out.insert("thinking".into(), reasoning);
    for (k, v) in map {
        out.insert(k, v);
    }
    Json::Object(out)
}

/// Decide the supervised ranges of a user template's rendering.
pub fn supervise(
    template: &ChatTemplate,
    conversation: &Conversation,
    options: &RenderOptions,
    marked: &str,
) -> Result<Rendered, RenderError> {
    let mut rendered = split_markers(marked);
    if template.generation_tags {
        rendered.supervised = with_empty_blocks(marked, std::mem::take(&mut rendered.supervised));
    }
    let all_trained = conversation.messages.iter().all(|m| m.role != Role::Assistant || m.train);
    let cut_reasoning = options.reasoning == ReasoningPolicy::Context;
    if template.generation_tags && all_trained && !cut_reasoning {
        return Ok(rendered);
    }
    let regions = assistant_regions(template, conversation, options, &rendered.text)?;
    let mut supervised = Vec::new();
    for region in &regions {
        let message = &conversation.messages[region.message];
        if !message.train {
            continue;
        }
        let mut spans: Vec<Range<usize>> = if template.generation_tags {
            // The template's own markers, inside this message's area (and its late text).
            let mut within = Vec::new();
            for area in std::iter::once(&region.area).chain(&region.late) {
                within.extend(
                    rendered
                        .supervised
                        .iter()
                        .filter(|s| {
                            (s.start < area.end && area.start < s.end) || (s.is_empty() && area.contains(&s.start))
                        })
                        .map(|s| s.start.max(area.start)..s.end.min(area.end)),
                );
            }
            within
        } else {
            std::iter::once(region.span.clone()).chain(region.late.clone()).collect()
        };
        if cut_reasoning {
            if let Some(r) = message.reasoning.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                spans = spans.into_iter().flat_map(|s| without_reasoning(&rendered.text, s, r)).collect();
            }
        }
        supervised.extend(spans.into_iter().filter(|s| !s.is_empty() || template.generation_tags));
    }
    rendered.supervised = supervised;
    Ok(rendered)
}

/// transformers also records a `{% generation %}` block that renders nothing, and its mask marks a
/// token that straddles that position (`><` across `<tool_call|><|tool_response>` under a tokenizer
/// without those tokens). Keep such blocks as empty ranges; [`crate::mask::token_mask`] marks exactly
/// the token that strictly contains them.
fn with_empty_blocks(marked: &str, mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    use super::env::{NO_LOSS_CLOSE, NO_LOSS_OPEN, ORDINARY_CLOSE, ORDINARY_OPEN, TRAIN_CLOSE, TRAIN_OPEN};
    let mut clean = 0;
    let mut depth = 0usize;
    let mut opened_at: Option<usize> = None;
    for c in marked.chars() {
        match c {
            TRAIN_OPEN => {
                depth += 1;
                if depth == 1 {
                    opened_at = Some(clean);
                }
            }
            TRAIN_CLOSE => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && opened_at.take() == Some(clean)
                    && !spans.iter().any(|s| s.start <= clean && clean <= s.end)
                {
                    spans.push(clean..clean);
                }
            }
            NO_LOSS_OPEN | NO_LOSS_CLOSE | ORDINARY_OPEN | ORDINARY_CLOSE => {}
            c => clean += c.len_utf8(),
        }
    }
    spans.sort_by_key(|s| (s.start, s.end));
    spans
}

/// Where one assistant message sits in the full rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Index into the conversation's messages.
    pub message: usize,
    /// What the model produces: after the role header, through the end of the message.
    pub span: Range<usize>,
    /// The whole message, role header included.
    pub area: Range<usize>,
    /// The message's text when the template writes it after the tool results instead (Gemma 4 v5,
    /// DiffusionGemma), through the end-of-turn token that may close it: the model produces it
    /// when it resumes after the results, so it is trained like the rest of the message.
    pub late: Option<Range<usize>>,
}

/// Renderings of the conversation cut after `n` messages, made once each.
struct Cuts<'a> {
    template: &'a ChatTemplate,
    conversation: &'a Conversation,
    options: &'a RenderOptions,
    done: HashMap<(usize, bool), String>,
}

impl Cuts<'_> {
    fn text(&mut self, n: usize, generation_prompt: bool) -> Result<String, RenderError> {
        if let Some(t) = self.done.get(&(n, generation_prompt)) {
            return Ok(t.clone());
        }
        let mut cut = self.conversation.clone();
        cut.messages.truncate(n);
        let marked = self.template.render_marked(&cut, self.options, generation_prompt).map_err(|e| {
            let what = if generation_prompt { " with the generation prompt" } else { "" };
            RenderError::Spans(format!("rendering the first {n} message(s){what} failed: {e}"))
        })?;
        let text = split_markers(&marked).text;
        self.done.insert((n, generation_prompt), text.clone());
        Ok(text)
    }
}

/// The span of every assistant message of `conversation` in `full`, its rendering.
pub fn assistant_regions(
    template: &ChatTemplate,
    conversation: &Conversation,
    options: &RenderOptions,
    full: &str,
) -> Result<Vec<Region>, RenderError> {
    let messages = &conversation.messages;
    let mut cuts = Cuts { template, conversation, options, done: HashMap::new() };
    let usual = usual_generation_prompt(&mut cuts)?;
    let mut regions: Vec<Region> = Vec::new();
    for (k, message) in messages.iter().enumerate() {
        if message.role != Role::Assistant {
            continue;
        }
        if k == 0 {
            return Err(RenderError::Spans("the conversation starts with an assistant message".into()));
        }
        let history = cuts.text(k, false)?;
        let prompt = cuts.text(k, true)?;
        let p = common_prefix(&history, &prompt);
        let added = &prompt[p..];
        let last = k + 1 == messages.len();
        let with_message = if last { full.to_string() } else { cuts.text(k + 1, true)? };
        // Where message k begins in `with_message`.
        let begin = align_end(&prompt[..p], &with_message)
            .ok_or_else(|| RenderError::Spans(format!("message {k}: the history before it renders differently")))?;
        let rest = &with_message[begin..];
        let header = if added.is_empty() {
            if !usual.is_empty() && rest.starts_with(usual.as_str()) {
                usual.len()
            } else {
                0
            }
        } else {
            first_line(added).min(common_prefix(added, rest))
        };
        let start = begin + header;
        let end = if last {
            with_message.len()
        } else {
            let closed = cuts.text(k + 1, false)?;
            let q = common_prefix(&closed, &with_message);
            match with_message.len().checked_sub(usual.len()) {
                Some(e) if !usual.is_empty() && with_message.ends_with(usual.as_str()) && e >= start => e,
                _ => q,
            }
        };
        if end <= start {
            return Err(RenderError::Spans(format!("message {k}: the template renders nothing for it")));
        }
        let (area, span) = if last {
            (begin..end, start..end)
        } else {
            let a = align_end(&with_message[..begin], full)
                .ok_or_else(|| RenderError::Spans(format!("message {k}: cannot place it in the full rendering")))?;
            let s = a + align_end(&with_message[begin..start], &full[a..]).unwrap_or(0);
            let e = s + align_end(&with_message[start..end], &full[s..])
                .ok_or_else(|| RenderError::Spans(format!("message {k}: its text is not in the full rendering")))?;
            (a..e, s..e)
        };
        // A template that writes no end-of-turn token (GLM) ends the turn with the next role token,
        // and that is what the model must learn to emit: the span takes it in.
        let (area, span) = if !last && !template.generation_tags && template.turn_markers().ends.is_empty() {
            let after = &full[span.end..];
            let blank = after.len() - after.trim_start().len();
            match tag_at(&after[blank..]) {
                Some(n) => (area.start..area.end + blank + n, span.start..span.end + blank + n),
                None => (area, span),
            }
        } else {
            (area, span)
        };
        if span.is_empty() || regions.last().is_some_and(|r| r.area.end > area.start) {
            return Err(RenderError::Spans(format!(
                "message {k}: its place in the rendering overlaps the previous one"
            )));
        }
        regions.push(Region { message: k, span, area, late: None });
    }
    let ends = &template.turn_markers().ends;
    for i in 0..regions.len() {
        let limit = regions.get(i + 1).map_or(full.len(), |r| r.area.start);
        let r = &regions[i];
        regions[i].late = late_text(full, &messages[r.message], r.span.clone(), limit, ends);
    }
    Ok(regions)
}

/// Where a calling message's text sits when the template writes it after the tool results, not
/// in the message's own span: its last copy between the span and `limit` (the next assistant
/// message), with an end-of-turn token right after it and the blanks that follow that token.
fn late_text(
    full: &str,
    message: &crate::conversation::Message,
    span: Range<usize>,
    limit: usize,
    ends: &[String],
) -> Option<Range<usize>> {
    let content = message.content.trim();
    if message.tool_calls.is_empty() || content.is_empty() || full[span.clone()].contains(content) {
        return None;
    }
    let start = span.end + full[span.end..limit].rfind(content)?;
    let mut end = start + content.len();
    if let Some(n) = ends.iter().filter(|e| full[end..limit].starts_with(e.as_str())).map(String::len).max() {
        end += n;
        let rest = &full[end..limit];
        end += rest.len() - rest.trim_start().len();
    }
    Some(start..end)
}

/// The generation prompt after a user message (`<|im_start|>assistant\n`): from the first user
/// turn of the conversation, else from a one-message probe.
fn usual_generation_prompt(cuts: &mut Cuts<'_>) -> Result<String, RenderError> {
    let first_user = cuts.conversation.messages.iter().position(|m| m.role == Role::User);
    if let Some(j) = first_user {
        let (a, b) = (cuts.text(j + 1, false)?, cuts.text(j + 1, true)?);
        return Ok(b[common_prefix(&a, &b)..].to_string());
    }
    Ok(String::new())
}

/// The role header of a generation prompt: through its first line break (and the blank space after
/// it); the whole prompt when it has no line break.
pub fn first_line(prompt: &str) -> usize {
    let mut seen_text = false;
    for (i, c) in prompt.char_indices() {
        if c == '\n' && seen_text {
            let rest = &prompt[i..];
            let blank = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            return i + blank;
        }
        seen_text |= !c.is_whitespace();
    }
    prompt.len()
}

/// Length of the common prefix of `a` and `b`, never cutting through a word or a tag-like token
/// (`<|im_end|>`, `<start_of_turn>`, `[INST]`): diverging texts part at a token boundary.
pub fn common_prefix(a: &str, b: &str) -> usize {
    let mut i = equal_bytes(a.as_bytes(), b.as_bytes());
    while !a.is_char_boundary(i) || !b.is_char_boundary(i) {
        i -= 1;
    }
    i.min(atom_start(a, i)).min(atom_start(b, i))
}

/// Length of the common byte prefix, compared a block at a time (slice equality is a memcmp, so this
/// stays fast on long renderings in unoptimized test builds too).
fn equal_bytes(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// The start of the word or tag that position `i` falls strictly inside, else `i`.
fn atom_start(s: &str, i: usize) -> usize {
    if i == 0 || i >= s.len() {
        return i;
    }
    if let Some(tag) = tag_around(s, i) {
        return tag.start;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let before = s[..i].chars().next_back().is_some_and(word);
    let after = s[i..].chars().next().is_some_and(word);
    if before && after {
        return s[..i].char_indices().rev().take_while(|&(_, c)| word(c)).last().map_or(i, |(j, _)| j);
    }
    i
}

/// A tag-like token (`<…>` or `[…]` without blanks, at most 64 bytes) that strictly contains `i`.
fn tag_around(s: &str, i: usize) -> Option<Range<usize>> {
    for (open, close) in [('<', '>'), ('[', ']')] {
        let Some(o) = s[..i].rfind(open) else { continue };
        if i - o > 64 || s[o + 1..i].contains(|c: char| c.is_whitespace() || c == open || c == close) {
            continue;
        }
        let rest = &s[i..];
        let Some(c) = rest.find(close) else { continue };
        if c > 64 || rest[..c].contains(|ch: char| ch.is_whitespace() || ch == open) || (o + 1 == i && c == 0) {
            continue;
        }
        return Some(o..i + c + close.len_utf8());
    }
    None
}

/// Token-like pieces of `s` (tags, words, runs of blanks, single other characters): their starts.
fn atom_starts(s: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i < s.len() {
        starts.push(i);
        let rest = &s[i..];
        let c = rest.chars().next().expect("not at the end");
        let len = if let Some(t) = tag_at(rest) {
            t
        } else if c.is_alphanumeric() || c == '_' {
            rest.find(|ch: char| !(ch.is_alphanumeric() || ch == '_')).unwrap_or(rest.len())
        } else if c.is_whitespace() {
            rest.find(|ch: char| !ch.is_whitespace()).unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        i += len;
    }
    starts
}

/// Length of a tag-like token at the start of `s`.
pub(crate) fn tag_at(s: &str) -> Option<usize> {
    let (open, close) = match s.chars().next()? {
        '<' => ('<', '>'),
        '[' => ('[', ']'),
        _ => return None,
    };
    let end = s[1..].find(close)? + 1;
    let inner = &s[1..end];
    (end <= 64 && !inner.is_empty() && !inner.contains(|c: char| c.is_whitespace() || c == open))
        .then_some(end + close.len_utf8())
}

/// Where the end of `src` falls in `dst`, when `dst` starts with a text like `src`: their common
/// prefix, then the longest tail of the rest of `src` that occurs in the rest of `dst`.
pub fn align_end(src: &str, dst: &str) -> Option<usize> {
    let l = common_prefix(src, dst);
    if l == src.len() {
        return Some(l);
    }
    let rest = &src[l..];
    let hay = &dst[l..];
    let starts = atom_starts(rest);
    let telling = |tail: &str| tail.contains(|c: char| c.is_alphanumeric()) || tag_at(tail.trim_start()).is_some();
    // Most often `src` only has something more at this point (reasoning the longer rendering drops):
    // `dst` goes on with a tail of the rest. Take the longest such tail, so a copy of it further on
    // (an assistant repeating an earlier answer) is not mistaken for it.
    if let Some(tail) = starts.iter().map(|&k| &rest[k..]).find(|t| hay.starts_with(t) && telling(t)) {
        return Some(l + tail.len());
    }
    let occurs = |k: usize| hay.find(&rest[starts[k]..]);
    // occurs(k) implies occurs(k + 1): find the first k where the tail occurs.
    let (mut lo, mut hi) = (0, starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if occurs(mid).is_some() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let found = starts.get(lo).map(|&k| &rest[k..]).and_then(|tail| {
        // A tail of blanks or punctuation alone says nothing about where the text is.
        telling(tail).then(|| hay.find(tail).map(|at| (at, tail.len()))).flatten()
    });
    // Only markup left (`<turn|>\n`) and no tail of it right here: the shorter rendering closed a
    // turn that the longer one keeps open (Gemma 4 writes the content of a tool-calling message after
    // the tool results and ends the turn only when no assistant message follows). The texts part
    // right here; the same closer further on belongs to a later message.
    if only_markup(rest) && found.is_none_or(|(at, _)| at > 0) {
        return Some(l);
    }
    let (at, len) = found?;
    Some(l + at + len)
}

/// Whether `s` is nothing but tag-like tokens and blanks (and has at least one tag).
fn only_markup(s: &str) -> bool {
    let mut rest = s.trim_start();
    let mut tags = 0;
    while let Some(n) = tag_at(rest) {
        rest = rest[n..].trim_start();
        tags += 1;
    }
    rest.is_empty() && tags > 0
}

/// `span` without the reasoning text `reasoning` and the tags and blanks around it.
fn without_reasoning(text: &str, span: Range<usize>, reasoning: &str) -> Vec<Range<usize>> {
    let Some(at) = text[span.clone()].find(reasoning) else { return vec![span] };
    let (mut a, mut b) = (span.start + at, span.start + at + reasoning.len());
    let only_tags = |s: &str| {
        let mut rest = s.trim_start();
        while let Some(n) = tag_at(rest) {
            rest = rest[n..].trim_start();
        }
        rest.is_empty()
    };
    if only_tags(&text[span.start..a]) {
        a = span.start;
    }
    let after = &text[b..span.end];
    let trimmed = after.trim_start();
    let mut skip = after.len() - trimmed.len();
    if let Some(n) = tag_at(trimmed) {
        skip += n;
        let more = &trimmed[n..];
        skip += more.len() - more.trim_start().len();
    }
    b += skip;
    [span.start..a, b..span.end].into_iter().filter(|r| !r.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_stops_at_token_boundaries() {
        assert_eq!(common_prefix("ab<|im_end|>", "ab<|im_start|>"), 2);
        assert_eq!(common_prefix("x\n<|end|>", "x\n<|assistant|>"), 2);
        assert_eq!(common_prefix("hello world", "hello wonder"), 6);
        assert_eq!(common_prefix("same", "same"), 4);
        assert_eq!(common_prefix("a\n", "a\n\n"), 2);
    }

    #[test]
    fn header_is_the_first_line() {
        assert_eq!(first_line("<|im_start|>assistant\n<think>\n"), "<|im_start|>assistant\n".len());
        assert_eq!(first_line("<|start_header_id|>assistant<|end_header_id|>\n\n"), 47);
        assert_eq!(first_line("<|start|>assistant"), 18);
        assert_eq!(first_line("\n<|assistant|>\nx"), "\n<|assistant|>\n".len());
    }

    #[test]
    fn align_end_skips_what_only_one_side_has() {
        let src = "<u>q</u><a><think>\n\n</think>\n\nhi<e>\n";
        let dst = "<u>q</u><a>hi<e>\n<u>more</u>";
        assert_eq!(align_end(src, dst), Some("<u>q</u><a>hi<e>\n".len()));
        assert_eq!(align_end("abc", "abcdef"), Some(3));
        assert_eq!(align_end("<a>zzz\n", "<a>qqq"), None);
    }

    #[test]
    fn reasoning_is_cut_with_its_tags() {
        let text = "<think>\nplan\n</think>\n\nanswer<end>";
        assert_eq!(without_reasoning(text, 0..text.len(), "plan"), vec![23..text.len()]);
        assert_eq!(without_reasoning(text, 0..text.len(), "absent"), vec![0..text.len()]);
    }

    #[test]
    fn thinking_alias_comes_first() {
        let m = serde_json::json!({"role": "assistant", "content": "a", "reasoning_content": "r"});
        let keys: Vec<String> = as_transformers_passes(m).as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["thinking", "role", "content", "reasoning_content"]);
    }
}
