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
        let key = key_path(&table_at(self.text, span.start), &unknown);
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

/// The key path of the table in force at `offset` (`feed`, `source[2]`), for
/// errors toml reports without one.
fn table_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut current = String::new();
    let mut array_counts: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    for line in text[..offset].lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let n = array_counts.entry(name.trim().to_string()).or_insert(0);
            current = format!("{}[{}]", name.trim(), n);
            *n += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
        }
    }
    current
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
