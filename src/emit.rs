//! Emit: output rows and their JSON lines.
//!
//! A row is what TRL trains on (`input_ids`, `assistant_masks`, `labels`) plus the training-format
//! conversation it came from (`messages`, `tools`), so the same file also works with TRL's own
//! tokenization. Columns are typed so that `datasets.load_dataset("json", ...)` loads files whose
//! rows differ: tool-call arguments and tool schemas are JSON strings (TRAPS 7).

use std::ops::Range;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::conversation::{ArgumentsForm, Conversation};
use crate::mask::labels;
use crate::render::Rendered;

/// Which columns to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitKind {
    /// Token ids, masks, labels, messages and tools.
    #[default]
    Tokens,
    /// Only `id`, `messages`, `tools` (no tokenizer needed).
    Messages,
    /// The rendered text and the supervised byte spans.
    Text,
}

/// Facts about how a row was made, so `check-mask` needs neither the input nor the flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RowInfo {
    pub template: String,
    pub tokenizer: Option<String>,
    /// Assistant turns (0-based, in order) kept in context without loss on purpose.
    pub no_loss_turns: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub input_ids: Vec<u32>,
    pub assistant_masks: Vec<u8>,
    pub messages: Vec<Value>,
    pub tools: Vec<Value>,
    pub meta: Map<String, Value>,
    pub text: String,
    pub spans: Vec<Range<usize>>,
    /// Byte ranges tokenized as ordinary text (see [`Rendered::ordinary`]).
    pub ordinary: Vec<Range<usize>>,
    pub info: RowInfo,
}

impl Row {
    /// `split_reasoning`: write `reasoning_content` apart from the content, as the template saw it.
    pub fn new(id: String, conversation: &Conversation, rendered: Rendered, split_reasoning: bool) -> Row {
        Row {
            id,
            input_ids: Vec::new(),
            assistant_masks: Vec::new(),
            messages: conversation.messages.iter().map(|m| m.to_json(ArgumentsForm::String, split_reasoning)).collect(),
            tools: conversation.tools.clone(),
            meta: conversation.meta.clone(),
            text: rendered.text,
            spans: rendered.supervised,
            ordinary: rendered.ordinary,
            info: RowInfo::default(),
        }
    }

    /// The row as one JSON line (no trailing newline).
    pub fn to_json_line(&self, kind: EmitKind) -> String {
        let tools = serde_json::to_string(&self.tools).expect("JSON values serialize");
        let meta = (!self.meta.is_empty()).then(|| serde_json::to_string(&self.meta).expect("JSON values serialize"));
        let line = match kind {
            EmitKind::Tokens => serde_json::to_string(&TokensRow {
                id: &self.id,
                input_ids: &self.input_ids,
                assistant_masks: &self.assistant_masks,
                labels: labels(&self.input_ids, &self.assistant_masks),
                messages: &self.messages,
                tools,
                meta,
                trajkit: &self.info,
            }),
            EmitKind::Messages => {
                serde_json::to_string(&MessagesRow { id: &self.id, messages: &self.messages, tools, meta })
            }
            EmitKind::Text => serde_json::to_string(&TextRow {
                id: &self.id,
                text: &self.text,
                spans: self.spans.iter().map(|r| [r.start, r.end]).collect(),
                trajkit: &self.info,
            }),
        };
        line.expect("rows serialize")
    }
}

impl Row {
    /// The row as one JSON line appended to `out` (no trailing newline): the same bytes as
    /// [`Row::to_json_line`], with the token columns written directly (they are most of a row).
    pub fn write_json_line(&self, kind: EmitKind, out: &mut Vec<u8>) {
        if kind != EmitKind::Tokens {
            out.extend_from_slice(self.to_json_line(kind).as_bytes());
            return;
        }
        fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
            serde_json::to_writer(out, value).expect("rows serialize");
        }
        out.extend_from_slice(b"{\"id\":");
        json(out, self.id.as_str());
        out.extend_from_slice(b",\"input_ids\":[");
        let mut digits = itoa::Buffer::new();
        for (i, &id) in self.input_ids.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(digits.format(id).as_bytes());
        }
        out.extend_from_slice(b"],\"assistant_masks\":[");
        for (i, &m) in self.assistant_masks.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(digits.format(m).as_bytes());
        }
        out.extend_from_slice(b"],\"labels\":[");
        for (i, (&id, &m)) in self.input_ids.iter().zip(&self.assistant_masks).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match m {
                1 => out.extend_from_slice(digits.format(id).as_bytes()),
                _ => out.extend_from_slice(b"-100"),
            }
        }
        out.extend_from_slice(b"],\"messages\":");
        json(out, self.messages.as_slice());
        out.extend_from_slice(b",\"tools\":");
        json(out, &*tools_text(&self.tools));
        if !self.meta.is_empty() {
            out.extend_from_slice(b",\"meta\":");
            json(out, &serde_json::to_string(&self.meta).expect("JSON values serialize"));
        }
        out.extend_from_slice(b",\"trajkit\":");
        json(out, &self.info);
        out.push(b'}');
    }
}

/// `serde_json::to_string(tools)`, remembered per thread for the last few tool sets: the rows of
/// one agent's records, and all rows of a record in `--expand per-turn`, carry the same tools.
fn tools_text(tools: &[Value]) -> std::rc::Rc<str> {
    const KEPT: usize = 8;
    thread_local! {
        static TEXTS: std::cell::RefCell<Vec<(Vec<Value>, std::rc::Rc<str>)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    TEXTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        let same = |kept: &[Value]| {
            kept.len() == tools.len() && kept.iter().zip(tools).all(|(a, b)| crate::render::context::same_json(a, b))
        };
        if let Some((_, text)) = cache.iter().find(|(kept, _)| same(kept)) {
            return text.clone();
        }
        let text: std::rc::Rc<str> = serde_json::to_string(tools).expect("JSON values serialize").into();
        if cache.len() == KEPT {
            cache.remove(0);
        }
        cache.push((tools.to_vec(), text.clone()));
        text
    })
}

#[derive(Serialize)]
struct TokensRow<'a> {
    id: &'a str,
    input_ids: &'a [u32],
    assistant_masks: &'a [u8],
    labels: Vec<i64>,
    messages: &'a [Value],
    tools: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<String>,
    trajkit: &'a RowInfo,
}

#[derive(Serialize)]
struct MessagesRow<'a> {
    id: &'a str,
    messages: &'a [Value],
    tools: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<String>,
}

#[derive(Serialize)]
struct TextRow<'a> {
    id: &'a str,
    text: &'a str,
    spans: Vec<[usize; 2]>,
    trajkit: &'a RowInfo,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Message, Role};

    #[test]
    fn written_lines_equal_serialized_lines() {
        let mut c = Conversation::default();
        c.messages.push(Message::new(Role::User, "hé \"quoted\"\n"));
        c.messages.push(Message::new(Role::Assistant, "ok"));
        c.tools.push(serde_json::json!({"type": "function", "function": {"name": "f"}}));
        let rendered =
            Rendered { text: "abc".into(), supervised: std::iter::once(1..2).collect(), ordinary: Vec::new() };
        let mut row = Row::new("r\u{1}1".into(), &c, rendered, true);
        row.input_ids = vec![0, 151644, 7, 4294967295];
        row.assistant_masks = vec![0, 1, 1, 0];
        row.info = RowInfo { template: "qwen3".into(), tokenizer: Some("qwen3".into()), no_loss_turns: vec![2] };
        for meta in [false, true] {
            if meta {
                row.meta.insert("k".into(), serde_json::json!([1.5, null]));
            }
            for kind in [EmitKind::Tokens, EmitKind::Messages, EmitKind::Text] {
                let mut out = Vec::new();
                row.write_json_line(kind, &mut out);
                assert_eq!(String::from_utf8(out).unwrap(), row.to_json_line(kind), "{kind:?}");
            }
        }
        row.input_ids.clear();
        row.assistant_masks.clear();
        let mut out = Vec::new();
        row.write_json_line(EmitKind::Tokens, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), row.to_json_line(EmitKind::Tokens));
    }
}
