//! Config errors located by file, line, column and key, and the hints they
//! carry ("did you mean"), so an operator can fix a half-edited file without
//! guessing.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file, located precisely enough to jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted key path such as `source[2].schedule`, or the table for syntax errors.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.key,
            self.message
        )
    }
}

/// All problems found in one file; a config is accepted only when this is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The file could not be read at all.
pub(super) fn unreadable(file: &Path, error: &std::io::Error) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        key: "(file)".into(),
        message: format!("cannot read: {error}"),
    }])
}

/// Turns byte spans of one config text into located errors.
pub(super) struct Locator<'a> {
    pub text: &'a str,
    pub file: &'a Path,
}

impl Locator<'_> {
    pub fn error(&self, span: Range<usize>, key: &str, message: &str) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// A toml syntax or shape error, with the key it concerns and a suggestion
    /// for a misspelt key.
    pub fn toml_error(&self, error: &toml::de::Error) -> ConfigError {
        let span = error.span().unwrap_or(0..0);
        let mut message = error.message().trim().to_string();
        let unknown = unknown_field(&message).unwrap_or_default().to_string();
        if let Some(hint) = suggest_for_unknown_field(&message) {
            message.push_str(&format!("; did you mean `{hint}`?"));
        }
        let table = table_at(self.text, span.start);
        // An unknown table header names itself already (`[admin]` is `admin`).
        let key = if table == unknown || table.ends_with(&format!(".{unknown}")) {
            table
        } else {
            key_path(&table, &unknown)
        };
        self.error(span, &key, &message)
    }
}

/// `"a", "b" or "c"`, for messages that list the accepted words.
pub(super) fn one_of<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = words.into_iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// The key path of the table in force at `offset` (`feed`, `source[2]`,
/// `source[2].selectors`, `source[2].rule[0]`), for errors toml reports
/// without one. Sub-tables of an array entry belong to its latest entry.
/// When `offset` is on a table header, the path that header names (the
/// table being opened is what the error is about, not the one before it).
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    for line in text[..line_start].lines() {
        if let Some((name, is_array)) = header(line) {
            current = resolve(name, is_array, &mut counts);
        }
    }
    let line = text[line_start..].lines().next().unwrap_or("");
    let trimmed = line.trim_start();
    if trimmed.starts_with('[') {
        // A header, maybe unfinished: the path of the name written so far,
        // without the entry number an array header would add.
        let name = trimmed.trim_start_matches('[');
        let name = name.split([']', '#']).next().unwrap_or("").trim();
        if !name.is_empty() {
            return resolve(name, false, &mut counts);
        }
    }
    current
}

/// `(name, is_array)` of a complete table header line.
fn header(line: &str) -> Option<(&str, bool)> {
    let line = line.split('#').next().unwrap_or("").trim();
    if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
        Some((name.trim(), true))
    } else {
        line.strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .map(|name| (name.trim(), false))
    }
}

/// The path of the table a header names: each prefix that is an array of
/// tables means its latest entry; an array header adds an entry.
fn resolve(
    name: &str,
    is_array: bool,
    counts: &mut std::collections::HashMap<String, usize>,
) -> String {
    let parts: Vec<&str> = name
        .split('.')
        .map(|p| p.trim().trim_matches('"'))
        .collect();
    let mut path = String::new();
    for (i, part) in parts.iter().enumerate() {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(part);
        if i + 1 == parts.len() && is_array {
            let n = counts.entry(path.clone()).or_insert(0);
            path = format!("{path}[{n}]");
            *n += 1;
        } else if let Some(n) = counts.get(&path) {
            path = format!("{path}[{}]", n.saturating_sub(1));
        }
    }
    path
}

/// Whether toml refused a key the config does not have.
pub(super) fn is_unknown_field(error: &toml::de::Error) -> bool {
    unknown_field(error.message().trim()).is_some()
}

/// `text` with the entry at `offset` replaced by spaces (newlines kept, so
/// every other span stays where it was): a `key = value` with all lines of
/// its value, or a whole table from its header to the next one.
pub(super) fn blank_entry(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let first = text[start..].lines().next().unwrap_or("");
    let end = if first.trim_start().starts_with('[') {
        // Up to the next header line.
        let mut at = start + first.len();
        loop {
            let Some(nl) = text[at..].find('\n') else {
                break text.len();
            };
            at += nl + 1;
            if text[at..].trim_start().starts_with('[') {
                break at;
            }
        }
    } else {
        value_end(text, start)
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.extend(
        text[start..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' }),
    );
    out.push_str(&text[end..]);
    Some(out)
}

/// End of the `key = value` line at `start`, with the further lines of a
/// multi-line array, inline table or string.
fn value_end(text: &str, start: usize) -> usize {
    const QUOTES: [&[u8]; 4] = [b"\"\"\"", b"'''", b"\"", b"'"];
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = start;
    let mut in_string: Option<&[u8]> = None;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if let Some(q) = in_string {
            if (q == b"\"" || q == b"\"\"\"") && rest.starts_with(b"\\") {
                i += 2;
                continue;
            }
            if rest.starts_with(q) {
                i += q.len();
                in_string = None;
            } else {
                i += 1;
            }
            continue;
        }
        if let Some(q) = QUOTES.iter().find(|q| rest.starts_with(q)) {
            in_string = Some(q);
            i += q.len();
            continue;
        }
        match bytes[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b'#' => {
                // A comment runs to the end of its line.
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                continue;
            }
            b'\n' if depth <= 0 => return i,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// Joins a table path and a key for messages.
fn key_path(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "(top level)".into(),
        (true, false) => key.into(),
        (false, true) => table.into(),
        (false, false) => format!("{table}.{key}"),
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")?
        .split_once('`')
        .map(|(f, _)| f)
}

/// toml reports "unknown field `titel`, expected one of `title`, ..."; pick the closest.
fn suggest_for_unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2);
    candidates
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}
