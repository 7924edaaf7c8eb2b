//! The progress bar of long runs: records/s, tokens/s and, when the input size is known, a bar over
//! the bytes read with an ETA. Only on a terminal, and never with `--quiet`.

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often the rates are recomputed.
const REFRESH: Duration = Duration::from_millis(250);

pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: Arc<AtomicU64>,
    records: Cell<u64>,
    tokens: Cell<u64>,
    start: Instant,
    shown: Cell<Instant>,
}

impl Progress {
    /// A bar on stderr when it is a terminal and not `quiet`; else nothing is drawn.
    pub fn new(inputs: &[String], quiet: bool) -> Progress {
        Self::with_terminal(inputs, !quiet && io::stderr().is_terminal())
    }

    fn with_terminal(inputs: &[String], draw: bool) -> Progress {
        let bar = draw.then(|| {
            // The total is known when every input is a file (compressed ones count their file size,
            // which is what is counted as read).
            let total: Option<u64> =
                inputs.iter().map(|p| (p != "-").then(|| std::fs::metadata(p).ok().map(|m| m.len())).flatten()).sum();
            match total {
                Some(total) => {
                    let bar = ProgressBar::new(total);
                    bar.set_style(
                        ProgressStyle::with_template("{bar:24} {percent:>3}% · {msg} · {elapsed_precise} (ETA {eta})")
                            .expect("valid progress template"),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} · {elapsed_precise}")
                            .expect("valid progress template"),
                    );
                    bar
                }
            }
        });
        let now = Instant::now();
        Progress {
            bar,
            bytes: Arc::new(AtomicU64::new(0)),
            records: Cell::new(0),
            tokens: Cell::new(0),
            start: now,
            shown: Cell::new(now),
        }
    }

    /// The counter the record reader adds the bytes it reads to, when a bar is drawn.
    pub fn bytes_read(&self) -> Option<Arc<AtomicU64>> {
        self.bar.as_ref().map(|_| self.bytes.clone())
    }

    /// One more record done, with the tokens of the rows it produced.
    pub fn record(&self, tokens: usize) {
        self.records.set(self.records.get() + 1);
        self.tokens.set(self.tokens.get() + tokens as u64);
        let Some(bar) = &self.bar else { return };
        let now = Instant::now();
        if now.duration_since(self.shown.get()) < REFRESH {
            return;
        }
        self.shown.set(now);
        bar.set_position(self.bytes.load(Ordering::Relaxed));
        let secs = now.duration_since(self.start).as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} records · {:.0} records/s · {} tokens/s",
            self.records.get(),
            self.records.get() as f64 / secs,
            human(self.tokens.get() as f64 / secs)
        ));
    }

    /// Print a line above the bar (or on stderr when there is none).
    pub fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let _ = writeln!(io::stderr().lock(), "{line}");
            }
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// 1234567 → "1.23M".
fn human(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2}G", x / 1e9),
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_well_and_nothing_is_drawn_off_a_terminal() {
        assert_eq!(human(1_234_567.0), "1.23M");
        assert_eq!(human(950.0), "950");
        let p = Progress::with_terminal(&["-".into()], false);
        assert!(p.bytes_read().is_none());
        p.record(10);
        assert_eq!((p.records.get(), p.tokens.get()), (1, 10));
        p.finish();
    }
}
