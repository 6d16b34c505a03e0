//! Story matching end to end: the sample partners polled through the
//! in-process server and measured against their answer keys (pairwise
//! precision and recall of "same story", matched by link), the hand-written
//! German cases of tests/fixtures/stories, stable story ids while membership
//! changes, and every member credited in the merged Atom entry.
//!
//! The figures: `cargo test --test tests stories -- --nocapture`

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use revierfeed::app::App;
use revierfeed::config::SourceConfig;
use revierfeed::model::Item;
use revierfeed::pipeline;
use revierfeed::store::{IngestRequest, PollRecord, Store};
use revierfeed::story::Rules;
use serde::Deserialize;

use crate::support::{self, PartnerServer};

/// Every sample site polled for the measurement: (site, entry path, kind).
/// Adding a site is one line here.
const SITES: &[(&str, &str, &str)] = &[
    ("revierbote", "/feed/", "feed"),
    ("strukturagentur", "/aktuelles/atom.xml", "feed"),
    ("neuwerda", "/aktuelles/rss.php", "feed"),
    ("th-transfer", "/transfer/aktuelles.rdf", "feed"),
    ("wendepunkte", "/feed.json", "feed"),
    ("pro-schiene", "/blog/rss.xml", "feed"),
    ("qlee", "/aktuelles/neuigkeiten/", "html"),
    ("mittelstand", "/aktuelles/", "html"),
    ("lzue", "/presse/", "html"),
];

/// Pairwise agreement of a clustering with an answer key.
#[derive(Debug, Default, Clone, Copy)]
struct Pairs {
    /// Same story in the key and in the store.
    both: usize,
    /// Merged by us, different news in the key.
    wrong: usize,
    /// Same story in the key, left apart by us.
    missed: usize,
}

impl Pairs {
    /// Compares "same story" over every pair of items: `key` and `got` map an item to its story.
    fn of<K: Eq, G: Eq>(items: &[(Option<K>, G)]) -> Pairs {
        let mut p = Pairs::default();
        for (i, (ka, ga)) in items.iter().enumerate() {
            for (kb, gb) in &items[i + 1..] {
                let same_key = ka.is_some() && ka == kb;
                match (same_key, ga == gb) {
                    (true, true) => p.both += 1,
                    (false, true) => p.wrong += 1,
                    (true, false) => p.missed += 1,
                    (false, false) => {}
                }
            }
        }
        p
    }

    fn precision(&self) -> f64 {
        let merged = self.both + self.wrong;
        if merged == 0 {
            1.0
        } else {
            self.both as f64 / merged as f64
        }
    }

    fn recall(&self) -> f64 {
        let key = self.both + self.missed;
        if key == 0 {
            1.0
        } else {
            self.both as f64 / key as f64
        }
    }
}

/// Poll orders: membership is decided as items arrive, so each order is its own run.
fn orders(n: usize) -> Vec<(&'static str, Vec<usize>)> {
    let forward: Vec<usize> = (0..n).collect();
    let reverse: Vec<usize> = (0..n).rev().collect();
    let rotated: Vec<usize> = (0..n).map(|i| (i + n / 2) % n).collect();
    let interleaved: Vec<usize> = (0..n).step_by(2).chain((1..n).step_by(2)).collect();
    vec![
        ("forward", forward),
        ("reverse", reverse),
        ("rotated", rotated),
        ("interleaved", interleaved),
    ]
}

/// Polls the sample sites one by one in `order`; returns the app.
async fn poll_samples(server: &PartnerServer, dir: &std::path::Path, order: &[usize]) -> Arc<App> {
    let sources: Vec<_> = SITES
        .iter()
        .map(|(site, path, kind)| support::source(site, server.url(site, path), kind))
        .collect();
    let app = Arc::new(App::new(support::config_matching(dir, &sources)).unwrap());
    let config = app.config();
    for &i in order {
        let source: &SourceConfig = config.source(SITES[i].0).unwrap();
        let report = pipeline::refresh_source(&app, source, true).await;
        assert!(
            matches!(
                report.outcome,
                revierfeed::pipeline::PollOutcome::Fetched { .. }
            ),
            "{}",
            report.summary()
        );
    }
    app.render().await.unwrap();
    app
}

/// Every story's member links, by story uid.
fn stories_by_link(store: &Store) -> HashMap<String, String> {
    let mut by_link = HashMap::new();
    for story in store.stories(100_000).unwrap() {
        for m in &story.members {
            by_link.insert(m.link.clone().unwrap(), story.uid.clone());
        }
    }
    by_link
}

#[tokio::test]
async fn sample_partners_merge_every_story_pair_they_can_and_nothing_else() {
    let server = PartnerServer::start().await;
    let mut worst = (1.0f64, 1.0f64);
    for (name, order) in orders(SITES.len()) {
        let dir = tempfile::tempdir().unwrap();
        let app = poll_samples(&server, dir.path(), &order).await;
        let got = stories_by_link(&app.store);
        let mut items: Vec<(Option<String>, String)> = Vec::new();
        let mut feed_items = Vec::new();
        let mut labels = Vec::new();
        for (site, _, kind) in SITES {
            for e in server.expected(site) {
                let story = got
                    .get(&e.link)
                    .unwrap_or_else(|| panic!("{site}: {} is not in any story", e.link));
                items.push((e.story.clone(), story.clone()));
                labels.push(e.link.clone());
                if *kind == "feed" {
                    feed_items.push((e.story.clone(), story.clone()));
                }
            }
        }
        let p = Pairs::of(&items);
        for (i, (ka, ga)) in items.iter().enumerate() {
            for (j, (kb, gb)) in items.iter().enumerate().skip(i + 1) {
                if ka.is_some() && ka == kb && ga != gb {
                    println!("  missed ({name}): {} / {}", labels[i], labels[j]);
                }
            }
        }
        let f = Pairs::of(&feed_items);
        println!(
            "stories, feed sites only ({name} order, {} items): precision {:.3}, recall {:.3} ({} of {} same-story pairs merged)",
            feed_items.len(),
            f.precision(),
            f.recall(),
            f.both,
            f.both + f.missed
        );
        println!(
            "stories, samples ({name} order, {} items): precision {:.3} ({} of {} merged pairs right), recall {:.3} ({} of {} same-story pairs merged)",
            items.len(),
            p.precision(),
            p.both,
            p.both + p.wrong,
            p.recall(),
            p.both,
            p.both + p.missed
        );
        worst = (worst.0.min(p.precision()), worst.1.min(p.recall()));
        assert_eq!(p.wrong, 0, "{name} order: unrelated items merged");
    }
    println!(
        "stories, samples: worst precision {:.3}, worst recall {:.3}",
        worst.0, worst.1
    );
    // The floor is 0.9. Every order merges every pair since a rare
    // event name with the same place and date needs no second specific term
    // (before, a teaser-only report of a conference joined the others only
    // when it came first: 0.925 in the other orders). No order may lose one.
    assert!(worst.1 >= 1.0, "recall {:.3}", worst.1);
}

/// `/status` and `/status.json`, as the server answers them, count the
/// merged feed's stories, those of several items and the items in them —
/// the same figures the stories themselves give.
#[tokio::test]
async fn status_counts_stories_and_merged_items() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let order: Vec<usize> = (0..SITES.len()).collect();
    let app = poll_samples(&server, dir.path(), &order).await;
    let mut sizes: HashMap<String, i64> = HashMap::new();
    for story in stories_by_link(&app.store).into_values() {
        *sizes.entry(story).or_default() += 1;
    }
    let merged: Vec<i64> = sizes.values().copied().filter(|&n| n > 1).collect();
    let (stories, merged_stories, merged_items) = (
        sizes.len() as i64,
        merged.len() as i64,
        merged.iter().sum::<i64>(),
    );
    assert!(merged_stories >= 10, "{merged_stories} merged stories");

    let router = app.router();
    let r = support::get(&router, "/status.json", &[]).await;
    assert_eq!(r.status(), 200);
    let json: serde_json::Value = serde_json::from_slice(&support::body_bytes(r).await).unwrap();
    assert_eq!(json["stories"]["stories"], stories, "{}", json["stories"]);
    assert_eq!(json["stories"]["merged_stories"], merged_stories);
    assert_eq!(json["stories"]["merged_items"], merged_items);
    let html =
        String::from_utf8(support::body_bytes(support::get(&router, "/status", &[]).await).await)
            .unwrap();
    let line = format!(
        "{stories} Meldungen im Gesamtfeed; {merged_stories} davon von mehreren Quellen, mit zusammen {merged_items} Einträgen."
    );
    assert!(html.contains(&line), "{line}");
}

/// Thousands of different reports in one matching window — the same
/// templates for other towns, sums and dates, follow-ups of one project with
/// the same people, recurring formats — with a few true cross-posts mixed in:
/// nothing merges wrongly, and the cross-posts are found.
#[test]
fn thousands_of_look_alike_reports_stay_apart_and_cross_posts_merge() {
    use support::newsroom;
    const NEWS: usize = 2500;
    let reports = newsroom::reports(NEWS, 20, 5, 20);
    // The corpus is hard enough to fail: reports differ in their text, yet
    // hundreds share a template and a town with another news, and every
    // partner's reports are in one window.
    let texts: HashSet<&str> = reports.iter().map(|r| r.text.as_str()).collect();
    assert!(
        texts.len() > NEWS * 97 / 100,
        "{} distinct texts",
        texts.len()
    );
    let mut look_alikes: HashMap<(usize, &str), HashSet<usize>> = HashMap::new();
    for r in &reports {
        look_alikes
            .entry((r.template, r.town))
            .or_default()
            .insert(r.story);
    }
    let look_alike_news: usize = look_alikes
        .values()
        .filter(|s| s.len() > 1)
        .map(HashSet::len)
        .sum();
    assert!(
        look_alike_news > NEWS / 3,
        "{look_alike_news} look-alike news"
    );
    let cross_posts = reports.len() - NEWS;
    assert!(cross_posts >= 100, "{cross_posts} cross-posts");

    let sources: Vec<String> = (0..20).map(|i| format!("partner{i}")).collect();
    let names: Vec<&str> = sources.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &names);
    // One poll per partner and day, day by day.
    let mut polls: std::collections::BTreeMap<(u32, &str), Vec<Item>> = Default::default();
    for (n, r) in reports.iter().enumerate() {
        let when = at(4 + r.day, r.hour);
        polls
            .entry((r.day, r.source.as_str()))
            .or_default()
            .push(item(&r.source, n, &r.title, &r.text, when));
    }
    let started = std::time::Instant::now();
    for ((_, source), items) in polls {
        store.ingest(request(source, items)).unwrap();
    }
    let elapsed = started.elapsed();
    let got = stories_by_link(&store);
    let keyed: Vec<(Option<usize>, String)> = reports
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let link = item(&r.source, n, "", "", at(4, 0)).link.unwrap();
            (Some(r.story), got[&link].clone())
        })
        .collect();
    let p = Pairs::of(&keyed);
    println!(
        "stories, newsroom ({} reports in {:.1} s): precision {:.3} ({} wrong pairs), recall {:.3} ({} of {} cross-posts merged)",
        reports.len(),
        elapsed.as_secs_f64(),
        p.precision(),
        p.wrong,
        p.recall(),
        p.both,
        p.both + p.missed
    );
    let mut by_story: HashMap<&String, Vec<usize>> = HashMap::new();
    for (n, (_, s)) in keyed.iter().enumerate() {
        by_story.entry(s).or_default().push(n);
    }
    for members in by_story.values().filter(|m| m.len() > 1) {
        let stories: HashSet<usize> = members.iter().map(|&n| reports[n].story).collect();
        if stories.len() > 1 {
            for &n in members {
                println!(
                    "  wrongly together: {} | {}",
                    reports[n].title, reports[n].text
                );
            }
        }
    }
    let mut missed = 0;
    for (n, r) in reports.iter().enumerate() {
        for (m, o) in reports.iter().enumerate().skip(n + 1) {
            if r.story == o.story && keyed[n].1 != keyed[m].1 && missed < 5 {
                missed += 1;
                println!("  cross-post missed: {} | {}", r.title, o.title);
            }
        }
    }
    assert_eq!(p.wrong, 0, "different reports merged");
    assert!(p.recall() >= 0.9, "recall {:.3}", p.recall());
}

#[derive(Debug, Deserialize)]
struct Case {
    source: String,
    published: DateTime<Utc>,
    title: String,
    text: String,
    story: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cases {
    item: Vec<Case>,
}

fn hand_written() -> Vec<Case> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stories/handwritten.toml");
    toml::from_str::<Cases>(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .item
}

fn item(source: &str, n: usize, title: &str, text: &str, published: DateTime<Utc>) -> Item {
    let link = format!("https://{source}.example/meldung/{n}?utm_source=newsletter");
    Item {
        guid: Some(format!("{source}-{n}")),
        link_key: Some(format!("{source}.example/meldung/{n}")),
        link: Some(link),
        title: title.to_string(),
        summary_html: None,
        content_html: None,
        text: text.to_string(),
        published: Some(published),
        updated: None,
        authors: vec![],
        categories: vec![],
        hidden: None,
        tags: vec![],
        media: vec![],
    }
}

fn request(source: &str, items: Vec<Item>) -> IngestRequest {
    IngestRequest {
        source_id: source.to_string(),
        items,
        record: PollRecord {
            at: Utc::now(),
            status: Some(200),
            error: None,
            duration_ms: 1,
            not_before: None,
            validators: None,
            moved_to: None,
            warning: None,
            resolution: None,
        },
        feed_title: None,
        home_url: None,
        keep_days: None,
        keep_items: None,
        pages: Vec::new(),
    }
}

/// A store with these sources registered and matching at its defaults.
fn store_with(dir: &std::path::Path, sources: &[&str]) -> Store {
    let tests: Vec<_> = sources
        .iter()
        .map(|s| support::source(s, format!("https://{s}.example/feed"), "feed"))
        .collect();
    let config = support::config_matching(dir, &tests);
    let store = Store::open(&config.database_path()).unwrap();
    store.sync_sources(&config.registrations()).unwrap();
    store.set_story_rules(Rules::default());
    store
}

#[test]
fn hand_written_cross_posts_merge_and_look_alikes_stay_apart() {
    let cases = hand_written();
    let mut sources: Vec<&str> = cases.iter().map(|c| c.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut worst = (1.0f64, 1.0f64);
    for (name, order) in orders(sources.len()) {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &sources);
        let mut links = Vec::new();
        for &i in &order {
            let source = sources[i];
            let items: Vec<Item> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.source == source)
                .map(|(n, c)| item(source, n, &c.title, &c.text, c.published))
                .collect();
            store.ingest(request(source, items)).unwrap();
        }
        let got = stories_by_link(&store);
        for (n, c) in cases.iter().enumerate() {
            let link = item(&c.source, n, "", "", c.published).link.unwrap();
            links.push((c.story.clone(), got[&link].clone()));
        }
        let p = Pairs::of(&links);
        println!(
            "stories, hand-written ({name} order, {} items): precision {:.3}, recall {:.3} ({} of {} same-story pairs merged)",
            links.len(),
            p.precision(),
            p.recall(),
            p.both,
            p.both + p.missed
        );
        assert_eq!(p.wrong, 0, "{name} order: look-alikes merged");
        worst = (worst.0.min(p.precision()), worst.1.min(p.recall()));
    }
    println!(
        "stories, hand-written: worst precision {:.3}, worst recall {:.3}",
        worst.0, worst.1
    );
    // Measured in every order above (1.000 when written, in a fresh store of
    // only these items).
    assert!(worst.1 >= 1.0, "recall {:.3}", worst.1);
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    format!("2026-05-{day:02}T{hour:02}:00:00Z")
        .parse()
        .unwrap()
}

const PRESS: (&str, &str) = (
    "Größter Batteriespeicher der Lausitz geht ans Netz",
    "Am Industriestandort Schwarze Pumpe hat der neue Batteriespeicher mit 100 Megawatt Leistung den Betrieb aufgenommen. Rund 120 Millionen Euro wurden investiert.",
);
const PAPER: (&str, &str) = (
    "Schwarze Pumpe: Speicher in Betrieb",
    "Der Großbatteriespeicher im Industriepark Schwarze Pumpe ist gestartet. Die Anlage gibt 100 MW ab und hat 120 Mio. Euro gekostet.",
);
const RADIO: (&str, &str) = (
    "Batterie-Riese am Netz",
    "Spremberg/Schwarze Pumpe. Der neue Batteriespeicher im Industriepark Schwarze Pumpe arbeitet: 100 Megawatt Leistung, 120 Millionen Euro Investition.",
);

#[test]
fn a_story_keeps_its_id_while_members_join_and_the_earliest_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["verein", "zeitung", "radio"]);
    // The founding item was edited after publication: the story carries both dates.
    let mut founding = item("verein", 1, PRESS.0, PRESS.1, at(12, 10));
    founding.updated = Some(at(12, 11));
    store.ingest(request("verein", vec![founding])).unwrap();
    let first = store.stories(10).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].published, first[0].updated),
        (at(12, 10), at(12, 11))
    );
    let uid = first[0].uid.clone();

    // A later report joins; an earlier one (a radio flash) joins and leads.
    store
        .ingest(request(
            "zeitung",
            vec![item("zeitung", 1, PAPER.0, PAPER.1, at(13, 6))],
        ))
        .unwrap();
    store
        .ingest(request(
            "radio",
            vec![item("radio", 1, RADIO.0, RADIO.1, at(12, 8))],
        ))
        .unwrap();
    let stories = store.stories(10).unwrap();
    assert_eq!(stories.len(), 1, "{stories:#?}");
    assert_eq!(stories[0].uid, uid, "the entry id never changes");
    let sources: Vec<&str> = stories[0]
        .members
        .iter()
        .map(|m| m.source_id.as_str())
        .collect();
    assert_eq!(sources, ["radio", "verein", "zeitung"], "earliest first");
    assert_eq!(
        (stories[0].published, stories[0].updated),
        (at(12, 8), at(13, 6)),
        "earliest publication, latest change of any member"
    );

    // An edit of a member keeps it where it is.
    let edited = format!("{} Korrigiert: Der Speicher liefert 100 Megawatt.", PAPER.1);
    store
        .ingest(request(
            "zeitung",
            vec![item("zeitung", 1, PAPER.0, &edited, at(13, 6))],
        ))
        .unwrap();
    let again = store.stories(10).unwrap();
    assert_eq!(
        (again.len(), again[0].uid.as_str(), again[0].members.len()),
        (1, uid.as_str(), 3)
    );
}

#[test]
fn a_second_item_of_a_source_never_joins_its_story() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["verein", "zeitung"]);
    store
        .ingest(request(
            "verein",
            vec![item("verein", 1, PRESS.0, PRESS.1, at(12, 10))],
        ))
        .unwrap();
    // The newspaper reports twice (a teaser and the article): only one joins.
    store
        .ingest(request(
            "zeitung",
            vec![
                item("zeitung", 1, PAPER.0, PAPER.1, at(13, 6)),
                item("zeitung", 2, RADIO.0, RADIO.1, at(13, 7)),
            ],
        ))
        .unwrap();
    let stories = store.stories(10).unwrap();
    assert_eq!(stories.len(), 2, "{stories:#?}");
    for s in &stories {
        let sources: HashSet<&str> = s.members.iter().map(|m| m.source_id.as_str()).collect();
        assert_eq!(
            sources.len(),
            s.members.len(),
            "one item per source in {}",
            s.uid
        );
    }
    // A database opened again (a fresh index built from the stored signatures)
    // still knows that both stories have an item of the newspaper.
    drop(store);
    let store = store_with(dir.path(), &["verein", "zeitung"]);
    store
        .ingest(request(
            "zeitung",
            vec![item("zeitung", 3, PRESS.0, PRESS.1, at(12, 11))],
        ))
        .unwrap();
    assert_eq!(store.stories(10).unwrap().len(), 3);
}

#[test]
fn an_index_sees_what_another_process_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = store_with(dir.path(), &["verein", "zeitung", "radio"]);
    daemon
        .ingest(request(
            "radio",
            vec![item(
                "radio",
                9,
                "Kleingärten",
                "Neue Satzung für Kleingärten beschlossen",
                at(1, 9),
            )],
        ))
        .unwrap();
    // `fetch --once` beside the running daemon: its own connection to the same file.
    let once = Store::open(&dir.path().join("test.db")).unwrap();
    once.set_story_rules(Rules::default());
    once.ingest(request(
        "verein",
        vec![item("verein", 1, PRESS.0, PRESS.1, at(12, 10))],
    ))
    .unwrap();
    // The daemon's index was built before that write; the next report must still find it.
    daemon
        .ingest(request(
            "zeitung",
            vec![item("zeitung", 1, PAPER.0, PAPER.1, at(13, 6))],
        ))
        .unwrap();
    let stories = daemon.stories(10).unwrap();
    assert!(stories.iter().any(|s| s.members.len() == 2), "{stories:#?}");
}

#[test]
fn matching_off_keeps_every_item_its_own_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &["verein", "zeitung", "radio"]);
    store.set_story_rules(Rules {
        enabled: false,
        ..Rules::default()
    });
    store
        .ingest(request(
            "verein",
            vec![item("verein", 1, PRESS.0, PRESS.1, at(12, 10))],
        ))
        .unwrap();
    store
        .ingest(request(
            "zeitung",
            vec![item("zeitung", 1, PAPER.0, PAPER.1, at(13, 6))],
        ))
        .unwrap();
    assert_eq!(store.stories(10).unwrap().len(), 2);
    // Switched on again, the index is rebuilt from the stored items and the next report joins.
    store.set_story_rules(Rules::default());
    store
        .ingest(request(
            "radio",
            vec![item("radio", 1, RADIO.0, RADIO.1, at(12, 9))],
        ))
        .unwrap();
    let stories = store.stories(10).unwrap();
    assert_eq!(stories.len(), 2);
    assert!(stories.iter().any(|s| s.members.len() == 2), "{stories:#?}");
}

#[tokio::test]
async fn a_merged_story_credits_every_member_in_atom_and_json() {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let order: Vec<usize> = (0..SITES.len()).collect();
    let app = poll_samples(&server, dir.path(), &order).await;
    let merged: Vec<_> = app
        .store
        .stories(1000)
        .unwrap()
        .into_iter()
        .filter(|s| s.members.len() > 1)
        .collect();
    assert!(merged.len() >= 5, "{} merged stories", merged.len());

    let atom = support::body_bytes(support::get(&app.router(), "/feed.atom", &[]).await).await;
    let atom = String::from_utf8(atom).unwrap();
    let doc = roxmltree::Document::parse(&atom).unwrap();
    let json = support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for story in &merged {
        let entry = doc
            .descendants()
            .filter(|n| n.has_tag_name("entry"))
            .find(|e| {
                e.children()
                    .any(|c| c.has_tag_name("id") && c.text() == Some(story.uid.as_str()))
            })
            .unwrap_or_else(|| panic!("no Atom entry {}", story.uid));
        let links: Vec<(String, String)> = entry
            .children()
            .filter(|c| c.has_tag_name("link"))
            .map(|l| {
                (
                    l.attribute("rel").unwrap_or("alternate").to_string(),
                    l.attribute("href").unwrap().to_string(),
                )
            })
            .collect();
        let lead = story.members[0].link.clone().unwrap();
        assert!(links.contains(&("alternate".into(), lead)), "{links:?}");
        for m in &story.members[1..] {
            let href = m.link.clone().unwrap();
            assert!(
                links.contains(&("related".into(), href.clone())),
                "{href} not credited in {links:?}"
            );
        }
        let item = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == story.uid.as_str())
            .unwrap();
        let credited: Vec<&str> = item["_revierfeed"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["url"].as_str().unwrap())
            .collect();
        let members: Vec<&str> = story
            .members
            .iter()
            .map(|m| m.link.as_deref().unwrap())
            .collect();
        assert_eq!(
            credited, members,
            "JSON credits every member, earliest first"
        );
    }
    // The strict clients on all three formats, RSS included, with these stories merged.
    let rss = support::body_bytes(support::get(&app.router(), "/feed.rss", &[]).await).await;
    let json = support::body_bytes(support::get(&app.router(), "/feed.json", &[]).await).await;
    let (_, merged_entries) =
        support::strict::three_formats_agree(atom.as_bytes(), &rss, &json, "merged samples");
    assert_eq!(merged_entries, merged.len());
}

/// One labelled pair of tests/fixtures/stories/pairs.tsv.
struct LabelledPair {
    same: bool,
    fact: String,
    gap_days: i64,
    a: (String, String),
    b: (String, String),
}

fn labelled_pairs() -> Vec<LabelledPair> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stories/pairs.tsv");
    let pairs = std::fs::read_to_string(path).unwrap();
    support::tsv_rows(&pairs, 7)
        .into_iter()
        .map(|f| LabelledPair {
            same: f[0] == "1",
            gap_days: f[2].parse().unwrap(),
            fact: f[1].clone(),
            a: (f[3].clone(), f[4].clone()),
            b: (f[5].clone(), f[6].clone()),
        })
        .collect()
}

/// Every item of the labelled pairs in one store, all within one week (so
/// the look-alikes of one template meet each other too), each pair's items
/// of two sources. Precision and recall over all pairs of items: a merge
/// across labelled pairs counts as wrong.
#[test]
fn labelled_pairs_keep_template_look_alikes_follow_ups_and_repeats_apart() {
    let pairs = labelled_pairs();
    assert!(pairs.len() >= 150, "{} pairs", pairs.len());
    let sources: Vec<String> = (0..10)
        .flat_map(|i| [format!("pa{i}"), format!("pb{i}")])
        .collect();
    let names: Vec<&str> = sources.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), &names);
    let mut by_source: HashMap<String, Vec<Item>> = HashMap::new();
    let mut keyed: Vec<(String, String)> = Vec::new();
    // The key of an item: identical texts (one text reused in several pairs)
    // are one news, and so are the two sides of a pair labelled same.
    let mut key_of: HashMap<(String, String), String> = HashMap::new();
    for (k, p) in pairs.iter().enumerate() {
        let ka = key_of.get(&p.a).cloned();
        let kb = key_of.get(&p.b).cloned();
        let (ka, kb) = match (p.same, ka, kb) {
            (true, Some(a), Some(b)) => {
                assert_eq!(a, b, "pair {k}: both texts are already keyed apart");
                (a.clone(), b)
            }
            (true, Some(a), None) | (true, None, Some(a)) => (a.clone(), a),
            (true, None, None) => (format!("pair{k}"), format!("pair{k}")),
            (false, a, b) => (
                a.unwrap_or_else(|| format!("pair{k}a")),
                b.unwrap_or_else(|| format!("pair{k}b")),
            ),
        };
        key_of.insert(p.a.clone(), ka);
        key_of.insert(p.b.clone(), kb);
    }
    for (k, p) in pairs.iter().enumerate() {
        let a_at = at(4 + (k % 3) as u32, 8 + (k % 9) as u32);
        let b_at = a_at + chrono::Duration::days(p.gap_days) + chrono::Duration::hours(2);
        for (side, (title, text), when) in [("a", &p.a, a_at), ("b", &p.b, b_at)] {
            let source = format!("p{side}{}", k % 10);
            let key = key_of[&(title.clone(), text.clone())].clone();
            let it = item(&source, 1000 + k, title, text, when);
            keyed.push((key, it.link.clone().unwrap()));
            by_source.entry(source).or_default().push(it);
        }
    }
    for source in &sources {
        let items = by_source.remove(source).unwrap_or_default();
        store.ingest(request(source, items)).unwrap();
    }
    let got = stories_by_link(&store);
    let items: Vec<(Option<String>, String)> = keyed
        .iter()
        .map(|(key, link)| (Some(key.clone()), got[link].clone()))
        .collect();
    let p = Pairs::of(&items);
    let mut lines = Vec::new();
    for (k, pair) in pairs.iter().enumerate() {
        let merged = items[2 * k].1 == items[2 * k + 1].1;
        if merged != pair.same {
            lines.push(format!(
                "  {} pair {k} ({}): {} / {}",
                if pair.same { "missed" } else { "WRONG" },
                pair.fact,
                pair.a.0,
                pair.b.0
            ));
        }
    }
    // Merges across labelled pairs: a story holding items of different keys.
    let mut stories: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, story)) in items.iter().enumerate() {
        stories.entry(story.as_str()).or_default().push(i);
    }
    let title = |i: usize| {
        let p = &pairs[i / 2];
        if i % 2 == 0 { &p.a.0 } else { &p.b.0 }
    };
    for members in stories.values() {
        let mut keys: Vec<&str> = members.iter().map(|&i| keyed[i].0.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() > 1 {
            let titles: Vec<String> = members
                .iter()
                .map(|&i| format!("{} [{}]", title(i), keyed[i].0))
                .collect();
            lines.push(format!("  WRONG story: {}", titles.join(" | ")));
        }
    }
    let same = pairs.iter().filter(|p| p.same).count();
    println!(
        "stories, labelled pairs ({} pairs, {same} same news): precision {:.3} ({} of {} merged pairs right), recall {:.3}\n{}",
        pairs.len(),
        p.precision(),
        p.both,
        p.both + p.wrong,
        p.recall(),
        lines.join("\n")
    );
    assert_eq!(p.wrong, 0, "different news merged:\n{}", lines.join("\n"));
    // The level reached when written (see the printed figure); a regression fails here.
    assert!(p.recall() >= RECALL_FLOOR, "recall {:.3}", p.recall());
}

/// Recall over the labelled pairs when written: 0.987 (precision 1.000).
const RECALL_FLOOR: f64 = 0.98;
