//! Commands that judge the same thing judge it alike: `validate`'s `unused_result` warning and
//! `eval`'s grounding metric (and `score`'s grounding reward) read answers through one rule
//! (`trajkit::text::salient`), so a gold answer validate flags is exactly one eval calls
//! ungrounded. Checked on the long generated tau-airline trajectories and the eval gold set.

use trajkit::eval::{tasks, SchemaCache, TurnKind};
use trajkit::ingest::IngestOptions;
use trajkit::source::RecordReader;
use trajkit::validate::Validator;

#[test]
fn validate_flags_exactly_the_gold_answers_eval_calls_ungrounded() {
    let (validator, _) = Validator::new(IngestOptions::default(), None);
    let cache = SchemaCache::default();
    let (mut grounded, mut flagged) = (0, 0);
    for path in
        ["fixtures/samples/tau_airline.jsonl", "fixtures/eval/gold.jsonl", "fixtures/validate/unused_result.jsonl"]
    {
        for record in RecordReader::open(path, 0).expect("fixture") {
            let record = record.expect("readable");
            let report = validator.validate_trajectory(&record);
            let warned: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| f.code.as_str() == "unused_result")
                .map(|f| f.path.as_str())
                .collect();
            let conversation = report.conversation.clone().expect("fixture records convert");
            let turns = conversation.user_turns();
            for task in tasks(conversation, &cache) {
                let messages = &task.conversation.messages;
                let turn_end = turns.iter().find(|t| t.contains(&task.index)).map_or(messages.len(), |t| t.end);
                let last_answer = !messages[task.index + 1..turn_end].iter().any(|m| {
                    m.tool_calls.is_empty() && !m.content.trim().is_empty() && m.role == task.reference().role
                });
                if task.kind != TurnKind::Answer || !last_answer || task.reference().content.trim().is_empty() {
                    continue;
                }
                let answer = task.reference();
                let used = task.salient.used_by(&answer.content);
                assert_eq!(
                    used,
                    !warned.contains(&answer.origin.as_str()),
                    "{}: {} at {}: eval says grounded={used}, validate warned at {warned:?}",
                    record.location,
                    task.id,
                    answer.origin
                );
                if used {
                    grounded += 1;
                } else {
                    flagged += 1;
                }
            }
        }
    }
    assert!(grounded > 50 && flagged >= 7, "both outcomes seen: {grounded} grounded, {flagged} flagged");
}
