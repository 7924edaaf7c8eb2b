//! The whole pipeline for one record: ingest → validate (`--validate`) → policy → expand → render →
//! tokenize → mask → row.
//!
//! Each record is converted on its own (so records run in parallel and fail alone); the result is
//! either rows or one located error, never both and never nothing.

use crate::conversation::{Conversation, Role};
use crate::diagnostic::{Code, Diagnostic};
use crate::emit::{self, MessageJson, Row, RowInfo};
use crate::ingest::{self, IngestOptions, Ingested};
use crate::render::{ChatTemplate, ReasoningPolicy, RenderError, RenderOptions};
use crate::source::{Location, RawRecord};
use crate::tokenize::TextTokenizer;
use crate::validate::Validator;

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
    /// `convert --validate`: validate's checks between ingest and render.
    pub validation: Option<Validation>,
}

/// The validation step of `convert --validate`: a record with errors is rejected with its first
/// error's code and path, or, with `mask_bad_steps`, kept with the loss taken off the steps that
/// have them. Its warnings replace ingest's, so each problem is reported once.
pub struct Validation {
    pub validator: Validator,
    pub mask_bad_steps: bool,
}

impl Validation {
    fn apply(&self, record: &serde_json::Value, ingested: &mut Ingested) -> Result<(), Diagnostic> {
        self.validator.gate(record, ingested, self.mask_bad_steps)
    }
}

/// `--max-length`: the most tokens a row may have, and what becomes of a row over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthLimit {
    pub max_tokens: usize,
    pub truncate: Truncate,
    /// At most how many bytes of text one token stands for (see [`bytes_per_token`]), when known:
    /// text longer than `max_tokens` times this cannot fit and is not even tokenized.
    pub bytes_per_token: Option<usize>,
}

impl LengthLimit {
    /// The least number of tokens text of this many bytes takes, when that is already over the limit.
    fn surely_over(&self, text_bytes: usize) -> Option<usize> {
        let at_least = text_bytes / self.bytes_per_token?;
        (at_least > self.max_tokens).then_some(at_least)
    }
}

/// A bound on the bytes of text one token of `tokenizer` covers: four times its longest token
/// (a token's text is at least as long as the bytes it encodes; the margin covers normalizers that
/// shorten text, such as NFKC). Tokenizing a 100 MB row only to find it too long takes minutes.
pub fn bytes_per_token(tokenizer: &TextTokenizer) -> usize {
    let (mut longest, mut id, mut misses) = (1, 0u32, 0);
    // Ids are dense but for a few holes before added tokens; stop after a long run of unknown ids.
    while misses < 4096 {
        match tokenizer.id_to_token(id) {
            Some(token) => {
                longest = longest.max(token.len());
                misses = 0;
            }
            None => misses += 1,
        }
        id += 1;
    }
    4 * longest
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncate {
    /// The row is not written.
    #[default]
    Drop,
    /// Whole turns are dropped from the start, the system message and the tools kept, until the row
    /// fits. A turn is a user message and everything up to the next one, so a call and its results,
    /// or an answer, are never cut.
    Turns,
}

/// A row over `--max-length` that was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    pub id: String,
    /// Its length in tokens (after dropping every turn it could with `--truncate turns`).
    pub length: usize,
    pub problem: Diagnostic,
}

/// A record that could not be converted, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub location: Location,
    pub id: Option<String>,
    pub problem: Diagnostic,
    /// The row's length in tokens when it was rejected for being over `--max-length` (a `u32` keeps
    /// this error small; no row comes near 4 billion tokens).
    pub length: Option<u32>,
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
    pub warnings: Vec<Diagnostic>,
    /// A conversation-mode row in which the template dropped the reasoning of a supervised turn.
    pub history_rewritten: bool,
    /// Rows of this record over `--max-length` (per-turn rows; when no row fits, the record is
    /// rejected instead).
    pub too_long: Vec<TooLong>,
}

pub type Outcome = Result<Converted, RecordError>;

impl Converter {
    /// Convert one input record.
    pub fn convert(&self, record: &RawRecord) -> Outcome {
        self.convert_within(record, None)
    }

    /// Convert one input record, holding its rows to `limit`.
    pub fn convert_within(&self, record: &RawRecord, limit: Option<LengthLimit>) -> Outcome {
        let located = |id: Option<String>, problem: Diagnostic| RecordError {
            location: record.location.clone(),
            id,
            problem,
            length: None,
        };
        let rejected = |r: ingest::Rejected| located(r.id, r.problem);
        let parsed = ingest::parse(record).map_err(rejected)?;
        let ingested = match &self.validation {
            None => parsed.ingest(&self.ingest).map_err(rejected)?,
            Some(validation) => {
                let own_id = parsed.own_id();
                let (mut ingested, source) = parsed.ingest_keeping(&self.ingest).map_err(rejected)?;
                validation.apply(&source, &mut ingested).map_err(|problem| located(own_id, problem))?;
                ingested
            }
        };
        let id = ingested.conversation.id.clone();
        self.conversation_rows(ingested.conversation, ingested.warnings, limit)
            .map_err(|(problem, length)| RecordError { length, ..located(Some(id), problem) })
    }

    /// Convert an already ingested conversation.
    pub fn convert_conversation(
        &self,
        conversation: Conversation,
        warnings: Vec<Diagnostic>,
    ) -> Result<Converted, Diagnostic> {
        self.conversation_rows(conversation, warnings, None).map_err(|(problem, _)| problem)
    }

    /// The rows of a conversation; an error carries the row's length when the row was too long.
    fn conversation_rows(
        &self,
        mut conversation: Conversation,
        mut warnings: Vec<Diagnostic>,
        limit: Option<LengthLimit>,
    ) -> Result<Converted, (Diagnostic, Option<u32>)> {
        if self.render.reasoning == ReasoningPolicy::Drop {
            conversation.messages.iter_mut().for_each(|m| m.drop_reasoning());
        }
        let history_rewritten = self.expand == Expand::Conversation && self.rewrites_supervised_history(&conversation);
        // Every sample is a prefix of the conversation: its messages' JSON is made once here.
        let messages = emit::messages_json(&conversation.messages, self.template.splits_reasoning());
        let (mut rows, mut too_long) = (Vec::new(), Vec::new());
        for (suffix, sample) in expand(&conversation, self.expand) {
            let sample = Sample { messages: messages[..sample.messages.len()].to_vec(), conversation: sample };
            if !sample.conversation.messages.iter().any(|m| m.role == Role::Assistant && m.train) {
                if self.expand == Expand::PerTurn {
                    continue; // a turn marked train: false yields no row of its own
                }
                let problem =
                    Diagnostic::error(Code::NothingToTrain, "", "every assistant message is marked train: false");
                return Err((problem, None));
            }
            let row_id = match suffix {
                Some(k) => format!("{}#{k}", conversation.id),
                None => conversation.id.clone(),
            };
            match self.fit(row_id, &sample, limit).map_err(|problem| (problem, None))? {
                Fit::Row(row, truncated) => {
                    rows.push(row);
                    warnings.extend(truncated);
                }
                Fit::TooLong(row) => too_long.push(row),
            }
        }
        if rows.is_empty() {
            if let Some(shortest) = too_long.into_iter().min_by_key(|row| row.length) {
                let length = u32::try_from(shortest.length).unwrap_or(u32::MAX);
                return Err((shortest.problem, Some(length)));
            }
            return Err((
                Diagnostic::error(Code::NothingToTrain, "", "no turn has a supervised assistant message"),
                None,
            ));
        }
        Ok(Converted { rows, warnings, history_rewritten, too_long })
    }

    /// The row of one sample held to `limit`: as it is, with its earliest turns dropped
    /// (`--truncate turns`, with a `truncated` warning), or too long.
    fn fit(&self, id: String, sample: &Sample, limit: Option<LengthLimit>) -> Result<Fit, Diagnostic> {
        let Some(limit) = limit else { return Ok(Fit::Row(self.row(id, sample)?, None)) };
        let full = match self.measure(id.clone(), sample, &limit)? {
            Measured::Fits(row) => return Ok(Fit::Row(row, None)),
            Measured::Over(length) => length,
        };
        let max = limit.max_tokens;
        let too_long = |length: Length, message: String| {
            let problem = Diagnostic::error(Code::TooLong, "", message);
            Ok(Fit::TooLong(TooLong { id: id.clone(), length: length.tokens, problem }))
        };
        let starts = turn_starts(&sample.conversation);
        if limit.truncate == Truncate::Drop || starts.len() < 2 {
            return too_long(full, format!("{full}, over --max-length {max}"));
        }
        // Lengths fall as turns are dropped, so search for the fewest dropped turns that fit.
        let without = |k: usize| {
            let mut shorter = sample.clone();
            shorter.conversation.messages.drain(starts[0]..starts[k]);
            shorter.messages.drain(starts[0]..starts[k]);
            shorter
        };
        let most = starts.len() - 1;
        let mut fitted = match self.measure(id.clone(), &without(most), &limit)? {
            Measured::Fits(row) => row,
            Measured::Over(last) => {
                return too_long(last, format!("{full}, {last} with only its last turn, over --max-length {max}"))
            }
        };
        let (mut fits, mut lo, mut hi) = (most, 1, most);
        while lo < hi {
            let k = (lo + hi) / 2;
            match self.measure(id.clone(), &without(k), &limit)? {
                Measured::Fits(row) => (fits, fitted, hi) = (k, row, k),
                Measured::Over(_) => lo = k + 1,
            }
        }
        let message = format!(
            "dropped the first {fits} of {} turns to fit --max-length {max} ({full} → {} tokens)",
            starts.len(),
            fitted.input_ids.len()
        );
        Ok(Fit::Row(fitted, Some(Diagnostic::warning(Code::Truncated, "", message))))
    }

    /// A sample's row if it fits `limit`, else its length.
    fn measure(&self, id: String, sample: &Sample, limit: &LengthLimit) -> Result<Measured, Diagnostic> {
        let row = self.rendered_row(id, sample)?;
        if let Some(at_least) = limit.surely_over(row.text.len()) {
            return Ok(Measured::Over(Length { tokens: at_least, exact: false }));
        }
        let row = self.tokenized(row)?;
        match row.input_ids.len() {
            tokens if tokens > limit.max_tokens => Ok(Measured::Over(Length { tokens, exact: true })),
            _ => Ok(Measured::Fits(row)),
        }
    }

    fn row(&self, id: String, sample: &Sample) -> Result<Row, Diagnostic> {
        self.tokenized(self.rendered_row(id, sample)?)
    }

    fn rendered_row(&self, id: String, Sample { conversation: sample, messages }: &Sample) -> Result<Row, Diagnostic> {
        let rendered = self.template.render(sample, &self.render).map_err(render_problem)?;
        if rendered.supervised.is_empty() {
            return Err(render_problem(RenderError::NothingToTrain));
        }
        let no_loss_turns = self.template.no_loss_turns(sample);
        let mut row = Row::new(id, sample, messages.clone(), rendered);
        row.info = RowInfo {
            template: self.template.name.clone(),
            tokenizer: self.tokenizer.as_ref().map(|t| t.source.describe()),
            no_loss_turns,
        };
        Ok(row)
    }

    /// Token ids and mask, when the converter has a tokenizer.
    fn tokenized(&self, mut row: Row) -> Result<Row, Diagnostic> {
        if let Some(tokenizer) = &self.tokenizer {
            let tokens = tokenizer
                .encode_masked(&row.text, &row.ordinary, &row.spans)
                .map_err(|e| Diagnostic::error(Code::Tokenizer, "", e.to_string()))?;
            if !tokens.mask.contains(&1) {
                return Err(Diagnostic::error(Code::NothingToTrain, "", "no token falls inside a supervised span"));
            }
            row.input_ids = tokens.ids;
            row.assistant_masks = tokens.mask;
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

/// One row's conversation, and the JSON of its messages (shared with the record's other rows).
#[derive(Clone)]
struct Sample {
    conversation: Conversation,
    messages: Vec<MessageJson>,
}

/// A sample's row under `--max-length`.
#[allow(clippy::large_enum_variant)] // one per row, moved once
enum Fit {
    /// The row, with a warning when turns were dropped to make it fit.
    Row(Row, Option<Diagnostic>),
    TooLong(TooLong),
}

/// A sample's row under `--max-length`, before truncation.
#[allow(clippy::large_enum_variant)]
enum Measured {
    Fits(Row),
    Over(Length),
}

/// A row's length in tokens, or a lower bound on it when it was too long to be worth tokenizing.
#[derive(Debug, Clone, Copy)]
struct Length {
    tokens: usize,
    exact: bool,
}

impl std::fmt::Display for Length {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.exact {
            true => write!(f, "{} tokens", self.tokens),
            false => write!(f, "at least {} tokens (not tokenized)", self.tokens),
        }
    }
}

/// Where each turn starts: the first right after the leading system messages, the others at each
/// later user message (so messages before the first user message are a turn of their own). Dropping
/// the first K turns keeps the system messages and `messages[starts[K]..]`.
fn turn_starts(conversation: &Conversation) -> Vec<usize> {
    let messages = &conversation.messages;
    let first = messages.iter().position(|m| m.role != Role::System).unwrap_or(messages.len());
    let mut starts = vec![first];
    let users = messages.iter().enumerate().skip(first + 1).filter(|(_, m)| m.role == Role::User);
    starts.extend(users.map(|(i, _)| i));
    starts
}

fn render_problem(e: RenderError) -> Diagnostic {
    let code = match e {
        RenderError::Refused(_) => Code::TemplateRefused,
        RenderError::Template(_) => Code::TemplateError,
        RenderError::ReservedCharacter(_) => Code::ReservedCharacter,
        RenderError::NothingToTrain => Code::NothingToTrain,
        RenderError::Spans(_) => Code::SpansNotFound,
    };
    Diagnostic::error(code, "", e.to_string())
}

/// The samples a conversation yields: itself, or one prefix per user turn with only that turn's
/// assistant messages supervised. The suffix numbers user turns from 0.
pub fn expand(conversation: &Conversation, mode: Expand) -> Vec<(Option<usize>, Conversation)> {
    if mode == Expand::Conversation {
        return vec![(None, conversation.clone())];
    }
    let mut samples = Vec::new();
    for (k, turn) in conversation.user_turns().into_iter().enumerate() {
        let (start, end) = (turn.start, turn.end);
        if !conversation.messages[start..end].iter().any(|m| m.role == Role::Assistant) {
            continue;
        }
        // Only the messages of the prefix are copied.
        let mut sample = Conversation {
            id: conversation.id.clone(),
            messages: conversation.messages[..end].to_vec(),
            tools: conversation.tools.clone(),
            meta: conversation.meta.clone(),
        };
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

    #[test]
    fn turns_start_after_the_system_messages_and_at_each_later_user_message() {
        let conversation = |roles: &[Role]| Conversation {
            messages: roles.iter().map(|&role| Message::new(role, "x")).collect(),
            ..Default::default()
        };
        use Role::{Assistant as A, System as S, Tool as T, User as U};
        assert_eq!(turn_starts(&conversation(&[S, U, A, T, A, U, A])), [1, 5]);
        // Messages before the first user message are a turn of their own.
        assert_eq!(turn_starts(&conversation(&[S, S, A, U, A, U, A])), [2, 3, 5]);
        assert_eq!(turn_starts(&conversation(&[U, A])), [0]);
    }
}
