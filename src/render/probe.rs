//! Probing a chat template: what it supports and how it delimits turns, found by rendering small
//! conversations with recognizable content and looking where that content lands. Used by
//! `trajkit inspect-template` and, for templates whose turn markers are not control tokens, by
//! `check-mask` ([`text_grammar`]).

use serde::Serialize;
use serde_json::{json, Value};

use super::derive::{align_end, common_prefix, first_line, tag_at};
use super::{split_markers, ChatTemplate, RenderError, RenderOptions};
use crate::conversation::{Arguments, Conversation, Message, Role, ToolCall};

const USER: &str = "Probeuser1";
const USER2: &str = "Probeuser2";
const SYSTEM: &str = "Probesystem1";
const ANSWER: &str = "Probeanswer1";
const ANSWER2: &str = "Probeanswer2";
const REASONING: &str = "Probereasoning1";
const REASONING2: &str = "Probereasoning2";
const RESULT: &str = "Proberesult1";
/// The text of a message that also calls a tool.
const SAID: &str = "Probecall";
const TOOL: &str = "probe_weather";
const TOOL2: &str = "probe_time";

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": TOOL, "description": "Probetooldescription",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": TOOL2, "description": "Current time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
    ])
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn answer(text: &str) -> Value {
    json!({"role": "assistant", "content": text})
}

fn call(names: &[&str]) -> Value {
    let calls: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": n, "arguments": {"city": "Lyon"}}}))
        .collect();
    json!({"role": "assistant", "content": "", "tool_calls": calls})
}

fn result(name: &str, text: &str) -> Value {
    json!({"role": "tool", "tool_call_id": "call_0", "name": name, "content": text})
}

/// Renders probe conversations with one template.
pub struct Prober<'a> {
    template: &'a ChatTemplate,
    options: RenderOptions,
}

impl<'a> Prober<'a> {
    pub fn new(template: &'a ChatTemplate, options: RenderOptions) -> Self {
        Prober { template, options }
    }

    fn conversation(messages: &[Value], with_tools: bool) -> Conversation {
        let text = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let messages = messages
            .iter()
            .map(|m| {
                let role = match m["role"].as_str() {
                    Some("system") => Role::System,
                    Some("assistant") => Role::Assistant,
                    Some("tool") => Role::Tool,
                    _ => Role::User,
                };
                let mut message = Message::new(role, text(m, "content").unwrap_or_default());
                message.reasoning = text(m, "reasoning_content");
                message.name = text(m, "name");
                message.tool_call_id = text(m, "tool_call_id");
                for c in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    message.tool_calls.push(ToolCall {
                        id: text(c, "id"),
                        name: c["function"]["name"].as_str().unwrap_or_default().to_string(),
                        arguments: Arguments::Json(c["function"]["arguments"].clone()),
                        origin: String::new(),
                    });
                }
                message
            })
            .collect();
        let tools = if with_tools { tools().as_array().cloned().unwrap_or_default() } else { Vec::new() };
        Conversation { id: "probe".into(), messages, tools: tools.into(), meta: Default::default() }
    }

    /// The text of `messages` (with the probe tools when `with_tools`), or the template's error.
    pub fn render(&self, messages: &[Value], with_tools: bool, generation_prompt: bool) -> Result<String, RenderError> {
        let c = Self::conversation(messages, with_tools);
        let template = self.template.for_conversation(&c);
        Ok(split_markers(&template.render_marked(&c, &self.options, generation_prompt)?).text)
    }

    /// The generation prompt after one user message.
    pub fn generation_prompt(&self) -> Option<String> {
        let a = self.render(&[user(USER)], false, false).ok()?;
        let b = self.render(&[user(USER)], false, true).ok()?;
        Some(b[common_prefix(&a, &b)..].to_string())
    }

    /// Where message `messages.last()` begins in `render(messages)`: after the history as it renders
    /// followed by the generation prompt with the prompt removed.
    fn header_before(&self, messages: &[Value], with_tools: bool, content: &str) -> Option<String> {
        let before = &messages[..messages.len() - 1];
        let text = self.render(messages, with_tools, false).ok()?;
        let history = self.history_end(before, with_tools)?;
        let base = align_end(&history, &text)?;
        let added = &text[base..];
        let header = match added.find(content) {
            Some(at) => &added[..at],
            // The template does not write this content (string content where it wants parts):
            // the header is what comes before the message's closing tag.
            None => {
                let trimmed = added.trim_end();
                match last_tag(trimmed) {
                    Some(tag) if trimmed.len() > tag.len() => &trimmed[..trimmed.len() - tag.len()],
                    // Nothing but a closing tag: the template does not write this message at all.
                    _ => "",
                }
            }
        };
        Some(header.to_string()).filter(|h| !h.trim().is_empty())
    }

    /// The history `messages` as it renders with more to come: the rendering with the generation
    /// prompt, that prompt taken off.
    fn history_end(&self, messages: &[Value], with_tools: bool) -> Option<String> {
        let with_prompt = self.render(messages, with_tools, true).ok()?;
        let prompt = self.generation_prompt().unwrap_or_default();
        match with_prompt.strip_suffix(prompt.as_str()) {
            Some(h) if !prompt.is_empty() => Some(h.to_string()),
            _ => {
                let closed = self.render(messages, with_tools, false).ok()?;
                Some(with_prompt[..common_prefix(&closed, &with_prompt)].to_string())
            }
        }
    }

    /// What ends an assistant message: the first tag-like token after its content (as the last
    /// message and followed by more), and the last one of its rendering, for answers and tool calls.
    fn ends(&self) -> Vec<String> {
        let mut ends = Vec::new();
        let mut push = |e: Option<String>| {
            if let Some(e) = e.filter(|e| !ends.contains(e)) {
                ends.push(e);
            }
        };
        let exchange = [user(USER), answer(ANSWER)];
        if let Ok(t) = self.render(&exchange, false, false) {
            push(Prober::end_after(&t, ANSWER));
        }
        // Reasoning written as a message of its own (`<|start|>assistant to=self …<|eom|>`): the tag
        // after it counts when another assistant header follows.
        let thought = json!({"role": "assistant", "content": ANSWER, "reasoning_content": REASONING});
        let header = self.generation_prompt().map(|p| p[..first_line(&p)].trim().to_string()).unwrap_or_default();
        if let (Ok(t), false) = (self.render(&[user(USER), thought], false, false), header.is_empty()) {
            if let Some(end) = Prober::end_after(&t, REASONING) {
                let after = t.find(REASONING).map(|at| &t[at + REASONING.len()..]).unwrap_or("");
                let after = after.trim_start();
                if after.strip_prefix(end.as_str()).is_some_and(|rest| rest.trim_start().starts_with(&header)) {
                    push(Some(end));
                }
            }
        }
        let before = self.history_end(&[user(USER)], false).unwrap_or_default();
        if let Some(h) = self.history_end(&exchange, false) {
            push(Prober::end_after(&h, ANSWER));
            push(last_tag(&h[common_prefix(&before, &h)..]));
        }
        // A template that closes a plain answer with nothing (GLM: the next role token ends the
        // turn) has no end-of-turn marker; a tool call's last tag is then not one either.
        if ends.is_empty() {
            return ends;
        }
        let mut push = |e: Option<String>| {
            if let Some(e) = e.filter(|e| !ends.contains(e)) {
                ends.push(e);
            }
        };
        if let Some(h) = self.history_end(&[user(USER), call(&[TOOL])], true) {
            push(last_tag(&h[common_prefix(&before, &h)..]));
        }
        ends
    }

    /// The closing tag of a tool result, when the template writes results inside the assistant's
    /// turn and the assistant goes on after it without a header (Gemma 4: `<tool_response|>`).
    fn tool_result_end(&self) -> Option<String> {
        let header = self.generation_prompt().map(|p| p[..first_line(&p)].to_string()).unwrap_or_default();
        // The last tag between the result and `next`, unless `next` opens a turn of its own.
        let closer_before = |messages: &[Value], next: &str| {
            let text = self.render(messages, true, false).ok()?;
            let at = text.find(RESULT)? + RESULT.len();
            let between = &text[at..at + text[at..].find(next)?];
            if !header.trim().is_empty() && between.contains(header.trim()) {
                return None;
            }
            last_tag(between)
        };
        let mut said = call(&[TOOL]);
        said["content"] = json!(SAID);
        // Gemma 4: the answer goes on in the turn the results were written in. DiffusionGemma: the
        // answer opens a new turn, but a calling message's own text is written after its results.
        closer_before(&[user(USER), call(&[TOOL]), result(TOOL, RESULT), answer(ANSWER)], ANSWER)
            .or_else(|| closer_before(&[user(USER), said, result(TOOL, RESULT)], SAID))
    }

    /// The headers of user, system and tool messages.
    fn headers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut said = call(&[TOOL]);
        said["content"] = json!(SAID);
        let follow_ups: [(Vec<Value>, bool, &str, &str); 3] = [
            (vec![user(USER), answer(ANSWER), user(USER2)], false, USER2, "user"),
            (vec![user(USER), call(&[TOOL]), result(TOOL, RESULT)], true, RESULT, "tool"),
            // Templates that index into the content fail on an empty one.
            (vec![user(USER), said, result(TOOL, RESULT)], true, RESULT, "tool"),
        ];
        for (messages, with_tools, content, role) in follow_ups {
            if out.iter().any(|(_, r)| r == role) {
                continue;
            }
            let header = self.header_before(&messages, with_tools, content).map(|h| match h.find(TOOL) {
                // A tool result's header that names the tool (`<|start|>functions.probe_weather …`):
                // what comes before the name opens every tool result.
                Some(at) if role == "tool" && at > 0 => h[..at].to_string(),
                _ => h,
            });
            out.extend(header.map(|h| (h, role.to_string())));
        }
        // The system message comes first: its header is what it adds before its content.
        let plain = self.render(&[user(USER)], false, false);
        let with = self.render(&[json!({"role": "system", "content": SYSTEM}), user(USER)], false, false);
        if let (Ok(a), Ok(b)) = (plain, with) {
            if let Some(at) = b.find(SYSTEM) {
                let base = common_prefix(&a, &b).min(at);
                let h = &b[base..at];
                if !h.trim().is_empty() {
                    out.push((h.to_string(), "system".into()));
                }
            }
        }
        out
    }

    /// The first tag-like token after `content` in `text` (`<|im_end|>`, `<end_of_turn>`).
    fn end_after(text: &str, content: &str) -> Option<String> {
        let at = text.find(content)? + content.len();
        let rest = text[at..].trim_start();
        tag_at(rest).map(|n| rest[..n].to_string())
    }
}

/// A turn grammar in text, for templates whose turn markers are not control tokens of the tokenizer
/// at hand (a model's template with another family's tokenizer, plain-text role markers). The
/// markers come from probing the template ([`text_grammar`]), never from the spans it produced;
/// `check` reads rows back with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextGrammar {
    /// Text that opens a message, and the role it opens (`assistant` for the assistant's).
    pub headers: Vec<(String, String)>,
    /// Text that ends an assistant message.
    pub ends: Vec<String>,
    /// Text that closes a tool result written inside the assistant's turn, after which the
    /// assistant goes on without a header of its own (Gemma 4's `<tool_response|>`).
    pub resumes: Vec<String>,
}

/// The template's turn markers as text: the header of each role and the end of an assistant
/// message, for check-mask's [`crate::check::text_turns`].
pub fn text_grammar(template: &ChatTemplate) -> TextGrammar {
    let p = Prober::new(template, RenderOptions::default());
    let mut g = TextGrammar::default();
    if let Some(prompt) = p.generation_prompt() {
        let header = &prompt[..first_line(&prompt)];
        if !header.trim().is_empty() {
            g.headers.push((header.to_string(), "assistant".into()));
        }
    }
    for (h, role) in p.headers() {
        if !g.headers.iter().any(|(x, _)| *x == h) {
            g.headers.push((h, role));
        }
    }
    g.ends = p.ends();
    g.resumes = p.tool_result_end().into_iter().collect();
    g
}

/// The last tag-like token of `text`.
fn last_tag(text: &str) -> Option<String> {
    let text = text.trim_end();
    let open = text.rfind(['<', '['])?;
    let n = tag_at(&text[open..])?;
    (open + n == text.len()).then(|| text[open..].to_string())
}

/// What `inspect-template` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub name: String,
    /// `{% generation %}` markers in the source.
    pub generation_markers: bool,
    pub generation_prompt: Option<String>,
    pub system_prompt: Support,
    /// A system message appears although the conversation has none.
    pub default_system_prompt: bool,
    pub tools: Support,
    pub tool_calls: Support,
    pub tool_results: Support,
    pub parallel_calls: Support,
    pub reasoning: Support,
    /// Reasoning of turns before the last user message is dropped.
    pub drops_earlier_reasoning: Option<bool>,
    pub prefix_preserving: PrefixCheck,
    /// The text that ends an assistant message (last message / followed by more).
    pub end_of_turn: Vec<String>,
    /// Whether the supervised span of an assistant message covers its end of turn.
    pub mask_covers_end: Option<bool>,
    /// The supervised text of a probe answer, as trajkit would train it.
    pub supervised_example: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Support {
    Yes,
    /// Rendered without error, but the probe content does not appear.
    Ignored,
    /// The template refuses it (message).
    Refused(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefixCheck {
    pub preserving: bool,
    /// Where it is not: after which message, and what differs.
    pub detail: Option<String>,
}

fn support(p: &Prober<'_>, messages: &[Value], with_tools: bool, needles: &[&str]) -> Support {
    match p.render(messages, with_tools, false) {
        Ok(t) if needles.iter().all(|n| t.contains(n)) => Support::Yes,
        Ok(_) => Support::Ignored,
        Err(e) => Support::Refused(e.to_string()),
    }
}

/// Probe a template.
pub fn inspect(template: &ChatTemplate, options: &RenderOptions) -> Report {
    let p = Prober::new(template, options.clone());
    let basic = p.render(&[user(USER), answer(ANSWER)], false, false);
    let generation_prompt = p.generation_prompt();
    let with_reasoning = |r: &str, a: &str| json!({"role": "assistant", "content": a, "reasoning_content": r});
    let reasoning = support(&p, &[user(USER), with_reasoning(REASONING, ANSWER)], false, &[REASONING]);
    let drops_earlier_reasoning = matches!(reasoning, Support::Yes).then(|| {
        let msgs = [user(USER), with_reasoning(REASONING, ANSWER), user(USER2), with_reasoning(REASONING2, ANSWER2)];
        p.render(&msgs, false, false).map(|t| !t.contains(REASONING)).unwrap_or(false)
    });
    let full = [
        user(USER),
        call(&[TOOL]),
        result(TOOL, RESULT),
        with_reasoning(REASONING, ANSWER),
        user(USER2),
        with_reasoning(REASONING2, ANSWER2),
    ];
    let (probe_msgs, probe_tools): (&[Value], bool) =
        if p.render(&full, true, false).is_ok() { (&full, true) } else { (&full[4..], false) };
    let prefix_preserving = prefix_check(&p, probe_msgs, probe_tools);
    let end_of_turn = p.ends();
    let mut mask_covers_end = None;
    let probe = Prober::conversation(&[user(USER), answer(ANSWER), user(USER2), answer(ANSWER2)], false);
    let for_probe = template.for_conversation(&probe);
    let supervised_example = match for_probe.render(&probe, options) {
        Ok(r) => {
            let covered = |content: &str| {
                let at = r.text.find(content)? + content.len();
                let rest = &r.text[at..];
                let end = at + (rest.len() - rest.trim_start().len());
                let len = tag_at(&r.text[end..]).unwrap_or(0);
                Some(len > 0 && r.supervised.iter().any(|s| s.start <= end && end + len <= s.end))
            };
            mask_covers_end = match (covered(ANSWER), covered(ANSWER2)) {
                (Some(a), Some(b)) => Some(a && b),
                (a, b) => a.or(b),
            };
            r.supervised.first().map(|s| r.text[s.clone()].to_string())
        }
        Err(e) => Some(format!("(no spans: {e})")),
    };
    Report {
        name: template.name.clone(),
        generation_markers: template.generation_tags,
        generation_prompt,
        system_prompt: support(
            &p,
            &[json!({"role": "system", "content": SYSTEM}), user(USER), answer(ANSWER)],
            false,
            &[SYSTEM],
        ),
        default_system_prompt: default_system_prompt(&p),
        tools: support(&p, &[user(USER), answer(ANSWER)], true, &[TOOL]),
        tool_calls: support(&p, &[user(USER), call(&[TOOL])], true, &[TOOL, "Lyon"]),
        tool_results: support(&p, &[user(USER), call(&[TOOL]), result(TOOL, RESULT), answer(ANSWER)], true, &[RESULT]),
        parallel_calls: support(&p, &[user(USER), call(&[TOOL, TOOL2])], true, &[TOOL, TOOL2]),
        reasoning,
        drops_earlier_reasoning,
        prefix_preserving,
        end_of_turn,
        mask_covers_end,
        supervised_example,
        error: basic.err().map(|e| e.to_string()),
    }
}

/// Whether a conversation without a system message still renders text of its own before the first
/// user message (a default system prompt such as Qwen2.5's "You are Qwen…").
fn default_system_prompt(p: &Prober<'_>) -> bool {
    let Ok(text) = p.render(&[user(USER)], false, false) else { return false };
    let user_header = p.headers().into_iter().find(|(_, r)| r == "user").map(|(h, _)| h);
    let before = match user_header.and_then(|h| text.find(h.as_str())) {
        Some(at) => &text[..at],
        None => &text[..text.find(USER).unwrap_or(0)],
    };
    let mut rest = before;
    let mut words = 0;
    while let Some(c) = rest.chars().next() {
        if let Some(n) = tag_at(rest) {
            rest = &rest[n..];
        } else {
            words += usize::from(c.is_alphabetic());
            rest = &rest[c.len_utf8()..];
        }
    }
    words > 12
}

/// Whether every rendering of the first k messages (k ending at a message) is a prefix of the
/// whole conversation's rendering.
fn prefix_check(p: &Prober<'_>, messages: &[Value], with_tools: bool) -> PrefixCheck {
    let Ok(full) = p.render(messages, with_tools, false) else {
        return PrefixCheck { preserving: false, detail: Some("the probe conversation is refused".into()) };
    };
    for k in 1..messages.len() {
        let Ok(part) = p.render(&messages[..k], with_tools, false) else { continue };
        if !full.starts_with(&part) {
            let at = common_prefix(&part, &full);
            let show = |s: &str| {
                let mut end = (at + 30).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s[at..end].escape_debug().to_string()
            };
            let role = messages[k - 1]["role"].as_str().unwrap_or("?");
            return PrefixCheck {
                preserving: false,
                detail: Some(format!(
                    "after message {k} ({role}): the shorter conversation renders «{}» where the longer one has «{}»",
                    show(&part),
                    show(&full)
                )),
            };
        }
    }
    PrefixCheck { preserving: true, detail: None }
}
