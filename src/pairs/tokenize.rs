//! The tokenized columns of a pair, as TRL's DPOTrainer (1.16) builds them for conversational data:
//!
//! ```text
//! prompt_ids          = apply_chat_template(prompt, tools, add_generation_prompt=True)
//! prompt_chosen_ids   = apply_chat_template(prompt + chosen, tools)        (no generation prompt, no EOS added)
//! chosen_ids          = prompt_chosen_ids[len(prompt_ids):]               (the same for rejected)
//! ```
//!
//! TRL cuts at the common prefix when `prompt_ids` is not a prefix of `prompt_chosen_ids` and trains on
//! a context the model never sees at inference (only a warning). trajkit refuses such a pair with the
//! place where the two renderings part (TRAPS 5: a template that renders the prompt alone
//! differently, or tokens that merge across the boundary).

use crate::conversation::Conversation;
use crate::render::{split_markers, ChatTemplate, ReasoningPolicy, RenderOptions};
use crate::tokenize::TextTokenizer;

use super::{Pair, Side};
use crate::diagnostic::{Code, Diagnostic};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairTokens {
    pub prompt_ids: Vec<u32>,
    pub chosen_ids: Vec<u32>,
    pub rejected_ids: Vec<u32>,
}

/// Render and encode one conversation: the text, then one encode of it.
fn encode(
    template: &ChatTemplate,
    tokenizer: &TextTokenizer,
    options: &RenderOptions,
    conversation: &Conversation,
    generation_prompt: bool,
) -> Result<(String, Vec<u32>), Diagnostic> {
    let mut conversation = conversation.clone();
    if options.reasoning == ReasoningPolicy::Drop {
        conversation.messages.iter_mut().for_each(|m| m.drop_reasoning());
    }
    let this = template.for_conversation(&conversation);
    let marked = this.render_marked(&conversation, options, generation_prompt).map_err(|e| {
        let what = if generation_prompt { "the prompt with the generation prompt" } else { "prompt + answer" };
        Diagnostic::error(Code::TemplateError, "", format!("rendering {what}: {e}"))
    })?;
    let rendered = split_markers(&marked);
    let tokens = tokenizer
        .encode_with_ordinary(&rendered.text, &rendered.ordinary)
        .map_err(|e| Diagnostic::error(Code::Tokenizer, "", e.to_string()))?;
    Ok((rendered.text, tokens.ids))
}

/// The three columns, or a located problem when the prompt is not a token prefix of a side.
pub fn tokenize_pair(
    template: &ChatTemplate,
    tokenizer: &TextTokenizer,
    options: &RenderOptions,
    pair: &Pair,
) -> Result<PairTokens, Diagnostic> {
    let (prompt_text, prompt_ids) = encode(template, tokenizer, options, &pair.prompt, true)?;
    let mut answers = Vec::new();
    for side in [Side::Chosen, Side::Rejected] {
        let (text, ids) = encode(template, tokenizer, options, &pair.side(side), false)?;
        if !ids.starts_with(&prompt_ids) {
            return Err(not_a_prefix(tokenizer, side, &prompt_text, &text, &prompt_ids, &ids));
        }
        answers.push(ids[prompt_ids.len()..].to_vec());
    }
    let rejected_ids = answers.pop().expect("two sides");
    let chosen_ids = answers.pop().expect("two sides");
    Ok(PairTokens { prompt_ids, chosen_ids, rejected_ids })
}

fn not_a_prefix(
    tokenizer: &TextTokenizer,
    side: Side,
    prompt_text: &str,
    text: &str,
    prompt_ids: &[u32],
    ids: &[u32],
) -> Diagnostic {
    let path = side.as_str();
    let common = prompt_text.bytes().zip(text.bytes()).take_while(|(a, b)| a == b).count();
    if common < prompt_text.len() {
        let at = floor_char_boundary(prompt_text, common);
        let snippet = |s: &str| {
            let end = floor_char_boundary(s, (at + 40).min(s.len()));
            format!("{:?}", &s[at..end])
        };
        return Diagnostic::error(
            Code::PromptNotPrefix,
            path,
            format!(
                "the template renders the prompt alone differently from the prompt followed by the {path} answer: \
                 at byte {at} of the rendered prompt it has {} where prompt + answer has {} (TRL would train this \
                 pair on a context the model does not see at inference)",
                snippet(prompt_text),
                snippet(text)
            ),
        );
    }
    let k = prompt_ids.iter().zip(ids).take_while(|(a, b)| a == b).count();
    let token = |id: Option<&u32>| match id {
        Some(&id) => format!("{:?} ({id})", tokenizer.id_to_token(id).unwrap_or_default()),
        None => "nothing".to_string(),
    };
    Diagnostic::error(
        Code::PromptNotPrefix,
        path,
        format!(
            "the prompt's text is a prefix of prompt + {path}, but its tokens are not: token {k} is {} in the prompt \
             and {} in prompt + answer (tokens merge across the boundary)",
            token(prompt_ids.get(k)),
            token(ids.get(k))
        ),
    )
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
