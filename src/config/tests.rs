//! Config parsing and validation: defaults, located errors, rules and selectors.

use super::*;
use crate::extract::html::listing::FieldSelector;

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new("config.toml"))
}

const MINIMAL: &str = "[feed]\ntitle = \"T\"\npublic_url = \"http://127.0.0.1:8080\"\n";

#[test]
fn minimal_config_gets_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.feed.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(c.feed.items, 50);
    assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.fetch.max_redirects, 5);
    assert!(c.sources.is_empty());
}

#[test]
fn stories_table_has_defaults_values_and_located_errors() {
    let d = parse(MINIMAL).unwrap().stories;
    assert_eq!(d, crate::story::Rules::default());
    let c = parse(&format!(
        "{MINIMAL}[stories]\nwindow_days = 2\nmin_similarity = 0.4\nmin_shared_terms = 6\nenabled = false\n"
    ))
    .unwrap()
    .stories;
    assert_eq!(
        (
            c.enabled,
            c.window_days,
            c.min_similarity,
            c.min_shared_terms
        ),
        (false, 2, 0.4, 6)
    );
    let err = parse(&format!(
        "{MINIMAL}[stories]\nwindow_days = 90\nmin_similarity = 0.01\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("config.toml:5:15: stories.window_days"),
        "{err}"
    );
    assert!(
        err.contains("config.toml:6:18: stories.min_similarity"),
        "{err}"
    );
    let unknown = parse(&format!("{MINIMAL}[stories]\nwindow = 3\n")).unwrap_err();
    assert_eq!(unknown.0[0].key, "stories.window", "{unknown}");
    assert!(
        unknown.to_string().contains("did you mean `window_days`"),
        "{unknown}"
    );
}

#[test]
fn unknown_key_names_line_column_and_suggests() {
    let text = format!("{MINIMAL}[fetch]\nshedule = \"1h\"\n");
    let err = parse(&text).unwrap_err();
    let e = &err.0[0];
    assert_eq!((e.line, e.column), (5, 1), "{e}");
    assert_eq!(e.key, "fetch.shedule");
    assert!(e.message.contains("did you mean `schedule`"), "{e}");
}

#[test]
fn validation_errors_point_at_the_value() {
    let text = format!(
        "{MINIMAL}[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nschedule = \"every tuesday\"\n\n[[source]]\nid = \"a\"\nurl = \"ftp://x\"\n"
    );
    let err = parse(&text).unwrap_err();
    let rendered = err.to_string();
    assert!(
        rendered.contains("config.toml:7:12: source[0].schedule"),
        "{rendered}"
    );
    assert!(
        rendered.contains("config.toml:10:6: source[1].id: duplicate source id `a`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("config.toml:11:7: source[1].url"),
        "{rendered}"
    );
}

#[test]
fn selectors_are_checked_where_they_are_written() {
    let text = format!(
        "{MINIMAL}[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\nkind = \"html\"\n[source.selectors]\nitem = \"div.news\"\ndate = \"span::nope\"\nlink = \"a@href\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("config.toml:10:8: source[0].selectors.date"),
        "{err}"
    );
    let ok = text.replace("span::nope", "span.date");
    let c = parse(&ok).unwrap();
    let s = c.sources[0].selectors.as_ref().unwrap();
    assert_eq!(
        (s.item_css.as_str(), s.link.as_ref()),
        ("div.news", Some(&FieldSelector::parse("a@href").unwrap()))
    );
}

#[test]
fn rules_are_validated_in_place() {
    let text = format!(
        "{MINIMAL}[[rule]]\naction = \"keep\"\nkeywords = [\"Lausitz\"]\ntags = [\"lausitz\"]\n[[rule]]\naction = \"drop\"\nregex = [\"(unclosed\"]\n[[rule]]\naction = \"hide\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("config.toml:10:10: rule[1].regex: not a regular expression: unclosed group"),
        "{err}"
    );
    assert!(
        err.contains("config.toml:12:10: rule[2].action: `hide` is not an action"),
        "{err}"
    );
    let ok = format!(
        "{MINIMAL}[[rule]]\naction = \"keep\"\nkeywords = [\"Lausitz\"]\ntags = [\"lausitz\"]\n[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\ntags = [\"magazin\"]\n[[source.rule]]\naction = \"tag\"\nkeywords = [\"Wasserstoff\"]\ntags = [\"wasserstoff\"]\n"
    );
    let c = parse(&ok).unwrap();
    assert_eq!(c.rules[0].keywords, vec!["lausitz"]);
    assert_eq!(c.sources[0].rules[0].name, "source[0].rule[0]");
    assert_eq!(c.tags(), vec!["lausitz", "magazin", "wasserstoff"]);
}

#[test]
fn database_path_is_relative_to_the_config_file() {
    let mut c = parse(MINIMAL).unwrap();
    c.path = PathBuf::from("/etc/revierfeed/config.toml");
    assert_eq!(
        c.database_path(),
        PathBuf::from("/etc/revierfeed/revierfeed.db")
    );
}

#[test]
fn allow_networks_accepts_cidr_and_plain_addresses() {
    let text = format!("{MINIMAL}[fetch]\nallow_networks = [\"127.0.0.0/8\", \"::1\"]\n");
    let c = parse(&text).unwrap();
    assert_eq!(c.fetch.allow_networks.len(), 2);
    let bad = format!("{MINIMAL}[fetch]\nallow_networks = [\"localhost\"]\n");
    assert!(
        parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("fetch.allow_networks")
    );
}

#[test]
fn omitted_keys_take_the_defaults_written_with_the_settings() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.server, ServerSettings::default());
    assert_eq!(c.storage, StorageSettings::default());
    assert_eq!(c.fetch, FetchSettings::default());
    assert_eq!(
        (
            c.feed.language.as_str(),
            c.feed.items,
            c.feed.author.as_str()
        ),
        (
            FeedSettings::DEFAULT_LANGUAGE,
            FeedSettings::DEFAULT_ITEMS,
            FeedSettings::DEFAULT_AUTHOR
        )
    );
    let with_source = format!("{MINIMAL}[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\n");
    let source = &parse(&with_source).unwrap().sources[0];
    let defaults = SourceConfig::new(
        "s",
        source.url.clone(),
        SourceKind::Auto,
        c.fetch.schedule.clone(),
    );
    assert_eq!(source, &defaults);
}

#[test]
fn an_unknown_kind_lists_every_kind() {
    let text =
        format!("{MINIMAL}[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\nkind = \"rest\"\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains(
            "config.toml:7:8: source[0].kind: `rest` is not a kind; use \"feed\", \"html\" or \"auto\""
        ),
        "{err}"
    );
}

#[test]
fn the_content_selector_is_parsed_once_here() {
    let text = format!(
        "{MINIMAL}[[source]]\nid = \"s\"\nurl = \"https://x.example/\"\nkind = \"html\"\n[source.selectors]\nitem = \"div.news\"\ncontent = \"article .body\"\n"
    );
    let c = parse(&text).unwrap();
    let s = c.sources[0].selectors.as_ref().unwrap();
    assert_eq!(
        s.content,
        Some(FieldSelector::parse("article .body").unwrap())
    );
    let bad = text.replace("article .body", "article::nope");
    let err = parse(&bad).unwrap_err().to_string();
    assert!(err.contains("source[0].selectors.content"), "{err}");
}

#[test]
fn site_table_takes_legal_links_and_a_footer_line() {
    let d = parse(MINIMAL).unwrap().site;
    assert_eq!(d, SiteSettings::default());
    let c = parse(&format!(
        "{MINIMAL}[site]\nimpressum = \"https://example.org/impressum\"\ndatenschutz = \"https://example.org/datenschutz\"\nfooter = \" Ein Projekt der Lausitz \"\n"
    ))
    .unwrap()
    .site;
    assert_eq!(
        c.impressum.as_ref().map(Url::as_str),
        Some("https://example.org/impressum")
    );
    assert_eq!(
        c.datenschutz.as_ref().map(Url::as_str),
        Some("https://example.org/datenschutz")
    );
    assert_eq!(c.footer.as_deref(), Some("Ein Projekt der Lausitz"));
    let err = parse(&format!(
        "{MINIMAL}[site]\nimpressum = \"javascript:alert(1)\"\ndatenschutz = \"/datenschutz\"\nfooter = \"{}\"\n",
        "x".repeat(SiteSettings::MAX_FOOTER_CHARS + 1)
    ))
    .unwrap_err()
    .to_string();
    for located in [
        "config.toml:5:13: site.impressum",
        "config.toml:6:15: site.datenschutz",
        "config.toml:7:10: site.footer",
    ] {
        assert!(err.contains(located), "{located} in {err}");
    }
    let unknown = parse(&format!(
        "{MINIMAL}[site]\nimpresum = \"https://example.org/\"\n"
    ))
    .unwrap_err();
    assert!(
        unknown.to_string().contains("did you mean `impressum`"),
        "{unknown}"
    );
}

#[test]
fn log_format_is_text_json_or_a_located_error() {
    assert_eq!(parse(MINIMAL).unwrap().log.format, LogFormat::Text);
    let c = parse(&format!("{MINIMAL}[log]\nformat = \"json\"\n")).unwrap();
    assert_eq!(c.log.format, LogFormat::Json);
    let err = parse(&format!("{MINIMAL}[log]\nformat = \"xml\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("config.toml:5:10: log.format: must be \"text\" or \"json\""),
        "{err}"
    );
}

#[test]
fn every_unknown_key_is_reported_with_the_right_label() {
    let src = "[[source]]\nid = \"a\"\nname = \"A\"\nurl = \"https://a.example/\"\n";
    let keys = |extra: &str| -> Vec<String> {
        parse(&format!("{MINIMAL}{extra}"))
            .unwrap_err()
            .0
            .iter()
            .map(|e| format!("{}:{}", e.line, e.key))
            .collect()
    };
    // Two unknown keys in one table, one with a multi-line value, and a bad
    // value after them: all three, in file order.
    assert_eq!(
        keys("[fetch]\ntimout = \"1s\"\nnoise = [\n  1,\n  2,\n]\nconcurency = 3\nper_host = 99\n"),
        vec![
            "5:fetch.timout",
            "6:fetch.noise",
            "10:fetch.concurency",
            "11:fetch.per_host"
        ]
    );
    assert_eq!(
        keys(&format!("{src}admin = true\n")),
        vec!["8:source[0].admin"]
    );
    // An unknown table is named as itself, not as a key of the table before.
    assert_eq!(keys(&format!("{src}[admin]\nx = 1\n")), vec!["8:admin"]);
    // Sub-tables of an array entry belong to that entry.
    assert_eq!(
        keys(&format!(
            "{src}[source.selectors]\nitem = \"x\"\nbogus = 1\n{src}[[source.rule]]\naction = \"keep\"\nkeywords = [\"x\"]\nfoo = 1\n"
        )),
        vec![
            "10:source[0].selectors.bogus",
            "12:source[1].id",
            "18:source[1].rule[0].foo"
        ]
    );
    // A syntax error in a header names the table being opened.
    assert_eq!(
        keys(&format!("{src}[source.selectors\nitem = \"x\"\n")),
        vec!["8:source[0].selectors"]
    );
}

#[test]
fn feed_table_is_required_to_serve_but_not_to_read_partners() {
    let text = "[fetch]\nallow_networks = [\"10.0.0.0/8\"]\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(
        err.contains("config.toml:1:1: feed: missing table [feed]"),
        "{err}"
    );
    let c = Config::parse_as(text, Path::new("config.toml"), Purpose::Read).unwrap();
    assert_eq!(c.fetch.allow_networks.len(), 1);
    assert_eq!(c.feed.public_url.as_str(), "http://127.0.0.1:8080/");
    // Reading partners still checks what is there.
    assert!(
        Config::parse_as(
            "[fetch]\ntimeout = \"soon\"\n",
            Path::new("c.toml"),
            Purpose::Read
        )
        .is_err()
    );
    let builtin = Config::builtin(Path::new("config.toml"));
    assert_eq!(builtin.fetch, FetchSettings::default());
    assert!(builtin.sources.is_empty());
}

#[test]
fn sources_are_found_by_id_after_the_list_changed() {
    let text = (0..5).fold(MINIMAL.to_string(), |t, n| {
        format!(
            "{t}[[source]]\nid = \"s{n}\"\nname = \"S {n}\"\nurl = \"http://127.0.0.1/{n}.xml\"\n"
        )
    });
    let mut c = parse(&text).unwrap();
    let name = |c: &Config, id: &str| c.source(id).map(|s| s.name.clone());
    for n in 0..5 {
        assert_eq!(
            name(&c, &format!("s{n}")).as_deref(),
            Some(format!("S {n}").as_str())
        );
    }
    assert_eq!(name(&c, "s9"), None);
    // Kept, removed, moved and added as `fetch --once` and `probe` do.
    c.sources.retain(|s| s.id != "s1");
    c.sources.reverse();
    let mut added = c.sources[0].clone();
    added.id = "s9".into();
    added.name = "S 9".into();
    c.sources.push(added);
    assert_eq!(name(&c, "s1"), None);
    for n in [0, 2, 3, 4, 9] {
        assert_eq!(
            name(&c, &format!("s{n}")).as_deref(),
            Some(format!("S {n}").as_str())
        );
    }
}
