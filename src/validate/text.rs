//! Plain-text matching shared by the grounding checks and case inference: words, numbers as
//! values, and CJK text that has no spaces between words.
//!
//! Deliberately simple and language-light: the checks that use it are warnings and heuristics, and
//! a rule a reader can predict beats a clever one.

/// Words of `text`, lowercased, split at anything that is not a letter or digit. Runs of CJK
/// characters stay one "word"; callers that need finer pieces use [`cjk_bigrams`].
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// A crude English stem, so `peppers`/`pepper` and `booked`/`book` meet.
pub(crate) fn stem(word: &str) -> &str {
    for suffix in ["ing", "ies", "es", "ed", "s"] {
        if word.len() > suffix.len() + 3 && word.ends_with(suffix) {
            return &word[..word.len() - suffix.len()];
        }
    }
    word
}

/// Words too common to say anything about whether two texts share content.
pub(crate) fn is_stopword(word: &str) -> bool {
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
pub(crate) fn content_words(text: &str, min: usize) -> Vec<String> {
    words(text).into_iter().filter(|w| (w.chars().count() >= min || has_cjk(w)) && !is_stopword(w)).collect()
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

pub(crate) fn has_cjk(text: &str) -> bool {
    text.chars().any(is_cjk)
}

/// Pairs of adjacent CJK characters: the unit of overlap for text written without spaces.
pub(crate) fn cjk_bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).filter(|w| is_cjk(w[0]) && is_cjk(w[1])).map(|w| w.iter().collect()).collect()
}

/// Numbers written in `text` as values: `1,180` is 1180, `-3` is negative only after a space or
/// the start (so `ORD-1002` holds 1002), and `1.2M` / `410k` are scaled.
pub(crate) fn numbers(text: &str) -> Vec<f64> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                digits.push(c);
                i += 1;
            } else if c == ','
                && chars[i + 1..].iter().take(3).filter(|d| d.is_ascii_digit()).count() == 3
                && chars.get(i + 4).is_none_or(|d| !d.is_ascii_digit())
            {
                i += 1; // thousands separator
            } else if c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit) && !digits.contains('.') {
                digits.push('.');
                i += 1;
            } else {
                break;
            }
        }
        let Ok(mut value) = digits.parse::<f64>() else { continue };
        let negative =
            start > 0 && matches!(chars[start - 1], '-' | '−') && (start == 1 || !chars[start - 2].is_alphanumeric());
        if negative {
            value = -value;
        }
        let scale = match (chars.get(i), chars.get(i + 1)) {
            (Some('k' | 'K'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e3,
            (Some('M'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e6,
            (Some('B'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e9,
            _ => 1.0,
        };
        out.push(value);
        if scale != 1.0 {
            out.push(value * scale);
        }
    }
    out
}

/// Whether two numbers are the same value as people write it: equal, or `b` rounded for display
/// (1520.06 → 1,520; 588.8 → 588.80).
pub(crate) fn same_number(a: f64, b: f64) -> bool {
    let tolerance = (b.abs() * 0.005).max(1e-9);
    (a - b).abs() <= tolerance || (a - b.round()).abs() < 1e-9 || (a - (b * 10.0).round() / 10.0).abs() < 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(numbers("costs $1,180 or 588.80 EUR"), vec![1180.0, 588.8]);
        assert_eq!(numbers("around -3°C, order ORD-1002"), vec![-3.0, 1002.0]);
        assert_eq!(numbers("US ($1.2M), DE 410k"), vec![1.2, 1_200_000.0, 410.0, 410_000.0]);
        assert_eq!(numbers("2026-12-03"), vec![2026.0, 12.0, 3.0]);
        assert_eq!(numbers("气温约5°C"), vec![5.0]);
    }

    #[test]
    fn rounding_for_display_is_the_same_number() {
        assert!(same_number(1520.0, 1520.06));
        assert!(same_number(588.8, 588.8));
        assert!(!same_number(13.0, 31.0));
    }

    #[test]
    fn words_and_stems() {
        assert_eq!(words("Bell-peppers, rice!"), ["bell", "peppers", "rice"]);
        assert_eq!(stem("peppers"), "pepper");
        assert_eq!(cjk_bigrams("北京明天"), ["北京", "京明", "明天"]);
    }
}
