//! The model families trajkit knows by name, in one table: their names, the prompt that asks for
//! an answer, and what each shipped template does with reasoning.
//!
//! `--template qwen3`, `--tokenizer gpt-oss`, `--parser harmony` and the Python keyword arguments
//! all name a family; before this table each of the template, tokenizer and parser enums kept its
//! own list of names (and `gptoss` was a parser but not a template). The stages that know more about
//! a family say it where they live ([`crate::tokenize::Embedded::of`],
//! [`crate::completion::Format::of`]); this module depends on nothing.

/// A model family with a template shipped in `templates/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Qwen3,
    /// ChatML / Qwen2.5 with Hermes-style tools.
    ChatMl,
    /// GPT-OSS Harmony, token-exact against openai-harmony's `render_conversation_for_training`.
    Harmony,
}

/// Every family with the names it answers to (the first is its own).
const NAMES: &[(Family, &[&str])] =
    &[(Family::Qwen3, &["qwen3"]), (Family::ChatMl, &["chatml"]), (Family::Harmony, &["harmony", "gpt-oss", "gptoss"])];

impl Family {
    pub const ALL: [Family; 3] = [Family::Qwen3, Family::ChatMl, Family::Harmony];

    /// The family a name stands for.
    pub fn parse(name: &str) -> Option<Family> {
        NAMES.iter().find(|(_, names)| names.contains(&name)).map(|(family, _)| *family)
    }

    /// The family a command-line value names, unless it is the path of a file or folder (a
    /// folder called `qwen3` holding a model is the model, not the built-in).
    pub fn named(value: &str) -> Option<Family> {
        Family::parse(value).filter(|_| !std::path::Path::new(value).exists())
    }

    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(family, _)| *family == self).map_or("", |(_, names)| names[0])
    }

    /// What the prompt ends with when the model is to answer.
    pub fn generation_prompt(self) -> &'static str {
        match self {
            Family::Qwen3 | Family::ChatMl => "<|im_start|>assistant\n",
            Family::Harmony => "<|start|>assistant",
        }
    }

    /// Whether the template drops reasoning of turns before the last user message, so that a
    /// whole-conversation row trains those turns without their thinking (TRAPS 2).
    pub fn drops_earlier_reasoning(self) -> bool {
        matches!(self, Family::Qwen3 | Family::Harmony)
    }

    /// Whether the template renders `reasoning_content` at all.
    pub fn renders_reasoning(self) -> bool {
        matches!(self, Family::Qwen3 | Family::Harmony)
    }

    /// Whether reasoning written inline in the content (`<think>…</think>answer`) is reasoning for
    /// this template. Qwen3 splits it itself; Harmony's reasoning is the `analysis` channel only,
    /// so there inline `<think>` text is content, as the source wrote it.
    pub fn splits_inline_reasoning(self) -> bool {
        matches!(self, Family::Qwen3)
    }

    /// Whether the template writes tool-call arguments through `tojson` even when they are a
    /// string (ChatML), so rows for TRL must carry them as given, not JSON-encoded again.
    pub fn encodes_string_arguments(self) -> bool {
        matches!(self, Family::ChatMl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_found_by_each_of_its_names() {
        for family in Family::ALL {
            assert_eq!(Family::parse(family.name()), Some(family));
        }
        assert_eq!(Family::parse("gpt-oss"), Some(Family::Harmony));
        assert_eq!(Family::parse("gptoss"), Some(Family::Harmony));
        assert_eq!(Family::parse("llama3"), None);
    }
}
