//! Emit: output rows and their JSON lines.
//!
//! A row is what TRL trains on (`input_ids`, `assistant_masks`, `labels`) plus the training-format
//! conversation it came from (`messages`, `tools`), so the same file also works with TRL's own
//! tokenization. Columns are typed so that `datasets.load_dataset("json", ...)` loads files whose
//! rows differ: tool-call arguments and tool schemas are JSON strings (TRAPS 7).

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::conversation::{ArgumentsForm, Conversation, Message, ToolSetMemo};
use crate::mask::IGNORE_INDEX;
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
    pub messages: Vec<MessageJson>,
    pub tools: std::sync::Arc<Vec<Value>>,
    pub meta: Map<String, Value>,
    pub text: String,
    pub spans: Vec<Range<usize>>,
    /// Byte ranges tokenized as ordinary text (see [`Rendered::ordinary`]).
    pub ordinary: Vec<Range<usize>>,
    pub info: RowInfo,
}

/// One message in the training format, as JSON text. Made once per record and shared by its rows:
/// `--expand per-turn` rows repeat their history, and serializing it again for every row was a
/// tenth of the cost of a per-turn run.
pub type MessageJson = Arc<str>;

/// The training-format JSON of `messages` (arguments as JSON strings, TRAPS 7). `split_reasoning`:
/// write `reasoning_content` apart from the content, as the template saw it.
pub fn messages_json(messages: &[Message], split_reasoning: bool) -> Vec<MessageJson> {
    let json = |m: &Message| serde_json::to_string(&m.to_json(ArgumentsForm::String, split_reasoning));
    messages.iter().map(|m| json(m).expect("JSON values serialize").into()).collect()
}

/// The `messages` column: the messages' JSON texts as one JSON array.
fn write_messages(messages: &[MessageJson], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(message.as_bytes());
    }
    out.push(b']');
}

impl Row {
    /// `messages`: the JSON of `conversation.messages` (see [`messages_json`]).
    pub fn new(id: String, conversation: &Conversation, messages: Vec<MessageJson>, rendered: Rendered) -> Row {
        debug_assert_eq!(messages.len(), conversation.messages.len());
        Row {
            id,
            input_ids: Vec::new(),
            assistant_masks: Vec::new(),
            messages,
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
        let mut out = Vec::new();
        self.write_json_line(kind, &mut out);
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The `messages` column as one JSON text (Parquet stores it as a string).
    pub fn messages_text(&self) -> String {
        let mut out = Vec::new();
        write_messages(&self.messages, &mut out);
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The row as one JSON line appended to `out` (no trailing newline). Written by hand rather
    /// than through serde: the token columns are most of a row, and the messages are already JSON.
    pub fn write_json_line(&self, kind: EmitKind, out: &mut Vec<u8>) {
        fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
            serde_json::to_writer(out, value).expect("rows serialize");
        }
        if kind == EmitKind::Text {
            let spans: Vec<[usize; 2]> = self.spans.iter().map(|r| [r.start, r.end]).collect();
            json(out, &TextRow { id: &self.id, text: &self.text, spans, trajkit: &self.info });
            return;
        }
        out.extend_from_slice(b"{\"id\":");
        json(out, self.id.as_str());
        if kind == EmitKind::Tokens {
            self.write_token_columns(out);
        }
        out.extend_from_slice(b",\"messages\":");
        write_messages(&self.messages, out);
        out.extend_from_slice(b",\"tools\":");
        out.extend_from_slice(tools_text(&self.tools).as_bytes());
        if !self.meta.is_empty() {
            out.extend_from_slice(b",\"meta\":");
            json(out, &serde_json::to_string(&self.meta).expect("JSON values serialize"));
        }
        if kind == EmitKind::Tokens {
            out.extend_from_slice(b",\"trajkit\":");
            json(out, &self.info);
        }
        out.push(b'}');
    }

    /// `,"input_ids":[…],"assistant_masks":[…],"labels":[…]`
    fn write_token_columns(&self, out: &mut Vec<u8>) {
        let (ids, masks) = (&self.input_ids, &self.assistant_masks);
        out.extend_from_slice(b",\"input_ids\":");
        let Some(table) = ItemTable::covering(ids) else {
            return write_token_columns_slowly(ids, masks, out);
        };
        write_list(out, ids.iter().map(|&id| table.id(id)), ids.len());
        out.extend_from_slice(b",\"assistant_masks\":");
        write_list(out, masks.iter().map(|&m| if m == 1 { MASK_ONE } else { MASK_ZERO }), masks.len());
        out.extend_from_slice(b",\"labels\":");
        let labels = ids.iter().zip(masks).map(|(&id, &m)| if m == 1 { table.id(id) } else { IGNORED_LABEL });
        write_list(out, labels, ids.len().min(masks.len()));
    }
}

/// One item of a JSON list of integers as text, `,` first (`,151644`), its length in the last byte.
type Item = [u8; 8];
const MASK_ZERO: Item = *b",0\0\0\0\0\0\x02";
const MASK_ONE: Item = *b",1\0\0\0\0\0\x02";
/// The label of an unsupervised token.
const IGNORED_LABEL: Item = *b",-100\0\0\x05";
const _: () = assert!(IGNORE_INDEX == -100);

/// The text of every token id below 2^18 (vocabularies up to 262,144 tokens: Qwen3, GPT-OSS,
/// Llama 3, Gemma 3), made once.
struct ItemTable(&'static [Item]);

impl ItemTable {
    const SIZE: u32 = 1 << 18;

    /// The table, when it covers every id.
    fn covering(ids: &[u32]) -> Option<ItemTable> {
        static TABLE: std::sync::OnceLock<Box<[Item]>> = std::sync::OnceLock::new();
        if ids.iter().any(|&id| id >= Self::SIZE) {
            return None;
        }
        let item = |n: u32| {
            let mut item = [0u8; 8];
            let mut digits = itoa::Buffer::new();
            let text = digits.format(n).as_bytes();
            item[0] = b',';
            item[1..=text.len()].copy_from_slice(text);
            item[7] = text.len() as u8 + 1;
            item
        };
        Some(ItemTable(TABLE.get_or_init(|| (0..Self::SIZE).map(item).collect())))
    }

    fn id(&self, id: u32) -> Item {
        self.0[id as usize]
    }
}

/// `[a,b,…]` from `count` items: each stored whole (one unaligned 8-byte store) into the vector's
/// spare room, and the write position advanced by its length. The token columns are most of every
/// row; formatting and appending each number was a fifth of a per-turn run.
fn write_list(out: &mut Vec<u8>, items: impl Iterator<Item = Item>, count: usize) {
    let start = out.len();
    out.reserve(8 * count + 2);
    let room = out.spare_capacity_mut()[..8 * count].as_mut_ptr().cast::<u8>();
    let mut at = 0;
    for item in items.take(count) {
        // SAFETY: before the i-th item (i < count) `at <= 8 * i`, so `at + 8 <= 8 * count`: the
        // store stays within the room borrowed above, which the reserve made.
        unsafe { room.add(at).cast::<Item>().write_unaligned(item) };
        at += usize::from(item[7]);
    }
    // SAFETY: every item wrote all 8 bytes from its position and the position advanced by at most
    // 8, so the first `at` bytes of the room are initialized; `at <= 8 * count`, within capacity.
    unsafe { out.set_len(start + at) };
    match at {
        0 => out.push(b'['),
        _ => out[start] = b'[', // over the first item's comma
    }
    out.push(b']');
}

/// The token columns for ids beyond the table, number by number.
fn write_token_columns_slowly(ids: &[u32], masks: &[u8], out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    let mut list = |out: &mut Vec<u8>, items: &mut dyn Iterator<Item = Option<u32>>| {
        out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match item {
                Some(n) => out.extend_from_slice(digits.format(n).as_bytes()),
                None => out.extend_from_slice(b"-100"),
            }
        }
        out.push(b']');
    };
    list(out, &mut ids.iter().map(|&id| Some(id)));
    out.extend_from_slice(b",\"assistant_masks\":");
    list(out, &mut masks.iter().map(|&m| Some(u32::from(m))));
    out.extend_from_slice(b",\"labels\":");
    list(out, &mut ids.iter().zip(masks).map(|(&id, &m)| (m == 1).then_some(id)));
}

/// The `tools` column of every row trajkit writes (convert's, pairs', eval's prompts): the tool
/// schemas as one JSON text, so rows with different tools load as one Arrow column (TRAPS 7).
pub fn tools_column(tools: &[Value]) -> String {
    serde_json::to_string(tools).expect("JSON values serialize")
}

/// A `messages`-like column (`messages`, DPO's `prompt`/`chosen`/`rejected`, eval's `history`):
/// each message in the training format, arguments in `form`.
pub fn messages_column(messages: &[Message], form: ArgumentsForm, split_reasoning: bool) -> Value {
    Value::Array(messages.iter().map(|m| m.to_json(form, split_reasoning)).collect())
}

/// [`tools_column`] as a JSON string literal, remembered per tool set.
fn tools_text(tools: &Arc<Vec<Value>>) -> Rc<str> {
    thread_local! {
        static TEXTS: RefCell<ToolSetMemo<Rc<str>>> = const { RefCell::new(ToolSetMemo::new()) };
    }
    let quoted = |tools: &[Value]| serde_json::to_string(&tools_column(tools)).expect("strings serialize").into();
    TEXTS.with(|memo| memo.borrow_mut().get_or_insert_with(tools, quoted))
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
    use crate::conversation::Role;
    use serde_json::json;

    /// The line as serde_json writes the same columns (key order as listed: `preserve_order`).
    fn expected_line(row: &Row, messages: &[Message], kind: EmitKind) -> String {
        let mut line = Map::new();
        line.insert("id".into(), json!(row.id));
        if kind == EmitKind::Tokens {
            line.insert("input_ids".into(), json!(row.input_ids));
            line.insert("assistant_masks".into(), json!(row.assistant_masks));
            line.insert("labels".into(), json!(crate::mask::labels(&row.input_ids, &row.assistant_masks)));
        }
        let messages: Vec<Value> = messages.iter().map(|m| m.to_json(ArgumentsForm::String, true)).collect();
        line.insert("messages".into(), json!(messages));
        line.insert("tools".into(), json!(serde_json::to_string(&*row.tools).unwrap()));
        if !row.meta.is_empty() {
            line.insert("meta".into(), json!(serde_json::to_string(&row.meta).unwrap()));
        }
        if kind == EmitKind::Tokens {
            line.insert("trajkit".into(), serde_json::to_value(&row.info).unwrap());
        }
        serde_json::to_string(&line).unwrap()
    }

    #[test]
    fn written_lines_equal_serialized_lines() {
        let mut c = Conversation::default();
        c.messages.push(Message::new(Role::User, "hé \"quoted\"\n"));
        let mut answer = Message::new(Role::Assistant, "ok");
        answer.reasoning = Some("why\u{1}".into());
        c.messages.push(answer);
        c.tools = vec![json!({"type": "function", "function": {"name": "f"}})].into();
        let rendered =
            Rendered { text: "abc".into(), supervised: std::iter::once(1..2).collect(), ordinary: Vec::new() };
        let mut row = Row::new("r\u{1}1".into(), &c, messages_json(&c.messages, true), rendered);
        row.info = RowInfo { template: "qwen3".into(), tokenizer: Some("qwen3".into()), no_loss_turns: vec![2] };
        // Ids within the table, at its edges, and beyond it (written number by number).
        let id_sets = [
            vec![0, 151644, 7, 262143, 9, 10, 99999, 100000],
            vec![0, 151644, 7, 262144, 4294967295],
            (0..5000).map(|i| i * 7919 % 262144).collect(), // several blocks of write_list
        ];
        for ids in id_sets {
            row.assistant_masks = ids.iter().enumerate().map(|(i, _)| u8::from(i % 3 == 1)).collect();
            row.input_ids = ids;
            for meta in [false, true] {
                row.meta.clear();
                if meta {
                    row.meta.insert("k".into(), json!([1.5, null]));
                }
                for kind in [EmitKind::Tokens, EmitKind::Messages] {
                    assert_eq!(row.to_json_line(kind), expected_line(&row, &c.messages, kind), "{kind:?}");
                }
                let text: Value = serde_json::from_str(&row.to_json_line(EmitKind::Text)).unwrap();
                assert_eq!(text, json!({"id": row.id, "text": "abc", "spans": [[1, 2]], "trajkit": row.info}));
            }
        }
        row.input_ids.clear();
        row.assistant_masks.clear();
        assert_eq!(row.to_json_line(EmitKind::Tokens), expected_line(&row, &c.messages, EmitKind::Tokens));
        assert_eq!(row.messages_text(), serde_json::to_string(&json!(expected_messages(&c))).unwrap());
    }

    fn expected_messages(c: &Conversation) -> Vec<Value> {
        c.messages.iter().map(|m| m.to_json(ArgumentsForm::String, true)).collect()
    }
}
