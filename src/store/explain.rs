//! Why an item is in its story: the item found by its entry id or link, its
//! story's members, its discriminating facts, and every candidate the story
//! index weighs it against now — similarity, the terms they share and what
//! vetoed a merge. Read-only; the figures are those of today's index.

use rusqlite::OptionalExtension;

use super::ingest::signature_from;
use super::story_index;
use super::{Result, Store, from_ts};
use crate::story::{Candidate, Facts, Signature, Verdict, story_day};

/// One candidate, as `explain` shows it.
#[derive(Debug, Clone)]
pub struct ExplainedCandidate {
    pub source: String,
    pub title: String,
    pub story_uid: String,
    pub similarity: f64,
    /// The similarity the pair needed (more for items days apart).
    pub required: f64,
    pub shared_terms: Vec<String>,
    /// "would join", or why not.
    pub verdict: String,
}

/// What `revierfeed explain` prints.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub source: String,
    pub title: String,
    pub hidden: Option<String>,
    pub story_uid: String,
    /// (source, title) of the story's members, earliest first.
    pub members: Vec<(String, String)>,
    pub facts: Facts,
    pub terms: Vec<String>,
    /// The candidates of other sources, most similar first.
    pub candidates: Vec<ExplainedCandidate>,
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Admits => "could join".into(),
        Verdict::SameSource => "same source".into(),
        Verdict::TakenByBatch => "story taken by the same poll".into(),
        Verdict::TooFewSharedTerms => "too few shared terms".into(),
        Verdict::BelowSimilarity => "similarity too low".into(),
        Verdict::Vetoed(veto) => format!("vetoed: {veto}"),
        Verdict::StoryRefuses(why) => format!("story refuses: {why}"),
    }
}

impl Store {
    /// Explains the item whose entry id, link or canonical link is `key`; `None` when no item has it.
    pub fn explain(&self, key: &str) -> Result<Option<Explanation>> {
        let link_key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        self.with(|c| {
            type Row = (i64, String, i64, i64, String, String, Option<String>, Option<String>, Option<String>);
            let row: Option<Row> = c
                .query_row(
                    "SELECT id, source_id, story_id, published, title, text, summary_html, content_html, hidden \
                     FROM items WHERE uid = ?1 OR link = ?1 OR link_key = ?2 ORDER BY id LIMIT 1",
                    [key, link_key],
                    |r| {
                        Ok((
                            r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?,
                            r.get(6)?, r.get(7)?, r.get(8)?,
                        ))
                    },
                )
                .optional()?;
            let Some((id, source, story, published, title, text, summary, content, hidden)) = row
            else {
                return Ok(None);
            };
            let sig = signature_from(&title, &text, summary.as_deref(), content.as_deref());
            let story_uid: String =
                c.query_row("SELECT uid FROM stories WHERE id = ?1", [story], |r| r.get(0))?;
            let members = {
                let mut stmt = c.prepare(
                    "SELECT source_id, title FROM items WHERE story_id = ?1 ORDER BY published, id",
                )?;
                stmt.query_map([story], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<(String, String)>>>()?
            };
            let mut state = self.story_state();
            let rules = state.rules.clone();
            let mut index = state.take_fresh_index(c)?;
            let day = story_day(from_ts(published));
            // An old item's days and story, when the index holds recent days only.
            story_index::reach(c, &mut index, day, rules.window_days)?;
            if hidden.is_none() {
                story_index::load_story(c, &mut index, story)?;
            }
            // Weighed as when it arrived: without itself in the index.
            index.remove(id);
            let (_, found) = index.candidates(&source, day, &sig, &rules);
            if hidden.is_none() {
                index.insert(id, &source, story, day, &sig);
            }
            state.put_index(c, index)?;
            drop(state);
            let mut candidates = Vec::new();
            let mut other = c.prepare(
                "SELECT i.source_id, i.title, i.story_sig, s.uid FROM items i JOIN stories s ON s.id = i.story_id WHERE i.id = ?1",
            )?;
            for Candidate {
                item,
                similarity,
                required,
                verdict,
                ..
            } in found.into_iter().filter(|f| f.item != id && f.verdict != Verdict::SameSource).take(12)
            {
                let (source, title, stored, story_uid): (String, String, Option<String>, String) =
                    other.query_row([item], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                let theirs = stored.as_deref().and_then(Signature::decode).unwrap_or_default();
                let shared_terms = sig
                    .terms
                    .iter()
                    .filter(|t| theirs.has_term(t))
                    .map(str::to_string)
                    .collect();
                candidates.push(ExplainedCandidate {
                    source,
                    title,
                    story_uid,
                    similarity,
                    required,
                    shared_terms,
                    verdict: verdict_text(&verdict),
                });
            }
            Ok(Some(Explanation {
                source,
                title,
                hidden,
                story_uid,
                members,
                facts: sig.facts.clone(),
                terms: sig.terms.to_vec(),
                candidates,
            }))
        })
    }
}
