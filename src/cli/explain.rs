//! `revierfeed explain ITEM_OR_URL`: which story a stored item is in and why
//! — its facts, and every candidate of another source with similarity,
//! shared terms and what vetoed a merge (as the index stands now).

use std::fmt::Write;

use super::Error;
use crate::config::Config;
use crate::store::Store;
use crate::text::truncate_chars;

pub(super) fn explain(config: &Config, key: &str) -> Result<String, Error> {
    let store = Store::open(&config.database_path()).map_err(anyhow::Error::from)?;
    store.set_story_rules(config.stories.clone());
    let Some(e) = store.explain(key).map_err(anyhow::Error::from)? else {
        return Err(Error::Partner(format!(
            "no stored item has the entry id or link `{key}`"
        )));
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} [{}]", e.title, e.source);
    if let Some(why) = &e.hidden {
        let _ = writeln!(
            out,
            "  hidden by the rules ({why}): joins no story by its text"
        );
    }
    let _ = writeln!(
        out,
        "story {} with {} member(s):",
        e.story_uid,
        e.members.len()
    );
    for (source, title) in &e.members {
        let _ = writeln!(out, "  - [{source}] {}", truncate_chars(title, 90));
    }
    let f = &e.facts;
    let _ = writeln!(out, "facts:");
    let dates: Vec<String> = f.dates.iter().map(|(d, m)| format!("{d}.{m}.")).collect();
    let quantities: Vec<String> = f
        .quantities
        .iter()
        .map(|(u, v)| format!("{v} {u}"))
        .collect();
    let _ = writeln!(out, "  dates: {}", dates.join(", "));
    let _ = writeln!(out, "  quantities: {}", quantities.join(", "));
    let _ = writeln!(
        out,
        "  places: {} (about: {})",
        f.places.join(", "),
        f.key_places.join(", ")
    );
    let _ = writeln!(out, "  name: {}", f.key_name.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "  headline numbers: {}", f.title_numbers.join(", "));
    let _ = writeln!(out, "terms: {}", e.terms.join(" "));
    if e.candidates.is_empty() {
        let _ = writeln!(
            out,
            "no item of another source shares a specific term within the window"
        );
    }
    for c in &e.candidates {
        let _ = writeln!(
            out,
            "\n  [{}] {}\n    story {}, similarity {:.3} (needs {:.3}): {}\n    shared: {}",
            c.source,
            truncate_chars(&c.title, 80),
            c.story_uid,
            c.similarity,
            c.required,
            c.verdict,
            c.shared_terms.join(" ")
        );
    }
    Ok(out)
}
