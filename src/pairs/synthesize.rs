//! Preference pairs from good trajectories: the recorded assistant move is chosen, and rejected is
//! the same moment with one typical tool-use mistake, labelled with its [`Kind`].
//!
//! A move (decision point) is an assistant message right after a user message (what to do with the
//! request) or right after tool results (what to do with them): every call step and every answer of
//! every user turn of a multi-turn trajectory. Every kind is tried at every move; whether it fits
//! depends on the move (a call or an answer, after the user or after results) and, for an answer,
//! on what it does, inferred from it alone (`validate::cases`: asks, declines, answers). Where a
//! kind does not fit, the move is counted under a [`Skip`] reason. Every rejected side is checked
//! with trajkit's own checks before it is kept (`guessed_argument` must raise `ungrounded_argument`,
//! `ignores_result` must raise `unused_result`, `repeated_call` must raise `duplicate_call`,
//! `malformed_call` must fail the template's output parser), so a pair never claims a defect it
//! does not show. At most `max_per_kind` pairs of a kind are kept per record, spread over its turns.
//!
//! Choices (which tool, which invented value, how a call is broken) come from a generator seeded
//! with `--seed` and the record's id, so the output does not depend on thread count or input order.

use serde_json::{Map, Value};

use super::Pair;
use crate::completion::{self, Format};
use crate::conversation::{Arguments, Conversation, Message, Role, ToolCall};
use crate::diagnostic::Code;
use crate::text::numbers::{values, Number};
use crate::validate::cases::{self, Case};

/// The mistakes a rejected side can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The tool was needed; rejected answers directly (a hallucinated answer).
    DirectAnswer,
    /// No tool was needed; rejected calls an offered tool with arguments from the user's text.
    UnnecessaryCall,
    /// A required argument was missing and chosen asks for it; rejected invents it.
    GuessedArgument,
    /// Only irrelevant tools were offered; rejected calls one anyway.
    ForcedIrrelevantCall,
    /// Rejected's answer contradicts the tool result (its salient values altered).
    IgnoresResult,
    /// Rejected repeats the call whose results it has just received.
    RepeatedCall,
    /// Rejected writes a tool call the template's parser cannot read.
    MalformedCall,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::DirectAnswer,
        Kind::UnnecessaryCall,
        Kind::GuessedArgument,
        Kind::ForcedIrrelevantCall,
        Kind::IgnoresResult,
        Kind::RepeatedCall,
        Kind::MalformedCall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DirectAnswer => "direct_answer",
            Kind::UnnecessaryCall => "unnecessary_call",
            Kind::GuessedArgument => "guessed_argument",
            Kind::ForcedIrrelevantCall => "forced_irrelevant_call",
            Kind::IgnoresResult => "ignores_result",
            Kind::RepeatedCall => "repeated_call",
            Kind::MalformedCall => "malformed_call",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// `all` or a comma-separated list of kind names.
    pub fn parse_list(spec: &str) -> Result<Vec<Kind>, String> {
        if spec.trim() == "all" {
            return Ok(Kind::ALL.to_vec());
        }
        let mut kinds = Vec::new();
        for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = Kind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind `{name}` (known: all, {})", known.join(", "))
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err("no kinds given".into());
        }
        Ok(kinds)
    }
}

/// Why a kind made no pair at one assistant move: a stable code for counting, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// The kind corrupts a call, and the move answers.
    NotACall,
    /// The kind corrupts an answer, and the move calls.
    NotAnAnswer,
    /// The kind needs the move to follow tool results.
    NotAfterResults,
    /// The kind needs the move to answer the user's message itself.
    FollowsToolResults,
    /// `direct_answer` imitates the turn's final answer, and the turn has none.
    NoFinalAnswerInTurn,
    /// `direct_answer`: the call's results are blank (a `think` step): answering without it is no
    /// mistake.
    CallReturnsNothing,
    /// The answer asks for information (`guessed_argument`'s moment, not this kind's).
    AnswerAsksForInformation,
    /// The answer declines (`forced_irrelevant_call`'s moment).
    AnswerDeclines,
    /// `guessed_argument`: the answer asks for nothing.
    AnswerDoesNotAsk,
    /// A direct answer in a record that calls tools elsewhere: the tools are relevant, only not
    /// needed here (`unnecessary_call`'s moment).
    ToolsRelevantElsewhere,
    /// A direct answer in a record that never calls a tool and does not say none is needed
    /// (`forced_irrelevant_call`'s moment).
    ToolsIrrelevantToRecord,
    NoToolsOffered,
    /// `guessed_argument`: no later call takes a value the user gives after the question (the
    /// question asks for a choice or a confirmation, not for an argument).
    NoLaterCallTakesTheReply,
    /// `guessed_argument`: every value the later call needs is already in the conversation.
    NothingToInvent,
    /// `ignores_result`: every result of the turn is an error.
    EveryResultIsAnError,
    /// `ignores_result`: the answer repeats no number or word of the results to alter.
    AnswerRepeatsNoResultValue,
    /// `repeated_call`: the recorded move is that same call (a legitimate retry).
    ChosenRepeatsTheCall,
    /// `malformed_call` under Harmony, whose calls are message headers, not text.
    HarmonyCallsAreHeaders,
    /// The rejected side came out equal to the chosen one.
    RejectedEqualsChosen,
    /// trajkit's own check does not see the defect on the rejected side.
    CheckNotRaised,
    /// The record has no assistant move to start from (a record-level reason).
    NoAssistantMove,
}

impl Skip {
    pub fn code(self) -> &'static str {
        match self {
            Skip::NotACall => "not_a_call",
            Skip::NotAnAnswer => "not_an_answer",
            Skip::NotAfterResults => "not_after_results",
            Skip::FollowsToolResults => "follows_tool_results",
            Skip::NoFinalAnswerInTurn => "no_final_answer_in_turn",
            Skip::CallReturnsNothing => "call_returns_nothing",
            Skip::AnswerAsksForInformation => "answer_asks_for_information",
            Skip::AnswerDeclines => "answer_declines",
            Skip::AnswerDoesNotAsk => "answer_does_not_ask",
            Skip::ToolsRelevantElsewhere => "tools_relevant_elsewhere",
            Skip::ToolsIrrelevantToRecord => "tools_irrelevant_to_record",
            Skip::NoToolsOffered => "no_tools_offered",
            Skip::NoLaterCallTakesTheReply => "no_later_call_takes_the_reply",
            Skip::NothingToInvent => "nothing_to_invent",
            Skip::EveryResultIsAnError => "every_result_is_an_error",
            Skip::AnswerRepeatsNoResultValue => "answer_repeats_no_result_value",
            Skip::ChosenRepeatsTheCall => "chosen_repeats_the_call",
            Skip::HarmonyCallsAreHeaders => "harmony_calls_are_headers",
            Skip::RejectedEqualsChosen => "rejected_equals_chosen",
            Skip::CheckNotRaised => "check_not_raised",
            Skip::NoAssistantMove => "no_assistant_move",
        }
    }

    /// Whether the move is simply of the other shape (a call where the kind needs an answer, …):
    /// expected at most moves, so a record is explained by its other reasons first.
    pub fn is_shape(self) -> bool {
        matches!(self, Skip::NotACall | Skip::NotAnAnswer | Skip::NotAfterResults | Skip::FollowsToolResults)
    }

    pub fn text(self) -> &'static str {
        match self {
            Skip::NotACall => "the move answers; the kind corrupts a call",
            Skip::NotAnAnswer => "the move calls a tool; the kind corrupts an answer",
            Skip::NotAfterResults => "the move does not follow tool results",
            Skip::FollowsToolResults => "the move follows tool results, not the user's message",
            Skip::NoFinalAnswerInTurn => "the turn has no final answer to imitate",
            Skip::CallReturnsNothing => {
                "the call's results are blank (a think step): answering without it is no mistake"
            }
            Skip::AnswerAsksForInformation => "the answer asks for information (guessed_argument's moment)",
            Skip::AnswerDeclines => "the answer declines (forced_irrelevant_call's moment)",
            Skip::AnswerDoesNotAsk => "the answer does not ask for information",
            Skip::ToolsRelevantElsewhere => {
                "a direct answer in a record that calls tools elsewhere (unnecessary_call's moment)"
            }
            Skip::ToolsIrrelevantToRecord => {
                "a direct answer in a record that never calls a tool (forced_irrelevant_call's moment)"
            }
            Skip::NoToolsOffered => "the record offers no tools",
            Skip::NoLaterCallTakesTheReply => {
                "no later call takes a value the user gives after the question (a choice or a confirmation)"
            }
            Skip::NothingToInvent => "every value the later call needs is already in the conversation",
            Skip::EveryResultIsAnError => "every tool result of the turn is an error",
            Skip::AnswerRepeatsNoResultValue => "the answer repeats no value of the results to alter",
            Skip::ChosenRepeatsTheCall => "the recorded move repeats the call itself (a retry)",
            Skip::HarmonyCallsAreHeaders => "harmony calls are headers, not text a message can carry",
            Skip::RejectedEqualsChosen => "the rejected side came out equal to the chosen one",
            Skip::CheckNotRaised => "trajkit's checks do not see the defect on the rejected side",
            Skip::NoAssistantMove => "the record has no assistant move after a user message or tool results",
        }
    }
}

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub kinds: Vec<Kind>,
    /// Every user turn's assistant moves (else only the last turn's).
    pub per_turn: bool,
    pub seed: u64,
    /// At most this many pairs of one kind per record (spread over the user turns, chosen by the
    /// seed); `None` keeps every move the kind applies to.
    pub max_per_kind: Option<usize>,
    pub max_per_record: Option<usize>,
    /// The output format of the template the pairs are for (how `malformed_call` writes its text).
    pub format: Format,
}

/// The default of `max_per_kind`: a 30-message record with ten calls gives at most 14 pairs.
pub const DEFAULT_MAX_PER_KIND: usize = 2;

/// The pairs of one record, and for each kind where it applied and why not elsewhere.
#[derive(Debug, Clone, Default)]
pub struct Synthesized {
    pub pairs: Vec<Pair>,
    /// The assistant moves considered.
    pub moves: usize,
    /// Per kind: the moves it applied to (a pair that shows its defect), before the bounds.
    pub applied: Vec<(Kind, usize)>,
    /// Per kind and move it did not apply to: why.
    pub skipped: Vec<(Kind, Skip)>,
}

/// One moment at which the assistant acts: the messages before it and the recorded move.
struct Point<'c> {
    conversation: &'c Conversation,
    /// Index of the recorded assistant message.
    at: usize,
    /// The user turn it belongs to (index of the user message, end of the turn).
    turn: std::ops::Range<usize>,
    /// Whether it follows tool results (else it follows the user message).
    after_results: bool,
    /// What an answer (a move without calls) does, classified on its own: asks, declines, answers.
    answer_case: Option<Case>,
    /// Whether the record calls a tool anywhere.
    record_calls: bool,
}

impl Point<'_> {
    fn chosen(&self) -> &Message {
        &self.conversation.messages[self.at]
    }

    fn prompt(&self) -> Conversation {
        let mut c = self.conversation.clone();
        c.messages.truncate(self.at);
        c
    }

    /// Everything the model had seen: the text a value must come from to be grounded.
    fn context_text(&self) -> String {
        let ms = &self.conversation.messages[..self.at];
        ms.iter().filter(|m| m.role != Role::Assistant).map(|m| m.content.to_lowercase()).collect::<Vec<_>>().join("\n")
    }

    fn user_text(&self) -> &str {
        &self.conversation.messages[self.turn.start].content
    }
}

/// Derive the pairs of one trajectory: every kind is tried at every assistant move, then at most
/// `max_per_kind` of a kind's pairs are kept, spread over the user turns.
pub fn synthesize(conversation: &Conversation, options: &SynthOptions) -> Synthesized {
    let points = decision_points(conversation, options.per_turn);
    let mut out = Synthesized { moves: points.len(), ..Default::default() };
    let validator = crate::validate::Validator::new(Default::default(), None).0;
    for &kind in &options.kinds {
        let mut made: Vec<(usize, Pair)> = Vec::new(); // (turn start, pair)
        for point in &points {
            let mut rng = Rng::new(options.seed, &conversation.id, point.at, kind);
            let pair = make(kind, point, options.format, &mut rng).and_then(|rejected| {
                let mut pair = Pair {
                    id: format!("{}#{}@{}", conversation.id, kind.as_str(), point.at),
                    kind: Some(kind.as_str().to_string()),
                    prompt: point.prompt(),
                    chosen: vec![point.chosen().clone()],
                    rejected: vec![rejected],
                };
                pair.prompt.meta = Map::new();
                if same_move(&pair.chosen[0], &pair.rejected[0]) {
                    return Err(Skip::RejectedEqualsChosen);
                }
                shows_defect(kind, &pair, &validator, options.format)?;
                Ok(pair)
            });
            match pair {
                Ok(pair) => made.push((point.turn.start, pair)),
                Err(why) => out.skipped.push((kind, why)),
            }
        }
        out.applied.push((kind, made.len()));
        out.pairs.extend(spread(
            made,
            options.max_per_kind,
            &mut Rng::new(options.seed, &conversation.id, usize::MAX, kind),
        ));
    }
    // In input order of the decision points, then kinds.
    out.pairs.sort_by_key(|p| {
        let at: usize = p.id.rsplit('@').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let kind = p.kind.as_deref().and_then(Kind::parse).map_or(0, |k| k as usize);
        (at, kind)
    });
    if let Some(max) = options.max_per_record {
        if out.pairs.len() > max {
            let mut rng = Rng::new(options.seed, &conversation.id, usize::MAX, Kind::DirectAnswer);
            let mut keep: Vec<usize> = (0..out.pairs.len()).collect();
            shuffle(&mut keep, &mut rng);
            keep.truncate(max);
            keep.sort_unstable();
            out.pairs = keep.into_iter().map(|i| out.pairs[i].clone()).collect();
        }
    }
    out
}

/// At most `max` of one kind's pairs, chosen by the seed and spread over the user turns: a
/// turn's second pair is taken only when every turn with a pair has given its first.
fn spread(made: Vec<(usize, Pair)>, max: Option<usize>, rng: &mut Rng) -> Vec<Pair> {
    let Some(max) = max.filter(|&m| made.len() > m) else {
        return made.into_iter().map(|(_, p)| p).collect();
    };
    let mut order: Vec<usize> = (0..made.len()).collect();
    shuffle(&mut order, rng);
    let mut seen: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut ranked: Vec<(usize, usize)> = order
        .into_iter()
        .map(|i| {
            let rank = seen.entry(made[i].0).or_default();
            *rank += 1;
            (*rank, i)
        })
        .collect();
    ranked.sort_by_key(|&(rank, _)| rank); // stable: the seeded order within a rank
    let mut keep: Vec<usize> = ranked.into_iter().take(max).map(|(_, i)| i).collect();
    keep.sort_unstable();
    let mut made: Vec<Option<Pair>> = made.into_iter().map(|(_, p)| Some(p)).collect();
    keep.into_iter().filter_map(|i| made[i].take()).collect()
}

fn shuffle(items: &mut [usize], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// Whether two assistant moves say and do the same (call ids aside).
fn same_move(a: &Message, b: &Message) -> bool {
    let calls = |m: &Message| -> Vec<(String, Option<Value>)> {
        m.tool_calls.iter().map(|c| (c.name.clone(), c.arguments.parsed())).collect()
    };
    a.content.trim() == b.content.trim() && calls(a) == calls(b)
}

/// The assistant messages that follow a user message or tool results, in the last user turn (or in
/// every turn).
fn decision_points(conversation: &Conversation, per_turn: bool) -> Vec<Point<'_>> {
    let ms = &conversation.messages;
    let mut turns = conversation.user_turns();
    turns.retain(|t| ms[t.clone()].iter().any(|m| m.role == Role::Assistant));
    if !per_turn {
        turns = turns.pop().into_iter().collect();
    }
    let record_calls = ms.iter().any(|m| !m.tool_calls.is_empty());
    let mut points = Vec::new();
    for turn in turns {
        for i in turn.start + 1..turn.end {
            let previous = ms[i - 1].role;
            if ms[i].role == Role::Assistant && matches!(previous, Role::User | Role::Tool) {
                let answer_case = ms[i].tool_calls.is_empty().then(|| answer_case(conversation, turn.start, i));
                points.push(Point {
                    conversation,
                    at: i,
                    turn: turn.clone(),
                    after_results: previous == Role::Tool,
                    answer_case,
                    record_calls,
                });
            }
        }
    }
    points
}

/// What one answer does, inferred as `stats` infers a record's case from the user's message and
/// this answer alone (the record's `case` field names the whole record, not this move).
fn answer_case(conversation: &Conversation, user: usize, at: usize) -> Case {
    let mut one = Conversation { tools: conversation.tools.clone(), ..Default::default() };
    one.messages.extend(conversation.messages.iter().filter(|m| m.role == Role::System).cloned());
    one.messages.push(conversation.messages[user].clone());
    one.messages.push(conversation.messages[at].clone());
    cases::classify(&one).inferred
}

fn make(kind: Kind, point: &Point<'_>, format: Format, rng: &mut Rng) -> Result<Message, Skip> {
    match kind {
        Kind::DirectAnswer => direct_answer(point, rng),
        Kind::UnnecessaryCall | Kind::ForcedIrrelevantCall => needless_call(kind, point, rng),
        Kind::GuessedArgument => guessed_argument(point, rng),
        Kind::IgnoresResult => ignores_result(point, rng),
        Kind::RepeatedCall => repeated_call(point, rng),
        Kind::MalformedCall => malformed_call_move(point, format, rng),
    }
}

/// `direct_answer`: the turn's final answer given at once, instead of the call that gets its values.
fn direct_answer(point: &Point<'_>, rng: &mut Rng) -> Result<Message, Skip> {
    let calls = !point.chosen().tool_calls.is_empty();
    if !calls {
        return Err(Skip::NotACall);
    }
    let answer = final_answer(point).ok_or(Skip::NoFinalAnswerInTurn)?;
    // The results the call gets: a call whose results are all blank (`think`) adds
    // nothing, so answering without it is no mistake.
    let results = point.conversation.messages[point.at + 1..].iter().take_while(|m| m.role == Role::Tool);
    if results.clone().count() > 0 && results.clone().all(|m| m.content.trim().is_empty()) {
        return Err(Skip::CallReturnsNothing);
    }
    let (altered, _) = alter_numbers(&answer, &[], rng);
    Ok(assistant_text(altered))
}

/// `unnecessary_call` and `forced_irrelevant_call`: a call where the chosen side answers, asks or
/// declines without one.
fn needless_call(kind: Kind, point: &Point<'_>, rng: &mut Rng) -> Result<Message, Skip> {
    let tools = &point.conversation.tools;
    let case = point.answer_case.ok_or(Skip::NotAnAnswer)?;
    let direct = matches!(case, Case::NoTool | Case::IrrelevantTool);
    // A direct answer in a record that calls tools elsewhere, or whose reasoning says no
    // tool is needed: the tools are relevant, only not needed here.
    let not_needed = direct && (point.record_calls || case == Case::NoTool);
    let irrelevant = case == Case::UnavailableTool || (direct && !not_needed);
    match kind {
        Kind::UnnecessaryCall => {
            if point.after_results {
                return Err(Skip::FollowsToolResults);
            }
            match case {
                Case::Clarification => return Err(Skip::AnswerAsksForInformation),
                Case::UnavailableTool => return Err(Skip::AnswerDeclines),
                _ if !not_needed => return Err(Skip::ToolsIrrelevantToRecord),
                _ => {}
            }
        }
        _ if !irrelevant => {
            return Err(match case {
                Case::Clarification => Skip::AnswerAsksForInformation,
                _ => Skip::ToolsRelevantElsewhere,
            })
        }
        _ if point.after_results && case != Case::UnavailableTool => return Err(Skip::FollowsToolResults),
        _ => {}
    }
    if tools.is_empty() {
        return Err(Skip::NoToolsOffered);
    }
    // unnecessary_call: an earlier call of the record made again (a look-up a model really
    // repeats). Both: a tool whose arguments the conversation already holds (the declined
    // action done anyway: `cancel_reservation` with the reservation looked up before).
    // Else an offered tool with arguments from the user's words.
    let earlier = point.conversation.messages[..point.at].iter().flat_map(|m| m.tool_calls.iter()).collect::<Vec<_>>();
    if kind == Kind::UnnecessaryCall && !earlier.is_empty() {
        let call = earlier[rng.below(earlier.len())];
        let arguments = call.arguments.parsed().unwrap_or(Value::Object(Map::new()));
        return Ok(call_message(call.name.clone(), arguments, rng));
    }
    if let Some((name, arguments)) = call_from_conversation(tools, &earlier, rng) {
        return Ok(call_message(name, arguments, rng));
    }
    let tool = &tools[rng.below(tools.len())];
    let arguments = arguments_from_text(tool, point.user_text(), rng);
    Ok(call_message(tool_name(tool), arguments, rng))
}

/// `guessed_argument`: instead of asking, a call with the values the user has not given invented.
fn guessed_argument(point: &Point<'_>, rng: &mut Rng) -> Result<Message, Skip> {
    let tools = &point.conversation.tools;
    match point.answer_case {
        None => return Err(Skip::NotAnAnswer),
        Some(Case::Clarification) => {}
        Some(_) => return Err(Skip::AnswerDoesNotAsk),
    }
    if tools.is_empty() {
        return Err(Skip::NoToolsOffered);
    }
    let context = point.context_text();
    let later = call_taking_the_reply(point, &context)?;
    let tool = match later.and_then(|c| point.conversation.tool(&c.name)) {
        Some(t) => t,
        None => &tools[rng.below(tools.len())],
    };
    let arguments = guessed_arguments(tool, later, &context, rng)?;
    Ok(call_message(tool_name(tool), arguments, rng))
}

/// `ignores_result`: the answer after tool results, with the values it took from them changed.
fn ignores_result(point: &Point<'_>, rng: &mut Rng) -> Result<Message, Skip> {
    let chosen = point.chosen();
    let calls = !chosen.tool_calls.is_empty();
    if calls {
        return Err(Skip::NotAnAnswer);
    }
    if !point.after_results {
        return Err(Skip::NotAfterResults);
    }
    let results: Vec<&str> = point.conversation.messages[point.turn.start..point.at]
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect();
    if results.iter().all(|r| cases::is_error_result(r)) {
        return Err(Skip::EveryResultIsAnError);
    }
    let (altered, changed) = alter_numbers(&chosen.content, &result_numbers(&results), rng);
    let (altered, swapped) = swap_result_words(&altered, &results, rng);
    if !changed && !swapped {
        return Err(Skip::AnswerRepeatsNoResultValue);
    }
    Ok(assistant_text(altered))
}

/// `repeated_call`: the turn's previous call made again after its results came back.
fn repeated_call(point: &Point<'_>, rng: &mut Rng) -> Result<Message, Skip> {
    let chosen = point.chosen();
    if !point.after_results {
        return Err(Skip::NotAfterResults);
    }
    let previous = point.conversation.messages[point.turn.start..point.at]
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && !m.tool_calls.is_empty())
        .ok_or(Skip::NotAfterResults)?;
    let mut message = Message::new(Role::Assistant, "");
    message.tool_calls = previous
        .tool_calls
        .iter()
        .map(|c| ToolCall { id: c.id.as_ref().map(|_| rng.call_id()), origin: String::new(), ..c.clone() })
        .collect();
    if same_move(&message, chosen) {
        return Err(Skip::ChosenRepeatsTheCall);
    }
    Ok(message)
}

/// `malformed_call`: the call written as text the template's parser cannot read.
fn malformed_call_move(point: &Point<'_>, format: Format, rng: &mut Rng) -> Result<Message, Skip> {
    let chosen = point.chosen();
    let calls = !chosen.tool_calls.is_empty();
    if !calls {
        return Err(Skip::NotACall);
    }
    if format == Format::Harmony {
        return Err(Skip::HarmonyCallsAreHeaders);
    }
    Ok(assistant_text(malformed_text(&chosen.tool_calls, rng)))
}

/// Check the rejected side with trajkit's own checks; why not when it does not show its defect.
fn shows_defect(kind: Kind, pair: &Pair, validator: &crate::validate::Validator, format: Format) -> Result<(), Skip> {
    let expected = match kind {
        Kind::GuessedArgument => Code::UngroundedArgument,
        Kind::IgnoresResult => Code::UnusedResult,
        Kind::RepeatedCall => Code::DuplicateCall,
        // What `check_side` runs for `malformed_call`, without validating the whole side again.
        Kind::MalformedCall => {
            return match pair.rejected.iter().any(|m| malformed_call(format, &m.content).is_some()) {
                true => Ok(()),
                false => Err(Skip::CheckNotRaised),
            }
        }
        Kind::DirectAnswer => {
            return match pair.rejected.iter().all(|m| m.tool_calls.is_empty()) {
                true => Ok(()),
                false => Err(Skip::CheckNotRaised),
            }
        }
        Kind::UnnecessaryCall | Kind::ForcedIrrelevantCall => {
            return match pair.rejected.iter().any(|m| !m.tool_calls.is_empty()) {
                true => Ok(()),
                false => Err(Skip::CheckNotRaised),
            }
        }
    };
    let findings = super::check_side(validator, pair, super::Side::Rejected, format);
    match findings.iter().any(|f| f.code == expected && f.path.starts_with("rejected")) {
        true => Ok(()),
        false => Err(Skip::CheckNotRaised),
    }
}

fn assistant_text(content: String) -> Message {
    Message::new(Role::Assistant, content)
}

fn call_message(name: String, arguments: Value, rng: &mut Rng) -> Message {
    let mut message = Message::new(Role::Assistant, "");
    let id = Some(rng.call_id());
    message.tool_calls.push(ToolCall { id, name, arguments: Arguments::Json(arguments), origin: String::new() });
    message
}

fn tool_name(tool: &Value) -> String {
    tool.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_string()
}

fn parameters(tool: &Value) -> (Map<String, Value>, Vec<String>) {
    let params = tool.pointer("/function/parameters");
    let props = params.and_then(|p| p.get("properties")).and_then(Value::as_object).cloned().unwrap_or_default();
    let required: Vec<String> = params
        .and_then(|p| p.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    (props, required)
}

/// The final answer of the point's turn (the last assistant message without calls).
fn final_answer(point: &Point<'_>) -> Option<String> {
    point.conversation.messages[point.turn.clone()]
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && m.tool_calls.is_empty() && !m.content.trim().is_empty())
        .map(|m| m.content.clone())
}

/// A call not made before whose required arguments all come from earlier calls' arguments of the
/// same name (or the schema's enum); tools that take arguments first, a tool with none else.
fn call_from_conversation(tools: &[Value], earlier: &[&ToolCall], rng: &mut Rng) -> Option<(String, Value)> {
    let mut known: Map<String, Value> = Map::new();
    for call in earlier {
        if let Some(Value::Object(args)) = call.arguments.parsed() {
            known.extend(args);
        }
    }
    let made: Vec<(String, Option<Value>)> = earlier.iter().map(|c| (c.name.clone(), c.arguments.parsed())).collect();
    let mut with_arguments = Vec::new();
    let mut without = Vec::new();
    for tool in tools {
        let (props, required) = parameters(tool);
        let mut args = Map::new();
        for name in &required {
            let value = match (known.get(name), props.get(name).and_then(enum_members)) {
                (Some(v), _) => v.clone(),
                (None, Some(members)) => members[rng.below(members.len())].clone(),
                (None, None) => break,
            };
            args.insert(name.clone(), value);
        }
        if args.len() < required.len() {
            continue;
        }
        let call = (tool_name(tool), Value::Object(args));
        if made.iter().any(|(n, a)| *n == call.0 && a.as_ref() == Some(&call.1)) {
            continue;
        }
        match required.is_empty() {
            true => without.push(call),
            false => with_arguments.push(call),
        }
    }
    let pool = if with_arguments.is_empty() { without } else { with_arguments };
    (!pool.is_empty()).then(|| pool[rng.below(pool.len())].clone())
}

/// Arguments for a call the user did not ask for, with values taken from the user's words.
fn arguments_from_text(tool: &Value, user: &str, rng: &mut Rng) -> Value {
    let (props, mut required) = parameters(tool);
    if required.is_empty() {
        required.extend(props.keys().take(1).cloned());
    }
    let phrase = salient_phrase(user);
    let number = values(user).into_iter().next();
    let mut args = Map::new();
    for name in required {
        let schema = props.get(&name).cloned().unwrap_or(Value::Null);
        let value = match enum_members(&schema) {
            Some(members) => members[rng.below(members.len())].clone(),
            None => match schema_type(&schema) {
                "integer" => Value::from(number.map_or(1, |n| n as i64).max(min_of(&schema) as i64)),
                "number" => Value::from(number.unwrap_or(1.0)),
                "boolean" => Value::Bool(true),
                "array" => Value::Array(vec![Value::String(phrase.clone())]),
                "object" => Value::Object(Map::new()),
                _ => Value::String(phrase.clone()),
            },
        };
        args.insert(name, value);
    }
    Value::Object(args)
}

/// The later call that takes what the user answers to the question: the first call after the move
/// with an argument value the user's later messages give and the prompt does not hold. `None` when
/// the record makes no later call (an offered tool is used then).
fn call_taking_the_reply<'c>(point: &Point<'c>, context: &str) -> Result<Option<&'c ToolCall>, Skip> {
    let ms = &point.conversation.messages;
    let known = values(context);
    let mut replies = String::new();
    let mut any = false;
    for m in &ms[point.at + 1..] {
        if m.role == Role::User {
            replies.push_str(&m.content.to_lowercase());
            replies.push('\n');
        }
        for call in &m.tool_calls {
            any = true;
            let Some(args) = call.arguments.parsed() else { continue };
            let mut leaves = Vec::new();
            json_leaves(&args, &mut leaves);
            let given = leaves.iter().any(|v| match v {
                Value::String(s) => {
                    let s = s.to_lowercase();
                    s.chars().count() >= 3 && replies.contains(&s) && !context.contains(&s)
                }
                Value::Number(n) => n.as_f64().is_some_and(|x| values(&replies).contains(&x) && !known.contains(&x)),
                _ => false,
            });
            if given {
                return Ok(Some(call));
            }
        }
    }
    match any {
        true => Err(Skip::NoLaterCallTakesTheReply),
        false => Ok(None),
    }
}

fn json_leaves<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => m.values().for_each(|v| json_leaves(v, out)),
        Value::Array(a) => a.iter().for_each(|v| json_leaves(v, out)),
        _ => out.push(v),
    }
}

/// Arguments where at least one required value is invented: values of the later real call that the
/// context already holds are kept, the others are made up (schema-valid, found nowhere before).
fn guessed_arguments(tool: &Value, later: Option<&ToolCall>, context: &str, rng: &mut Rng) -> Result<Value, Skip> {
    let (props, required) = parameters(tool);
    let later_args = later.and_then(|c| c.arguments.parsed()).and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let mut names = required.clone();
    names.extend(later_args.keys().filter(|k| !required.contains(k)).cloned());
    let mut args = Map::new();
    let mut invented = 0;
    for name in names {
        let schema = props.get(&name).cloned().unwrap_or(Value::Null);
        if let Some(v) = later_args.get(&name) {
            let grounded = match v {
                Value::String(s) => context.contains(&s.to_lowercase()),
                Value::Number(n) => context.contains(&n.to_string()),
                _ => true,
            };
            if grounded {
                args.insert(name, v.clone());
                continue;
            }
        }
        if let Some(members) = enum_members(&schema) {
            args.insert(name, members[rng.below(members.len())].clone());
            continue;
        }
        let real = later_args.get(&name);
        let value = invent(&name, &schema, context, real, rng);
        invented += 1;
        args.insert(name, value);
    }
    if invented == 0 {
        return Err(Skip::NothingToInvent);
    }
    Ok(Value::Object(args))
}

const PLACES: &[&str] = &["Chicago", "Madrid", "Osaka", "Denver", "Lisbon", "Toronto", "Munich", "Seattle", "Dublin"];
const NAMES: &[&str] = &["Halvorsen", "Castellano", "Nakamura", "Whitfield", "Okonkwo", "Lindqvist"];

/// A schema-valid value for `name` that appears nowhere in `context` and differs from the real one.
fn invent(name: &str, schema: &Value, context: &str, real: Option<&Value>, rng: &mut Rng) -> Value {
    let fresh = |s: &str| !context.contains(&s.to_lowercase()) && real.and_then(Value::as_str) != Some(s);
    let lower = name.to_lowercase();
    let date_like = schema.get("format").and_then(Value::as_str) == Some("date") || lower.contains("date");
    match schema_type(schema) {
        "integer" | "number" => {
            let min = min_of(schema).max(1.0) as i64;
            loop {
                let n = min + 2 + rng.below(7) as i64;
                if !context.contains(&n.to_string()) && real.and_then(Value::as_i64) != Some(n) {
                    return Value::from(n);
                }
            }
        }
        "boolean" => Value::Bool(rng.below(2) == 0),
        _ if date_like => loop {
            let d = format!("2026-{:02}-{:02}", 1 + rng.below(12), 10 + rng.below(18));
            if fresh(&d) {
                return Value::String(d);
            }
        },
        _ => {
            let pool =
                if ["name", "person", "customer", "user"].iter().any(|k| lower.contains(k)) { NAMES } else { PLACES };
            for _ in 0..32 {
                let s = pool[rng.below(pool.len())];
                if fresh(s) {
                    return Value::String(s.to_string());
                }
            }
            Value::String(format!("REF-{}", 1000 + rng.below(9000)))
        }
    }
}

fn enum_members(schema: &Value) -> Option<Vec<Value>> {
    schema.get("enum").and_then(Value::as_array).filter(|m| !m.is_empty()).cloned()
}

fn schema_type(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
        _ => "string",
    }
}

fn min_of(schema: &Value) -> f64 {
    schema.get("minimum").and_then(Value::as_f64).unwrap_or(0.0)
}

/// The most specific words of a request: the longest run of capitalised words that does not open the
/// sentence, a quoted phrase, else the request without its trailing punctuation.
fn salient_phrase(text: &str) -> String {
    if let Some(start) = text.find(['\'', '"']) {
        let quote = text[start..].chars().next().unwrap();
        if let Some(len) = text[start + 1..].find(quote) {
            let inner = &text[start + 1..start + 1 + len];
            if inner.len() > 2 {
                return inner.to_string();
            }
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut best: Vec<&str> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let clean = w.trim_matches(|c: char| !c.is_alphanumeric());
        if i > 0 && clean.chars().next().is_some_and(char::is_uppercase) {
            run.push(clean);
            if run.len() > best.len() {
                best = run.clone();
            }
        } else {
            run.clear();
        }
        if w.ends_with(['.', ',', '?', '!']) {
            run.clear();
        }
    }
    if best.is_empty() {
        return text.trim().trim_end_matches(['.', '?', '!']).to_string();
    }
    best.join(" ")
}

/// Every number in `text` changed to a different one of the same shape (digits, padding, decimals)
/// that is none of `avoid` (the results' numbers, so the altered answer no longer repeats them).
/// Parts of dates and clock times stay possible: 2024-05-28 → 2025-05-11, 07:56 → 11:23.
fn alter_numbers(text: &str, avoid: &[f64], rng: &mut Rng) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        let width = digits.len();
        if width > 18 {
            out.push_str(&digits); // an id, not a value (and past what u64 arithmetic below holds)
            continue;
        }
        let n: u64 = digits.parse().unwrap_or(0);
        let (before, after) = (start.checked_sub(1).map(|k| chars[k]), chars.get(i).copied());
        // (lowest, count) of the values this number may take, when it is part of a date or a time.
        let range: Option<(u64, u64)> = match (before, after) {
            (Some(':'), _) => Some((0, 60)),
            (_, Some(':')) => Some((0, 24)),
            (_, Some('-')) if width == 4 && (1900..=2100).contains(&n) => Some((n.saturating_sub(3), 7)),
            (Some('-'), Some('-')) if width == 2 && (1..=12).contains(&n) => Some((1, 12)),
            _ if width <= 2 && (1..=31).contains(&n) => Some((1, 28)),
            _ => None,
        };
        let mut replacement = n;
        for attempt in 0..64 {
            let candidate = match range {
                Some((low, count)) => low + rng.below(count as usize) as u64,
                None if width == 1 && attempt < 16 => (n + 2 + rng.below(6) as u64) % 10,
                None if width == 1 => 10 + rng.below(90) as u64,
                None => {
                    let scale = 10u64.pow(width as u32 - 1);
                    let lead = (n / scale + 1 + rng.below(7) as u64) % 9 + 1;
                    // Same number of digits: 254 → 731, not 1014.
                    (lead * scale + n % scale / 3 + rng.below(scale.min(97) as usize) as u64) % (scale * 10)
                }
            };
            if candidate == n {
                continue;
            }
            replacement = candidate;
            let written = Number { value: candidate as f64, step: 1.0, in_literal: false };
            if !avoid.iter().any(|&a| written.says(a)) {
                break;
            }
        }
        if replacement == n {
            out.push_str(&digits);
            continue;
        }
        let mut text = replacement.to_string();
        if width > 1 && (digits.starts_with('0') || range.is_some()) {
            text = format!("{replacement:0width$}");
        }
        changed = true;
        out.push_str(&text);
    }
    (out, changed)
}

/// The numbers of the tool results, read as [`crate::text::numbers`] reads them, without their
/// sign: [`alter_numbers`] rewrites digits and leaves a `-` where it was.
fn result_numbers(results: &[&str]) -> Vec<f64> {
    results.iter().flat_map(|r| values(r)).map(f64::abs).collect()
}

/// Replace the words the answer shares with the results' text by substitutes that contradict them:
/// an opposite (`confirmed` → `cancelled`), a code of the same shape, another name or place. A
/// lowercase word with no known opposite is left (the numbers and names around it carry the
/// contradiction; `shows_defect` checks that the answer no longer uses the results).
fn swap_result_words(answer: &str, results: &[&str], rng: &mut Rng) -> (String, bool) {
    let mut leaves = Vec::new();
    for r in results {
        match serde_json::from_str::<Value>(r) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => string_leaves(&v, "", &mut leaves),
            _ => leaves.push((String::new(), r.to_string())),
        }
    }
    let split = |l: &str| -> Vec<String> {
        l.split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
            .collect()
    };
    let result_words: std::collections::HashSet<String> = leaves.iter().flat_map(|(_, l)| split(l)).collect();
    // Words of values under a `…name…` key: replaced by names, not places.
    let name_words: std::collections::HashSet<String> =
        leaves.iter().filter(|(k, _)| k.to_lowercase().contains("name")).flat_map(|(_, l)| split(l)).collect();
    // Codes of the results (`ATL`): a word written from one (`Atlanta`) repeats it, as far as
    // `unused_result` can tell, so it is replaced too, by a place that contains no code.
    let codes: Vec<String> = leaves
        .iter()
        .map(|(_, l)| l.trim())
        .filter(|l| (3..=4).contains(&l.len()) && l.chars().all(|c| c.is_ascii_uppercase()))
        .map(str::to_lowercase)
        .collect();
    let places: Vec<&str> = PLACES
        .iter()
        .copied()
        .filter(|p| !answer.contains(p) && !codes.iter().any(|c| p.to_lowercase().contains(c)))
        .collect();
    let mut out = String::new();
    let mut swapped = 0;
    let mut rest = answer;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.is_empty() {
            let c = tail.chars().next().unwrap();
            out.push(c);
            rest = &tail[c.len_utf8()..];
            continue;
        }
        let lower = word.to_lowercase();
        let substitute = if result_words.contains(&lower) && !lower.chars().any(|c| c.is_ascii_digit()) {
            match OPPOSITES.iter().find(|(a, _)| *a == lower) {
                Some((_, b)) => Some(b.to_string()),
                // A code (ticker, currency, airport): the same shape, other letters.
                None if word.len() >= 2 && word.chars().all(|c| c.is_ascii_uppercase()) => {
                    let shift = 1 + rng.below(24) as u8;
                    Some(
                        word.bytes()
                            .map(|b| (b'A' + (b - b'A' + shift) % 26) as char)
                            .collect::<String>()
                            .to_lowercase(),
                    )
                }
                None if word.chars().next().is_some_and(char::is_uppercase) => {
                    let pool: Vec<&str> = match name_words.contains(&lower) {
                        true => NAMES.iter().copied().filter(|p| !answer.contains(p)).collect(),
                        false => places.clone(),
                    };
                    (!pool.is_empty()).then(|| pool[rng.below(pool.len())].to_string())
                }
                None => None,
            }
        } else if word.chars().next().is_some_and(char::is_uppercase)
            && !places.is_empty()
            && codes.iter().any(|c| lower.starts_with(c.as_str()))
        {
            Some(places[rng.below(places.len())].to_string())
        } else {
            None
        };
        match substitute {
            Some(substitute) => {
                let substitute = match word.chars().next().is_some_and(char::is_uppercase) {
                    true if word.chars().all(|c| !c.is_lowercase()) => substitute.to_uppercase(),
                    true => capitalize(&substitute),
                    false => substitute,
                };
                out.push_str(&substitute);
                swapped += 1;
            }
            None => out.push_str(word),
        }
        rest = tail;
    }
    (out, swapped > 0)
}

const OPPOSITES: &[(&str, &str)] = &[
    ("light", "bright"),
    ("heavy", "light"),
    ("rain", "sunshine"),
    ("rainy", "sunny"),
    ("sunny", "rainy"),
    ("snow", "sunshine"),
    ("cloudy", "clear"),
    ("clear", "stormy"),
    ("open", "closed"),
    ("closed", "open"),
    ("available", "unavailable"),
    ("unavailable", "available"),
    ("yes", "no"),
    ("true", "false"),
    ("false", "true"),
    ("high", "low"),
    ("low", "high"),
    ("delayed", "on time"),
    ("cancelled", "confirmed"),
    ("confirmed", "cancelled"),
    ("success", "failure"),
    ("shipped", "pending"),
    ("delivered", "lost"),
    ("pending", "delivered"),
    ("added", "removed"),
    ("removed", "added"),
    ("economy", "business"),
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The string leaves of a JSON value, each with the key it sits under.
fn string_leaves(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Object(m) => m.iter().for_each(|(k, v)| string_leaves(v, k, out)),
        Value::Array(a) => a.iter().for_each(|v| string_leaves(v, key, out)),
        _ => {}
    }
}

/// The recorded calls as a model might botch them in Hermes layout: JSON with its closing brace
/// missing, a block never closed, or another model's wrapper.
fn malformed_text(calls: &[ToolCall], rng: &mut Rng) -> String {
    let json = |c: &ToolCall| {
        let args = match &c.arguments {
            Arguments::Json(v) => crate::pyjson::dumps(v),
            Arguments::Text(s) => s.clone(),
        };
        format!("{{\"name\": \"{}\", \"arguments\": {args}}}", c.name)
    };
    let first = &calls[0];
    match rng.below(3) {
        0 => {
            let mut broken = json(first);
            broken.pop(); // the closing brace
            format!("<tool_call>\n{broken}\n</tool_call>")
        }
        1 => format!("<tool_call>\n{}", json(first)),
        _ => {
            let args = match &first.arguments {
                Arguments::Json(v) => crate::pyjson::dumps(v),
                Arguments::Text(s) => s.clone(),
            };
            format!("<function={}>{args}</function>", first.name)
        }
    }
}

/// Whether `text` (an assistant message's content) tries to make a tool call that the format's parser
/// cannot read; the parse error when it does.
pub fn malformed_call(format: Format, text: &str) -> Option<completion::ParseError> {
    const MARKERS: &[&str] =
        &["<tool_call", "</tool_call>", "<function", "\"arguments\"", "[TOOL_CALLS]", "<|channel|>", "<|python_tag|>"];
    if !MARKERS.iter().any(|m| text.contains(m)) {
        return None;
    }
    let format = if format == Format::Harmony { Format::Hermes } else { format };
    completion::parse_text(format, text).err()
}

/// splitmix64, seeded from `--seed`, the record id, the decision point and the kind.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, id: &str, point: usize, kind: Kind) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes().chain(point.to_le_bytes()).chain([kind as u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(seed ^ h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn call_id(&mut self) -> String {
        format!("call_{:08x}", self.next() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_parse() {
        assert_eq!(Kind::parse_list("all").unwrap().len(), 7);
        assert_eq!(Kind::parse_list("repeated_call, direct_answer").unwrap(), [Kind::RepeatedCall, Kind::DirectAnswer]);
        assert!(Kind::parse_list("nope").is_err());
    }

    #[test]
    fn numbers_change_shape_kept() {
        let mut rng = Rng::new(0, "x", 0, Kind::IgnoresResult);
        let (s, changed) = alter_numbers("at 07:56 for $1,180 and 13°C on 2024-05-28", &[], &mut rng);
        assert!(changed);
        assert_ne!(s, "at 07:56 for $1,180 and 13°C");
        assert!(s.starts_with("at ") && s.contains(':') && s.contains("°C on 20"), "{s}");
        let month: u32 = s[s.len() - 5..s.len() - 3].parse().unwrap();
        let day: u32 = s[s.len() - 2..].parse().unwrap();
        assert!((1..=12).contains(&month) && (1..=28).contains(&day), "{s}");
        // Numbers of the results are avoided.
        let avoid: Vec<f64> = (0..10).map(f64::from).collect();
        let (s, _) = alter_numbers("7 bags", &avoid, &mut rng);
        let (long, _) = alter_numbers("order 123456789012345678901234", &[], &mut rng);
        assert_eq!(long, "order 123456789012345678901234", "a 24-digit id is left as it is");
        let n: u32 = s.trim_end_matches(" bags").parse().unwrap();
        assert!(n >= 10, "{s}");
    }

    fn call(name: &str, arguments: Value) -> ToolCall {
        ToolCall { id: None, name: name.into(), arguments: Arguments::Json(arguments), origin: String::new() }
    }

    fn tool(name: &str, required: &[&str]) -> Value {
        let props: Map<String, Value> = required.iter().map(|r| (r.to_string(), json!({"type": "string"}))).collect();
        json!({"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": props, "required": required}}})
    }

    /// user, assistant question, user reply, assistant call, tool result, assistant answer.
    fn clarification() -> Conversation {
        let mut c = Conversation { id: "c".into(), ..Default::default() };
        c.tools = std::sync::Arc::new(vec![tool("think", &["thought"]), tool("get_user", &["user_id"])]);
        c.messages.push(Message::new(Role::User, "Cancel my trip."));
        c.messages.push(Message::new(Role::Assistant, "Could you give me your user id?"));
        c.messages.push(Message::new(Role::User, "It is mia_li_3668."));
        let mut think = Message::new(Role::Assistant, "");
        think.tool_calls.push(call("think", json!({"thought": "Look the user up."})));
        c.messages.push(think);
        c.messages.push(Message::new(Role::Tool, ""));
        let mut get = Message::new(Role::Assistant, "");
        get.tool_calls.push(call("get_user", json!({"user_id": "mia_li_3668"})));
        c.messages.push(get);
        c.messages.push(Message::new(Role::Tool, r#"{"name": "Mia Li", "reservations": ["ZFA04Y"]}"#));
        c.messages.push(Message::new(Role::Assistant, "Mia, you have reservation ZFA04Y."));
        c
    }

    #[test]
    fn guessed_argument_takes_the_call_that_uses_the_reply() {
        let c = clarification();
        let points = decision_points(&c, true);
        let question = points.iter().find(|p| p.at == 1).unwrap();
        // `think` comes first but takes nothing the user said; `get_user` takes the id.
        let later = call_taking_the_reply(question, &question.context_text()).unwrap().unwrap();
        assert_eq!(later.name, "get_user");
        let mut rng = Rng::new(0, "c", 1, Kind::GuessedArgument);
        let rejected = make(Kind::GuessedArgument, question, Format::Qwen3, &mut rng).unwrap();
        assert_eq!(rejected.tool_calls[0].name, "get_user");
        assert_ne!(rejected.tool_calls[0].arguments.parsed().unwrap()["user_id"], "mia_li_3668");
        // A direct answer at a call whose result is blank is no mistake; at the look-up it is.
        let at = |i: usize| points.iter().find(|p| p.at == i).unwrap();
        assert_eq!(make(Kind::DirectAnswer, at(3), Format::Qwen3, &mut rng).unwrap_err(), Skip::CallReturnsNothing);
        assert!(make(Kind::DirectAnswer, at(5), Format::Qwen3, &mut rng).is_ok());
    }

    #[test]
    fn a_declined_action_is_done_with_the_values_looked_up_before() {
        let tools = vec![
            tool("get_reservation", &["reservation_id"]),
            tool("cancel", &["reservation_id"]),
            tool("pay", &["card"]),
        ];
        let looked_up = call("get_reservation", json!({"reservation_id": "ZFA04Y"}));
        for seed in 0..8 {
            let mut rng = Rng::new(seed, "x", 0, Kind::ForcedIrrelevantCall);
            let (name, args) = call_from_conversation(&tools, &[&looked_up], &mut rng).unwrap();
            assert_eq!((name.as_str(), args), ("cancel", json!({"reservation_id": "ZFA04Y"})));
        }
    }

    #[test]
    fn the_bound_spreads_pairs_over_turns() {
        let pair = |at: usize| Pair {
            id: format!("x#k@{at}"),
            kind: None,
            prompt: Conversation::default(),
            chosen: Vec::new(),
            rejected: Vec::new(),
        };
        // Turn 0 has five candidates, turns 10 and 20 one each: two kept come from two turns.
        let made: Vec<(usize, Pair)> = [(0, 1), (0, 3), (0, 5), (0, 7), (0, 9), (10, 11), (20, 21)]
            .into_iter()
            .map(|(turn, at)| (turn, pair(at)))
            .collect();
        for seed in 0..16 {
            let kept = spread(made.clone(), Some(3), &mut Rng::new(seed, "x", usize::MAX, Kind::RepeatedCall));
            assert_eq!(kept.len(), 3);
            let turns: std::collections::BTreeSet<usize> =
                kept.iter().map(|p| made.iter().find(|(_, q)| q.id == p.id).unwrap().0).collect();
            assert_eq!(turns.len(), 3, "seed {seed}: {:?}", kept.iter().map(|p| &p.id).collect::<Vec<_>>());
        }
        assert_eq!(spread(made.clone(), None, &mut Rng(0)).len(), 7);
    }

    #[test]
    fn salient_phrases() {
        assert_eq!(salient_phrase("What is the capital of France?"), "France");
        assert_eq!(salient_phrase("Translate 'good morning' into Japanese."), "good morning");
    }

    #[test]
    fn malformed_text_fails_the_parser() {
        let call = ToolCall {
            id: None,
            name: "f".into(),
            arguments: Arguments::Json(serde_json::json!({"a": 1})),
            origin: String::new(),
        };
        for seed in 0..12 {
            let mut rng = Rng::new(seed, "x", 0, Kind::MalformedCall);
            let text = malformed_text(std::slice::from_ref(&call), &mut rng);
            assert!(malformed_call(Format::Qwen3, &text).is_some(), "{text}");
        }
    }
}
