//! The whole pipeline for one record: ingest → policy → expand → render → tokenize → mask → row.
//!
//! Each record is converted on its own (so records run in parallel and fail alone); the result is
//! either rows or one located error, never both and never nothing.

use crate::conversation::{Conversation, Role};
use crate::emit::{Row, RowInfo};
use crate::ingest::{self, IngestOptions, Problem};
use crate::mask;
use crate::render::{ChatTemplate, ReasoningPolicy, RenderError, RenderOptions};
use crate::source::{Location, RawRecord};
use crate::tokenize::TextTokenizer;

/// How conversations become rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expand {
    /// One row per record, every assistant turn supervised (what TRL does).
    #[default]
    Conversation,
    /// One row per user turn: the history as the template renders it at inference, only that turn's
    /// assistant output supervised.
    PerTurn,
}

/// Everything needed to convert records; shared read-only across threads.
pub struct Converter {
    pub template: ChatTemplate,
    /// `None` when only messages or text are emitted.
    pub tokenizer: Option<TextTokenizer>,
    pub ingest: IngestOptions,
    pub render: RenderOptions,
    pub expand: Expand,
}

/// A record that could not be converted, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub location: Location,
    pub id: Option<String>,
    pub problem: Problem,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} (id {id}): {}", self.location, self.problem),
            None => write!(f, "{}: {}", self.location, self.problem),
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone)]
pub struct Converted {
    pub rows: Vec<Row>,
    pub warnings: Vec<Problem>,
    /// A conversation-mode row in which the template dropped the reasoning of a supervised turn.
    pub history_rewritten: bool,
}

pub type Outcome = Result<Converted, RecordError>;

impl Converter {
    /// Convert one input record.
    pub fn convert(&self, record: &RawRecord) -> Outcome {
        let located =
            |id: Option<String>, problem: Problem| RecordError { location: record.location.clone(), id, problem };
        let text = record.text.as_ref().map_err(|e| located(None, Problem::new("invalid_utf8", "", e.clone())))?;
        let fallback_id = format!("{}:{}", file_stem(&record.location.file), record.location.line);
        let ingested = ingest::ingest(text, &fallback_id, &self.ingest).map_err(|e| located(record_id(text), e.0))?;
        let id = ingested.conversation.id.clone();
        self.convert_conversation(ingested.conversation, ingested.warnings)
            .map_err(|problem| located(Some(id), problem))
    }

    /// Convert an already ingested conversation.
    pub fn convert_conversation(
        &self,
        mut conversation: Conversation,
        warnings: Vec<Problem>,
    ) -> Result<Converted, Problem> {
        if self.render.reasoning == ReasoningPolicy::Drop {
            conversation.messages.iter_mut().for_each(|m| m.drop_reasoning());
        }
        let history_rewritten = self.expand == Expand::Conversation && self.rewrites_supervised_history(&conversation);
        let mut rows = Vec::new();
        for (suffix, sample) in expand(&conversation, self.expand) {
            if !sample.messages.iter().any(|m| m.role == Role::Assistant && m.train) {
                if self.expand == Expand::PerTurn {
                    continue; // a turn marked train: false yields no row of its own
                }
                return Err(Problem::new("nothing_to_train", "", "every assistant message is marked train: false"));
            }
            let row_id = match suffix {
                Some(k) => format!("{}#{k}", conversation.id),
                None => conversation.id.clone(),
            };
            rows.push(self.row(row_id, &sample)?);
        }
        if rows.is_empty() {
            return Err(Problem::new("nothing_to_train", "", "no turn has a supervised assistant message"));
        }
        Ok(Converted { rows, warnings, history_rewritten })
    }

    fn row(&self, id: String, sample: &Conversation) -> Result<Row, Problem> {
        let rendered = self.template.render(sample, &self.render).map_err(render_problem)?;
        if rendered.supervised.is_empty() {
            return Err(render_problem(RenderError::NothingToTrain));
        }
        let no_loss_turns = self.template.no_loss_turns(sample);
        let mut row = Row::new(id, sample, rendered, self.template.splits_reasoning());
        row.info = RowInfo {
            template: self.template.name.clone(),
            tokenizer: self.tokenizer.as_ref().map(|t| t.source.describe()),
            no_loss_turns,
        };
        if let Some(tokenizer) = &self.tokenizer {
            let tokens = tokenizer
                .encode_with_ordinary(&row.text, &row.ordinary)
                .map_err(|e| Problem::new("tokenizer", "", e.to_string()))?;
            let mask = mask::token_mask(&tokens.offsets, &row.spans);
            if !mask.contains(&1) {
                return Err(Problem::new("nothing_to_train", "", "no token falls inside a supervised span"));
            }
            row.input_ids = tokens.ids;
            row.assistant_masks = mask;
        }
        Ok(row)
    }

    /// Qwen3-style templates drop reasoning before the last user message; in a whole-conversation
    /// row that silently trains those turns without their thinking (TRAPS 2).
    fn rewrites_supervised_history(&self, conversation: &Conversation) -> bool {
        let drops = self.template.builtin.is_some_and(|b| b.drops_earlier_reasoning());
        let Some(last_user) = conversation.last_user_index() else { return false };
        drops
            && conversation.messages[..last_user].iter().any(|m| {
                m.role == Role::Assistant && m.train && m.reasoning.as_deref().is_some_and(|r| !r.trim().is_empty())
            })
    }
}

fn render_problem(e: RenderError) -> Problem {
    let code = match e {
        RenderError::Refused(_) => "template_refused",
        RenderError::Template(_) => "template_error",
        RenderError::ReservedCharacter(_) => "reserved_character",
        RenderError::NothingToTrain => "nothing_to_train",
        RenderError::Spans(_) => "spans_not_found",
    };
    Problem::new(code, "", e.to_string())
}

/// The `id` of a record that failed to convert, when its JSON is readable enough to have one.
fn record_id(text: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(text).ok()?.get("id")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn file_stem(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.split('.').next().filter(|s| !s.is_empty()).unwrap_or(name)
}

/// The samples a conversation yields: itself, or one prefix per user turn with only that turn's
/// assistant messages supervised. The suffix numbers user turns from 0.
pub fn expand(conversation: &Conversation, mode: Expand) -> Vec<(Option<usize>, Conversation)> {
    if mode == Expand::Conversation {
        return vec![(None, conversation.clone())];
    }
    let users: Vec<usize> =
        conversation.messages.iter().enumerate().filter(|(_, m)| m.role == Role::User).map(|(i, _)| i).collect();
    let mut samples = Vec::new();
    for (k, &start) in users.iter().enumerate() {
        let end = users.get(k + 1).copied().unwrap_or(conversation.messages.len());
        if !conversation.messages[start..end].iter().any(|m| m.role == Role::Assistant) {
            continue;
        }
        let mut sample = conversation.clone();
        sample.messages.truncate(end);
        for m in &mut sample.messages[..start] {
            m.train = false;
        }
        samples.push((Some(k), sample));
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Message;

    #[test]
    fn per_turn_keeps_history_and_trains_only_the_last_turn() {
        let mut c = Conversation::default();
        for (role, text) in [(Role::User, "a"), (Role::Assistant, "b"), (Role::User, "c"), (Role::Assistant, "d")] {
            c.messages.push(Message::new(role, text));
        }
        let samples = expand(&c, Expand::PerTurn);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].1.messages.len(), 2);
        let second = &samples[1].1;
        assert_eq!(second.messages.len(), 4);
        assert!(!second.messages[1].train && second.messages[3].train);
    }
}
