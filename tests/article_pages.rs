//! Article pages as partners' CMSs build them, read the way a partner's
//! article page is read (a one-link listing entry, then the article page
//! merged in, then normalised): the publication day a reader sees on the
//! page, for 90 hand-written pages modelled on WordPress, TYPO3, Drupal,
//! Joomla, municipal CMSs, news sites and English blogs (tests/fixtures/articles,
//! answer key in key.tsv). Real saved pages are read by `date_corpus`,
//! through `item_for_page` here.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;
use revierfeed::extract::html::{Article, ListingEntry, Page, merge, parse_article};
use revierfeed::model::{ExtractedItem, Provenance};
use revierfeed::normalize::{FieldLimits, normalize_item};
use url::Url;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/articles")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn article_from(bytes: &[u8], url: &str) -> Article {
    let text = revierfeed::extract::charset::decode_html(bytes, None);
    parse_article(
        &Page::parse(&text, &Url::parse(url).unwrap()).unwrap(),
        None,
    )
}

fn entry(url: &str, title: Option<&str>, published: Option<DateTime<Utc>>) -> ListingEntry {
    ListingEntry {
        link: Url::parse(url).unwrap(),
        title: title.map(str::to_string),
        published,
        date_structured: false,
        summary: None,
        author: None,
        categories: vec![],
        fingerprint: String::new(),
        inline: false,
    }
}

/// The item a one-link listing of this page gives.
fn item_for(file: &str, url: &str) -> (ExtractedItem, Option<NaiveDate>) {
    item_for_page(&fixture(file), url)
}

/// The item a one-link listing of a page with these bytes at `url` gives,
/// and its publication day in Berlin (shared with the real-page corpus).
pub(crate) fn item_for_page(bytes: &[u8], url: &str) -> (ExtractedItem, Option<NaiveDate>) {
    let article = article_from(bytes, url);
    let raw = merge(&entry(url, None, None), Some(&article));
    let day = normalize_item(&raw, Utc::now(), &FieldLimits::default())
        .and_then(|i| i.published)
        .map(|d| d.with_timezone(&Berlin).date_naive());
    (raw, day)
}

fn key() -> Vec<(String, String, Option<NaiveDate>)> {
    let key = String::from_utf8(fixture("key.tsv")).unwrap();
    crate::support::tsv_rows(&key, 3)
        .into_iter()
        .map(|cols| {
            let day = (cols[2] != "-").then(|| cols[2].parse().expect("a day"));
            (cols[0].clone(), cols[1].clone(), day)
        })
        .collect()
}

#[test]
fn the_corpus_reads_the_day_a_reader_sees() {
    let (mut exact, mut near, mut missing, mut wrong, mut invented, mut dated) = (0, 0, 0, 0, 0, 0);
    let mut report = String::new();
    let pages = key();
    assert!(pages.len() >= 60, "the corpus has {} pages", pages.len());
    for (file, url, want) in &pages {
        let (raw, got) = item_for(file, url);
        let from = raw.origin.date.map_or("-", |p| p.label());
        let verdict = match (want, got) {
            (Some(w), Some(g)) if *w == g => "exact",
            (Some(w), Some(g)) if (*w - g).num_days().abs() <= 1 => "±1",
            (Some(_), None) => "missing",
            (Some(_), Some(_)) => "wrong",
            (None, Some(_)) => "invented",
            (None, None) => "none",
        };
        match verdict {
            "exact" => exact += 1,
            "±1" => near += 1,
            "missing" => missing += 1,
            "wrong" => wrong += 1,
            "invented" => invented += 1,
            _ => {}
        }
        if want.is_some() {
            dated += 1;
        }
        if verdict != "exact" && verdict != "none" {
            report.push_str(&format!(
                "  {verdict:<8} {file}: want {want:?}, got {got:?} ({from})\n"
            ));
        }
    }
    let pct = |n: usize| 100.0 * n as f64 / dated as f64;
    println!(
        "article corpus: {dated} dated pages: exact {exact} ({:.1} %), ±1 {near}, missing {missing}, wrong {wrong}; {} undated pages: {invented} given a date\n{report}",
        pct(exact),
        pages.len() - dated
    );
    // The level reached when this corpus was written; a change that reads fewer pages fails.
    assert!(
        exact == dated && invented == 0,
        "exact {exact}/{dated}, invented {invented}:\n{report}"
    );
}

/// What one page gives, read the way the corpus test reads it.
fn dated(file: &str) -> (Option<NaiveDate>, Option<Provenance>) {
    let url = key()
        .into_iter()
        .find(|(f, _, _)| f == file)
        .map(|(_, u, _)| u)
        .unwrap_or_else(|| panic!("{file} is not in key.tsv"));
    let (raw, day) = item_for(file, &url);
    (day, raw.origin.date)
}

fn day(s: &str) -> Option<NaiveDate> {
    Some(s.parse().unwrap())
}

#[test]
fn words_on_outer_containers_do_not_hide_the_time_beside_the_headline() {
    for (file, want) in [
        ("chrome-body-has-sidebar.html", "2022-01-26"),
        ("chrome-body-cookies-not-set.html", "2021-06-14"),
        ("chrome-skip-begin-wrapper.html", "2020-09-03"),
        ("chrome-main-with-sidebar-class.html", "2021-02-17"),
    ] {
        assert_eq!(
            dated(file),
            (day(want), Some(Provenance::TimeElement)),
            "{file}"
        );
    }
    // A wrapper around the whole page named "navigation-container", an ASP.NET form.
    assert_eq!(
        dated("chrome-navigation-container-wrapper.html").0,
        day("2023-03-08")
    );
    assert_eq!(dated("chrome-aspnet-form.html").0, day("2022-11-02"));
    // Today's date in a top bar is chrome, not the article's date.
    assert_eq!(dated("chrome-topbar-today.html").0, day("2020-12-17"));
    let a = article_from(
        &fixture("chrome-body-has-sidebar.html"),
        "https://x.example/a/",
    );
    assert_eq!(
        a.title_visible.as_deref(),
        Some("Gründerpreis 2022 ausgeschrieben")
    );
    assert!(
        a.content_html
            .as_deref()
            .is_some_and(|b| b.contains("Arbeitsgruppe")),
        "the main text is not chrome either"
    );
}

#[test]
fn a_label_followed_by_text_dates_the_page() {
    for (file, want) in [
        ("label-span-datum-textnode.html", "2022-01-26"),
        ("label-h5-datum.html", "2022-02-03"),
        ("label-veroeffentlicht-am-br.html", "2019-08-16"),
        ("label-erstellt-am.html", "2020-04-07"),
        ("label-veroeffentlicht-colon.html", "2021-10-19"),
        ("label-pressemitteilung-vom.html", "2022-07-05"),
        ("label-posted-on-english.html", "2022-01-26"),
        ("label-datum-weekday.html", "2022-02-07"),
        ("label-bottom-of-long-article.html", "2018-12-10"),
        ("cms-press-release-table.html", "2016-11-08"),
        ("label-online-seit.html", "2023-09-01"),
        ("label-english-ordinal.html", "2022-01-26"),
    ] {
        assert_eq!(
            dated(file),
            (day(want), Some(Provenance::Labelled)),
            "{file}"
        );
    }
    // "Stand:" is a modification date: the publication date when there is no other.
    assert_eq!(
        dated("label-stand-only.html"),
        (day("2023-05-12"), Some(Provenance::Labelled))
    );
}

#[test]
fn dates_above_below_and_far_from_the_headline_and_pages_without_h1() {
    for (file, want) in [
        ("position-far-below-headline.html", "2021-05-20"),
        ("position-kicker-above-h1.html", "2022-01-02"),
        ("position-no-h1-title-in-h2.html", "2020-10-27"),
        ("position-no-h1-title-in-h4.html", "2019-03-15"),
        ("position-no-heading-only-title.html", "2017-06-30"),
        ("position-dateline-in-first-paragraph.html", "2022-09-14"),
        ("position-byline-right-below.html", "2020-01-09"),
    ] {
        assert_eq!(
            dated(file),
            (day(want), Some(Provenance::VisibleText)),
            "{file}"
        );
    }
    let a = article_from(
        &fixture("position-no-h1-title-in-h2.html"),
        "https://x.example/a/",
    );
    assert_eq!(
        (a.title_visible.as_deref(), a.title_visible_from),
        (
            Some("Herbstputz in der Innenstadt"),
            Some(Provenance::Heading)
        ),
        "the heading that matches <title> is the headline"
    );
}

#[test]
fn structured_data_of_any_type_meta_names_and_date_attributes() {
    for (file, want, from) in [
        ("jsonld-webpage-only.html", "2021-11-23", Provenance::JsonLd),
        ("jsonld-graph-yoast.html", "2022-04-12", Provenance::JsonLd),
        (
            "jsonld-array-newsarticle.html",
            "2020-12-01",
            Provenance::JsonLd,
        ),
        ("jsonld-mainentity.html", "2023-01-18", Provenance::JsonLd),
        ("jsonld-report-type.html", "2021-07-30", Provenance::JsonLd),
        (
            "jsonld-related-articles-listed.html",
            "2022-05-09",
            Provenance::JsonLd,
        ),
        ("meta-date.html", "2021-09-09", Provenance::Meta),
        ("meta-dcterms-created.html", "2020-02-20", Provenance::Meta),
        ("meta-dc-date-issued.html", "2019-05-06", Provenance::Meta),
        ("meta-pubdate.html", "2022-08-18", Provenance::Meta),
        ("meta-publish-date.html", "2023-02-27", Provenance::Meta),
        ("meta-parsely-pub-date.html", "2021-12-15", Provenance::Meta),
        ("meta-sailthru-date.html", "2020-06-03", Provenance::Meta),
        (
            "attr-abbr-published.html",
            "2012-04-17",
            Provenance::Attribute,
        ),
        ("attr-data-date.html", "2023-06-21", Provenance::Attribute),
        (
            "attr-itemprop-content.html",
            "2018-10-04",
            Provenance::Microdata,
        ),
        ("attr-rdfa-drupal.html", "2021-04-29", Provenance::Microdata),
    ] {
        assert_eq!(dated(file), (day(want), Some(from)), "{file}");
    }
}

#[test]
fn teaser_cards_are_not_the_article_and_a_date_in_the_headline_counts() {
    assert_eq!(
        dated("teaser-itemscope-before-h1.html").0,
        day("2022-03-22"),
        "not the teaser's 01.03.2022"
    );
    assert_eq!(
        dated("teaser-articles-after-main.html").0,
        day("2021-08-11")
    );
    assert_eq!(dated("none-teasers-only-on-page.html").0, None);
    assert_eq!(
        dated("headline-date-prefix.html"),
        (day("2020-11-11"), Some(Provenance::Headline))
    );
    assert_eq!(dated("headline-with-date.html").0, day("2022-02-03"));
    // More news listed below the text, without <article> cards: their <time>s are far.
    assert_eq!(
        dated("teaser-more-news-list-without-article-tags.html").0,
        day("2021-04-13")
    );
    // A logo in <h1>, the headline in <h2>: the teaser's date below is not the article's.
    assert_eq!(dated("teaser-h1-in-header-logo.html").0, day("2022-10-12"));
}

#[test]
fn published_wins_over_modified_wherever_each_is_written() {
    for (file, want) in [
        ("pubmod-jsonld-modified-first.html", "2021-01-15"),
        ("pubmod-updated-time-first.html", "2022-06-01"),
        ("pubmod-wordpress-two-times.html", "2019-07-08"),
        ("pubmod-stand-and-datum.html", "2020-03-16"),
        ("pubmod-meta-modified-and-visible.html", "2021-05-05"),
        ("wordpress-entry-footer-date.html", "2020-08-05"),
    ] {
        assert_eq!(dated(file).0, day(want), "{file}");
    }
    let a = article_from(
        &fixture("pubmod-jsonld-modified-first.html"),
        "https://x.example/a/",
    );
    assert_eq!(
        a.updated.map(|d| d.with_timezone(&Berlin).date_naive()),
        day("2021-03-01")
    );
}

#[test]
fn pages_without_a_date_get_none() {
    for file in [
        "none-about-page.html",
        "none-event-page.html",
        "none-contact.html",
        "none-service-page-prose-dates.html",
        "none-sidebar-dates-only.html",
        "none-teasers-only-on-page.html",
        "none-english-about.html",
        "none-event-table.html",
        "print-date-in-footer.html",
    ] {
        assert_eq!(dated(file), (None, None), "{file}");
    }
}

#[test]
fn a_listing_title_cut_short_gives_way_to_the_full_title() {
    let url = "https://www.netzwerk-lausitz.example/aktuelles/x/";
    let a = article_from(&fixture("cms-typo3-news-detail.html"), url);
    let item = merge(
        &entry(url, Some("Neues Gewerbegebiet an …"), None),
        Some(&a),
    );
    assert_eq!(
        item.title.map(|t| t.text).as_deref(),
        Some("Neues Gewerbegebiet an der A15")
    );
    assert_eq!(item.origin.title, Some(Provenance::Microdata));
    // Without structured data: the headline, else og:title or <title>, completes it.
    let a = article_from(&fixture("label-h5-datum.html"), url);
    let item = merge(
        &entry(url, Some("Bürgerhaushalt: Vorschläge..."), None),
        Some(&a),
    );
    assert_eq!(
        item.title.map(|t| t.text).as_deref(),
        Some("Bürgerhaushalt: Vorschläge bis Ende März")
    );
    assert_eq!(item.origin.title, Some(Provenance::Heading));
    // A listing title that is whole, or cut but not the start of the page's title, stays.
    for listing in ["Bürgerhaushalt 2022", "Haushalt: Vorschläge…"] {
        let item = merge(&entry(url, Some(listing), None), Some(&a));
        assert_eq!(item.title.map(|t| t.text).as_deref(), Some(listing));
        assert_eq!(item.origin.title, Some(Provenance::Listing));
    }
}

#[test]
fn the_listing_date_beats_what_the_page_merely_shows_but_not_its_markup() {
    let url = "https://www.netzwerk-lausitz.example/aktuelles/x/";
    let listing_day = "2022-02-04T12:00:00Z".parse().unwrap();
    // The page shows 03.02.2022 as text after a label: the listing's date stays.
    let a = article_from(&fixture("label-h5-datum.html"), url);
    let item = merge(&entry(url, None, Some(listing_day)), Some(&a));
    assert_eq!(
        (item.published, item.origin.date),
        (Some(listing_day), Some(Provenance::Listing))
    );
    // JSON-LD on the page outranks a date the listing only shows.
    let a = article_from(&fixture("jsonld-array-newsarticle.html"), url);
    let item = merge(&entry(url, None, Some(listing_day)), Some(&a));
    assert_eq!(item.origin.date, Some(Provenance::JsonLd));
}
