//! Text heuristics, one of each, for every command that judges what a text says: validate
//! (guessed arguments, ignored results, the case of a record), eval (grounding, clarification) and
//! pairs (rejected answers that must visibly contradict their results).
//!
//! ```text
//! (here)     words, stems, stopwords, CJK text that has no spaces between words
//! numbers    numbers as written (1,180 / 1.2M / ORD-1002), dates and times, "says this value"
//! salient    what a tool result said that an answer which used it would repeat
//! phrases    the phrase lists of case inference, and "asks the user for information"
//! ```
//!
//! Deliberately simple and language-light: the checks that use it are warnings and heuristics, and
//! a rule a reader can predict beats a clever one.

pub mod numbers;
pub mod phrases;
pub mod salient;

/// Words of `text`, lowercased, split at anything that is not a letter or digit. Runs of CJK
/// characters stay one "word"; callers that need finer pieces use [`cjk_bigrams`].
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// A crude English stem, so `peppers`/`pepper` and `booked`/`book` meet.
pub fn stem(word: &str) -> &str {
    for suffix in ["ing", "ies", "es", "ed", "s"] {
        if word.len() > suffix.len() + 3 && word.ends_with(suffix) {
            return &word[..word.len() - suffix.len()];
        }
    }
    word
}

/// Words too common to say anything about whether two texts share content.
pub fn is_stopword(word: &str) -> bool {
    const STOP: &[&str] = &[
        "the", "and", "for", "with", "from", "that", "this", "you", "your", "are", "was", "were", "have", "has", "had",
        "not", "but", "all", "can", "will", "what", "which", "who", "how", "please", "into", "about", "there", "their",
        "them", "then", "than", "been", "any", "our", "out", "get", "some", "more", "also", "just", "its", "it's",
        "let", "here", "would", "could", "should", "may", "might", "one", "two", "per", "yes", "true", "false", "null",
        "none", "ok", "okay", "status", "success", "result", "results", "data", "value", "name", "type", "message",
        "error",
    ];
    STOP.contains(&word)
}

/// Content words: not stopwords, at least `min` characters (CJK runs always count).
pub fn content_words(text: &str, min: usize) -> Vec<String> {
    words(text).into_iter().filter(|w| (w.chars().count() >= min || has_cjk(w)) && !is_stopword(w)).collect()
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

pub fn has_cjk(text: &str) -> bool {
    text.chars().any(is_cjk)
}

/// `word` in `text` as a whole word: not inside a longer word or an identifier (`which` is not in
/// `whichever`, `mia` is not in `mia_smith_5326`).
pub fn contains_word(text: &str, word: &str) -> bool {
    let part_of_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        text[..at].chars().next_back().is_none_or(|c| !part_of_word(c))
            && text[at + word.len()..].chars().next().is_none_or(|c| !part_of_word(c))
    })
}

/// Pairs of adjacent CJK characters: the unit of overlap for text written without spaces.
pub fn cjk_bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).filter(|w| is_cjk(w[0]) && is_cjk(w[1])).map(|w| w.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_stems() {
        assert_eq!(words("Bell-peppers, rice!"), ["bell", "peppers", "rice"]);
        assert_eq!(stem("peppers"), "pepper");
        assert_eq!(cjk_bigrams("北京明天"), ["北京", "京明", "明天"]);
    }
}
