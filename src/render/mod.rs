//! Render: a [`Conversation`] through a chat template → the exact text the model sees, plus the
//! byte ranges of that text the loss should cover.
//!
//! Templates are Jinja, run by minijinja in an environment made to behave like transformers'
//! (see [`env`]). Built-in templates mark their trainable spans themselves; a user's template marks
//! them with `{% generation %}` blocks when it has them.

pub mod context;
pub mod derive;
pub mod env;
pub mod harmony;
pub mod load;
pub mod probe;
pub mod pycompat;

use std::ops::Range;

use minijinja::Value;
use serde_json::{Map, Value as Json};

use crate::conversation::{Conversation, Role};
use crate::family::Family;
pub use env::Date;
use env::{NO_LOSS_CLOSE, NO_LOSS_OPEN, ORDINARY_CLOSE, ORDINARY_OPEN, RAISED, TRAIN_CLOSE, TRAIN_OPEN};
pub use harmony::{HarmonyOptions, ReasoningEffort};

/// What happens to assistant reasoning (`reasoning_content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningPolicy {
    /// Rendered and supervised (TRL's default).
    #[default]
    Train,
    /// Rendered, but no loss on it.
    Context,
    /// Removed before rendering.
    Drop,
}

impl ReasoningPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningPolicy::Train => "train",
            ReasoningPolicy::Context => "context",
            ReasoningPolicy::Drop => "drop",
        }
    }
}

/// Settings that shape the rendered text or its spans.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub reasoning: ReasoningPolicy,
    /// Supervise the empty `<think>\n\n</think>\n\n` Qwen3 puts on the final turn (TRAPS 3).
    pub train_empty_think: bool,
    pub date: Date,
    /// The system message of the harmony template (reasoning effort, identity, dates).
    pub harmony: HarmonyOptions,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            reasoning: ReasoningPolicy::Train,
            train_empty_think: true,
            date: Date::today(),
            harmony: HarmonyOptions::default(),
        }
    }
}

/// The source of a shipped template (`templates/`).
fn builtin_source(family: Family) -> &'static str {
    match family {
        Family::Qwen3 => include_str!("../../templates/qwen3.jinja"),
        Family::ChatMl => include_str!("../../templates/chatml.jinja"),
        Family::Harmony => include_str!("../../templates/harmony.jinja"),
    }
}

/// Extra filters and functions only this template uses.
fn register_builtin(family: Family, env: &mut minijinja::Environment<'static>) {
    if family == Family::Harmony {
        harmony::register(env);
    }
}

/// Why a conversation could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The template itself refused the conversation (`raise_exception`).
    #[error("the template refused this conversation: {0}")]
    Refused(String),
    /// The template failed while running (an undefined method, a type error, out of fuel …).
    #[error("template error: {0}")]
    Template(String),
    /// Content holds the characters trajkit reserves for span markers.
    #[error("{0}: contains a Unicode noncharacter (U+FDD0..U+FDD5) that trajkit reserves for span markers")]
    ReservedCharacter(String),
    #[error("no supervised span: the template marks nothing to train on for this conversation")]
    NothingToTrain,
    /// The template has no `{% generation %}` markers and the assistant spans could not be derived.
    #[error("cannot find the assistant output in the rendering: {0}")]
    Spans(String),
}

/// Rendered text and the byte ranges of it that carry loss, sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    pub text: String,
    pub supervised: Vec<Range<usize>>,
    /// Ranges to tokenize as ordinary text even where they spell a control token (templates that,
    /// like Harmony, encode message content with `encode_ordinary`). Empty for Hugging Face
    /// templates, whose text is encoded as a whole.
    pub ordinary: Vec<Range<usize>>,
}

/// A compiled chat template.
pub struct ChatTemplate {
    pub name: String,
    env: minijinja::Environment<'static>,
    pub builtin: Option<Family>,
    /// `bos_token`, `eos_token`, … as transformers passes them to the template.
    pub special_tokens: Map<String, Json>,
    /// The model's `tool_use` template, used instead of this one for rows with tools.
    pub tool_use: Option<Box<ChatTemplate>>,
    /// Whether the source marks its trainable spans with `{% generation %}`; without markers a
    /// user template's spans are derived (see [`derive`]).
    pub generation_tags: bool,
    /// The template's turn markers, probed once when first needed (see [`probe::text_grammar`]).
    turn_markers: std::sync::OnceLock<probe::TextGrammar>,
}

impl ChatTemplate {
    pub fn builtin(which: Family, date: Date) -> Result<Self, RenderError> {
        let mut env =
            env::environment(builtin_source(which), date).map_err(|e| RenderError::Template(e.to_string()))?;
        register_builtin(which, &mut env);
        Ok(ChatTemplate {
            name: which.name().into(),
            env,
            builtin: Some(which),
            special_tokens: Map::new(),
            tool_use: None,
            generation_tags: true,
            turn_markers: Default::default(),
        })
    }

    /// A user-supplied Jinja chat template (the text of a `.jinja` file or a `chat_template` string).
    pub fn from_source(
        name: &str,
        source: &str,
        special_tokens: Map<String, Json>,
        date: Date,
    ) -> Result<Self, RenderError> {
        let env = env::environment(source, date).map_err(|e| RenderError::Template(env::explain_compile_error(&e)))?;
        let generation_tags = env::has_generation_tags(source);
        Ok(ChatTemplate {
            name: name.into(),
            env,
            builtin: None,
            special_tokens,
            tool_use: None,
            generation_tags,
            turn_markers: Default::default(),
        })
    }

    /// The template's turn markers as text: role headers and what ends an assistant message.
    pub fn turn_markers(&self) -> &probe::TextGrammar {
        self.turn_markers.get_or_init(|| probe::text_grammar(self))
    }

    /// Use `tool_use` for rows that carry tools (a model's named `tool_use` template).
    pub fn with_tool_use(mut self, tool_use: ChatTemplate) -> Self {
        self.tool_use = Some(Box::new(tool_use));
        self
    }

    /// The template a conversation is rendered with: `tool_use` when it has tools and one exists.
    pub fn for_conversation(&self, conversation: &Conversation) -> &ChatTemplate {
        match &self.tool_use {
            Some(t) if !conversation.tools.is_empty() => t,
            _ => self,
        }
    }

    /// Render one conversation. Reasoning policy `drop` must have been applied by the caller.
    pub fn render(&self, conversation: &Conversation, options: &RenderOptions) -> Result<Rendered, RenderError> {
        let this = self.for_conversation(conversation);
        if !std::ptr::eq(this, self) {
            return this.render(conversation, options);
        }
        for (i, m) in conversation.messages.iter().enumerate() {
            if has_marker(&m.content) || m.reasoning.as_deref().is_some_and(has_marker) {
                return Err(RenderError::ReservedCharacter(format!("messages[{i}]")));
            }
        }
        let marked = self.render_marked(conversation, options, false)?;
        if self.builtin.is_some() {
            return Ok(split_markers(&marked));
        }
        derive::supervise(self, conversation, options, &marked)
    }

    /// The template's output with span markers still in it; `add_generation_prompt` as transformers
    /// passes it.
    pub fn render_marked(
        &self,
        conversation: &Conversation,
        options: &RenderOptions,
        add_generation_prompt: bool,
    ) -> Result<String, RenderError> {
        let context = self.context(conversation, options, add_generation_prompt);
        let template = self.env.get_template("chat").map_err(|e| RenderError::Template(describe(&e)))?;
        template.render(context).map_err(|e| {
            let text = describe(&e);
            match text.find(RAISED) {
                Some(at) => RenderError::Refused(text[at + RAISED.len()..].lines().next().unwrap_or("").to_string()),
                None => RenderError::Template(env::explain_render_error(&e, &text)),
            }
        })
    }

    /// The assistant turns, numbered from 0 as `check-mask` reads them back from the ids, that
    /// carry no loss on purpose (every message in them marked `train: false`). A turn is one
    /// assistant message, or for Harmony a run of consecutive ones (its turn grammar merges them).
    pub fn no_loss_turns(&self, conversation: &Conversation) -> Vec<usize> {
        let merge = self.builtin == Some(Family::Harmony);
        let mut turns: Vec<bool> = Vec::new(); // per turn: whether any message in it trains
        let mut previous_assistant = false;
        for m in &conversation.messages {
            let assistant = m.role == Role::Assistant;
            match turns.last_mut() {
                Some(trains) if assistant && previous_assistant && merge => *trains |= m.train,
                _ if assistant => turns.push(m.train),
                _ => {}
            }
            previous_assistant = assistant;
        }
        turns.iter().enumerate().filter(|(_, &trains)| !trains).map(|(k, _)| k).collect()
    }

    /// Whether the template is given reasoning as `reasoning_content` apart from the content.
    /// Templates that do not know the field see inline `<think>` text as the source wrote it.
    pub fn splits_reasoning(&self) -> bool {
        self.builtin.is_some_and(|b| b.splits_inline_reasoning())
    }

    /// The template's variables, built directly as minijinja values ([`context`]): the same values
    /// `Value::from(Serde(json))` gives for the JSON messages, tools and special tokens.
    fn context(&self, conversation: &Conversation, options: &RenderOptions, add_generation_prompt: bool) -> Value {
        let builtin = self.builtin.is_some();
        let split = self.splits_reasoning();
        let messages: Vec<Value> = conversation
            .messages
            .iter()
            .map(|m| match builtin {
                true => context::message_value(m, split, builtin),
                // A user's template sees messages as transformers passes them (reasoning also as
                // `thinking`, see derive::as_transformers_passes).
                false => context::json_value(&derive::as_transformers_passes(
                    m.to_json(crate::conversation::ArgumentsForm::AsGiven, split),
                )),
            })
            .collect();
        let mut ctx = context::ValueMap::with_capacity(self.special_tokens.len() + 5);
        for (k, v) in &self.special_tokens {
            ctx.insert(Value::from(k.as_str()), context::json_value(v));
        }
        let mut set = |k: &str, v: Value| {
            ctx.insert(Value::from(k), v);
        };
        set("messages", Value::from_object(messages));
        if !conversation.tools.is_empty() {
            set("tools", context::tools_value(&conversation.tools));
        } else if !builtin {
            set("tools", Value::from(())); // transformers passes tools=None
        }
        if !builtin {
            set("documents", Value::from(()));
        }
        set("add_generation_prompt", Value::from(add_generation_prompt));
        if builtin {
            let mut t = context::ValueMap::with_capacity(2);
            t.insert(Value::from("reasoning"), Value::from(options.reasoning.as_str()));
            let empty_think = if options.train_empty_think { "train" } else { "context" };
            t.insert(Value::from("empty_think"), Value::from(empty_think));
            set("trajkit", Value::from_object(t));
            if self.builtin == Some(Family::Harmony) {
                set("harmony", context::json_value(&options.harmony.to_json()));
            }
        }
        Value::from_object(ctx)
    }
}

/// minijinja's error with its cause chain and template line, on one line.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Remove the span markers from rendered text; the supervised ranges are the training spans minus
/// the no-loss spans, as byte ranges of the clean text.
pub fn split_markers(marked: &str) -> Rendered {
    let bytes = marked.as_bytes();
    let mut text = String::with_capacity(marked.len());
    let mut train_depth = 0usize;
    let mut no_loss_depth = 0usize;
    let mut supervised: Vec<Range<usize>> = Vec::new();
    let mut open: Option<usize> = None;
    let mut ordinary: Vec<Range<usize>> = Vec::new();
    let mut ordinary_open: Option<usize> = None;
    // Text between markers is copied in runs; markers are found by their first byte (memchr), which
    // keeps this a small part of a row's cost even for long renders.
    let (mut copied, mut search) = (0, 0);
    while let Some(found) = memchr::memchr(MARKER_LEAD, &bytes[search..]) {
        let at = search + found;
        search = at + 1;
        let Some(marker) = marker_at(bytes, at) else { continue };
        text.push_str(&marked[copied..at]);
        (copied, search) = (at + MARKER_LEN, at + MARKER_LEN);
        match marker {
            ORDINARY_OPEN => {
                ordinary_open.get_or_insert(text.len());
                continue;
            }
            ORDINARY_CLOSE => {
                if let Some(start) = ordinary_open.take() {
                    if start < text.len() {
                        ordinary.push(start..text.len());
                    }
                }
                continue;
            }
            TRAIN_OPEN => train_depth += 1,
            TRAIN_CLOSE => train_depth = train_depth.saturating_sub(1),
            NO_LOSS_OPEN => no_loss_depth += 1,
            NO_LOSS_CLOSE => no_loss_depth = no_loss_depth.saturating_sub(1),
            _ => unreachable!("marker_at returns markers only"),
        }
        let active = train_depth > 0 && no_loss_depth == 0;
        match (active, open) {
            (true, None) => open = Some(text.len()),
            (false, Some(start)) => {
                if start < text.len() {
                    supervised.push(start..text.len());
                }
                open = None;
            }
            _ => {}
        }
    }
    text.push_str(&marked[copied..]);
    if let Some(start) = open {
        if start < text.len() {
            supervised.push(start..text.len());
        }
    }
    // Adjacent spans (one message's end, the next one's start) stay separate: each is a turn.
    Rendered { text, supervised, ordinary }
}

/// Every marker is one of U+FDD0..=U+FDD5: `EF B7 90..=95` in UTF-8.
const MARKER_LEAD: u8 = 0xEF;
const MARKER_LEN: usize = 3;

/// Whether `text` holds one of the marker characters (input must not: they would fake spans).
fn has_marker(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(MARKER_LEAD, bytes).any(|at| marker_at(bytes, at).is_some())
}

/// The marker whose encoding starts at `at`, if one does.
fn marker_at(bytes: &[u8], at: usize) -> Option<char> {
    match bytes.get(at..at + MARKER_LEN)? {
        [MARKER_LEAD, 0xB7, last @ 0x90..=0x95] => char::from_u32(0xFDD0 + u32::from(last - 0x90)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_bytes_are_the_marker_chars() {
        for marker in [TRAIN_OPEN, TRAIN_CLOSE, NO_LOSS_OPEN, NO_LOSS_CLOSE, ORDINARY_OPEN, ORDINARY_CLOSE] {
            assert_eq!(marker_at(marker.to_string().as_bytes(), 0), Some(marker));
        }
        // Other characters with the same lead byte are text.
        assert!(!has_marker("\u{FDD6}\u{FFFD}\u{FDCF}x") && has_marker("ab\u{FDD5}"));
        let r = split_markers("\u{FDD6}\u{FFFD}\u{E000}x");
        assert_eq!(r.text, "\u{FDD6}\u{FFFD}\u{E000}x");
    }

    #[test]
    fn markers_become_byte_ranges_minus_no_loss() {
        let marked = format!("ab{TRAIN_OPEN}c{NO_LOSS_OPEN}é{NO_LOSS_CLOSE}d{TRAIN_CLOSE}e");
        let r = split_markers(&marked);
        assert_eq!(r.text, "abcéde");
        assert_eq!(r.supervised, vec![2..3, 5..6]);
        assert!(r.ordinary.is_empty());
    }

    #[test]
    fn ordinary_ranges_are_recorded() {
        let marked = format!("<|a|>{ORDINARY_OPEN}x<|b|>{ORDINARY_CLOSE}<|c|>");
        let r = split_markers(&marked);
        assert_eq!(r.text, "<|a|>x<|b|><|c|>");
        assert_eq!(r.ordinary, vec![5..11]);
    }
}
