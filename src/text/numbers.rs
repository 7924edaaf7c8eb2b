//! Numbers as people write them, read one way for every heuristic that compares them.
//!
//! validate (guessed arguments, ignored results), eval (grounding) and pairs (answers altered to
//! contradict their results) all ask "is this the number the tool returned?". One reader and one
//! rule answer it, so a dataset, its preference pairs and a model's score agree:
//!
//! - `1,180` is 1180 (a comma followed by exactly three digits groups thousands); `-3` is negative
//!   only after a space or the start, so `ORD-1002` holds 1002; `1.2M` / `410k` / `2B` also count as
//!   their scaled value.
//! - A written number *says* an exact value when it is that value rounded to the digits written:
//!   `1,520` says 1520.06, `18` says 18.4, `588.80` says 588.8, `1.52M` says 1,520,060; `1,515`
//!   does not say 1520.06 and `19` does not say 18.4.
//! - Dates and times (`07:56`, `2026-12-03`, `12/03`, `10:00-12:00`) are also read whole, as
//!   [`literals`]: compared as written, not by their parts. A range of plain numbers (`10-12°C`,
//!   `3-5 days`) is two numbers.

/// One number written in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    pub value: f64,
    /// The unit of the last digit written: 1 for `1520`, 0.01 for `588.80`, 10 000 for `1.52M`.
    pub step: f64,
    /// Part of a date or a time (`2026-12-03`, `07:56`), which [`literals`] reads whole.
    pub in_literal: bool,
}

impl Number {
    /// Whether this written number is `exact` rounded to the digits written (see the module doc).
    pub fn says(&self, exact: f64) -> bool {
        (self.value - exact).abs() <= self.step / 2.0 + 1e-9 * exact.abs().max(1.0)
    }
}

/// The same value, up to floating-point noise (0.045 computed is 0.045 written).
pub fn same_value(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The numbers written in `text`, in order; a scaled one (`1.2M`) gives its written value and then
/// its scaled one.
pub fn numbers(text: &str) -> Vec<Number> {
    numbers_and_literals(text).0
}

/// [`numbers`] and [`literals`] of `text` from one scan, for a caller that wants both.
pub fn numbers_and_literals(text: &str) -> (Vec<Number>, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let spans = literal_spans(&chars);
    let numbers = numbers_in(&chars, &spans);
    let mut literals = Vec::new();
    for span in spans {
        let token: String = chars[span].iter().collect();
        match token.contains(':') {
            true => literals.extend(token.split('-').map(str::to_string)),
            false => literals.push(token),
        }
    }
    (numbers, literals)
}

fn numbers_in(chars: &[char], spans: &[std::ops::Range<usize>]) -> Vec<Number> {
    let mut next_span = 0; // runs come in order, so the spans are walked once
    let mut out = Vec::new();
    each_digit_run(chars, |chars, start| {
        let mut i = start;
        let mut digits = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                digits.push(c);
                i += 1;
            } else if c == ','
                && !digits.contains('.')
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
        // A run of hundreds of digits reads as infinity, which would equal any other.
        let Some(mut value) = digits.parse::<f64>().ok().filter(|v| v.is_finite()) else { return i };
        while spans.get(next_span).is_some_and(|s| s.end <= start) {
            next_span += 1;
        }
        let in_literal = spans.get(next_span).is_some_and(|s| s.contains(&start));
        let negative =
            start > 0 && matches!(chars[start - 1], '-' | '−') && (start == 1 || !chars[start - 2].is_alphanumeric());
        if negative {
            value = -value;
        }
        let step = digits.split_once('.').map_or(1.0, |(_, d)| 10f64.powi(-(d.len() as i32)));
        out.push(Number { value, step, in_literal });
        let scale = match (chars.get(i), chars.get(i + 1)) {
            (Some('k' | 'K'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e3,
            (Some('M'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e6,
            (Some('B'), next) if next.is_none_or(|c| !c.is_alphabetic()) => 1e9,
            _ => 1.0,
        };
        if scale != 1.0 {
            out.push(Number { value: value * scale, step: step * scale, in_literal });
        }
        i
    });
    out
}

/// The values of [`numbers`], for callers that look values up rather than compare written forms.
pub fn values(text: &str) -> Vec<f64> {
    numbers(text).into_iter().map(|n| n.value).collect()
}

/// Dates and times as written: `07:56`, `2026-12-19`, `12/03`; a range of times (`10:00-12:00`)
/// gives each end.
pub fn literals(text: &str) -> Vec<String> {
    numbers_and_literals(text).1
}

/// Where [`literals`] are: digit groups joined by `:` `/` `-` (and `.` `,` inside numbers) that
/// hold a `:` or a `/`, or have the shape of an ISO date (`2026-12-03`). `10-12` is not one.
fn literal_spans(chars: &[char]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    each_digit_run(chars, |chars, start| {
        let mut i = start;
        let joins = |c: char| matches!(c, '.' | ',' | ':' | '/' | '-');
        while i < chars.len()
            && (chars[i].is_ascii_digit() || (joins(chars[i]) && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            i += 1;
        }
        let token = &chars[start..i];
        let groups: Vec<usize> = token.split(|c| *c == '-').map(<[char]>::len).collect();
        let iso_date =
            groups.len() == 3 && groups[0] == 4 && (1..=2).contains(&groups[1]) && (1..=2).contains(&groups[2]);
        if token.iter().any(|c| matches!(c, ':' | '/')) || iso_date {
            out.push(start..i);
        }
        i
    });
    out
}

/// Call `read(chars, start)` at each digit that starts a run; it reads the run and returns where
/// the scan goes on.
fn each_digit_run(chars: &[char], mut read: impl FnMut(&[char], usize) -> usize) {
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            i = read(chars, i).max(i + 1);
        } else {
            i += 1;
        }
    }
}

/// Other ways people write an ISO date (`2026-12-03`): "december 3", "3 dec", "12/03".
pub fn iso_date_forms(value: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts[..] else { return None };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (month, day): (usize, u32) = (m.parse().ok()?, d.parse().ok()?);
    const MONTHS: &[&str] = &[
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let name = MONTHS.get(month.checked_sub(1)?)?;
    let short = &name[..3];
    let mut forms = Vec::new();
    for n in [*name, short] {
        forms.push(format!("{n} {day}"));
        forms.push(format!("{day} {n}"));
        forms.push(format!("{day}th {n}"));
        forms.push(format!("{day}st {n}"));
        forms.push(format!("{day}nd {n}"));
        forms.push(format!("{day}rd {n}"));
    }
    forms.push(format!("{month}/{day}"));
    forms.push(format!("{day}/{month}"));
    forms.push(format!("{m}/{d}"));
    forms.push(format!("{d}/{m}"));
    forms.push(format!("{day}.{month}."));
    forms.push(format!("{d}.{m}."));
    Some(forms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(values("costs $1,180 or 588.80 EUR"), vec![1180.0, 588.8]);
        assert_eq!(values("around -3°C, order ORD-1002"), vec![-3.0, 1002.0]);
        assert_eq!(values("US ($1.2M), DE 410k"), vec![1.2, 1_200_000.0, 410.0, 410_000.0]);
        assert_eq!(values("2026-12-03"), vec![2026.0, 12.0, 3.0]);
        assert_eq!(values("气温约5°C"), vec![5.0]);
        assert_eq!(values("1.5,200"), vec![1.5, 200.0], "no thousands group after a decimal point");
    }

    #[test]
    fn a_number_says_its_value_rounded_to_the_digits_written() {
        let said = |text: &str, exact: f64| numbers(text).iter().any(|n| n.says(exact));
        assert!(said("1,520", 1520.06) && said("18", 18.4) && said("588.80", 588.8) && said("$1.52M", 1_520_060.0));
        assert!(!said("1,515", 1520.06) && !said("19", 18.4) && !said("13", 31.0) && !said("2025", 2024.0));
        assert!(said("23.41", 23.4137) && !said("23.4", 23.46));
    }

    #[test]
    fn dates_and_times_are_literals() {
        assert_eq!(literals("TGV 6611 leaves at 07:56 on 2026-12-19, 1,234.50 EUR"), ["07:56", "2026-12-19"]);
        assert_eq!(literals("order ORD-1002, 10-12°C, 3-5 days"), Vec::<String>::new());
        assert_eq!(literals("open 10:00-12:00"), ["10:00", "12:00"]);
        let parts: Vec<bool> = numbers("07:56 and 6611, 10-12").iter().map(|n| n.in_literal).collect();
        assert_eq!(parts, [true, true, false, false, false]);
        assert!(numbers(&"9".repeat(400)).is_empty(), "too long to be a value");
    }
}
