//! Tasks: every assistant message of a gold conversation is one task, the output a model should
//! produce given everything before it (one generation: a generation stops at a tool call).
//!
//! A task is keyed by the record id and its turn index K, the K-th assistant message of the
//! conversation counting from 0. It carries what judging a prediction needs: the reference message,
//! the tools offered, the tool results and calls earlier in the same user turn (for grounding and
//! for repeated calls), and what kind of turn it is.

use std::sync::Arc;

use serde_json::Value;

use super::cases::{case_of, CaseSource};
use super::tools::{SchemaCache, ToolSchemas};
use crate::conversation::{Conversation, Message, Role};
use crate::text::phrases::asks_for_information;
use crate::text::salient::Salient;
use crate::validate::cases::Case;

/// What the reference does in this turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TurnKind {
    /// Calls one or more tools.
    Call,
    /// Answers after tool results in the same user turn (grounding applies).
    Answer,
    /// Answers directly, without tools.
    Direct,
    /// Asks the user for missing information (a `clarification` record, no call, a question).
    Clarification,
    /// Declines: an `unavailable_tool` or `irrelevant_tool` record answered without a call.
    Decline,
}

impl TurnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnKind::Call => "call",
            TurnKind::Answer => "answer",
            TurnKind::Direct => "direct",
            TurnKind::Clarification => "clarification",
            TurnKind::Decline => "decline",
        }
    }

    /// The reference makes no call.
    pub fn no_call(self) -> bool {
        self != TurnKind::Call
    }
}

/// One gold assistant turn to predict.
pub struct Task {
    pub id: String,
    /// Index of the assistant message among the conversation's assistant messages.
    pub turn: usize,
    /// Index of the reference in `conversation.messages`.
    pub index: usize,
    pub case: String,
    pub case_source: CaseSource,
    pub kind: TurnKind,
    /// Whether the reference carries loss (`"train": false` turns are context, not targets).
    pub train: bool,
    pub conversation: Arc<Conversation>,
    pub tools: Arc<ToolSchemas>,
    /// What the tool results of this user turn said that the user had not (answer turns only:
    /// grounding is judged nowhere else, and a long trajectory has many call turns).
    pub salient: Salient,
    /// Calls already made in this user turn, as (name, arguments).
    pub earlier_calls: Vec<(String, Value)>,
}

impl Task {
    pub fn reference(&self) -> &Message {
        &self.conversation.messages[self.index]
    }

    /// The messages before the reference: the prompt.
    pub fn history(&self) -> &[Message] {
        &self.conversation.messages[..self.index]
    }
}

/// Every assistant message of `conversation` as a task.
pub fn tasks(conversation: Conversation, cache: &SchemaCache) -> Vec<Task> {
    let tools = cache.get(&conversation.tools);
    tasks_with_tools(conversation, tools)
}

/// [`tasks`], with the offered tools already compiled (a reward server keeps them by their text).
pub fn tasks_with_tools(conversation: Conversation, tools: Arc<ToolSchemas>) -> Vec<Task> {
    let (case, case_source) = case_of(&conversation);
    // A record's own `case` may name a kind of its own; only the known ones change what a turn is.
    let known_case = Case::parse(&case);
    let conversation = Arc::new(conversation);
    let messages = &conversation.messages;
    let turns = conversation.user_turns();
    let mut out = Vec::new();
    for (index, m) in messages.iter().enumerate() {
        if m.role != Role::Assistant {
            continue;
        }
        // An assistant message before any user message (rare) has the conversation so far as its turn.
        let turn_start = turns.iter().find(|t| t.contains(&index)).map_or(0, |t| t.start);
        let this_turn = &messages[turn_start..index];
        let has_results = this_turn.iter().any(|x| x.role == Role::Tool);
        let earlier_calls: Vec<(String, Value)> = this_turn
            .iter()
            .flat_map(|x| &x.tool_calls)
            .map(|c| (c.name.clone(), c.arguments.parsed().unwrap_or(Value::Null)))
            .collect();
        let kind = if !m.tool_calls.is_empty() {
            TurnKind::Call
        } else if has_results {
            TurnKind::Answer
        } else if known_case == Some(Case::Clarification) && asks_for_information(&m.content).is_some() {
            TurnKind::Clarification
        } else if matches!(known_case, Some(Case::UnavailableTool | Case::IrrelevantTool)) {
            TurnKind::Decline
        } else {
            TurnKind::Direct
        };
        out.push(Task {
            id: conversation.id.clone(),
            turn: out.len(),
            index,
            case: case.clone(),
            case_source,
            kind,
            train: m.train,
            conversation: conversation.clone(),
            tools: tools.clone(),
            salient: match kind {
                TurnKind::Answer => Salient::before_answer(messages, turn_start, index),
                _ => Salient::default(),
            },
            earlier_calls,
        });
    }
    out
}

/// Gold trajectories read from a file: every turn as a task, indexed by record id and turn.
#[derive(Default)]
pub struct GoldSet {
    pub tasks: Vec<Task>,
    index: std::collections::HashMap<(String, usize), usize>,
    ids: std::collections::HashSet<String>,
    /// Records that could not be read, as `FILE:LINE: why`.
    pub problems: Vec<String>,
    pub records: usize,
}

impl GoldSet {
    /// Read `path` (JSONL, JSON array or object; `-` for stdin) with ingest's format detection.
    pub fn read(path: &str, ingest: &crate::ingest::IngestOptions, cache: &SchemaCache) -> std::io::Result<GoldSet> {
        let mut set = GoldSet::default();
        for record in crate::source::RecordReader::open(path, 0)? {
            let record = record?;
            set.records += 1;
            match crate::ingest::read(&record, ingest) {
                Ok(i) => set.add(i.conversation, cache, &record.location.to_string()),
                Err(why) => set.problems.push(format!("{}: {why}", record.location)),
            }
        }
        Ok(set)
    }

    fn add(&mut self, conversation: Conversation, cache: &SchemaCache, location: &str) {
        let id = conversation.id.clone();
        if !self.ids.insert(id.clone()) {
            self.problems.push(format!("{location}: a second record with id {id:?} (ignored)"));
            return;
        }
        for task in tasks(conversation, cache) {
            self.index.insert((task.id.clone(), task.turn), self.tasks.len());
            self.tasks.push(task);
        }
    }

    /// The task of record `id`, turn `turn`.
    pub fn get(&self, id: &str, turn: usize) -> Option<usize> {
        self.index.get(&(id.to_string(), turn)).copied()
    }
}

/// The prompt a model answers for `task`: the history rendered with the template, then the
/// generation prompt of `format` (`<|im_start|>assistant\n`, or Harmony's `<|start|>assistant`).
/// `None` for the Hermes default, whose generation prompt is the template's own business.
pub fn prompt_text(
    task: &Task,
    template: &crate::render::ChatTemplate,
    options: &crate::render::RenderOptions,
    format: crate::completion::Format,
) -> Option<Result<String, crate::render::RenderError>> {
    let generation_prompt = format.family()?.generation_prompt();
    let history = Conversation {
        id: task.id.clone(),
        messages: task.history().to_vec(),
        tools: task.conversation.tools.clone(),
        meta: Default::default(),
    };
    Some(template.render(&history, options).map(|r| r.text + generation_prompt))
}
