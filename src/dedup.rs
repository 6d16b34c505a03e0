//! Item identity: deciding whether an item seen now is one we already have.
//!
//! Within a source an item is its guid, else its canonical link, else a hash
//! of title and date. Guids are only trusted while they behave like ids:
//! when two items of one document share a guid but differ in link (a CMS
//! bug), the link decides for them, and the source is remembered as having
//! unreliable guids (FreshRSS degrades its guid rule the same way). Links are
//! only trusted while they are unique in the document (some feeds link every
//! item to the same page). The rules live here; `store` supplies the lookups.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use crate::model::Item;

/// An item with what this document lets us trust about it. It borrows
/// the item: the store keeps a group's items for as long as the group may
/// be stored again, and copying them cost the writer ~2 % of a cycle.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub item: &'a Item,
    /// The guid, if it identifies this item in this document.
    pub usable_guid: Option<String>,
    /// The link key, if it identifies this item in this document.
    pub usable_link: Option<String>,
    /// Hash of title and publication date: the identity of last resort.
    pub fingerprint: String,
    /// Where the item stood among the document's items (repeats are left
    /// out of the batch): what was computed per item before it lines up.
    pub position: usize,
}

impl Prepared<'_> {
    /// The string an item's permanent id is derived from.
    pub fn identity(&self) -> String {
        if let Some(g) = &self.usable_guid {
            format!("guid:{g}")
        } else if let Some(l) = &self.usable_link {
            format!("link:{l}")
        } else {
            format!("fp:{}", self.fingerprint)
        }
    }
}

/// What one document says about the trustworthiness of ids.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    pub items: Vec<Prepared<'a>>,
    /// Every guid present in the document (used to tell a changed guid from a reused link).
    pub guids_in_document: HashSet<String>,
    /// Two different items shared a guid: the source's guids are not ids.
    pub guid_collision: bool,
    /// Exact repeats of an item inside the document, dropped.
    pub repeats: usize,
}

/// Title and date hash, for items with neither guid nor link.
pub fn fingerprint(item: &Item) -> String {
    let mut h = Sha256::new();
    h.update(item.title.to_lowercase().as_bytes());
    h.update([0]);
    if let Some(p) = item.published {
        h.update(p.format("%Y-%m-%d").to_string().as_bytes());
    } else {
        h.update(item.text.chars().take(200).collect::<String>().as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// Applies the in-document rules to one poll's items (the store uses
/// [`prepare_fingerprinted`]).
#[cfg(test)]
pub fn prepare(items: &[Item], guids_unreliable: bool) -> Batch<'_> {
    let fingerprints = items.iter().map(fingerprint).collect();
    prepare_fingerprinted(items, fingerprints, guids_unreliable)
}

/// [`prepare`] with each item's [`fingerprint`] computed already (in the
/// items' order): the store computes them before taking the writer.
pub fn prepare_fingerprinted(
    items: &[Item],
    fingerprints: Vec<String>,
    guids_unreliable: bool,
) -> Batch<'_> {
    debug_assert_eq!(items.len(), fingerprints.len());
    let mut links_per_guid: HashMap<&str, HashSet<Option<&str>>> = HashMap::new();
    let mut link_count: HashMap<&str, usize> = HashMap::new();
    for it in items {
        if let Some(g) = it.guid.as_deref() {
            links_per_guid
                .entry(g)
                .or_default()
                .insert(it.link_key.as_deref());
        }
        if let Some(l) = it.link_key.as_deref() {
            *link_count.entry(l).or_default() += 1;
        }
    }
    let colliding: HashSet<String> = links_per_guid
        .iter()
        .filter(|(_, links)| links.len() > 1)
        .map(|(g, _)| g.to_string())
        .collect();
    let shared_links: HashSet<String> = link_count
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(l, _)| l.to_string())
        .collect();
    let guids_in_document: HashSet<String> = items.iter().filter_map(|i| i.guid.clone()).collect();

    let mut batch = Batch {
        guid_collision: !colliding.is_empty(),
        guids_in_document,
        ..Batch::default()
    };
    let mut seen = HashSet::new();
    for (position, (item, fingerprint)) in items.iter().zip(fingerprints).enumerate() {
        let usable_guid = item
            .guid
            .clone()
            .filter(|g| !guids_unreliable && !colliding.contains(g));
        let link_shared = item
            .link_key
            .as_ref()
            .is_some_and(|l| shared_links.contains(l));
        // A link shared by several items still identifies them if their guids tell them apart.
        let usable_link = item.link_key.clone().filter(|_| !link_shared);
        let prepared = Prepared {
            item,
            usable_guid,
            usable_link,
            fingerprint,
            position,
        };
        if !seen.insert(prepared.identity()) {
            batch.repeats += 1;
            continue;
        }
        batch.items.push(prepared);
    }
    batch
}

/// A stored item that might be the same as an incoming one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub row: i64,
    pub guid: Option<String>,
    pub link_key: Option<String>,
}

/// Lookups over one source's stored items.
pub trait Existing {
    type Error;
    fn by_guid(&mut self, guid: &str) -> Result<Vec<Candidate>, Self::Error>;
    fn by_link(&mut self, link_key: &str) -> Result<Vec<Candidate>, Self::Error>;
    fn by_fingerprint(&mut self, fingerprint: &str) -> Result<Vec<Candidate>, Self::Error>;
}

/// The stored item this one is, if any.
pub fn find_existing<E: Existing>(
    p: &Prepared,
    guids_in_document: &HashSet<String>,
    lookup: &mut E,
) -> Result<Option<i64>, E::Error> {
    if let Some(guid) = &p.usable_guid {
        let found = lookup.by_guid(guid)?;
        if let Some(same_link) = found
            .iter()
            .find(|c| c.link_key == p.item.link_key || c.link_key.is_none())
        {
            return Ok(Some(same_link.row));
        }
        if let [only] = found.as_slice() {
            // Same guid, new link: the partner edited the URL (slug change).
            return Ok(Some(only.row));
        }
    }
    if let Some(link) = &p.usable_link {
        let found = lookup.by_link(link)?;
        let matching = found.into_iter().find(|c| match (&c.guid, &p.usable_guid) {
            // The stored item's guid is gone from the document: the partner changed its guids.
            (Some(old), Some(_)) => !guids_in_document.contains(old),
            _ => true,
        });
        if let Some(c) = matching {
            return Ok(Some(c.row));
        }
    }
    if p.usable_guid.is_none() && p.usable_link.is_none() {
        if let Some(c) = lookup.by_fingerprint(&p.fingerprint)?.into_iter().next() {
            return Ok(Some(c.row));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(guid: Option<&str>, link: Option<&str>, title: &str) -> Item {
        Item {
            guid: guid.map(str::to_string),
            link: link.map(|l| format!("http://{l}")),
            link_key: link.map(str::to_string),
            title: title.into(),
            summary_html: None,
            content_html: None,
            text: String::new(),
            published: None,
            updated: None,
            authors: vec![],
            categories: vec![],
            hidden: None,
            tags: vec![],
            media: vec![],
        }
    }

    #[derive(Default)]
    struct Mem(Vec<(i64, Option<String>, Option<String>, String)>);
    impl Existing for Mem {
        type Error = ();
        fn by_guid(&mut self, g: &str) -> Result<Vec<Candidate>, ()> {
            Ok(self
                .0
                .iter()
                .filter(|r| r.1.as_deref() == Some(g))
                .map(|r| Candidate {
                    row: r.0,
                    guid: r.1.clone(),
                    link_key: r.2.clone(),
                })
                .collect())
        }
        fn by_link(&mut self, l: &str) -> Result<Vec<Candidate>, ()> {
            Ok(self
                .0
                .iter()
                .filter(|r| r.2.as_deref() == Some(l))
                .map(|r| Candidate {
                    row: r.0,
                    guid: r.1.clone(),
                    link_key: r.2.clone(),
                })
                .collect())
        }
        fn by_fingerprint(&mut self, f: &str) -> Result<Vec<Candidate>, ()> {
            Ok(self
                .0
                .iter()
                .filter(|r| r.3 == f)
                .map(|r| Candidate {
                    row: r.0,
                    guid: r.1.clone(),
                    link_key: r.2.clone(),
                })
                .collect())
        }
    }

    #[test]
    fn shared_guid_with_different_links_falls_back_to_links() {
        let items = [
            item(Some("beitrag-27"), Some("x/a"), "A"),
            item(Some("beitrag-27"), Some("x/b"), "B"),
            item(Some("beitrag-28"), Some("x/c"), "C"),
        ];
        let b = prepare(&items, false);
        assert!(b.guid_collision);
        assert_eq!(b.items.len(), 2 + 1);
        assert_eq!(b.items[0].identity(), "link:x/a");
        assert_eq!(b.items[1].identity(), "link:x/b");
        assert_eq!(b.items[2].identity(), "guid:beitrag-28");
    }

    #[test]
    fn shared_link_does_not_merge_items_with_distinct_guids() {
        let items = [
            item(Some("1"), Some("x/news"), "A"),
            item(Some("2"), Some("x/news"), "B"),
        ];
        let b = prepare(&items, false);
        assert_eq!(b.items.len(), 2);
        assert!(b.items.iter().all(|p| p.usable_link.is_none()));
    }

    #[test]
    fn repeated_item_in_one_document_is_dropped() {
        let items = [
            item(Some("1"), Some("x/a"), "A"),
            item(Some("1"), Some("x/a"), "A"),
        ];
        let b = prepare(&items, false);
        assert_eq!((b.items.len(), b.repeats), (1, 1));
    }

    #[test]
    fn matching_prefers_guid_then_link_then_fingerprint() {
        let mut mem = Mem::default();
        mem.0
            .push((1, Some("g1".into()), Some("x/a".into()), "fa".into()));
        mem.0.push((2, None, Some("x/b".into()), "fb".into()));
        let items = [
            item(Some("g1"), Some("x/a-renamed"), "A"),
            item(Some("g-new"), Some("x/b"), "B"),
            item(None, None, "C"),
        ];
        let batch = prepare(&items, false);
        let g = &batch.guids_in_document;
        assert_eq!(
            find_existing(&batch.items[0], g, &mut mem),
            Ok(Some(1)),
            "same guid, edited slug"
        );
        assert_eq!(
            find_existing(&batch.items[1], g, &mut mem),
            Ok(Some(2)),
            "guid-less item got a guid"
        );
        assert_eq!(find_existing(&batch.items[2], g, &mut mem), Ok(None));
        mem.0
            .push((3, None, None, batch.items[2].fingerprint.clone()));
        assert_eq!(find_existing(&batch.items[2], g, &mut mem), Ok(Some(3)));
    }

    #[test]
    fn a_link_reused_by_a_different_live_guid_is_a_new_item() {
        let mut mem = Mem::default();
        mem.0
            .push((1, Some("g1".into()), Some("x/a".into()), "f".into()));
        let items = [
            item(Some("g1"), Some("x/z"), "Old"),
            item(Some("g2"), Some("x/a"), "New"),
        ];
        let batch = prepare(&items, false);
        // g1 is still in the document, so x/a now belongs to a different item.
        assert_eq!(
            find_existing(&batch.items[1], &batch.guids_in_document, &mut mem),
            Ok(None)
        );
    }
}
