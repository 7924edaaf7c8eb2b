//! The phrase lists of case inference (`phrases.txt`), and the one reading of "the assistant asks
//! the user for information" that validate's `clarification` case and eval's clarification metric
//! share: a question for something missing, not a pleasantry ("anything else?") or an offer
//! ("shall I book it?").

use std::collections::HashMap;
use std::sync::OnceLock;

use super::contains_word;

/// The phrase lists of case inference, from `phrases.txt` (compiled in; the file says what each
/// list is for). Data, not code: a reviewer adds a phrase without reading the rules.
pub struct Phrases {
    pub decline: &'static [&'static str],
    pub hedges: &'static [&'static str],
    pub conditional: &'static [&'static str],
    pub subjects: &'static [&'static str],
    pub negations: &'static [&'static str],
    pub pleasantries: &'static [&'static str],
    pub offer_starts: &'static [&'static str],
    pub choice_starts: &'static [&'static str],
    pub requests: &'static [&'static str],
    pub wh: &'static [&'static str],
    pub reasoning_asks: &'static [&'static str],
    pub reasoning_declines: &'static [&'static str],
}

pub fn phrases() -> &'static Phrases {
    static PHRASES: OnceLock<Phrases> = OnceLock::new();
    PHRASES.get_or_init(|| {
        let mut lists: HashMap<&str, Vec<&'static str>> = HashMap::new();
        let mut current = None;
        for (n, line) in include_str!("phrases.txt").lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = Some(name);
                lists.entry(name).or_default();
                continue;
            }
            let phrase: String =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("phrases.txt:{}: not a JSON string: {e}", n + 1));
            let list = current.unwrap_or_else(|| panic!("phrases.txt:{}: a phrase before any [list]", n + 1));
            lists.get_mut(list).expect("opened above").push(Box::leak(phrase.into_boxed_str()));
        }
        let mut take = |name: &str| -> &'static [&'static str] {
            lists.remove(name).unwrap_or_else(|| panic!("phrases.txt has no [{name}]")).leak()
        };
        let phrases = Phrases {
            decline: take("decline"),
            hedges: take("hedges"),
            conditional: take("conditional"),
            subjects: take("subjects"),
            negations: take("negations"),
            pleasantries: take("pleasantries"),
            offer_starts: take("offer_starts"),
            choice_starts: take("choice_starts"),
            requests: take("requests"),
            wh: take("wh"),
            reasoning_asks: take("reasoning_asks"),
            reasoning_declines: take("reasoning_declines"),
        };
        assert!(lists.is_empty(), "phrases.txt: lists nothing reads: {:?}", lists.keys());
        phrases
    })
}

/// The first phrase of `phrases` in `text`.
pub fn find_any<'p>(text: &str, phrases: &[&'p str]) -> Option<&'p str> {
    phrases.iter().copied().find(|p| text.contains(p))
}

/// A question for missing information, as the matched phrase (any case; curly quotes are read as
/// straight ones).
pub fn asks_for_information(text: &str) -> Option<String> {
    let text = &normalize_quotes(&text.to_lowercase());
    if let Some(r) = find_any(text, phrases().requests) {
        return Some(r.to_string());
    }
    for (sentence, clause) in questions(text) {
        if find_any(&sentence, phrases().pleasantries).is_some()
            || phrases().offer_starts.iter().any(|o| clause.starts_with(o))
        {
            continue;
        }
        if let Some(w) = phrases().wh.iter().find(|w| contains_word(&sentence, w)) {
            return Some(format!("{w} …?"));
        }
        if phrases().choice_starts.iter().any(|v| clause.starts_with(v)) && contains_word(&clause, "or") {
            return Some("… or …?".into());
        }
        if let Some(w) =
            ["哪", "什么", "多少", "几", "どの", "どこ", "何", "いつ"].iter().find(|w| sentence.contains(*w))
        {
            return Some(format!("{w} …?"));
        }
    }
    None
}

/// The question sentences of `text` (each ends with `?` or `？`; a Spanish one may open with `¿`),
/// each with its last clause ("I can help — which city?" → "which city"), which is where an offer
/// or a choice opens; leading "and"/"so" are dropped from it.
fn questions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        match c {
            '.' | '!' | '\n' | '。' | '！' | ':' => start = at + c.len_utf8(),
            '?' | '？' => {
                let sentence = &text[start..at];
                let sentence = sentence.rsplit('¿').next().unwrap_or(sentence).trim();
                let mut clause = sentence.rsplit(['—', '–', ',', ';']).next().unwrap_or(sentence).trim();
                for lead in ["and ", "or ", "so ", "also ", "then ", "but "] {
                    clause = clause.strip_prefix(lead).unwrap_or(clause);
                }
                out.push((sentence.to_string(), clause.to_string()));
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    out
}

/// `’` and `‘` as `'`, the way the phrase lists write them.
pub fn normalize_quotes(text: &str) -> String {
    text.replace(['\u{2019}', '\u{2018}'], "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_lists_are_read_whole() {
        let p = phrases();
        let sizes = [p.decline.len(), p.hedges.len(), p.conditional.len(), p.subjects.len(), p.negations.len()];
        assert_eq!(sizes, [105, 8, 15, 31, 12]);
        let sizes = [p.pleasantries.len(), p.offer_starts.len(), p.choice_starts.len(), p.requests.len(), p.wh.len()];
        assert_eq!(sizes, [9, 18, 12, 82, 37]);
        assert_eq!([p.reasoning_asks.len(), p.reasoning_declines.len()], [14, 9]);
        assert!(p.offer_starts.contains(&"can i "), "spaces inside the quotes are kept");
        for list in [p.decline, p.requests, p.wh, p.subjects] {
            assert!(list.iter().all(|x| *x == x.to_lowercase()), "text is matched lowercased");
        }
    }

    #[test]
    fn questions_for_information_not_offers() {
        assert!(asks_for_information("Which city do you mean?").is_some());
        assert!(asks_for_information("Could you tell me your order number?").is_some());
        assert!(asks_for_information("is there anything else i can help with?").is_none());
        assert!(asks_for_information("the forecast is sunny.").is_none());
    }
}
