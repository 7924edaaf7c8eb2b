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
