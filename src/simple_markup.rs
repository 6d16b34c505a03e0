//! The sanitiser's fast path: partner HTML that the HTML5 tree builder
//! would take exactly as written (known elements, strictly nested, the
//! few character references it can decode) is sanitised in one pass over
//! its bytes, with the output ammonia would write for it byte for byte
//! (`normalize::sanitize_html`'s `SANITIZER`). Anything else — an unknown
//! or misnested element, a comment, a reference not in the table below, an
//! unquoted attribute — returns `None` and goes to ammonia.
//!
//! Why: parsing into a tree, cleaning it and serialising it again cost a
//! tenth of an item's whole ingest, for the `<p>`, `<a href>` and
//! `<strong>` most partners send. Hand-written because no crate recognises
//! "HTML that parses as written"; the differential tests below (and
//! `normalize`'s) run both paths over generated and partner fragments and
//! require equal output, so a change to `SANITIZER` that this file does
//! not follow fails them.
//!
//! Why these rules are enough for the tree to equal the tokens: in the
//! "in body" insertion mode the tree builder restructures only where an
//! element closes another implicitly (a block start tag closes an open
//! `p`, a heading closes a heading, an `li` an `li`, an `a` an `a`), where
//! an end tag does not match the current element (the adoption agency,
//! implied end tags), or inside tables, `pre`, raw-text and foreign
//! content. None of those can happen to the elements accepted here when
//! every end tag closes the current element.

use url::Url;

/// How the tree builder treats an accepted element.
#[derive(Clone, Copy)]
enum Kind {
    /// Closes an open `p` when it starts (so none may be open).
    Block,
    /// A heading: closes an open `p`, and a heading starting in one is closed.
    Heading,
    /// An `li`: closes an open `p` and an open `li`; accepted right inside a list only.
    ListItem,
    /// Phrasing content: nests anywhere.
    Inline,
    /// No content and no end tag; `hr` also closes an open `p`.
    Void { closes_p: bool },
}

/// The accepted elements, a subset of ammonia's default tags, each with
/// how the tree builder treats it; the open stack holds these names.
const ELEMENTS: [(&str, Kind); 32] = [
    ("p", Kind::Block),
    ("div", Kind::Block),
    ("blockquote", Kind::Block),
    ("ul", Kind::Block),
    ("ol", Kind::Block),
    ("h1", Kind::Heading),
    ("h2", Kind::Heading),
    ("h3", Kind::Heading),
    ("h4", Kind::Heading),
    ("h5", Kind::Heading),
    ("h6", Kind::Heading),
    ("li", Kind::ListItem),
    ("a", Kind::Inline),
    ("abbr", Kind::Inline),
    ("b", Kind::Inline),
    ("cite", Kind::Inline),
    ("code", Kind::Inline),
    ("em", Kind::Inline),
    ("i", Kind::Inline),
    ("mark", Kind::Inline),
    ("q", Kind::Inline),
    ("s", Kind::Inline),
    ("small", Kind::Inline),
    ("span", Kind::Inline),
    ("strong", Kind::Inline),
    ("sub", Kind::Inline),
    ("sup", Kind::Inline),
    ("u", Kind::Inline),
    ("br", Kind::Void { closes_p: false }),
    ("img", Kind::Void { closes_p: false }),
    ("wbr", Kind::Void { closes_p: false }),
    ("hr", Kind::Void { closes_p: true }),
];

/// An accepted element's static name and kind.
fn element(name: &str) -> Option<(&'static str, Kind)> {
    ELEMENTS.into_iter().find(|(n, _)| *n == name)
}

/// Attributes ammonia keeps on `element` (its default generic and per-tag
/// sets); every other attribute is dropped, as ammonia drops it.
fn allowed(element: &str, attribute: &str) -> bool {
    matches!(attribute, "lang" | "title")
        || matches!(
            (element, attribute),
            ("a", "href" | "hreflang")
                | ("blockquote", "cite")
                | ("hr", "align" | "size" | "width")
                | ("img", "align" | "alt" | "height" | "src" | "width")
                | ("ol", "start")
                | ("q", "cite")
        )
}

/// The URL schemes `SANITIZER` allows.
fn allowed_scheme(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "mailto" | "tel")
}

/// `SANITIZER`'s `link_rel`, added to every `a`.
const LINK_REL: &str = "noopener noreferrer nofollow";

/// Deeper than this is left to ammonia (and `markup::check`'s budget).
const MAX_DEPTH: usize = 64;

/// More distinct attributes on one tag than this are left to ammonia.
const MAX_ATTRIBUTES: usize = 32;

/// Named references decoded here: those partners' German text uses. Every
/// other name goes to ammonia (its table has 2,231, some without `;`).
const NAMED: [(&str, char); 25] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("shy", '\u{ad}'),
    ("copy", '©'),
    ("auml", 'ä'),
    ("ouml", 'ö'),
    ("uuml", 'ü'),
    ("Auml", 'Ä'),
    ("Ouml", 'Ö'),
    ("Uuml", 'Ü'),
    ("szlig", 'ß'),
    ("eacute", 'é'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("hellip", '…'),
    ("bdquo", '„'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("euro", '€'),
];

/// `html` sanitised as ammonia would, or `None` when it is not markup this
/// path recognises. `base` resolves relative URLs; without one a relative
/// URL goes to ammonia (which drops it and reorders the attributes).
pub(crate) fn sanitized(html: &str, base: Option<&Url>) -> Option<String> {
    // Characters the tokenizer rewrites (CR, NUL) or may strip (BOM).
    if memchr::memchr2(b'\r', 0, html.as_bytes()).is_some() || html.contains('\u{feff}') {
        return None;
    }
    crate::markup::check(html, crate::markup::MarkupBudget::FRAGMENT).ok()?;
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut open: Vec<&'static str> = Vec::new();
    let mut rest = html;
    while let Some(at) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
        push_escaped(&mut out, &rest[..at], false);
        rest = &rest[at..];
        if rest.starts_with('&') {
            let (decoded, after) = reference(rest)?;
            push_escaped(&mut out, decoded.encode_utf8(&mut [0; 4]), false);
            rest = after;
        } else if let Some(end_tag) = rest.strip_prefix("</") {
            let gt = end_tag.find('>')?;
            // Only the current element's end tag: anything else is the adoption
            // agency's or the implied end tags' to restructure.
            if open.last() != Some(&&end_tag[..gt]) {
                return None;
            }
            open.pop();
            out.push_str("</");
            out.push_str(&end_tag[..gt]);
            out.push('>');
            rest = &end_tag[gt + 1..];
        } else {
            rest = start_tag(&rest[1..], &mut open, base, &mut out)?;
        }
    }
    push_escaped(&mut out, rest, false);
    // The end of input closes what is open, innermost first, as the tree builder does.
    for name in open.iter().rev() {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    Some(out)
}

/// One start tag after its `<`: checked against the open elements, written
/// with its kept attributes; returns the input after the tag.
fn start_tag<'a>(
    tag: &'a str,
    open: &mut Vec<&'static str>,
    base: Option<&Url>,
    out: &mut String,
) -> Option<&'a str> {
    let name_len = tag
        .bytes()
        .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit()))
        .unwrap_or(tag.len());
    // `<` not followed by a lowercase letter: text, a comment, a doctype, or
    // an upper-case name (lowered by the tokenizer): ammonia's.
    if name_len == 0 || !tag.as_bytes()[0].is_ascii_lowercase() {
        return None;
    }
    let (name, kind) = element(&tag[..name_len])?;
    let p_open = open.contains(&"p");
    let refused = match kind {
        Kind::Block | Kind::Void { closes_p: true } => p_open,
        Kind::Heading => {
            p_open
                || open
                    .iter()
                    .any(|o| matches!(element(o), Some((_, Kind::Heading))))
        }
        Kind::ListItem => p_open || !matches!(open.last(), Some(&"ul" | &"ol")),
        Kind::Inline => name == "a" && open.contains(&"a"),
        Kind::Void { closes_p: false } => false,
    };
    if refused || open.len() >= MAX_DEPTH {
        return None;
    }
    out.push('<');
    out.push_str(name);
    let mut rest = &tag[name_len..];
    let mut seen: Vec<&str> = Vec::new();
    let self_closing = loop {
        let trimmed = rest.trim_start_matches(['\t', '\n', '\x0c', ' ']);
        let spaced = trimmed.len() < rest.len();
        rest = trimmed;
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break false;
        }
        if let Some(after) = rest.strip_prefix("/>") {
            rest = after;
            break true;
        }
        // Attributes are separated by whitespace; anything else is ammonia's.
        if !spaced {
            return None;
        }
        let attr_len = rest
            .bytes()
            .position(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            .unwrap_or(rest.len());
        if attr_len == 0 || !rest.as_bytes()[0].is_ascii_lowercase() {
            return None;
        }
        let attr = &rest[..attr_len];
        rest = &rest[attr_len..];
        let value = match rest.strip_prefix('=') {
            Some(quoted) => {
                let quoted = quoted.strip_prefix('"')?;
                let close = quoted.find('"')?;
                rest = &quoted[close + 1..];
                decoded(&quoted[..close])?
            }
            // `<img alt>`: an empty value. `alt = "x"` (spaces around `=`) is ammonia's.
            None if rest.starts_with(['\t', '\n', '\x0c', ' ', '>', '/']) => String::new(),
            None => return None,
        };
        // The tokenizer keeps an attribute's first occurrence only.
        if seen.contains(&attr) {
            continue;
        }
        // The check above is quadratic: a tag of thousands of attributes is ammonia's.
        if seen.len() == MAX_ATTRIBUTES {
            return None;
        }
        seen.push(attr);
        if !allowed(name, attr) {
            continue;
        }
        let Some(value) = url_checked(attr, value, base)? else {
            continue;
        };
        out.push(' ');
        out.push_str(attr);
        out.push_str("=\"");
        push_escaped(out, &value, true);
        out.push('"');
    };
    if name == "a" {
        out.push_str(" rel=\"");
        out.push_str(LINK_REL);
        out.push('"');
    }
    out.push('>');
    match kind {
        Kind::Void { .. } => {}
        // `<p/>` opens a `p` (the slash is ignored): leave that to ammonia.
        _ if self_closing => return None,
        _ => open.push(name),
    }
    Some(rest)
}

/// An attribute value as ammonia keeps it: `Some(None)` drops the attribute,
/// `None` leaves the fragment to ammonia. URL attributes (ammonia's
/// `is_url_attr`: `href` and `src` here) keep an allowed scheme verbatim,
/// lose a disallowed or unparsable one, and have a relative URL resolved
/// against `base`.
fn url_checked(attribute: &str, value: String, base: Option<&Url>) -> Option<Option<String>> {
    if !matches!(attribute, "href" | "src") {
        return Some(Some(value));
    }
    match Url::parse(&value) {
        Ok(url) => Some(allowed_scheme(url.scheme()).then_some(value)),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            // Resolved in place; one that cannot be is dropped by ammonia
            // with a `swap_remove` that reorders the other attributes.
            let joined = base?.join(&value).ok()?;
            Some(Some(String::from(joined)))
        }
        Err(_) => Some(None),
    }
}

/// An attribute value with its references decoded; `None` for one this
/// path does not decode.
fn decoded(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let (c, after) = reference(&rest[at..])?;
        out.push(c);
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

/// The character a reference at the start of `s` (which starts with `&`)
/// stands for, and the input after it. A `&` the tokenizer leaves as text
/// (not followed by a letter, digit or `#`) is itself; a numeric
/// reference must end in `;` and name a character the tokenizer keeps as
/// is (no NUL, C1 remapping, surrogate or noncharacter).
fn reference(s: &str) -> Option<(char, &str)> {
    let body = &s[1..];
    let Some(&first) = body.as_bytes().first() else {
        return Some(('&', body));
    };
    if first == b'#' {
        let digits = &body[1..];
        let (radix, digits) = match digits.strip_prefix(['x', 'X']) {
            Some(hex) => (16, hex),
            None => (10, digits),
        };
        let semi = digits.find(';')?;
        let number = &digits[..semi];
        if number.is_empty() || number.len() > 7 {
            return None;
        }
        let code = u32::from_str_radix(number, radix).ok()?;
        let keeps = matches!(code, 0x09 | 0x0a | 0x20..=0x7e | 0xa0..=0xfdcf | 0xfdf0..=0x10ffff)
            && (code & 0xfffe) != 0xfffe;
        let c = char::from_u32(code).filter(|_| keeps)?;
        return Some((c, &digits[semi + 1..]));
    }
    if !first.is_ascii_alphanumeric() {
        return Some(('&', body));
    }
    let semi = body.find(';')?;
    let name = &body[..semi];
    let (_, c) = NAMED.iter().find(|(n, _)| *n == name)?;
    Some((*c, &body[semi + 1..]))
}

/// Text or an attribute value escaped as html5ever's serialiser does:
/// `&`, `<`, `>` and U+00A0 always, `"` in attribute values. Runs between
/// them are found with memchr, as html5ever finds them. Also
/// `normalize`'s escaping of text without markup.
pub(crate) fn push_escaped(out: &mut String, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    let quote = if attribute { b'"' } else { b'&' };
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let stop = memchr::memchr3(b'&', b'<', b'>', rest).unwrap_or(rest.len());
        let stop = memchr::memchr2(quote, 0xc2, &rest[..stop]).unwrap_or(stop);
        out.push_str(&text[at..at + stop]);
        at += stop;
        let Some(&special) = bytes.get(at) else {
            break;
        };
        let (replacement, width) = match special {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            _ if bytes.get(at + 1) == Some(&0xa0) => ("&nbsp;", 2),
            // Another character whose UTF-8 starts with 0xC2: kept.
            _ => {
                out.push_str(&text[at..at + 2]);
                at += 2;
                continue;
            }
        };
        out.push_str(replacement);
        at += width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::sanitized_by_ammonia;

    fn base() -> Url {
        Url::parse("https://partner.example/aktuelles/meldung/").unwrap()
    }

    /// The fast path's answer, required to be ammonia's whenever it gives one.
    fn checked(html: &str, base: Option<&Url>) -> Option<String> {
        let fast = sanitized(html, base)?;
        assert_eq!(
            fast,
            sanitized_by_ammonia(html, base),
            "the fast path differs from ammonia for {html:?}"
        );
        Some(fast)
    }

    #[test]
    fn common_partner_markup_takes_the_fast_path_with_ammonias_output() {
        let b = base();
        let accepted = [
            r#"<p>Die <strong>Stadt Cottbus</strong> lädt ein.</p><p>Mehr dazu <a href="/meldungen/7">auf unserer Seite</a>.</p>"#,
            r#"<p class="lead" style="color:red" id="x">Text &amp; mehr&nbsp;hier &#8211; &bdquo;Zitat&ldquo; &hellip;</p>"#,
            "<p>Zeile eins<br>Zeile zwei<br/>Zeile drei<br />Ende</p>\n<p>M\u{fc}ller & S\u{f6}hne, a > b</p>",
            r#"<img class="wp-image-12" src="bilder/a.jpg" alt="Ein &quot;Bild&quot;" width="300" height="200" loading="lazy"/>"#,
            r#"<ul><li><a href="https://example.org/a?x=1&amp;y=2" target="_blank" rel="noopener">Eins</a></li><li><em>Zwei</em></li></ul>"#,
            r#"<h2 title="T">Termin</h2><blockquote cite="https://q.example/">Zitat</blockquote><hr>"#,
            r#"<div><p>Innen</p><ol start="3"><li>drei<ul><li>a</li></ul></li></ol></div>"#,
            r#"<p><a href="javascript:alert(1)">x</a> <a href="mailto:presse@example.org">Presse</a> <a href="http://[::1">y</a></p>"#,
            r#"<p>Offen <b>fett"#,
            r#"<a href="/a" href="/b" title="t">doppelt</a><img alt>"#,
        ];
        for html in accepted {
            assert!(checked(html, Some(&b)).is_some(), "refused: {html}");
        }
        let out = checked(accepted[0], Some(&b)).unwrap();
        assert!(
            out.contains(r#"<a href="https://partner.example/meldungen/7" rel="noopener noreferrer nofollow">"#),
            "{out}"
        );
        assert!(
            !checked(accepted[7], Some(&b))
                .unwrap()
                .contains("javascript")
        );
    }

    #[test]
    fn markup_the_tree_builder_restructures_goes_to_ammonia() {
        let b = base();
        let refused = [
            "<p>eins<p>zwei</p>",                       // a p start tag closes the open p
            "<p>a<div>b</div></p>",                     // a block start tag closes the open p
            "<b><i>x</b></i>",                          // misnested: the adoption agency
            "<a href=\"/1\">a<a href=\"/2\">b</a></a>", // an a closes the open a
            "<li>ohne Liste</li>",                      // an li outside a list (refused to be safe)
            "<ul><li>a<li>b</ul>",                      // an li closes the open li
            "<h2>a<h3>b</h3></h2>",                     // a heading in a heading
            "<P>gross</P>",                             // upper-case names
            "<p>a<!-- Kommentar -->b</p>",              // comments
            "<table><tr><td>x</td></tr></table>",       // tables
            "<pre>\ncode</pre>",                        // pre drops its first newline
            "<p/>x",                                    // a self-closing non-void element
            "<script>alert(1)</script>",                // not an accepted element
            "<a href=x>unquoted</a>",                   // unquoted values
            "<p>AT&T &notin; &copy</p>",                // references not in the table
            "<p>&#128; &#0;</p>",                       // references the tokenizer remaps
            "<p>a\r\nb</p>",                            // CR is rewritten
            "</p>",                                     // an end tag with nothing open
            "<p>x</p >",                                // whitespace in an end tag
        ];
        for html in refused {
            assert_eq!(sanitized(html, Some(&b)), None, "accepted: {html}");
        }
        let crowded: String = (0..40).map(|i| format!(" data-a{i}=\"v\"")).collect();
        assert_eq!(sanitized(&format!("<p{crowded}>x</p>"), Some(&b)), None);
        let few: String = (0..8).map(|i| format!(" data-a{i}=\"v\"")).collect();
        assert!(checked(&format!("<p{few}>x</p>"), Some(&b)).is_some());
        // Without a base, a relative URL is ammonia's (it drops it, reordering attributes).
        assert_eq!(sanitized(r#"<a href="/x" title="t">x</a>"#, None), None);
        assert!(checked(r#"<a href="https://a.example/" title="t">x</a>"#, None).is_some());
    }

    /// A small deterministic generator (xorshift): no dependency, the same
    /// fragments on every run.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.next(from.len())]
        }
    }

    const TEXT: [&str; 35] = [
        "Text",
        " ",
        "\n",
        "\t",
        "M\u{fc}ller & S\u{f6}hne",
        "a > b",
        "x < y",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&nbsp;",
        "\u{a0}",
        "&#8211;",
        "&#x2013;",
        "&#X201E;",
        "&#128;",
        "&#0;",
        "&auml;",
        "&notin;",
        "&ampere;",
        "AT&T",
        "&#12",
        "&",
        "\"Zitat\"",
        "'",
        "&#160;",
        "&#38;&#60;&#62;",
        "&shy;",
        "&copy",
        "&#1114111;",
        "&#xFFFF;",
        "\u{1f600}",
        "&apos;",
        "\u{a7} 5 \u{a9} 2026 \u{b0}C",
    ];

    const OPEN: [&str; 44] = [
        "p",
        "div",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "blockquote",
        "a href=\"/x?a=1&amp;b=2\"",
        "a href=\"https://e.example/p\" title=\"T &quot;q&quot; <x>\"",
        "a href=\"javascript:alert(1)\"",
        "a href=\"//cdn.example/x\"",
        "a href=\"mailto:x@example.org\"",
        "a href=\"ftp://example.org/\"",
        "a href=\"http://[bad\"",
        "a class=\"c\" href=\"rel/path\" target=\"_blank\" rel=\"x\"",
        "a href=\"x\" href=\"y\"",
        "a href=x",
        "a href='x'",
        "a\nhref=\"&#x2F;weiter\"\ttitle=\"&auml;\"",
        "a href",
        "strong",
        "b",
        "em",
        "i",
        "span lang=\"de\" style=\"color:red\" onclick=\"x()\"",
        "code",
        "q cite=\"/c\"",
        "abbr title=\"Abk&uuml;rzung\"",
        "sub",
        "sup",
        "mark",
        "s",
        "u",
        "small",
        "cite",
        "P",
        "table",
        "pre",
        "script",
        "font color=\"red\"",
        "p data-x=\"1\"",
        "p title = \"x\"",
        "p title=\"a\"title=\"b\"",
    ];

    const VOID: [&str; 12] = [
        "<br>",
        "<br/>",
        "<br />",
        "<hr>",
        "<wbr>",
        "<img src=\"/bild.jpg\" alt=\"A &amp; B\" width=\"10\" class=\"wp\">",
        "<img src=\"data:image/png;base64,AAA\">",
        "<img alt>",
        "<img src=\"bild.jpg\"/>",
        "<!-- c -->",
        "<p/>",
        "</br>",
    ];

    fn fragment(g: &mut Gen, depth: usize, out: &mut String) {
        for _ in 0..g.next(5) {
            match g.next(10) {
                0..=3 => out.push_str(g.pick(&TEXT)),
                4 => out.push_str(g.pick(&VOID)),
                _ if depth < 6 => {
                    let open = g.pick(&OPEN);
                    let name = open.split([' ', '\n']).next().unwrap();
                    out.push('<');
                    out.push_str(open);
                    out.push('>');
                    fragment(g, depth + 1, out);
                    // Mostly closed as opened; sometimes left open or closed wrongly.
                    match g.next(12) {
                        0 => {}
                        1 => {
                            let other = g.pick(&OPEN);
                            out.push_str(&format!("</{}>", other.split(' ').next().unwrap()));
                        }
                        _ => out.push_str(&format!("</{name}>")),
                    }
                }
                _ => out.push_str(g.pick(&TEXT)),
            }
        }
    }

    #[test]
    fn generated_fragments_get_ammonias_output_whenever_the_fast_path_answers() {
        let b = base();
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let (mut fast, mut total) = (0, 0);
        for round in 0..4000 {
            let mut html = String::new();
            fragment(&mut g, 0, &mut html);
            let base = (round % 5 != 0).then_some(&b);
            total += 1;
            fast += usize::from(checked(&html, base).is_some());
        }
        // Both paths are exercised: a generator that produced only refused
        // (or only accepted) markup would compare nothing worth comparing.
        assert!(fast * 10 > total, "{fast} of {total} took the fast path");
        assert!(
            fast * 10 < total * 9,
            "{fast} of {total} took the fast path"
        );
    }

    #[test]
    fn partner_feeds_in_the_fixtures_get_ammonias_output() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut files = vec![root];
        let (mut fragments, mut fast) = (0, 0);
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let url = Url::parse("https://partner.example/feed/").unwrap();
            let Ok(feed) = crate::extract::feed::parse_feed(&bytes, None, &url, 500) else {
                continue;
            };
            for item in &feed.items {
                for f in [&item.summary, &item.content].into_iter().flatten() {
                    if f.is_html {
                        fragments += 1;
                        fast += usize::from(checked(&f.text, Some(&url)).is_some());
                    }
                }
            }
        }
        assert!(fragments > 20, "{fragments} fragments in the fixtures");
        assert!(
            fast > 0,
            "none of {fragments} fixture fragments took the fast path"
        );
    }
}
