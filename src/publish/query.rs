//! Feeds by query: `/feed.atom?tag=a&tag=b&not-tag=c&source=x&not-source=y`
//! (and `.rss`, `.json`). This file owns the query language — which
//! parameters exist, their limits, their canonical order — and renders the
//! merged feed narrowed to the stories a query selects. The server caches
//! each rendering under its canonical key (`SiteHandle::keep`, with a bound
//! on how many distinct queries are kept) until items change.
//!
//! Meaning: every `tag` lists a tag of which a story must carry at least one
//! (`tag=a&tag=b`: about a or b); no member may carry a `not-tag`; at least
//! one member must come from a `source`; no member may come from a
//! `not-source` (a partner that excludes itself gets no story it reported
//! too). Kinds combine with "and".

use super::entries::{Entry, feed_doc, story_entry};
use super::{Format, Rendered};
use crate::config::Config;
use crate::store::{Store, StoryFilter};

/// The longest query string read; longer ones are refused before parsing.
const MAX_QUERY_BYTES: usize = 1024;
/// Values over all parameters of one query.
const MAX_VALUES: usize = 20;

/// The parameters a query may name, in canonical order.
const PARAMETERS: [&str; 4] = ["tag", "not-tag", "source", "not-source"];

/// A parsed feed query in canonical form: every list sorted, without
/// duplicates, so that equal queries share one cache entry and one self link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery {
    /// The format the query's path asks for.
    format: Format,
    /// Values by parameter, in the order of `PARAMETERS`.
    values: [Vec<String>; 4],
}

/// `path` with `query` as a feed query: `None` when `path` is not a merged
/// feed (`/feed.<ext>`) or the query is empty (then the merged feed is
/// served as is), `Some(Err(why))` for a query we don't understand.
pub fn feed_query(path: &str, query: &str) -> Option<Result<FeedQuery, String>> {
    let format = Format::from_extension(path.strip_prefix("/feed.")?)?;
    if query.is_empty() {
        return None;
    }
    Some(parse(format, query))
}

fn parse(format: Format, query: &str) -> Result<FeedQuery, String> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!("the query is longer than {MAX_QUERY_BYTES} bytes"));
    }
    let mut values: [Vec<String>; 4] = Default::default();
    let mut count = 0;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let Some(slot) = PARAMETERS.iter().position(|p| *p == key) else {
            return Err(format!(
                "unknown parameter `{}`; a feed query takes {}",
                truncated(&key),
                PARAMETERS.join(", ")
            ));
        };
        let valid = if PARAMETERS[slot].ends_with("tag") {
            crate::filter::valid_tag(&value)
        } else {
            crate::config::valid_source_id(&value)
        };
        if !valid {
            return Err(format!(
                "`{}` is not a {} (lower-case letters, digits and dashes)",
                truncated(&value),
                PARAMETERS[slot].trim_start_matches("not-")
            ));
        }
        count += 1;
        if count > MAX_VALUES {
            return Err(format!("a feed query takes at most {MAX_VALUES} values"));
        }
        values[slot].push(value.into_owned());
    }
    for list in &mut values {
        list.sort();
        list.dedup();
    }
    if values.iter().all(Vec::is_empty) {
        return Err(format!("a feed query takes {}", PARAMETERS.join(", ")));
    }
    Ok(FeedQuery { format, values })
}

/// A value for an error message: partners may send anything, readers see at most a line.
fn truncated(s: &str) -> String {
    crate::text::truncate_chars(s, 60)
}

impl FeedQuery {
    /// The query string in canonical form (`tag=a&tag=b&not-source=x`).
    pub fn canonical(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, list) in PARAMETERS.iter().zip(&self.values) {
            for v in list {
                out.append_pair(name, v);
            }
        }
        out.finish()
    }

    /// The served path with the canonical query: the cache key and, after
    /// the public base URL, the self link.
    pub fn path(&self) -> String {
        format!("{}?{}", self.format.path("/feed"), self.canonical())
    }

    fn filter(&self) -> StoryFilter<'_> {
        let [tags, not_tags, sources, not_sources] = &self.values;
        StoryFilter {
            tags,
            not_tags,
            sources,
            not_sources,
        }
    }

    /// `Err` names a tag or source this config does not know (a typo in a
    /// partner's URL should say so, not give an empty feed).
    fn check(&self, config: &Config) -> Result<(), String> {
        let [tags, not_tags, sources, not_sources] = &self.values;
        let known_tags = config.tags();
        if let Some(t) = tags
            .iter()
            .chain(not_tags)
            .find(|t| !known_tags.contains(t))
        {
            return Err(format!(
                "unknown tag `{t}`; tags: {}",
                known_tags.join(", ")
            ));
        }
        if let Some(s) = sources
            .iter()
            .chain(not_sources)
            .find(|s| !config.source(s).is_some_and(|s| s.enabled))
        {
            return Err(format!("unknown source `{s}`"));
        }
        Ok(())
    }

    /// "Thema a oder b, ohne c, von X, ohne Y": the feed's title after the site's.
    fn describe(&self, config: &Config) -> String {
        let [tags, not_tags, sources, not_sources] = &self.values;
        let name = |id: &String| config.source(id).map_or(id.clone(), |s| s.name.clone());
        let names = |ids: &[String]| ids.iter().map(name).collect::<Vec<_>>().join(" oder ");
        let mut parts = Vec::new();
        if !tags.is_empty() {
            parts.push(format!("Thema {}", tags.join(" oder ")));
        }
        if !not_tags.is_empty() {
            parts.push(format!("ohne Thema {}", not_tags.join(", ")));
        }
        if !sources.is_empty() {
            parts.push(format!("von {}", names(sources)));
        }
        if !not_sources.is_empty() {
            parts.push(format!(
                "ohne {}",
                not_sources.iter().map(name).collect::<Vec<_>>().join(", ")
            ));
        }
        parts.join(", ")
    }

    /// The feed this query selects (blocking: reads the database); `Err`
    /// for a tag or source the config does not know.
    pub(crate) fn render(
        &self,
        config: &Config,
        store: &Store,
    ) -> crate::store::Result<Result<Rendered, String>> {
        if let Err(why) = self.check(config) {
            return Ok(Err(why));
        }
        let created = store.created_at()?;
        let entries: Vec<Entry> = store
            .filtered_stories(&self.filter(), config.feed.items)?
            .iter()
            .map(|s| story_entry(s, config))
            .collect();
        let canonical = self.canonical();
        let id = crate::model::stable_uuid(&["query-feed", &config.feed.id, &canonical]);
        let mut doc = feed_doc(
            config,
            id,
            format!("{} – {}", config.feed.title, self.describe(config)),
            "/feed",
            entries,
            created,
        );
        doc.self_query = format!("?{canonical}");
        Ok(Ok(Rendered::on_request(
            self.format.content_type(),
            self.format.render(&doc),
            doc.updated,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_canonical() {
        let a = feed_query("/feed.atom", "source=x&tag=b&tag=a&tag=b&not-tag=c")
            .unwrap()
            .unwrap();
        assert_eq!(a.canonical(), "tag=a&tag=b&not-tag=c&source=x");
        assert_eq!(a.path(), "/feed.atom?tag=a&tag=b&not-tag=c&source=x");
        let b = feed_query("/feed.atom", "tag=a&not-tag=c&tag=b&source=x")
            .unwrap()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            feed_query("/feed.json", "not-source=y")
                .unwrap()
                .unwrap()
                .path(),
            "/feed.json?not-source=y"
        );
    }

    #[test]
    fn only_merged_feed_paths_take_queries() {
        assert!(feed_query("/feed.atom", "").is_none());
        assert!(feed_query("/", "tag=a").is_none());
        assert!(feed_query("/tags/a.atom", "tag=a").is_none());
        assert!(feed_query("/feed.xml", "tag=a").is_none());
    }

    #[test]
    fn bad_queries_say_why() {
        for (query, says) in [
            ("tags=a", "unknown parameter `tags`"),
            ("tag=a&utm_source=x", "unknown parameter `utm_source`"),
            ("tag=", "is not a tag"),
            ("source=A%20B", "`A B` is not a source"),
            ("tag=%3Cscript%3E", "is not a tag"),
            ("&", "a feed query takes"),
        ] {
            let why = feed_query("/feed.rss", query).unwrap().unwrap_err();
            assert!(why.contains(says), "{query}: {why}");
        }
        let many = vec!["tag=a"; MAX_VALUES + 1].join("&");
        assert!(feed_query("/feed.atom", &many).unwrap().is_err());
        let long = format!("tag={}", "a".repeat(MAX_QUERY_BYTES));
        assert!(feed_query("/feed.atom", &long).unwrap().is_err());
    }
}
