//! Answer text: normalized exact match and token F1 (the SQuAD measures). Whether an answer asks
//! for information is [`crate::text::phrases::asks_for_information`], the rule validate's cases use.
//!
//! Normalization lowercases, drops punctuation and the articles a/an/the, and collapses whitespace,
//! so "The price is $231.42." and "price is 231.42" match. It is deliberately simple: the numbers
//! are a regression signal between checkpoints, not a judge of paraphrase.

use std::collections::HashMap;

/// Lowercase, punctuation removed, articles removed, words split on whitespace.
pub fn normalized_words(text: &str) -> Vec<String> {
    let lowered: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric() || c.is_whitespace()).collect();
    lowered.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).map(str::to_string).collect()
}

/// Normalized exact match.
pub fn exact_match(prediction: &str, reference: &str) -> bool {
    normalized_words(prediction) == normalized_words(reference)
}

/// Token F1 of the normalized words (1 when both are empty).
pub fn token_f1(prediction: &str, reference: &str) -> f64 {
    let (p, r) = (normalized_words(prediction), normalized_words(reference));
    if p.is_empty() || r.is_empty() {
        return if p.is_empty() && r.is_empty() { 1.0 } else { 0.0 };
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in &r {
        *counts.entry(w).or_default() += 1;
    }
    let mut common = 0;
    for w in &p {
        if let Some(n) = counts.get_mut(w.as_str()) {
            if *n > 0 {
                *n -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / p.len() as f64;
    let recall = common as f64 / r.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squad_style_measures() {
        assert!(exact_match("The price is $231.42.", "price is 23142"));
        assert!(!exact_match("It is 18°C.", "It is 19°C."));
        assert_eq!(token_f1("a b c", "a b c"), 1.0);
        assert!((token_f1("lyon is rainy", "lyon is sunny") - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(token_f1("", "x"), 0.0);
    }
}
