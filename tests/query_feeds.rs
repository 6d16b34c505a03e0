//! Feeds by query (`/feed.json?tag=a&tag=b&not-tag=c&source=x&not-source=y`):
//! the entries each parameter selects (checked against the per-tag and
//! per-source feeds), the canonical self link, 304 to their own validators,
//! fresh entries after a poll changes a partner, and 400 for what a query
//! cannot mean.

use std::collections::BTreeSet;
use std::sync::Arc;

use revierfeed::app::App;
use revierfeed::config::Config;
use revierfeed::pipeline;
use serde_json::Value;

use crate::support::{self, Override, PartnerServer, body_bytes, get};

/// Six feed partners; Pro Schiene tagged `bahn`, Wasserstoff titles tagged `wasserstoff`.
async fn tagged_app() -> (Arc<App>, PartnerServer, tempfile::TempDir) {
    let server = PartnerServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = support::config_text(dir.path(), &support::feed_sources(&server), "").replace(
        "[[source]]\nid = \"pro-schiene\"",
        "[[source]]\nid = \"pro-schiene\"\ntags = [\"bahn\"]",
    ) + "[[rule]]\naction = \"tag\"\nkeywords = [\"Wasserstoff\", \"Elektrolys\"]\nfields = [\"title\"]\ntags = [\"wasserstoff\"]\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let app = Arc::new(App::new(Config::load(&path).unwrap()).unwrap());
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render().await.unwrap();
    (app, server, dir)
}

async fn json(app: &Arc<App>, path: &str) -> Value {
    let r = get(&app.router(), path, &[]).await;
    assert_eq!(r.status(), 200, "{path}");
    serde_json::from_slice(&body_bytes(r).await).unwrap()
}

fn ids(feed: &Value) -> BTreeSet<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

/// Entries by their link (or title): a per-source feed's entry ids are the
/// items' own, the merged feed's those of their stories.
fn keys(feed: &Value) -> BTreeSet<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["url"]
                .as_str()
                .or(i["title"].as_str())
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The partners credited in each entry.
fn sources_of(item: &Value) -> Vec<&str> {
    item["_revierfeed"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

fn tags_of(item: &Value) -> Vec<&str> {
    item["tags"]
        .as_array()
        .map(|t| t.iter().map(|t| t.as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn query_feeds_give_the_entries_their_parameters_select() {
    let (app, _server, _dir) = tagged_app().await;
    let merged = json(&app, "/feed.json").await;
    let all = ids(&merged);
    let all_keys = keys(&merged);
    let bahn = ids(&json(&app, "/tags/bahn.json").await);
    let h2 = ids(&json(&app, "/tags/wasserstoff.json").await);
    let neuwerda = keys(&json(&app, "/sources/neuwerda.json").await);
    let wendepunkte = keys(&json(&app, "/sources/wendepunkte.json").await);
    assert!(bahn.len() >= 4 && h2.len() >= 3, "{bahn:?} {h2:?}");
    assert!(bahn.is_subset(&all) && h2.is_subset(&all) && all.len() > bahn.len() + h2.len());
    assert!(!neuwerda.is_empty() && !wendepunkte.is_empty());

    // Several tags: any of them.
    let either = ids(&json(&app, "/feed.json?tag=bahn&tag=wasserstoff").await);
    assert_eq!(either, &bahn | &h2);
    // Excluded tags and sources.
    let not_bahn = ids(&json(&app, "/feed.json?not-tag=bahn").await);
    assert_eq!(not_bahn, &all - &bahn);
    // A source selects the stories it reported, whichever partner leads them
    // (story matching is on, as shipped): judged by each entry's credits.
    let crediting = |pred: &dyn Fn(&[&str]) -> bool| -> BTreeSet<String> {
        merged["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| pred(&sources_of(i)))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let two_sources = ids(&json(&app, "/feed.json?source=neuwerda&source=wendepunkte").await);
    assert_eq!(
        two_sources,
        crediting(&|s| s.contains(&"neuwerda") || s.contains(&"wendepunkte"))
    );
    assert!(two_sources.len() >= neuwerda.len().max(wendepunkte.len()) && !two_sources.is_empty());
    let others = json(&app, "/feed.json?not-source=neuwerda").await;
    assert_eq!(ids(&others), crediting(&|s| !s.contains(&"neuwerda")));
    assert_eq!(all_keys.len(), all.len(), "links tell the entries apart");
    // Everything about Wasserstoff and Bahn except one partner's own items.
    let h2_source = json(&app, "/feed.json?tag=wasserstoff").await["items"][0].clone();
    let own = sources_of(&h2_source)[0].to_string();
    let wanted = json(
        &app,
        &format!("/feed.json?tag=wasserstoff&tag=bahn&not-source={own}"),
    )
    .await;
    let bahn_or_h2 = json(&app, "/feed.json?tag=wasserstoff&tag=bahn").await;
    let not_own: BTreeSet<String> = bahn_or_h2["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !sources_of(i).contains(&own.as_str()))
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        not_own.len() < ids(&bahn_or_h2).len(),
        "the partner has items to leave out"
    );
    assert_eq!(ids(&wanted), not_own);
    for item in wanted["items"].as_array().unwrap() {
        assert!(!sources_of(item).contains(&own.as_str()));
        let tags = tags_of(item);
        assert!(
            tags.contains(&"bahn") || tags.contains(&"wasserstoff"),
            "{item}"
        );
    }
    // Newest first, like every feed.
    let dates: Vec<&str> = wanted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["date_published"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");

    // RSS and Atom carry the same entries.
    for ext in ["atom", "rss"] {
        let r = get(
            &app.router(),
            &format!("/feed.{ext}?tag=wasserstoff&tag=bahn"),
            &[],
        )
        .await;
        assert_eq!(r.status(), 200);
        let parsed = feed_rs::parser::parse(&body_bytes(r).await[..]).unwrap();
        assert_eq!(parsed.entries.len(), either.len(), "{ext}");
    }
}

#[tokio::test]
async fn query_feeds_have_a_canonical_self_link_and_answer_304() {
    let (app, server, _dir) = tagged_app().await;
    let router = app.router();
    let canonical =
        "http://127.0.0.1:8080/feed.json?tag=wasserstoff&source=neuwerda&source=wendepunkte";
    let first = json(
        &app,
        "/feed.json?source=wendepunkte&tag=wasserstoff&source=neuwerda&source=wendepunkte",
    )
    .await;
    assert_eq!(first["feed_url"], canonical);
    let atom = String::from_utf8(
        body_bytes(get(&router, "/feed.atom?source=neuwerda&not-tag=bahn", &[]).await).await,
    )
    .unwrap();
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    let self_link = feed.links.iter().find(|l| l.rel == "self").unwrap();
    assert_eq!(
        self_link.href,
        "http://127.0.0.1:8080/feed.atom?not-tag=bahn&source=neuwerda"
    );
    assert_ne!(
        feed.id,
        atom_syndication::Feed::read_from(
            &body_bytes(get(&router, "/feed.atom", &[]).await).await[..]
        )
        .unwrap()
        .id,
        "a query feed is a feed of its own"
    );

    // Conditional GET with its own validators, whatever the parameter order.
    let path = "/feed.rss?source=neuwerda&tag=bahn&tag=wasserstoff";
    let r = get(&router, path, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    let reordered = "/feed.rss?tag=wasserstoff&source=neuwerda&tag=bahn";
    for (p, h) in [
        (path, ("if-none-match", etag.as_str())),
        (reordered, ("if-none-match", etag.as_str())),
        (path, ("if-modified-since", last_modified.as_str())),
    ] {
        assert_eq!(get(&router, p, &[h]).await.status(), 304, "{p} {h:?}");
    }
    assert_eq!(
        get(
            &router,
            "/feed.rss?source=wendepunkte",
            &[("if-none-match", &etag)]
        )
        .await
        .status(),
        200,
        "another query is another document"
    );

    // A partner changes an item: the query feed shows it after the poll.
    let neuwerda = server.url("neuwerda", "/aktuelles/rss.php");
    let original = reqwest::get(&neuwerda)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let changed = support::replace_bytes(
        &original,
        "Martinsumzug und Martinsmarkt am 11. November".as_bytes(),
        "Martinsumzug wegen Sturm abgesagt".as_bytes(),
    );
    assert_ne!(changed, original.to_vec());
    server.set(
        "neuwerda",
        "/aktuelles/rss.php",
        Override::Body {
            content_type: "application/rss+xml".into(),
            body: changed,
        },
    );
    let query = "/feed.json?source=neuwerda";
    let before = get(&router, query, &[]).await;
    let before_etag = before.headers()["etag"].to_str().unwrap().to_string();
    pipeline::refresh_all(&app, true, |_| {}).await;
    app.render_changed(["neuwerda".to_string()].into())
        .await
        .unwrap();
    let after = get(&router, query, &[("if-none-match", &before_etag)]).await;
    assert_eq!(after.status(), 200, "the cached query feed was stale");
    let body = String::from_utf8(body_bytes(after).await).unwrap();
    assert!(body.contains("Martinsumzug wegen Sturm abgesagt"), "{body}");
}

#[tokio::test]
async fn queries_a_feed_cannot_mean_are_400() {
    let (app, _server, _dir) = tagged_app().await;
    let router = app.router();
    for (query, says) in [
        ("/feed.atom?tags=bahn", "unknown parameter `tags`"),
        (
            "/feed.json?tag=bahn&utm_source=newsletter",
            "unknown parameter `utm_source`",
        ),
        ("/feed.rss?tag=strassenbahn", "unknown tag `strassenbahn`"),
        ("/feed.atom?not-source=nobody", "unknown source `nobody`"),
        ("/feed.atom?source=%3Cscript%3E", "is not a source"),
        ("/feed.atom?tag=", "is not a tag"),
    ] {
        let r = get(&router, query, &[]).await;
        assert_eq!(r.status(), 400, "{query}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "{query}"
        );
        let body = String::from_utf8(body_bytes(r).await).unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
    // Queries elsewhere are not feed queries: the document is served as before.
    assert_eq!(
        get(&router, "/tags/bahn.atom?utm_source=x", &[])
            .await
            .status(),
        200
    );
    assert_eq!(get(&router, "/feed.atom?", &[]).await.status(), 200);
}
