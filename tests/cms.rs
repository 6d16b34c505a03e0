//! Listing pages built the way other CMSs build them (Drupal views, Joomla
//! blog, a municipal CMS whose entries are whole-link blocks, Bootstrap cards
//! whose only link says "Weiterlesen", hand-made paragraphs): the automatic
//! reader must find exactly the news, with titles, links, dates and teasers.

use revierfeed::extract::html::{Page, parse_listing};
use url::Url;

struct Want {
    title: &'static str,
    path: &'static str,
    date: &'static str,
}

fn check(file: &str, page_url: &str, want: &[Want]) {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cms")
            .join(file),
    )
    .unwrap();
    let text = revierfeed::extract::charset::decode_html(&bytes, None);
    let listing = parse_listing(
        &Page::parse(&text, &Url::parse(page_url).unwrap()).unwrap(),
        None,
    );
    let got: Vec<(String, String, String)> = listing
        .entries
        .iter()
        .map(|e| {
            let date = e
                .published
                .map(|d| {
                    d.with_timezone(&chrono_tz::Europe::Berlin)
                        .date_naive()
                        .to_string()
                })
                .unwrap_or_default();
            (
                e.title.clone().unwrap_or_default(),
                e.link.path().to_string(),
                date,
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = want
        .iter()
        .map(|w| (w.title.to_string(), w.path.to_string(), w.date.to_string()))
        .collect();
    assert_eq!(got, expected, "{file}: {}", listing.method);
    for e in &listing.entries {
        let teaser = e.summary.as_deref().unwrap_or_default();
        assert!(
            teaser.chars().count() >= 25 && !teaser.contains(e.title.as_deref().unwrap()),
            "{file}: teaser of {:?}: {teaser:?}",
            e.title
        );
    }
}

#[test]
fn drupal_views_rows() {
    check(
        "drupal-views.html",
        "https://www.lkspn.example/aktuelles",
        &[
            Want {
                title: "Kreistag beschließt Mobilitätskonzept für den ländlichen Raum",
                path: "/aktuelles/kreistag-beschliesst-mobilitaetskonzept",
                date: "2026-03-12",
            },
            Want {
                title: "Fördermittel für fünf Dorfgemeinschaftshäuser bewilligt",
                path: "/aktuelles/foerdermittel-fuer-dorfgemeinschaftshaeuser",
                date: "2026-03-03",
            },
            Want {
                title: "Ausbildungsbörse 2026: Anmeldung für Betriebe geöffnet",
                path: "/aktuelles/ausbildungsboerse-2026",
                date: "2026-02-20",
            },
        ],
    );
}

#[test]
fn joomla_blog_items_with_microdata() {
    check(
        "joomla-blog.html",
        "https://energieregion.example/neuigkeiten",
        &[
            Want {
                title: "Windpark Jänschwalde wird um sechs Anlagen erweitert",
                path: "/neuigkeiten/45-windpark-jaenschwalde-erweitert",
                date: "2026-01-28",
            },
            Want {
                title: "Großspeicher in Boxberg geht in Betrieb",
                path: "/neuigkeiten/44-speicherprojekt-boxberg",
                date: "2026-01-15",
            },
            Want {
                title: "Energiewerkstatt für Schulen startet ins zweite Jahr",
                path: "/neuigkeiten/43-energiewerkstatt-schulen",
                date: "2026-01-08",
            },
        ],
    );
}

#[test]
fn municipal_cms_with_whole_link_blocks() {
    check(
        "municipal-linkblocks.html",
        "https://www.forst.example/index.php?ModID=7&object=tx%2C2458.5.1",
        &[
            Want {
                title: "Rosengarten: Saisonkarten ab sofort erhältlich",
                path: "/index.php",
                date: "2026-02-24",
            },
            Want {
                title: "Straßensperrung in der Berliner Straße",
                path: "/index.php",
                date: "2026-02-19",
            },
            Want {
                title: "Stadtverordnete beraten über Haushalt 2026",
                path: "/index.php",
                date: "2026-02-11",
            },
            Want {
                title: "Neue Kita in Forst-Nord eröffnet",
                path: "/index.php",
                date: "2026-02-02",
            },
        ],
    );
}

#[test]
fn bootstrap_cards_whose_link_says_weiterlesen() {
    check(
        "bootstrap-cards.html",
        "https://gruenderwerkstatt.example/news",
        &[
            Want {
                title: "Demo Day: Zehn Teams präsentieren ihre Ideen",
                path: "/news/demo-day-2026",
                date: "2026-03-18",
            },
            Want {
                title: "Neue Förderrunde für Start-ups im Revier",
                path: "/news/foerderrunde-startups",
                date: "2026-03-04",
            },
            Want {
                title: "Coworking-Space in Weißwasser eröffnet",
                path: "/news/coworking-weisswasser",
                date: "2026-02-21",
            },
        ],
    );
}

#[test]
fn hand_made_paragraphs_without_wrappers() {
    check(
        "flat-paragraphs.html",
        "http://www.seenland-verein.example/aktuelles.html",
        &[
            Want {
                title: "Frühjahrsputz am Ufer des Partwitzer Sees",
                path: "/aktuelles/2026-03-14-fr%C3%BChjahrsputz.html",
                date: "2026-03-14",
            },
            Want {
                title: "Mitgliederversammlung wählt neuen Vorstand",
                path: "/aktuelles/2026-02-28-mitgliederversammlung.html",
                date: "2026-02-28",
            },
            Want {
                title: "Neujahrswanderung rund um den Geierswalder See",
                path: "/aktuelles/2026-01-09-neujahrswanderung.html",
                date: "2026-01-09",
            },
        ],
    );
}

#[test]
fn all_news_inline_on_one_page() {
    check(
        "inline-news.html",
        "https://heimatverein-welzow.example/aktuelles.html",
        &[
            Want {
                title: "Tag des Bergmanns mit Ausstellung im Heimathaus",
                path: "/aktuelles.html",
                date: "2026-07-04",
            },
            Want {
                title: "Neue Ortschronik erschienen",
                path: "/aktuelles.html",
                date: "2026-05-12",
            },
            Want {
                title: "Frühjahrsputz am Aussichtspunkt",
                path: "/aktuelles.html",
                date: "2026-03-21",
            },
        ],
    );
}
