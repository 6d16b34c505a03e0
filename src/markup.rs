//! Bounds on partner markup before an HTML parser sees it. html5ever's
//! tree builder checks scopes by walking the stack of open elements, so its
//! cost grows with the square of the nesting depth (200,000 nested `<div>`
//! took minutes). A linear pre-scan here measures how deep and how many the
//! elements of a document are, so a page beyond the budget is refused
//! before parsing and a fragment beyond it can be reduced to its text.
//!
//! Hand-written because no crate offers a linear, allocation-light depth
//! estimate; the scan follows the HTML tokenizer only as far as depth needs
//! (tags, quoted attributes, comments, raw-text elements, void elements,
//! the end tags html5ever closes implicitly) and errs towards counting
//! deeper, never shallower, than the parser will build.

/// How much structure one document may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkupBudget {
    /// Open elements at any one time.
    pub max_depth: usize,
    /// Start tags in the whole document.
    pub max_elements: usize,
}

impl MarkupBudget {
    /// For whole pages: browsers stop nesting at 512 (Blink), real pages
    /// stay far below; 100,000 elements are several times a large listing.
    pub const PAGE: MarkupBudget = MarkupBudget {
        max_depth: 512,
        max_elements: 100_000,
    };
    /// For summaries and content of one item.
    pub const FRAGMENT: MarkupBudget = MarkupBudget {
        max_depth: 256,
        max_elements: 20_000,
    };
}

/// Why a document was not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    #[error("elements nested more than {0} deep")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooMany(usize),
}

/// Elements that never have content (no end tag, no depth).
fn is_void(name: &[u8]) -> bool {
    matches!(
        name,
        b"area"
            | b"base"
            | b"br"
            | b"col"
            | b"embed"
            | b"hr"
            | b"img"
            | b"input"
            | b"link"
            | b"meta"
            | b"source"
            | b"track"
            | b"wbr"
            | b"param"
            | b"keygen"
            | b"frame"
            | b"basefont"
            | b"bgsound"
            | b"image"
    )
}

/// Elements whose content the tokenizer reads as text up to their end tag.
fn is_raw_text(name: &[u8]) -> bool {
    matches!(
        name,
        b"script"
            | b"style"
            | b"textarea"
            | b"title"
            | b"xmp"
            | b"iframe"
            | b"noembed"
            | b"noframes"
            | b"plaintext"
    )
}

/// The open elements a start tag of `name` closes implicitly.
fn closes(name: &[u8]) -> &'static [&'static [u8]] {
    match name {
        b"p" => &[b"p"],
        b"li" => &[b"li"],
        b"dt" | b"dd" => &[b"dt", b"dd"],
        b"option" => &[b"option"],
        b"optgroup" => &[b"optgroup", b"option"],
        b"tr" => &[b"tr"],
        b"td" | b"th" => &[b"td", b"th"],
        b"rb" | b"rp" | b"rt" | b"rtc" => &[b"rb", b"rp", b"rt", b"rtc"],
        b"a" => &[b"a"],
        b"nobr" => &[b"nobr"],
        b"button" => &[b"button"],
        _ => &[],
    }
}

/// Elements an implicit close reaches across: everything but the HTML
/// spec's "special" elements, and the `p`, `div` and `address` a list item
/// start also closes. A list, a table or a section is a boundary, so
/// `<li><ul><li>` counts as nested, as the parser builds it.
fn crossable(name: &[u8]) -> bool {
    matches!(name, b"p" | b"div" | b"address") || !is_special(name)
}

/// The HTML spec's "special" category (tree construction, 13.2.4.2).
fn is_special(name: &[u8]) -> bool {
    matches!(
        name,
        b"applet"
            | b"article"
            | b"aside"
            | b"blockquote"
            | b"body"
            | b"button"
            | b"caption"
            | b"center"
            | b"colgroup"
            | b"dd"
            | b"details"
            | b"dir"
            | b"dl"
            | b"dt"
            | b"fieldset"
            | b"figcaption"
            | b"figure"
            | b"footer"
            | b"form"
            | b"frameset"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"header"
            | b"hgroup"
            | b"html"
            | b"li"
            | b"listing"
            | b"main"
            | b"marquee"
            | b"menu"
            | b"nav"
            | b"noscript"
            | b"object"
            | b"ol"
            | b"pre"
            | b"search"
            | b"section"
            | b"select"
            | b"summary"
            | b"table"
            | b"tbody"
            | b"td"
            | b"template"
            | b"tfoot"
            | b"th"
            | b"thead"
            | b"tr"
            | b"ul"
            | b"svg"
            | b"math"
            | b"foreignobject"
    )
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Position after the `>` that ends the tag whose name ends at `i`
/// (a `>` inside a quoted attribute value does not), and whether it ended
/// with `/>`.
fn tag_end(b: &[u8], mut i: usize) -> (usize, bool) {
    let mut quote = None;
    // Quotes open a value only right after `=` (elsewhere they are part of a name).
    let mut after_eq = false;
    let mut slash = false;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'>' => return (i, slash),
            b'=' => after_eq = true,
            b'"' | b'\'' if after_eq => {
                quote = Some(c);
                after_eq = false;
            }
            b'/' => {
                slash = true;
                after_eq = false;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => after_eq = false,
        }
        slash = false;
    }
    (b.len(), false)
}

/// Elements the parser keeps in its list of active formatting elements.
fn is_formatting(name: &[u8]) -> bool {
    matches!(
        name,
        b"a" | b"b"
            | b"big"
            | b"code"
            | b"em"
            | b"font"
            | b"i"
            | b"nobr"
            | b"s"
            | b"small"
            | b"strike"
            | b"strong"
            | b"tt"
            | b"u"
    )
}

/// Elements that put a marker into that list (formatting stays inside them).
fn is_marker(name: &[u8]) -> bool {
    matches!(
        name,
        b"td" | b"th" | b"caption" | b"applet" | b"object" | b"marquee" | b"template"
    )
}

/// An entry of the list of active formatting elements.
enum Active {
    Marker,
    Formatting {
        id: u64,
        name: Vec<u8>,
        /// The attributes (as written): Noah's Ark keeps at most three alike.
        attrs: u64,
        /// Still on the stack of open elements; once closed implicitly, the
        /// parser re-opens it before the next content ("reconstructs" it).
        open: bool,
    },
}

struct Open {
    name: Vec<u8>,
    formatting: Option<u64>,
}

/// The scan's model of the tree builder: open elements and active
/// formatting elements. The latter matters because formatting elements
/// closed implicitly are re-created before every later element, so
/// `<div><b id=1>…<b id=400></div>` followed by 20,000 paragraphs builds
/// 8 million elements from 84 KB; each re-creation is counted here.
#[derive(Default)]
struct Tree {
    stack: Vec<Open>,
    active: Vec<Active>,
    foreign: usize,
    elements: usize,
    next_id: u64,
}

impl Tree {
    fn after_last_marker(&self) -> usize {
        self.active
            .iter()
            .rposition(|a| matches!(a, Active::Marker))
            .map_or(0, |p| p + 1)
    }

    fn count(&mut self, budget: MarkupBudget) -> Result<(), OverBudget> {
        self.elements += 1;
        if self.elements > budget.max_elements {
            return Err(OverBudget::TooMany(budget.max_elements));
        }
        Ok(())
    }

    fn push(&mut self, open: Open, budget: MarkupBudget) -> Result<(), OverBudget> {
        if open.name == b"svg" || open.name == b"math" {
            self.foreign += 1;
        }
        self.stack.push(open);
        if self.stack.len() > budget.max_depth {
            return Err(OverBudget::TooDeep(budget.max_depth));
        }
        Ok(())
    }

    /// Closes the open elements from `pos` up.
    fn pop_to(&mut self, pos: usize) {
        let closed_now: Vec<Open> = self.stack.drain(pos..).rev().collect();
        for closed in closed_now {
            if closed.name == b"svg" || closed.name == b"math" {
                self.foreign = self.foreign.saturating_sub(1);
            }
            if let Some(id) = closed.formatting {
                for a in &mut self.active {
                    if let Active::Formatting { id: x, open, .. } = a {
                        if *x == id {
                            *open = false;
                        }
                    }
                }
            }
            if is_marker(&closed.name) {
                let from = self.after_last_marker().saturating_sub(1);
                self.active.truncate(from);
            }
        }
    }

    /// Re-opens the formatting elements closed implicitly, as the parser
    /// does before new content.
    fn reconstruct(&mut self, budget: MarkupBudget) -> Result<(), OverBudget> {
        let from = self
            .active
            .iter()
            .rposition(|a| matches!(a, Active::Marker | Active::Formatting { open: true, .. }))
            .map_or(0, |p| p + 1);
        for k in from..self.active.len() {
            let Active::Formatting { id, name, open, .. } = &mut self.active[k] else {
                continue;
            };
            *open = true;
            let reopened = Open {
                name: name.clone(),
                formatting: Some(*id),
            };
            self.count(budget)?;
            self.push(reopened, budget)?;
        }
        Ok(())
    }

    /// Removes the latest active formatting element named `name` (after the
    /// last marker), closing it if open; whether there was one.
    fn close_formatting(&mut self, name: &[u8]) -> bool {
        let from = self.after_last_marker();
        let Some(k) = self.active[from..]
            .iter()
            .rposition(|a| matches!(a, Active::Formatting { name: n, .. } if n == name))
        else {
            return false;
        };
        let Active::Formatting { id, .. } = self.active.remove(from + k) else {
            return false;
        };
        if let Some(pos) = self.stack.iter().rposition(|o| o.formatting == Some(id)) {
            self.pop_to(pos);
        }
        true
    }

    fn end_tag(&mut self, name: &[u8]) {
        if is_formatting(name) && self.close_formatting(name) {
            return;
        }
        if let Some(pos) = self.stack.iter().rposition(|o| o.name == name) {
            self.pop_to(pos);
        }
    }

    fn start_tag(
        &mut self,
        name: Vec<u8>,
        attrs: &[u8],
        budget: MarkupBudget,
    ) -> Result<(), OverBudget> {
        self.count(budget)?;
        if name == b"a" || name == b"nobr" {
            // A second link closes the first one (adoption agency).
            self.close_formatting(&name);
        }
        let closed = closes(&name);
        if !closed.is_empty() {
            // Nearest open element this tag closes, reached across inline
            // elements only (and, for a row, across the open cell).
            for pos in (0..self.stack.len()).rev() {
                let open = self.stack[pos].name.as_slice();
                if closed.contains(&open) {
                    self.pop_to(pos);
                    break;
                }
                let cell = name == b"tr" && matches!(open, b"td" | b"th");
                if !(crossable(open) || cell) {
                    break;
                }
            }
        }
        // Block-level starts do not re-create formatting; their content does.
        if !(is_special(&name) || matches!(name.as_slice(), b"p" | b"div" | b"address")) {
            self.reconstruct(budget)?;
        }
        if name == b"tr" && self.stack.last().is_some_and(|t| t.name == b"table") {
            // The parser puts an implied <tbody> between; count it too.
            self.push(
                Open {
                    name: b"tbody".to_vec(),
                    formatting: None,
                },
                budget,
            )?;
        }
        let mut formatting = None;
        if is_formatting(&name) {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            attrs.hash(&mut h);
            let attrs = h.finish();
            let from = self.after_last_marker();
            let alike: Vec<usize> = (from..self.active.len())
                .filter(|&k| matches!(&self.active[k], Active::Formatting { name: n, attrs: a, .. } if *n == name && *a == attrs))
                .collect();
            if alike.len() >= 3 {
                self.active.remove(alike[0]);
            }
            self.next_id += 1;
            formatting = Some(self.next_id);
            self.active.push(Active::Formatting {
                id: self.next_id,
                name: name.clone(),
                attrs,
                open: true,
            });
        }
        let marker = is_marker(&name);
        self.push(Open { name, formatting }, budget)?;
        if marker {
            self.active.push(Active::Marker);
        }
        Ok(())
    }
}

impl MarkupBudget {
    /// Most `<` a document may hold and be within this budget whatever its
    /// markup, by the scan's own model below: each `<` counts at most one
    /// element of its own plus two re-creations of every active formatting
    /// element (before its text and before the tag), and there are no more
    /// of those than tags, so `t` tags count at most `t(2t + 1)` elements;
    /// and the open elements are at most one per tag (a formatting element
    /// is re-opened only once closed) plus an implied `<tbody>` per `<tr>`,
    /// so at most `2t` deep.
    fn always_within(self) -> usize {
        // t(2t + 1) <= e  <=>  t <= (sqrt(8e + 1) - 1) / 4
        let by_count = (self
            .max_elements
            .saturating_mul(8)
            .saturating_add(1)
            .isqrt()
            - 1)
            / 4;
        (self.max_depth / 2).min(by_count)
    }
}

/// Checks `html` against `budget` in one pass over its bytes; a document
/// with few enough tags is within it without the scan (most items' HTML:
/// the scan ran twice per item, on the partner's HTML and the sanitised).
pub fn check(html: &str, budget: MarkupBudget) -> Result<(), OverBudget> {
    let most = budget.always_within();
    if memchr::memchr_iter(b'<', html.as_bytes())
        .nth(most)
        .is_none()
    {
        return Ok(());
    }
    scan(html, budget)
}

/// [`check`]'s scan.
fn scan(html: &str, budget: MarkupBudget) -> Result<(), OverBudget> {
    let b = html.as_bytes();
    let mut tree = Tree::default();
    let mut i = 0;
    // Where the text since the last tag began: text re-creates formatting too.
    let mut text_from = 0;
    while let Some(lt) = memchr(b'<', b, i) {
        i = lt + 1;
        let Some(&next) = b.get(i) else { break };
        if b[text_from..lt].iter().any(|c| !c.is_ascii_whitespace()) {
            tree.reconstruct(budget)?;
        }
        text_from = lt;
        if b[i..].starts_with(b"!--") {
            i = find(b, i + 3, b"-->").map_or(b.len(), |e| e + 3);
            text_from = i;
            continue;
        }
        if next == b'!' || next == b'?' {
            i = memchr(b'>', b, i).map_or(b.len(), |e| e + 1);
            text_from = i;
            continue;
        }
        let end_tag = next == b'/';
        let name_start = if end_tag { i + 1 } else { i };
        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            continue; // a lone `<` is text
        }
        let mut name_end = name_start;
        while name_end < b.len()
            && !b[name_end].is_ascii_whitespace()
            && b[name_end] != b'>'
            && b[name_end] != b'/'
        {
            name_end += 1;
        }
        let name = b[name_start..name_end].to_ascii_lowercase();
        let (after, self_closing) = tag_end(b, name_end);
        i = after;
        text_from = after;
        if end_tag {
            tree.end_tag(&name);
            continue;
        }
        if is_void(&name) || (self_closing && tree.foreign > 0) {
            tree.count(budget)?;
            tree.reconstruct(budget)?;
            continue;
        }
        let raw = is_raw_text(&name);
        if raw {
            tree.count(budget)?;
            let mut close = b"</".to_vec();
            close.extend_from_slice(&name);
            i = find_ascii_ci(b, i, &close).unwrap_or(b.len());
            text_from = i;
            continue;
        }
        tree.start_tag(name, &b[name_end..after], budget)?;
    }
    Ok(())
}

fn memchr(needle: u8, hay: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .iter()
        .position(|&c| c == needle)
        .map(|p| from + p)
}

/// `needle` (lower-case ASCII) in `hay` from `from`, ignoring ASCII case.
fn find_ascii_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// The text of markup that is over budget, without parsing it: tags and
/// comments removed (as the scan above reads them), raw-text element
/// contents dropped, entities left for the caller's escaping to keep. For
/// fragments, which are kept as text rather than refused.
pub fn strip_tags(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    let mut text_from = 0;
    while let Some(lt) = memchr(b'<', b, i) {
        i = lt + 1;
        let Some(&next) = b.get(i) else { break };
        let end_tag = next == b'/';
        let name_start = if end_tag { i + 1 } else { i };
        let skip_to = if b[i..].starts_with(b"!--") {
            find(b, i + 3, b"-->").map_or(b.len(), |e| e + 3)
        } else if next == b'!' || next == b'?' {
            memchr(b'>', b, i).map_or(b.len(), |e| e + 1)
        } else if b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            let mut name_end = name_start;
            while name_end < b.len()
                && !b[name_end].is_ascii_whitespace()
                && b[name_end] != b'>'
                && b[name_end] != b'/'
            {
                name_end += 1;
            }
            let name = b[name_start..name_end].to_ascii_lowercase();
            let (after, _) = tag_end(b, name_end);
            if !end_tag && is_raw_text(&name) {
                let mut close = b"</".to_vec();
                close.extend_from_slice(&name);
                let close_at = find_ascii_ci(b, after, &close).unwrap_or(b.len());
                tag_end(b, (close_at + close.len()).min(b.len())).0
            } else {
                after
            }
        } else {
            continue;
        };
        // `lt` and `skip_to` are ASCII positions, so both are char boundaries.
        out.push_str(&html[text_from..lt]);
        out.push(' ');
        i = skip_to;
        text_from = skip_to;
    }
    out.push_str(&html[text_from.min(html.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: MarkupBudget = MarkupBudget {
        max_depth: 8,
        max_elements: 50,
    };

    #[test]
    fn documents_with_few_tags_are_within_the_budget_by_the_scan_too() {
        assert_eq!(MarkupBudget::FRAGMENT.always_within(), 99);
        assert_eq!(MarkupBudget::PAGE.always_within(), 223);
        for max_depth in 0..40 {
            for max_elements in 0..400 {
                let budget = MarkupBudget {
                    max_depth,
                    max_elements,
                };
                let t = budget.always_within();
                let fits = |t: usize| 2 * t <= max_depth && t * (2 * t + 1) <= max_elements;
                assert!(fits(t) && !fits(t + 1), "{budget:?}: {t}");
            }
        }
        // Every sequence of four pieces (with text or not between them, the
        // text re-creating formatting): the scan never refuses what the
        // shortcut lets through, for budgets tight in depth or in count.
        let pieces = [
            "<b>",
            "<i id=1>",
            "<a>",
            "<p>",
            "<tr>",
            "<table>",
            "<td>",
            "</p>",
            "</b>",
            "<div>",
            "<li>",
            "<br>",
            "<!--<b>-->",
            "<script><b></script>",
        ];
        for budget in [
            SMALL,
            MarkupBudget {
                max_depth: 2,
                max_elements: 1000,
            },
            MarkupBudget {
                max_depth: 100,
                max_elements: 6,
            },
        ] {
            let t = budget.always_within();
            assert!(t >= 1, "{budget:?}");
            let mut seq = vec![0usize; t];
            loop {
                for between in ["", "x"] {
                    let html: String = seq
                        .iter()
                        .map(|&p| format!("{}{between}", pieces[p]))
                        .collect();
                    assert_eq!(scan(&html, budget), Ok(()), "{html} {budget:?}");
                }
                let Some(k) = seq.iter().rposition(|&p| p + 1 < pieces.len()) else {
                    break;
                };
                seq[k] += 1;
                seq[k + 1..].iter_mut().for_each(|p| *p = 0);
            }
        }
    }

    #[test]
    fn nesting_beyond_the_budget_is_found_in_linear_time() {
        let deep = "<div>".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(
            check(&deep, MarkupBudget::PAGE),
            Err(OverBudget::TooDeep(512))
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let unclosed_spans = "<span>x".repeat(9);
        assert_eq!(check(&unclosed_spans, SMALL), Err(OverBudget::TooDeep(8)));
        let nested_lists = "<ul><li>".repeat(5);
        assert_eq!(check(&nested_lists, SMALL), Err(OverBudget::TooDeep(8)));
        let flat = "<div>x</div>".repeat(51);
        assert_eq!(check(&flat, SMALL), Err(OverBudget::TooMany(50)));
    }

    #[test]
    fn ordinary_sloppy_markup_stays_within_the_budget() {
        // Unclosed paragraphs, list items, cells and links close themselves.
        let sloppy = "<ul>".to_string()
            + &"<li><a href=x>a<p>t<b>b<p>u".repeat(10)
            + "</ul><table>"
            + &"<tr><td>1<td>2".repeat(10)
            + "</table>";
        assert_eq!(
            check(
                &sloppy,
                MarkupBudget {
                    max_depth: 8,
                    max_elements: 1000
                }
            ),
            Ok(())
        );
        // Void elements, comments, `>` in attributes, script contents and
        // self-closing SVG add no depth.
        let tricky = r#"<div title="a>b"><br><img src=x><!-- <div><div><div> --><script>"<div><div><div><div><div><div><div><div><div>"</script><svg><path/><path/></svg></div>"#;
        assert_eq!(check(tricky, SMALL), Ok(()));
        // Every sample partner page passes the page budget.
        let mut pages = 0;
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "html" || e == "htm") {
                    let page = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                    assert_eq!(
                        check(&page, MarkupBudget::PAGE),
                        Ok(()),
                        "{}",
                        path.display()
                    );
                    pages += 1;
                }
            }
        }
        assert!(pages > 10, "{pages} sample pages");
    }

    #[test]
    fn formatting_re_created_before_every_paragraph_is_counted() {
        // 400 distinct formatting elements closed by </div>: the parser
        // re-creates all of them in each of the 20,000 paragraphs (8 million
        // elements from 84 KB).
        let mut html = String::from("<div>");
        for i in 0..400 {
            html.push_str(&format!("<b id={i}>"));
        }
        html.push_str("</div>");
        html.push_str(&"<p>x".repeat(20_000));
        assert_eq!(
            check(&html, MarkupBudget::PAGE),
            Err(OverBudget::TooMany(100_000))
        );
        // Sloppy but ordinary: the same unclosed <font> everywhere (at most
        // three alike are kept), bold cells of a long table.
        let legacy = "<font face=Arial>".repeat(500) + &"<p>Absatz".repeat(5_000);
        assert_eq!(check(&legacy, MarkupBudget::PAGE), Ok(()));
        let table = "<table>".to_string() + &"<tr><td><b>x<td><i>y".repeat(5_000) + "</table>";
        assert_eq!(check(&table, MarkupBudget::PAGE), Ok(()));
    }

    #[test]
    fn stripping_keeps_the_text_only() {
        assert_eq!(
            strip_tags("<p>Hallo <b>Welt</b><script>alert('<p>')</script> &amp; gut<!-- x -->"),
            " Hallo  Welt   &amp; gut "
        );
        assert_eq!(strip_tags("a < b"), "a < b");
    }
}
