//! Reading input records, each with the place it came from.
//!
//! Input is JSONL (one record per line) or, as real datasets often are, one JSON array or one
//! pretty-printed JSON object per file. The layout is decided by content, not by extension. Every
//! record keeps its file and line so any error can point at it; blank lines are skipped, not records.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

/// Where a record starts: the file name as given and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One input record: its text (one JSON value), or why the bytes could not even be read as text.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub location: Location,
    /// 0-based position among the records of the whole input, used for sharding and default ids.
    pub index: usize,
    pub text: Result<String, String>,
}

/// Streams records out of one input file (or `-` for stdin).
pub struct RecordReader {
    file: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    /// Records of a whole-file JSON document, already split.
    pending: std::vec::IntoIter<(usize, String)>,
    started: bool,
    next_index: usize,
}

impl RecordReader {
    pub fn open(path: &str, first_index: usize) -> io::Result<Self> {
        let reader: Box<dyn BufRead + Send> = if path == "-" {
            Box::new(BufReader::with_capacity(1 << 20, io::stdin()))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, File::open(path)?))
        };
        Ok(Self::from_reader(path, reader, first_index))
    }

    pub fn from_reader(name: &str, reader: Box<dyn BufRead + Send>, first_index: usize) -> Self {
        RecordReader {
            file: Arc::from(name),
            reader,
            line: 0,
            pending: Vec::new().into_iter(),
            started: false,
            next_index: first_index,
        }
    }

    /// The index the next record would get; lets several files number their records consecutively.
    pub fn next_index(&self) -> usize {
        self.next_index
    }

    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        if self.reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        Ok(Some(buf))
    }

    fn record(&mut self, line: usize, text: Result<String, String>) -> RawRecord {
        let index = self.next_index;
        self.next_index += 1;
        RawRecord { location: Location { file: self.file.clone(), line }, index, text }
    }

    /// Decide the layout on the first non-blank line: a line that is not complete JSON on its own
    /// but starts a document (`[` or `{`) means the whole file is one JSON document.
    fn start(&mut self, first: Vec<u8>, first_line: usize) -> io::Result<Option<RawRecord>> {
        let text = strip_bom(first);
        let trimmed = text.trim_ascii_start();
        let starts_document = trimmed.first() == Some(&b'[')
            || (trimmed.first() == Some(&b'{')
                && serde_json::from_slice::<serde::de::IgnoredAny>(&text).err().is_some_and(|e| e.is_eof()));
        if !starts_document {
            return Ok(Some(self.line_record(first_line, text)));
        }
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest)?;
        let mut whole = text;
        whole.push(b'\n');
        whole.extend_from_slice(&rest);
        let whole = match String::from_utf8(whole) {
            Ok(s) => s,
            Err(e) => return Ok(Some(self.record(first_line, Err(format!("invalid UTF-8: {e}"))))),
        };
        let items = if whole.trim_start().starts_with('[') {
            match split_json_array(&whole) {
                Some(items) => items,
                None => {
                    // Not a well-formed array: report it as one broken record rather than guess.
                    vec![(0, whole.clone())]
                }
            }
        } else {
            vec![(0, whole.clone())]
        };
        self.pending = items
            .into_iter()
            .map(|(offset, s)| (first_line + whole[..offset].matches('\n').count(), s))
            .collect::<Vec<_>>()
            .into_iter();
        Ok(self.pending.next().map(|(line, s)| self.record(line, Ok(s))))
    }

    fn line_record(&mut self, line: usize, bytes: Vec<u8>) -> RawRecord {
        let text = String::from_utf8(bytes).map_err(|e| format!("invalid UTF-8: {e}"));
        self.record(line, text)
    }
}

fn strip_bom(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    bytes
}

impl Iterator for RecordReader {
    type Item = io::Result<RawRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((line, s)) = self.pending.next() {
            return Some(Ok(self.record(line, Ok(s))));
        }
        loop {
            let bytes = match self.read_line() {
                Ok(Some(b)) => b,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            if !self.started {
                self.started = true;
                match self.start(bytes, line) {
                    Ok(Some(r)) => return Some(Ok(r)),
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e)),
                }
            }
            return Some(Ok(self.line_record(line, bytes)));
        }
    }
}

/// Split a top-level JSON array into its elements' texts with their byte offsets, without parsing
/// them (each is parsed, and its errors located, on its own). `None` when the text is not an array.
fn split_json_array(text: &str) -> Option<Vec<(usize, String)>> {
    let bytes = text.as_bytes();
    let open = text.find('[')?;
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate().skip(open + 1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                start.get_or_insert(i);
            }
            b'{' | b'[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                if let Some(s) = start.take() {
                    items.push((s, text[s..i].trim_end().to_string()));
                }
                if b == b']' {
                    return text[i + 1..].trim().is_empty().then_some(items);
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> Vec<(usize, String)> {
        RecordReader::from_reader("t", Box::new(io::Cursor::new(input.as_bytes().to_vec())), 0)
            .map(|r| {
                let r = r.unwrap();
                (r.location.line, r.text.unwrap())
            })
            .collect()
    }

    #[test]
    fn jsonl_skips_blank_lines_and_keeps_line_numbers() {
        let got = records("{\"a\":1}\n\n  \n{\"b\":2}\r\n");
        assert_eq!(got, vec![(1, "{\"a\":1}".into()), (4, "{\"b\":2}".into())]);
    }

    #[test]
    fn truncated_line_stays_a_record_of_its_own() {
        let got = records("{\"a\":1}\n{\"b\":\n{\"c\":3}\n");
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], (2, "{\"b\":".into()));
    }

    #[test]
    fn json_array_file_is_split_into_elements_with_lines() {
        let got = records("[\n  {\"a\": [1, \"],\"]},\n  {\"b\": 2}\n]\n");
        assert_eq!(got, vec![(2, "{\"a\": [1, \"],\"]}".into()), (3, "{\"b\": 2}".into())]);
    }

    #[test]
    fn pretty_printed_object_file_is_one_record() {
        let got = records("{\n  \"a\": 1\n}\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
    }

    #[test]
    fn bom_is_ignored() {
        let got = records("\u{feff}{\"a\":1}\n");
        assert_eq!(got, vec![(1, "{\"a\":1}".into())]);
    }
}
