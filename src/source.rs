//! Reading input records, each with the place it came from.
//!
//! Input is JSONL (one record per line) or, as real datasets often are, one JSON array or one
//! pretty-printed JSON object per file; gzip and zstd files are read as the text they hold. Layout and
//! compression are decided by content, not by extension. Every record keeps its file and line so any
//! error can point at it; blank lines are skipped, not records. No byte is dropped on the way: a line
//! that is not UTF-8, not JSON, or cut short is a record of its own, rejected later with its place.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::AtomicU64;
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
    /// The bytes as read, kept only when they are not UTF-8 (see [`RawRecord::original`]).
    not_text: Option<Vec<u8>>,
}

impl RawRecord {
    /// A record that did not come from a file: JSON text handed over by a caller (the Python
    /// package), with the place it should be reported at. `line` is 1-based, `index` 0-based.
    pub fn from_text(file: &str, line: usize, index: usize, text: String) -> RawRecord {
        RawRecord { location: Location { file: Arc::from(file), line }, index, text: Ok(text), not_text: None }
    }

    /// The record as it was read, for reject reports: its text, or its bytes with every invalid
    /// UTF-8 sequence replaced by U+FFFD.
    pub fn original(&self) -> Cow<'_, str> {
        match (&self.text, &self.not_text) {
            (Ok(text), _) => Cow::Borrowed(text),
            (Err(_), Some(bytes)) => String::from_utf8_lossy(bytes),
            (Err(_), None) => Cow::Borrowed(""),
        }
    }
}

/// Size of the read buffer. Lines may be far longer: a line is read whole however long it is.
const BUFFER: usize = 1 << 20;

/// A line or array element waiting to become a record.
struct Pending {
    line: usize,
    bytes: Vec<u8>,
}

/// Streams records out of one input file (or `-` for stdin).
pub struct RecordReader {
    file: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    /// Records already split off a whole-file JSON document, or a line read ahead.
    pending: VecDeque<Pending>,
    started: bool,
    next_index: usize,
}

impl RecordReader {
    /// Open a file (or `-` for stdin), decompressing gzip and zstd transparently.
    pub fn open(path: &str, first_index: usize) -> io::Result<Self> {
        let input: Box<dyn Read + Send> = if path == "-" { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
        Ok(Self::from_reader(path, decompressed(input)?, first_index))
    }

    /// [`open`](RecordReader::open), adding the bytes read from the file (before decompression) to
    /// `counter` as they are read, for progress reports.
    pub fn open_counted(path: &str, first_index: usize, counter: Arc<AtomicU64>) -> io::Result<Self> {
        let input: Box<dyn Read + Send> = if path == "-" { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
        Ok(Self::from_reader(path, decompressed(Box::new(Counted { inner: input, counter }))?, first_index))
    }

    pub fn from_reader(name: &str, reader: Box<dyn BufRead + Send>, first_index: usize) -> Self {
        RecordReader {
            file: Arc::from(name),
            reader,
            line: 0,
            pending: VecDeque::new(),
            started: false,
            next_index: first_index,
        }
    }

    /// The index the next record would get; lets several files number their records consecutively.
    pub fn next_index(&self) -> usize {
        self.next_index
    }

    /// The next line without its line end (`\n` or `\r\n`) and without a leading byte order mark
    /// (files joined with `cat` carry one at the start of each part).
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        let read = self.reader.read_until(b'\n', &mut buf).map_err(|e| {
            let line = self.line;
            io::Error::new(e.kind(), format!("after line {line}: {e}"))
        })?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.starts_with(BOM) {
            buf.drain(..BOM.len());
        }
        Ok(Some(buf))
    }

    /// The next line that is not blank, with its number.
    fn next_nonblank_line(&mut self) -> io::Result<Option<(usize, Vec<u8>)>> {
        while let Some(bytes) = self.read_line()? {
            if !is_blank(&bytes) {
                return Ok(Some((self.line, bytes)));
            }
        }
        Ok(None)
    }

    fn record(&mut self, Pending { line, bytes }: Pending) -> RawRecord {
        let index = self.next_index;
        self.next_index += 1;
        let (text, not_text) = match String::from_utf8(bytes) {
            Ok(text) => (Ok(text), None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                (Err(format!("invalid UTF-8 at byte {} of the record", at + 1)), Some(e.into_bytes()))
            }
        };
        RawRecord { location: Location { file: self.file.clone(), line }, index, text, not_text }
    }

    /// Decide the layout on the first non-blank line. A line that is complete JSON on its own is a
    /// JSONL record, except an array on the only line of the file (a JSON array written without
    /// indentation). A line that opens `[` or `{` but does not close it starts a document spanning the
    /// file.
    fn start(&mut self, first: Pending) -> io::Result<()> {
        let complete = serde_json::from_slice::<serde::de::IgnoredAny>(&first.bytes);
        let incomplete = complete.as_ref().err().is_some_and(|e| e.is_eof());
        match first.bytes.trim_ascii_start().first() {
            Some(b'[') if complete.is_ok() => match self.next_nonblank_line()? {
                Some((line, bytes)) => self.pending.extend([first, Pending { line, bytes }]),
                None => self.pending.extend(array_elements(&first.bytes, first.line).0),
            },
            Some(b'[' | b'{') if incomplete => self.read_document(first)?,
            _ => self.pending.push_back(first),
        }
        Ok(())
    }

    /// Read the rest of the file as one JSON document starting with `first`: an array (split into
    /// its elements) or one object. When it does not parse but other lines are complete objects on
    /// their own, it is JSONL whose first record is cut short, and every line is a record again.
    fn read_document(&mut self, first: Pending) -> io::Result<()> {
        let first_line = first.line;
        let mut whole = first.bytes;
        whole.push(b'\n');
        let line = self.line;
        self.reader.read_to_end(&mut whole).map_err(|e| io::Error::new(e.kind(), format!("after line {line}: {e}")))?;
        let parsed = if whole.trim_ascii_start().starts_with(b"[") {
            let (items, closed) = array_elements(&whole, first_line);
            closed.then_some(items)
        } else {
            serde_json::from_slice::<serde::de::IgnoredAny>(&whole)
                .is_ok()
                .then(|| vec![Pending { line: first_line, bytes: whole.trim_ascii_end().to_vec() }])
        };
        match parsed {
            Some(items) => self.pending.extend(items),
            None if has_object_line(&whole) => self.pending.extend(lines(&whole, first_line)),
            None if whole.trim_ascii_start().starts_with(b"[") => {
                self.pending.extend(array_elements(&whole, first_line).0)
            }
            None => self.pending.push_back(Pending { line: first_line, bytes: whole.trim_ascii_end().to_vec() }),
        }
        Ok(())
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl Iterator for RecordReader {
    type Item = io::Result<RawRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pending) = self.pending.pop_front() {
                return Some(Ok(self.record(pending)));
            }
            let (line, bytes) = match self.next_nonblank_line() {
                Ok(Some(found)) => found,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            let pending = Pending { line, bytes };
            if self.started {
                return Some(Ok(self.record(pending)));
            }
            self.started = true;
            if let Err(e) = self.start(pending) {
                return Some(Err(e));
            }
        }
    }
}

/// The non-blank lines of a document read whole, as records.
fn lines(text: &[u8], first_line: usize) -> Vec<Pending> {
    let mut out = Vec::new();
    for (k, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix(BOM).unwrap_or(line);
        if !is_blank(line) {
            out.push(Pending { line: first_line + k, bytes: line.to_vec() });
        }
    }
    out
}

/// Whether some line after the first is a complete JSON object on its own (the file is JSONL).
fn has_object_line(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').skip(1).any(|line| {
        let line = line.trim_ascii();
        line.starts_with(b"{") && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
    })
}

/// The elements of a top-level JSON array, each with its line, split without parsing them (each is
/// parsed, and its errors located, on its own), and whether the array was closed. An array cut short
/// keeps its unfinished last element, and anything after the closing bracket is one more element, so
/// no byte goes unaccounted for.
fn array_elements(text: &[u8], first_line: usize) -> (Vec<Pending>, bool) {
    let Some(open) = text.iter().position(|&b| b == b'[') else { return (Vec::new(), false) };
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut close = None;
    for (i, &b) in text.iter().enumerate().skip(open + 1) {
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
                    spans.push(s..i);
                }
                if b == b']' {
                    close = Some(i);
                    break;
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    match close {
        Some(end) => {
            let rest = end + 1;
            if let Some(s) = text[rest..].iter().position(|b| !b.is_ascii_whitespace()) {
                spans.push(rest + s..text.len());
            }
        }
        None => spans.extend(start.map(|s| s..text.len())),
    }
    let mut line = first_line;
    let mut counted = 0;
    let items = spans
        .into_iter()
        .map(|span| {
            line += text[counted..span.start].iter().filter(|&&b| b == b'\n').count();
            counted = span.start;
            Pending { line, bytes: text[span].trim_ascii_end().to_vec() }
        })
        .collect();
    (items, close.is_some())
}

/// A reader that adds the bytes it reads to a shared counter.
struct Counted {
    inner: Box<dyn Read + Send>,
    counter: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Compressed input is recognised by its first bytes, so it works on stdin too.
fn decompressed(mut input: Box<dyn Read + Send>) -> io::Result<Box<dyn BufRead + Send>> {
    let mut magic = Vec::with_capacity(6);
    input.by_ref().take(6).read_to_end(&mut magic)?;
    let unsupported = |what: &str| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}; trajkit reads plain, gzip or zstd UTF-8 text"))
    };
    let head = io::Cursor::new(magic.clone());
    Ok(match magic.as_slice() {
        [0x1f, 0x8b, ..] => {
            Box::new(BufReader::with_capacity(BUFFER, flate2::read::MultiGzDecoder::new(head.chain(input))))
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(BufReader::with_capacity(BUFFER, Zstd::new(head.chain(input)))),
        [0xfd, b'7', b'z', b'X', b'Z', 0] => return Err(unsupported("xz-compressed (decompress it with xz -d)")),
        [b'B', b'Z', b'h', ..] => return Err(unsupported("bzip2-compressed (decompress it with bunzip2)")),
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => {
            return Err(unsupported("UTF-16 text (convert it with iconv -f UTF-16 -t UTF-8)"))
        }
        _ => Box::new(BufReader::with_capacity(BUFFER, head.chain(input))),
    })
}

/// A zstd stream, frame after frame (`cat a.zst b.zst` is a valid zstd file), skipping the skippable
/// frames some tools write and checking each frame's checksum when it has one.
struct Zstd<R: Read> {
    source: BufReader<R>,
    frame: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: Read> Zstd<R> {
    fn new(source: R) -> Self {
        Zstd { source: BufReader::new(source), frame: ruzstd::decoding::FrameDecoder::new(), in_frame: false }
    }

    /// Start the next frame; false at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.frame.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    io::copy(&mut self.source.by_ref().take(u64::from(length)), &mut io::sink())?;
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))),
            }
        }
    }
}

impl<R: Read> Read for Zstd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            while self.frame.can_collect() < buf.len() && !self.frame.is_finished() {
                let wanted = buf.len() - self.frame.can_collect();
                self.frame
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}")))?;
            }
            let n = self.frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let (stored, computed) = (self.frame.get_checksum_from_data(), self.frame.get_calculated_checksum());
            if let (Some(stored), Some(computed)) = (stored, computed) {
                if stored != computed {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "zstd: checksum mismatch (corrupt file)"));
                }
            }
            self.in_frame = false;
        }
    }
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
        // Files joined with cat: a BOM at the start of a later line, and a line that is only a BOM.
        let got = records("\u{feff}\n{\"a\":1}\n\u{feff}{\"b\":2}\n");
        assert_eq!(got, vec![(2, "{\"a\":1}".into()), (3, "{\"b\":2}".into())]);
    }

    #[test]
    fn array_cut_short_or_followed_by_more_keeps_every_byte() {
        let got = records("[\n{\"a\": 1},\n{\"b\": [2,\n");
        assert_eq!(got, vec![(2, "{\"a\": 1}".into()), (3, "{\"b\": [2,".into())]);
        let got = records("[{\"a\": 1}]\n[{\"b\": 2}]\n");
        assert_eq!(got, vec![(1, "[{\"a\": 1}]".into()), (2, "[{\"b\": 2}]".into())], "two lines: JSONL");
        let got = records("[{\"a\": 1}, {\"b\": 2}]");
        assert_eq!(got, vec![(1, "{\"a\": 1}".into()), (1, "{\"b\": 2}".into())], "one line: an array file");
        let got = records("[\n{\"a\": 1}\n] trailing\n");
        assert_eq!(got, vec![(2, "{\"a\": 1}".into()), (3, "trailing".into())]);
    }

    #[test]
    fn jsonl_whose_first_line_is_cut_short_stays_jsonl() {
        let got = records("{\"a\": \n{\"b\": 2}\n\n{\"c\": 3}\n");
        assert_eq!(got, vec![(1, "{\"a\": ".into()), (2, "{\"b\": 2}".into()), (4, "{\"c\": 3}".into())]);
        let got = records("{\n  \"a\": \n}\n");
        assert_eq!(got, vec![(1, "{\n  \"a\": \n}".into())], "a broken pretty object is one record");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_a_record_that_keeps_them() {
        let input = b"{\"a\": 1}\n{\"b\": \"\xff\"}\n".to_vec();
        let got: Vec<RawRecord> =
            RecordReader::from_reader("t", Box::new(io::Cursor::new(input)), 0).map(Result::unwrap).collect();
        assert_eq!(got[1].text, Err("invalid UTF-8 at byte 8 of the record".into()));
        assert_eq!(got[1].original(), "{\"b\": \"\u{fffd}\"}");
        assert_eq!((got[1].location.line, got[1].index), (2, 1));
    }

    fn decoded(bytes: Vec<u8>) -> io::Result<String> {
        let mut text = String::new();
        decompressed(Box::new(io::Cursor::new(bytes)))?.read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn gzip_members_and_zstd_frames_are_read_in_turn() {
        use std::io::Write;
        let gz = |text: &str| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(decoded([gz("a\n"), gz("b\n")].concat()).unwrap(), "a\nb\n");
        let zst = |text: &str| {
            ruzstd::encoding::compress_to_vec(text.as_bytes(), ruzstd::encoding::CompressionLevel::Fastest)
        };
        // A skippable frame (magic 0x184D2A50, length 3) between two data frames.
        let skippable = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        assert_eq!(decoded([zst("a\n"), skippable, zst("b\n")].concat()).unwrap(), "a\nb\n");
        assert_eq!(decoded(b"plain".to_vec()).unwrap(), "plain");
        assert_eq!(decoded(Vec::new()).unwrap(), "");
        let err = decoded(b"\xff\xfe{\0".to_vec()).unwrap_err();
        assert!(err.to_string().contains("UTF-16"), "{err}");
    }
}
