//! The feed adapter against small hand-written feeds, one mechanism per test.

use super::*;

fn url() -> Url {
    Url::parse("http://partner.example/feed/").unwrap()
}

#[test]
fn items_without_ids_get_no_invented_id() {
    let rss = br#"<rss version="2.0"><channel><title>T</title><item><title>A</title><link>/a</link></item></channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(doc.items[0].guid, None);
    assert_eq!(
        doc.items[0].link.as_ref().unwrap().as_str(),
        "http://partner.example/a"
    );
}

#[test]
fn html_and_empty_bodies_are_clear_errors() {
    assert_eq!(
        parse_feed(b"  ", None, &url(), 10),
        Err(ExtractError::Empty)
    );
    assert_eq!(
        parse_feed(
            b"<!doctype html><html><body>Wartung</body></html>",
            None,
            &url(),
            10
        ),
        Err(ExtractError::HtmlNotFeed)
    );
    assert!(matches!(
        parse_feed(
            b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>Abgeschn",
            None,
            &url(),
            10
        ),
        Err(ExtractError::Malformed(_))
    ));
}

#[test]
fn a_second_xml_declaration_is_dropped_and_the_rest_read() {
    // Found by the feed_ingest fuzz target: quick-xml panics on a second XML
    // declaration (here pasted mid-item, followed by a cut-off Atom document).
    let bytes =
        include_bytes!("../../../tests/fixtures/fuzz-regressions/feed-second-xml-declaration.xml");
    let doc = parse_feed(bytes, None, &url(), 10).unwrap();
    let titles: Vec<_> = doc
        .items
        .iter()
        .map(|i| i.title.clone().unwrap().text)
        .collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert_eq!(titles[0], "Martinsumzug und Martinsmarkt am 11. November");
    assert_eq!(
        doc.problems[0],
        "1 XML declaration(s) not at the start of the document dropped"
    );
    assert!(
        doc.problems.iter().any(|p| p.starts_with("entry 5 lost")),
        "{:?}",
        doc.problems
    );
    // After a leading comment, too (feedparser's corpus has such feeds).
    let late = b"<!-- generated -->\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>A</title></item></channel></rss>";
    let doc = parse_feed(late, None, &url(), 10).unwrap();
    assert_eq!(doc.items[0].title.as_ref().unwrap().text, "A");
}

#[test]
fn entity_bombs_and_external_entities_stay_literal_text() {
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
 <!ENTITY net SYSTEM "http://127.0.0.1:9/entity">
]>
<rss version="2.0"><channel><title>T &lol3;</title><item><title>A &lol3; &xxe; &net;</title><guid>g1</guid><description>&lol3; &xxe; &amp; &#228;</description></item></channel></rss>"#;
    let doc = parse_feed(bomb, None, &url(), 10).unwrap();
    assert_eq!(doc.title.as_deref(), Some("T &lol3;"));
    let item = &doc.items[0];
    assert_eq!(item.title.as_ref().unwrap().text, "A &lol3; &xxe; &net;");
    // The five predefined entities and character references still work.
    assert_eq!(item.summary.as_ref().unwrap().text, "&lol3; &xxe; & ä");
}

#[test]
fn invalid_utf8_is_read_as_windows_1252_and_named_with_its_offset() {
    for feed in [
            &b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>"[..],
            &b"<rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>"[..],
            &b"{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"T\",\"items\":[{\"id\":\"1\",\"title\":\"Gr\xfc\xdfe\"}]}"[..],
        ] {
            let offset = feed.iter().position(|b| *b == 0xfc).unwrap();
            let doc = parse_feed(feed, Some("application/xml"), &url(), 10).unwrap();
            assert_eq!(doc.items[0].title.as_ref().unwrap().text, "Grüße");
            // Undeclared bytes are detected (chardetng), not a broken promise.
            if charset::xml_declared(feed).is_some() {
                assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
                assert!(
                    doc.problems[0].contains(&format!("invalid UTF-8 at byte {offset}")),
                    "{:?}",
                    doc.problems
                );
            }
        }
    // A UTF-8 claim in the HTTP header is a claim too.
    let undeclared = b"<rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>";
    let doc = parse_feed(
        undeclared,
        Some("application/xml; charset=utf-8"),
        &url(),
        10,
    )
    .unwrap();
    assert_eq!(doc.items[0].title.as_ref().unwrap().text, "Grüße");
    assert!(
        doc.problems[0].contains("invalid UTF-8 at byte 59"),
        "{:?}",
        doc.problems
    );
    // The same bytes are fine, and no problem, where the server names Latin-1.
    let latin1 = b"<rss version=\"2.0\"><channel><title>T</title><item><title>Gr\xfc\xdfe</title></item></channel></rss>";
    let doc = parse_feed(latin1, Some("text/xml; charset=iso-8859-1"), &url(), 10).unwrap();
    assert_eq!(doc.items[0].title.as_ref().unwrap().text, "Grüße");
    assert!(doc.problems.is_empty());
}

#[test]
fn script_urls_never_become_home_or_base() {
    let rss = br#"<rss version="2.0"><channel><title>T</title><link>javascript:alert(1)</link><item><title>A</title><guid>g</guid></item></channel></rss>"#;
    assert_eq!(parse_feed(rss, None, &url(), 10).unwrap().home, None);
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>x</id><link href="data:text/html,hi"/><entry xml:base="javascript:alert(1)//"><id>e</id><title>A</title></entry></feed>"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    assert_eq!(doc.home, None);
    assert!(
        doc.items[0].base.as_ref().is_none_or(is_web_url),
        "{:?}",
        doc.items[0].base
    );
}

#[test]
fn item_cap_is_reported() {
    let mut rss = String::from(r#"<rss version="2.0"><channel><title>T</title>"#);
    for i in 0..30 {
        rss.push_str(&format!("<item><title>{i}</title><guid>g{i}</guid></item>"));
    }
    rss.push_str("</channel></rss>");
    let doc = parse_feed(rss.as_bytes(), None, &url(), 10).unwrap();
    assert_eq!((doc.items.len(), doc.skipped), (10, 20));
}

fn titles(doc: &Extracted) -> Vec<&str> {
    doc.items
        .iter()
        .map(|i| i.title.as_ref().map_or("", |t| t.text.as_str()))
        .collect()
}

#[test]
fn a_stray_ampersand_costs_nothing() {
    let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><title>Gut</title><link>http://partner.example/a</link></item>
<item><title>Tickets &amp; mehr</title><link>http://partner.example/b?a=1&b=2&c</link></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Gut", "Tickets & mehr"]);
    assert_eq!(
        doc.items[1].link.as_ref().unwrap().as_str(),
        "http://partner.example/b?a=1&b=2&c"
    );
    assert!(
        doc.problems[0].contains("2 stray '&' escaped"),
        "{:?}",
        doc.problems
    );
}

#[test]
fn html_entities_and_control_characters_are_repaired() {
    let rss = b"<rss version=\"2.0\"><channel><title>T</title><item><title>Caf&eacute; & Bar\x01</title></item></channel></rss>";
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Caf\u{e9} & Bar"]);
}

#[test]
fn a_broken_entry_is_lost_alone_and_named() {
    let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><title>Erste</title><guid>1</guid></item>
<item><title>Falsch geschlossen</title><guid>2</guid><description><![CDATA[ok]]></descr></item>
<item><title>Kaputt</title><guid isPermaLink="false>3</guid></item>
<item><title>Vierte</title><guid>4</guid></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Erste", "Falsch geschlossen", "Vierte"]);
    assert!(
        doc.problems.iter().any(|p| p.starts_with("entry 3 lost")),
        "{:?}",
        doc.problems
    );
    assert_eq!(doc.title.as_deref(), Some("T"));
}

#[test]
fn a_cut_off_document_keeps_its_complete_entries() {
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>f</id>
<entry><id>1</id><title>Ganz</title></entry><entry><id>2</id><title>Abgeschn"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Ganz"]);
    assert!(doc.problems.iter().any(|p| p.starts_with("entry 2 lost")));
}

#[test]
fn bad_atom_types_and_empty_elements_cost_nothing() {
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>f</id>
<entry><id>1</id><title type="application/xhtml+xml"><b xmlns="http://www.w3.org/1999/xhtml">Fett</b></title></entry>
<entry><id>2</id><title type="">Leer</title><content type="base64">SGFsbG8=</content></entry>
<entry><id>3</id><title>Ohne</title><summary></summary><content type="text/plain"/></entry>
</feed>"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    assert_eq!(doc.items.len(), 3, "{:?}", doc.problems);
    assert!(titles(&doc)[0].contains("Fett"));
    assert_eq!(titles(&doc)[1..], ["Leer", "Ohne"]);
    assert_eq!(doc.items[1].content.as_ref().unwrap().text, "Hallo");
}

#[test]
fn atom_03_is_read_as_atom_10() {
    let atom = br#"<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title>Alt</title><tagline>Unterzeile</tagline><modified>2026-03-02T10:00:00Z</modified>
<entry><title>Eintrag</title><id>tag:x,2026:1</id><link rel="alternate" type="text/html" href="http://partner.example/1"/>
<issued>2026-03-01T09:00:00+01:00</issued><modified>2026-03-02T10:15:00Z</modified>
<content type="text/html" mode="escaped">&lt;p&gt;Text&lt;/p&gt;</content>
<author><name>Ada</name><url>http://partner.example/ada</url></author></entry>
<entry><title>Zwei</title><id>2</id><created>2026-02-28T08:00:00Z</created>
<content type="text/plain" mode="base64">R3LDvMOfZQ==</content></entry></feed>"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Eintrag", "Zwei"]);
    let first = &doc.items[0];
    assert_eq!(
        first.published.unwrap().to_rfc3339(),
        "2026-03-01T08:00:00+00:00"
    );
    assert_eq!(
        first.updated.unwrap().to_rfc3339(),
        "2026-03-02T10:15:00+00:00"
    );
    let content = first.content.as_ref().unwrap();
    assert_eq!(
        (content.text.as_str(), content.is_html),
        ("<p>Text</p>", true)
    );
    assert_eq!(first.authors, ["Ada"]);
    assert_eq!(
        first.link.as_ref().unwrap().as_str(),
        "http://partner.example/1"
    );
    assert_eq!(
        doc.items[1].published.unwrap().to_rfc3339(),
        "2026-02-28T08:00:00+00:00"
    );
    assert_eq!(doc.items[1].content.as_ref().unwrap().text, "Grüße");
}

#[test]
fn every_rss_09x_variant_and_a_missing_channel_are_read() {
    for root in [
        r#"<rss>"#,
        r#"<rss version="0.91">"#,
        r#"<rss version="0.92">"#,
        r#"<rss version="0.93">"#,
        r#"<rss version="0.94">"#,
        r#"<rss version="2.0.1">"#,
    ] {
        let rss = format!(
            "{root}<channel><title>T</title><item><title>A</title><link>http://partner.example/a</link></item></channel></rss>"
        );
        let doc = parse_feed(rss.as_bytes(), None, &url(), 10).unwrap();
        assert_eq!(titles(&doc), ["A"], "{root}");
    }
    let no_channel = br#"<rss version="2.0"><title>T</title><item><title>A</title></item><item><title>B</title></item></rss>"#;
    let doc = parse_feed(no_channel, None, &url(), 10).unwrap();
    assert_eq!(
        (doc.title.as_deref(), titles(&doc)),
        (Some("T"), vec!["A", "B"])
    );
    let rss090 = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>T</title><link>http://partner.example/</link></channel>
<item><title>Neunzig</title><link>http://partner.example/90</link></item></rdf:RDF>"#;
    let doc = parse_feed(rss090, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Neunzig"]);
}

#[test]
fn dublin_core_and_xhtml_bodies_fill_what_the_entry_lacks() {
    let rss = br#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xhtml="http://www.w3.org/1999/xhtml"><channel><title>T</title>
<item><dc:title>Nur DC</dc:title><guid>1</guid><dcterms:modified>2026-03-02T10:15:00Z</dcterms:modified>
<xhtml:body><xhtml:p>Voller <xhtml:b>Text</xhtml:b></xhtml:p></xhtml:body></item>
<item><title>Eigener Titel</title><dc:title>DC</dc:title><guid>2</guid><dc:date>2026-03-01T09:00:00Z</dc:date>
<fullitem>&lt;p&gt;Ganzer Artikel&lt;/p&gt;</fullitem></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Nur DC", "Eigener Titel"]);
    let first = &doc.items[0];
    assert_eq!(
        first.updated.unwrap().to_rfc3339(),
        "2026-03-02T10:15:00+00:00"
    );
    assert_eq!(first.published, first.updated);
    let body = &first.content.as_ref().unwrap().text;
    assert!(
        body.contains("Voller") && body.contains("Text</xhtml:b>"),
        "{body}"
    );
    let second = &doc.items[1];
    assert_eq!(
        second.published.unwrap().to_rfc3339(),
        "2026-03-01T09:00:00+00:00"
    );
    assert_eq!(
        second.content.as_ref().unwrap().text,
        "<p>Ganzer Artikel</p>"
    );
}

#[test]
fn plain_text_titles_keep_angle_brackets_and_ampersands() {
    let rss = br#"<rss version="2.0"><channel><title>T</title><item><title>Vector&lt;T&gt; in Rust &amp; C++</title></item></channel></rss>"#;
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>f</id><entry><id>1</id><title type="text">Vector&lt;T&gt; in Rust &amp; C++</title></entry></feed>"#;
    for feed in [&rss[..], &atom[..]] {
        let doc = parse_feed(feed, None, &url(), 10).unwrap();
        let title = doc.items[0].title.clone().unwrap();
        assert_eq!(title.text, "Vector<T> in Rust & C++");
        assert_eq!(
            crate::normalize::clean_text(&title),
            "Vector<T> in Rust & C++"
        );
    }
}

#[test]
fn rss_10_items_without_link_use_their_rdf_about_and_userland_rss_is_rss() {
    let rdf = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://partner.example/index.rdf"><title>T</title></channel>
<item rdf:about="http://partner.example/1?a=1&amp;b=2"><title>Nur About</title></item></rdf:RDF>"#;
    let doc = parse_feed(rdf, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Nur About"]);
    assert_eq!(
        doc.items[0].link.as_ref().unwrap().as_str(),
        "http://partner.example/1?a=1&b=2"
    );
    let userland = br#"<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>T</title><item><title>Userland</title></item></channel></rss>"#;
    let doc = parse_feed(userland, None, &url(), 10).unwrap();
    assert_eq!(titles(&doc), ["Userland"]);
}

#[test]
fn declared_plain_text_is_never_taken_for_html() {
    // Atom says what its text is; "text" holding tags is still text (RSS
    // declares nothing, so there `normalize` guesses by feedparser's rule).
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>f</id>
<entry><id>1</id><title>Example &lt;b&gt;Atom&lt;/b&gt; &amp;amp; more</title></entry>
<entry><id>2</id><title type="html">Example &lt;b&gt;Atom&lt;/b&gt; &amp;amp; more</title></entry></feed>"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    let titles: Vec<_> = doc
        .items
        .iter()
        .map(|i| crate::normalize::clean_text(i.title.as_ref().unwrap()))
        .collect();
    assert_eq!(
        titles,
        ["Example <b>Atom</b> &amp; more", "Example Atom & more"]
    );
    let rss = br#"<rss version="2.0"><channel><title>T</title><item><title>Example &lt;b&gt;RSS&lt;/b&gt;</title></item></channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(
        crate::normalize::clean_text(doc.items[0].title.as_ref().unwrap()),
        "Example RSS"
    );
}

#[test]
fn atom_03_base64_text_is_decoded_and_stays_plain() {
    // Atom 0.3 `mode="base64"`; the decoded title is text/plain (0.3's default).
    let atom = br#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry>
  <title mode="base64">
    RXhhbXBsZSA8Yj5BdG9tPC9iPg==
  </title><summary type="text/html" mode="base64">PHA+SGk8L3A+</summary></entry></feed>"#;
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    let item = &doc.items[0];
    assert_eq!(
        crate::normalize::clean_text(item.title.as_ref().unwrap()),
        "Example <b>Atom</b>"
    );
    let summary = item.summary.as_ref().unwrap();
    assert_eq!(
        (summary.text.as_str(), summary.is_html),
        ("<p>Hi</p>", true)
    );
}

#[test]
fn an_entry_without_a_title_takes_media_title_or_the_shallowest_nested_one() {
    let rss = br#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<item><link>http://partner.example/1</link><media:title>Nur Media</media:title></item>
<item><link>http://partner.example/2</link><media:group><media:content url="http://partner.example/v.mp4"><media:title>Tief</media:title></media:content></media:group><category>Kolumne<image><title><![CDATA[Flach]]></title></image></category></item>
<item><link>http://partner.example/3</link><media:title>Media</media:title><title>Eigener</title><dc:title>DC</dc:title></item>
<item><link>http://partner.example/4</link><dc:title>DC</dc:title><media:title>Media</media:title></item>
<item><link>http://partner.example/5</link><source url="http://other.example/feed"><title>Fremd</title></source><description>&lt;title&gt;Text&lt;/title&gt;</description></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    let titles: Vec<_> = doc
        .items
        .iter()
        .map(|i| i.title.as_ref().map(|t| t.text.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            Some("Nur Media"),
            Some("Flach"),
            Some("Eigener"),
            Some("DC"),
            None
        ]
    );
}

#[test]
fn rss_090_and_10_items_without_any_link_are_kept_without_one() {
    let rss090 = br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Example title</title></channel>
<item><title>Item title</title></item>
<item><title>Mit Link</title><link>http://partner.example/2</link></item>
</rdf:RDF>"#;
    let doc = parse_feed(rss090, None, &url(), 10).unwrap();
    assert_eq!(doc.title.as_deref(), Some("Example title"));
    assert_eq!(doc.items.len(), 2);
    assert_eq!(doc.items[0].title.as_ref().unwrap().text, "Item title");
    assert_eq!(doc.items[0].link, None);
    assert_eq!(
        doc.items[1].link.as_ref().map(Url::as_str),
        Some("http://partner.example/2")
    );
}

#[test]
fn uppercase_hex_references_and_a_cut_end_tag_lose_nothing() {
    let atom = b"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">\n<entry><title>&#X41;&#x42;</title></entry>\n</feed";
    let doc = parse_feed(atom, None, &url(), 10).unwrap();
    assert_eq!(doc.items[0].title.as_ref().unwrap().text, "AB");
    assert!(
        doc.problems
            .iter()
            .any(|p| p.contains("1 '&#X' references spelt '&#x'")),
        "{:?}",
        doc.problems
    );
}

#[test]
fn an_rss_item_without_a_link_takes_its_permalink_guid() {
    let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><title>a</title><guid>http://partner.example/1?a=1&amp;b=2</guid></item>
<item><title>b</title><guid isPermaLink="true">https://partner.example/2</guid><link>http://partner.example/eigen</link></item>
<item><title>c</title><guid isPermaLink="false">http://partner.example/3</guid></item>
<item><title>d</title><guid>tag:partner.example,2026:4</guid></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    let links: Vec<_> = doc
        .items
        .iter()
        .map(|i| i.link.as_ref().map(Url::as_str))
        .collect();
    assert_eq!(
        links,
        [
            Some("http://partner.example/1?a=1&b=2"),
            Some("http://partner.example/eigen"),
            None,
            None
        ]
    );
    // The guid stays the guid.
    assert_eq!(
        doc.items[2].guid.as_deref(),
        Some("http://partner.example/3")
    );
}

#[test]
fn rss_links_written_the_atom_way_are_read() {
    let rss = br#"<rss version="2.0"><channel><title>T</title><link href="http://partner.example/"/>
<item><title>a</title><link href="http://partner.example/1?a=1&amp;b=2"/><link rel="enclosure" type="audio/mpeg" href="http://partner.example/1.mp3"/></item>
<item><title>b</title><link rel="enclosure" href="http://partner.example/2.mp3"/><guid>http://partner.example/2</guid></item>
</channel></rss>"#;
    let doc = parse_feed(rss, None, &url(), 10).unwrap();
    assert_eq!(
        doc.home.as_ref().map(Url::as_str),
        Some("http://partner.example/")
    );
    let links: Vec<_> = doc
        .items
        .iter()
        .map(|i| i.link.as_ref().map(Url::as_str))
        .collect();
    assert_eq!(
        links,
        [
            Some("http://partner.example/1?a=1&b=2"),
            Some("http://partner.example/2")
        ]
    );
}

#[test]
fn a_feed_needing_no_rewrite_is_read_in_place() {
    let rss = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!DOCTYPE rss>\n<rss version='2.0'>\
        <channel><title>T &amp; U</title>\n<item><title>Eins</title><link>https://a.example/1</link>\
        <!-- Kommentar --><description><![CDATA[<p>x</p>]]></description></item></channel></rss>\n";
    let out = dialect::upgrade(rss, false).unwrap();
    let std::borrow::Cow::Borrowed(read) = out else {
        panic!("copied: {}", String::from_utf8_lossy(&out));
    };
    assert_eq!(
        read.trim_ascii_start(),
        &rss.as_bytes()[rss.find("<rss").unwrap()..]
    );
}

#[test]
fn a_rewrite_changes_its_events_and_copies_the_rest_as_written() {
    let atom03 = "<?xml version=\"1.0\"?><feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">\
        <title type='text/plain'>T</title><entry><title>E</title>\
        <modified>2026-01-02T00:00:00Z</modified><link rel='alternate'  href='https://a.example/1'/>\
        </entry></feed>";
    let out = String::from_utf8(dialect::upgrade(atom03, false).unwrap().into_owned()).unwrap();
    assert!(
        out.starts_with("<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\">"),
        "{out}"
    );
    assert!(out.contains("<title type=\"text\">T</title>"), "{out}");
    assert!(
        out.contains("<updated>2026-01-02T00:00:00Z</updated>"),
        "{out}"
    );
    // Untouched events keep the partner's bytes: quotes, spacing.
    assert!(out.contains("<entry><title>E</title>"), "{out}");
    assert!(
        out.contains("<link rel='alternate'  href='https://a.example/1'/>"),
        "{out}"
    );

    let sloppy = "<rss version=\"2.0\"><channel><item><title>A</title></b><link>https://a.example/1</link></item><item><title>B</title></channel></rss>";
    let out = String::from_utf8(dialect::upgrade(sloppy, true).unwrap().into_owned()).unwrap();
    assert_eq!(
        out,
        "<rss version=\"2.0\"><channel><item><title>A</title><link>https://a.example/1</link></item><item><title>B</title></item></channel></rss>"
    );
}
