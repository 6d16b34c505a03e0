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
/// in) and the id of its entry (the first name, folded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) kind: &'static str,
    pub(super) id: &'static str,
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
        for k in keys.into_iter().filter(|k| !k.is_empty()) {
            m.entry(k).or_insert(Place { kind, id });
        }
    }
    m
});

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
    let town = |w: &str| lookup(w).filter(|p| p.kind == "ort");
    if let Some(stem) = word.strip_suffix("er") {
        if stem.len() >= 3 {
            return town(stem).or_else(|| town(&format!("{stem}e")));
        }
    }
    word.strip_suffix('s')
        .filter(|s| s.len() >= 4)
        .and_then(town)
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
        // Every entry parses: several hundred names, none longer than MAX_WORDS.
        assert!(NAMES.len() > 300, "{}", NAMES.len());
        assert!(NAMES.keys().all(|k| k.split(' ').count() <= MAX_WORDS));
    }
}
