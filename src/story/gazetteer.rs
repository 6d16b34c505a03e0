//! The Lausitz gazetteer (`gazetteer.tsv`, its source named there): names of
//! towns, districts, lakes, rivers, power stations and mines, German and
//! Sorbian, folded like every word of the analysis, so that two look-alike
//! reports naming different places in the same role can be told apart.

use std::sync::LazyLock;

use super::Map;
use super::fold::folded;

/// The data file, compiled in: the gazetteer is part of the matching rules.
const DATA: &str = include_str!("gazetteer.tsv");

/// Longest name, in words ("Alt Zauche-Wußwerk" is four).
pub(super) const MAX_WORDS: usize = 5;

/// A place the gazetteer knows: its kind (the role two places are compared
/// in), the id of its entry (the first name, folded), and both as a
/// signature writes them, `kind:id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) kind: &'static str,
    pub(super) id: &'static str,
    /// `kind:id`, made once per entry: every analysed item naming a place
    /// writes it, and formatting it there was a percent of the analysis.
    pub(super) key: &'static str,
}

/// Folded names (words joined by one space) → place.
static NAMES: LazyLock<Map<String, Place>> = LazyLock::new(|| {
    let mut m: Map<String, Place> = Map::default();
    for line in DATA.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((kind, names)) = line.split_once('\t') else {
            continue;
        };
        let kind: &'static str = match kind {
            "ort" => "ort",
            "kreis" => "kreis",
            "see" => "see",
            "fluss" => "fluss",
            "kraftwerk" => "kraftwerk",
            "tagebau" => "tagebau",
            _ => continue,
        };
        let keys: Vec<String> = names.split('|').map(key).collect();
        // Leaked once per entry at start-up (a few hundred short strings), so
        // places are Copy and signatures refer to them without allocating.
        // Ids carry no spaces: signatures are stored space-separated.
        let id: &'static str = Box::leak(keys[0].replace(' ', "_").into_boxed_str());
        let key: &'static str = Box::leak(format!("{kind}:{id}").into_boxed_str());
        for k in keys.into_iter().filter(|k| !k.is_empty()) {
            m.entry(k).or_insert(Place { kind, id, key });
        }
    }
    m
});

/// Per first word of a name, the most words a name starting with it has:
/// the analysis looks up a run of capitalised words only as far as a name
/// could reach, and most words start none (one lookup instead of five).
static FIRST_WORDS: LazyLock<Map<&'static str, usize>> = LazyLock::new(|| {
    let mut m: Map<&'static str, usize> = Map::default();
    for k in NAMES.keys() {
        let first = k.split(' ').next().unwrap_or("");
        let len = k.split(' ').count();
        let e = m.entry(first).or_default();
        *e = (*e).max(len);
    }
    m
});

/// Adjectives and genitives of one-word town names ("cottbuser",
/// "gubener", "forster", "gubens") → the town, made once from the names
/// so that a word is one lookup.
static DERIVED: LazyLock<Map<String, Place>> = LazyLock::new(|| {
    let mut m: Map<String, Place> = Map::default();
    let towns = || {
        NAMES
            .iter()
            .filter(|(k, p)| p.kind == "ort" && !k.contains(' '))
    };
    for (k, p) in towns().filter(|(k, _)| k.len() >= 3) {
        m.entry(format!("{k}er")).or_insert(*p);
    }
    // "Gubener" from "Guben", "Forster" from "Forst"; from "Jessene" too
    // ("Jessener"), when no town is called the shorter name.
    for (k, p) in towns() {
        if let Some(stem) = k.strip_suffix('e').filter(|s| s.len() >= 3) {
            m.entry(format!("{stem}er")).or_insert(*p);
        }
    }
    for (k, p) in towns().filter(|(k, _)| k.len() >= 4) {
        m.entry(format!("{k}s")).or_insert(*p);
    }
    m
});

/// Per first byte of a first word, a bit for each length (63 for 63 and
/// more) such a word has: most capitalised words of a text start no name,
/// and this tells most of them without hashing the word.
static FIRST_WORD_LENGTHS: LazyLock<[u64; 256]> = LazyLock::new(|| {
    let mut bits = [0u64; 256];
    for first in FIRST_WORDS.keys() {
        if let Some(&b) = first.as_bytes().first() {
            bits[usize::from(b)] |= 1 << first.len().min(63);
        }
    }
    bits
});

/// The most words a name starting with this folded word has; 0 for none.
pub(super) fn name_words_from(first: &str) -> usize {
    let Some(&b) = first.as_bytes().first() else {
        return FIRST_WORDS.get(first).copied().unwrap_or(0);
    };
    if FIRST_WORD_LENGTHS[usize::from(b)] & (1 << first.len().min(63)) == 0 {
        return 0;
    }
    FIRST_WORDS.get(first).copied().unwrap_or(0)
}

/// A name as the analysis sees it: folded words, split like the tokenizer
/// splits (spaces, hyphens, slashes, brackets), joined by one space.
fn key(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(folded)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The place named by these folded words exactly.
pub(super) fn lookup(words: &str) -> Option<Place> {
    NAMES.get(words).copied()
}

/// The place an adjective or genitive of a one-word town name stands for:
/// "Cottbuser", "Gubener", "Forster" (→ Forst), "Gubens".
pub(super) fn lookup_derived(word: &str) -> Option<Place> {
    // Every derived form ends in "er" or "s" (see `DERIVED`): most words are
    // told without hashing them.
    if !(word.ends_with("er") || word.ends_with('s')) {
        return None;
    }
    DERIVED.get(word).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_and_sorbian_names_are_one_place() {
        let cottbus = lookup("cottbus").unwrap();
        assert_eq!(lookup("chosebuz"), Some(cottbus));
        assert_eq!(lookup("wojerecy"), lookup("hoyerswerda"));
        assert_eq!(lookup("spree neisse").unwrap().kind, "kreis");
        assert_eq!(lookup("spree").unwrap().kind, "fluss");
        assert_eq!(lookup("cottbuser ostsee").unwrap().kind, "see");
        assert_eq!(lookup_derived("cottbuser"), Some(cottbus));
        assert_eq!(lookup_derived("gubener"), lookup("guben"));
        assert_eq!(lookup_derived("gorlitzer"), lookup("gorlitz"));
        assert_eq!(lookup_derived("lehrer"), None);
        assert_eq!(lookup_derived("forster"), lookup("forst"));
        assert_eq!(lookup_derived("gubens"), lookup("guben"));
        assert_eq!(name_words_from("cottbuser"), 2);
        assert_eq!(name_words_from("lehrer"), 0);
        // The quick filters answer as the tables do, for every name and
        // for words that are none.
        for k in FIRST_WORDS.keys() {
            assert_eq!(name_words_from(k), FIRST_WORDS[k], "{k}");
        }
        for k in DERIVED.keys() {
            assert_eq!(lookup_derived(k), Some(DERIVED[k]), "{k}");
        }
        assert_eq!(cottbus.key, format!("{}:{}", cottbus.kind, cottbus.id));
        assert_eq!(name_words_from(""), 0);
        assert_eq!(name_words_from("cottbusx"), 0);
        // Every entry parses: several hundred names, none longer than MAX_WORDS.
        assert!(NAMES.len() > 300, "{}", NAMES.len());
        assert!(NAMES.keys().all(|k| k.split(' ').count() <= MAX_WORDS));
    }
}
