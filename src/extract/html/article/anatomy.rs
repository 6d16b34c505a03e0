//! The anatomy of an article page: which element is the headline, which
//! holds the main text, what is chrome (menus, sidebars, banners) and what
//! are teaser cards of other articles. Decided in that order, so that words
//! on outer containers ("has-sidebar" on `<body>`, a `div#navigation-container`
//! around the whole page, an ASP.NET `<form>`) can never make the headline or
//! the main text chrome. Also the page as one line of visible text with the
//! positions of the headline and main text, for dates found by nearness.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ego_tree::NodeId;
use scraper::{ElementRef, Node, Selector};

use crate::extract::dates::DayOrder;
use crate::extract::html::{BLOCK_TAGS, Page, is_hidden_helper, sel, text_of};

/// Headings looked at (pages with thousands of headings are not articles).
const MAX_HEADINGS: usize = 400;

static HEADINGS: LazyLock<Selector> = LazyLock::new(|| sel("h1, h2, h3, h4"));
static POSTS: LazyLock<Selector> = LazyLock::new(|| sel(".hentry, .h-entry"));
static ARTICLE_SCOPES: LazyLock<Selector> = LazyLock::new(|| {
    sel(
        r#"article, [itemscope][itemtype*="Article"], [itemscope][itemtype*="BlogPosting"], [itemscope][itemtype*="Posting"]"#,
    )
});

pub(crate) struct Anatomy<'a> {
    pub headline: Option<ElementRef<'a>>,
    /// The element whose own paragraphs hold the most text.
    pub main: Option<ElementRef<'a>>,
    /// Chrome of this page: as the listing sees it, minus what holds headline or main text.
    pub chrome: HashSet<NodeId>,
    /// Teaser cards of other articles (and everything inside them).
    pub teasers: HashSet<NodeId>,
    /// The visible text of the page without chrome and teasers, blocks on their own lines.
    pub text: String,
    /// Where each element's text starts in `text`.
    pub starts: HashMap<NodeId, usize>,
    /// `text[headline.0..headline.1]` is the headline.
    pub headline_span: Option<(usize, usize)>,
    pub main_span: Option<(usize, usize)>,
    /// The element holding both headline and main text, and its span in `text`.
    pub article: Option<NodeId>,
    pub article_span: Option<(usize, usize)>,
    /// How the page writes slash dates (its language, else its domain).
    pub order: DayOrder,
}

impl<'a> Anatomy<'a> {
    pub fn read(page: &'a Page, titles: &[String]) -> Anatomy<'a> {
        let weights = long_text_weights(page);
        let total = page
            .doc
            .select(&sel("body"))
            .next()
            .and_then(|b| weights.get(&b.id()).copied())
            .unwrap_or(0);
        // A container holding most of the page's running text is content whatever its classes say.
        let mut spared: HashSet<NodeId> = if total >= 200 {
            weights
                .iter()
                .filter(|(_, w)| **w * 2 >= total)
                .map(|(id, _)| *id)
                .collect()
        } else {
            HashSet::new()
        };
        // The one post a page marks as such (microformats' hentry/h-entry) is
        // content, whatever its containers are called (Blogger puts the post
        // in a "widget"). Several marked posts are a list: none is spared.
        let mut posts = page.doc.select(&POSTS);
        if let (Some(post), None) = (posts.next(), posts.next()) {
            spared.insert(post.id());
            spared.extend(post.ancestors().map(|a| a.id()));
        }
        let first_chrome = page.chrome_sparing(&spared, None);
        let headline = headline(page, titles, &first_chrome, &spared);
        if let Some(h) = &headline {
            spared.extend(h.ancestors().filter_map(ElementRef::wrap).map(|e| e.id()));
            spared.insert(h.id());
        }
        let mut chrome = if headline.is_some() {
            page.chrome_sparing(&spared, None)
        } else {
            first_chrome
        };
        let main = densest_paragraphs(page, &chrome);
        let mut article_id = None;
        // What holds both headline and main text is the article, whatever its tag.
        if let (Some(h), Some(m)) = (&headline, &main) {
            let around_main: HashSet<NodeId> = std::iter::once(**m)
                .chain(m.ancestors())
                .map(|a| a.id())
                .collect();
            let article = h
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take_while(|a| !matches!(a.value().name(), "body" | "html"))
                .find(|a| around_main.contains(&a.id()));
            if let Some(article) = article {
                chrome = page.chrome_sparing(&spared, Some(article.id()));
                article_id = Some(article.id());
            }
        }
        let teasers = teasers(page, headline.as_ref(), main.as_ref(), &chrome);
        let mut anatomy = Anatomy {
            headline,
            main,
            chrome,
            teasers,
            text: String::new(),
            starts: HashMap::new(),
            headline_span: None,
            main_span: None,
            article: article_id,
            article_span: None,
            order: DayOrder::for_page(
                page.doc.root_element().value().attr("lang"),
                page.url.host_str(),
            ),
        };
        anatomy.linearise(page);
        anatomy
    }

    /// Chrome or a teaser card: nothing there speaks for this article.
    pub fn excluded(&self, el: &ElementRef) -> bool {
        self.chrome.contains(&el.id()) || self.teasers.contains(&el.id())
    }

    /// Distance in characters of text position `at` from the headline (0 inside it);
    /// negative above it. Without a headline, from the start of the main text.
    pub fn offset_from_headline(&self, at: usize) -> Option<i64> {
        let (start, end) = self.headline_span.or(self.main_span.map(|(s, _)| (s, s)))?;
        Some(if at < start {
            -((start - at) as i64)
        } else if at > end {
            (at - end) as i64
        } else {
            0
        })
    }

    /// Whether text position `at` lies inside the headline.
    pub fn in_headline(&self, at: usize) -> bool {
        self.headline_span
            .is_some_and(|(s, e)| (s..e).contains(&at))
    }

    /// Where the element's text starts in [`Anatomy::text`] (excluded elements have none).
    pub fn position(&self, el: &ElementRef) -> Option<usize> {
        self.starts.get(&el.id()).copied()
    }

    fn linearise(&mut self, page: &Page) {
        enum Step<'b> {
            Enter(ego_tree::NodeRef<'b, Node>),
            Leave(NodeId, bool, bool),
        }
        let Some(body) = page.doc.select(&sel("body")).next() else {
            return;
        };
        let head_id = self.headline.map(|h| h.id());
        let main_id = self.main.map(|m| m.id());
        let mut head_start = 0;
        let mut main_start = 0;
        let mut article_start = 0;
        // The end of the main text's last paragraph: a list of more news may follow in the same element.
        let mut text_end = None;
        let mut stack = vec![Step::Enter(*body)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Leave(id, block, paragraph) => {
                    let end = self.text.trim_end().len();
                    if Some(id) == head_id {
                        self.headline_span = Some((head_start, end));
                    }
                    if paragraph {
                        text_end = Some(end);
                    }
                    if Some(id) == main_id {
                        self.main_span = Some((main_start, text_end.unwrap_or(end)));
                    }
                    if Some(id) == self.article {
                        self.article_span = Some((article_start, end));
                    }
                    if block {
                        push_break(&mut self.text);
                    }
                }
                Step::Enter(node) => {
                    if let Some(t) = node.value().as_text() {
                        push_text(&mut self.text, t);
                        if node.parent().map(|p| p.id()) == main_id && t.trim().len() >= 25 {
                            text_end = Some(self.text.trim_end().len());
                        }
                        continue;
                    }
                    let Some(el) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let name = el.value().name();
                    if self.excluded(&el)
                        || matches!(name, "script" | "style" | "noscript" | "template")
                    {
                        continue;
                    }
                    let block = BLOCK_TAGS.contains(&name);
                    if block {
                        push_break(&mut self.text);
                    }
                    self.starts.insert(el.id(), self.text.len());
                    if Some(el.id()) == head_id {
                        head_start = self.text.len();
                    }
                    if Some(el.id()) == main_id {
                        main_start = self.text.len();
                    }
                    if Some(el.id()) == self.article {
                        article_start = self.text.len();
                    }
                    let paragraph = name == "p" && node.parent().map(|p| p.id()) == main_id;
                    stack.push(Step::Leave(el.id(), block, paragraph));
                    // A hidden copy keeps its place (its `<time datetime>` is still
                    // read) but its text is not what a reader sees.
                    if !is_hidden_helper(&el) {
                        stack.extend(node.children().rev().map(Step::Enter));
                    }
                }
            }
        }
    }
}

fn push_text(out: &mut String, t: &str) {
    for c in t.chars() {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn push_break(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Characters of running text (text nodes of 25 characters or more) under each element:
/// menus and link lists are many short texts, articles a few long ones.
fn long_text_weights(page: &Page) -> HashMap<NodeId, usize> {
    // Children before parents (reverse pre-order), each adding its sum to its
    // parent once: linear however deep the page nests.
    let order: Vec<ego_tree::NodeRef<Node>> = page.doc.tree.root().descendants().collect();
    let mut weights: HashMap<NodeId, usize> = HashMap::new();
    for node in order.iter().rev() {
        let own = match node.value() {
            Node::Text(t) => {
                let len = t.trim().chars().count();
                let in_code = node.parent().and_then(ElementRef::wrap).is_some_and(|p| {
                    matches!(
                        p.value().name(),
                        "script" | "style" | "noscript" | "template"
                    )
                });
                if len >= 25 && !in_code { len } else { 0 }
            }
            _ => weights.get(&node.id()).copied().unwrap_or(0),
        };
        if own == 0 {
            continue;
        }
        if let Some(parent) = node.parent() {
            *weights.entry(parent.id()).or_default() += own;
        }
    }
    weights
}

/// Text compared as a reader would: lower case, single spaces, no quotes.
pub fn fold(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '"' | '\'' | '„' | '“' | '”' | '‚' | '‘' | '’' | '«' | '»'
            )
        })
        .flat_map(char::to_lowercase)
        .collect();
    crate::text::collapse_whitespace(&cleaned)
}

/// How well a heading's text names the page's title (0 … 1).
pub(crate) fn title_match(heading: &str, title: &str) -> f32 {
    let (a, b) = (fold(heading), fold(title));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if short.chars().count() >= 12 && long.contains(short.as_str()) {
        return 0.7 + 0.3 * short.len() as f32 / long.len() as f32;
    }
    let words = |s: &str| -> HashSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_string)
            .collect()
    };
    let (wa, wb) = (words(&a), words(&b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    wa.intersection(&wb).count() as f32 / wa.len().max(wb.len()) as f32
}

/// The headline: the `<h1>` that best matches what the page calls itself
/// (JSON-LD, og:title, `<title>`), else a `<h2>`–`<h4>` that does, else the
/// first `<h1>` outside chrome.
fn headline<'a>(
    page: &'a Page,
    titles: &[String],
    chrome: &HashSet<NodeId>,
    spared: &HashSet<NodeId>,
) -> Option<ElementRef<'a>> {
    let headings: Vec<(ElementRef, String)> = page
        .doc
        .select(&HEADINGS)
        .take(MAX_HEADINGS)
        .map(|h| (h, text_of(&h)))
        .filter(|(_, t)| !t.is_empty() && t.chars().count() <= 400)
        .collect();
    let score = |t: &str| {
        titles
            .iter()
            .map(|title| title_match(t, title))
            .fold(0.0_f32, f32::max)
    };
    let best = |level: &dyn Fn(&str) -> bool, at_least: f32, skip_chrome: bool| {
        let mut found: Option<(f32, ElementRef)> = None;
        for (h, t) in &headings {
            if !level(h.value().name())
                || in_tag_chrome(h, spared)
                || (skip_chrome && chrome.contains(&h.id()))
            {
                continue;
            }
            let s = score(t);
            if s >= at_least && found.is_none_or(|(b, _)| s > b) {
                found = Some((s, *h));
            }
        }
        found.map(|(_, h)| h)
    };
    let first_h1 = |outside_chrome: bool| {
        headings
            .iter()
            .find(|(h, t)| {
                h.value().name() == "h1"
                    && !in_tag_chrome(h, spared)
                    && !(outside_chrome && chrome.contains(&h.id()))
                    && t.chars().count() >= 4
            })
            .map(|(h, _)| *h)
    };
    // A lower heading inside chrome ("Related posts") names another article
    // even when it shares words with the title; the page's own `<h1>` may
    // sit in an element whose class words only look like chrome
    // ("enable-pin-share"), so it is asked before giving up.
    best(&|n| n == "h1", 0.5, false)
        .or_else(|| best(&|n| n != "h1", 0.6, true))
        .or_else(|| first_h1(true))
        .or_else(|| first_h1(false))
}

/// Inside `<nav>`, `<aside>`, `<footer>` or a menu role: never the headline,
/// whatever it says, unless that element holds most of the page's running
/// text (`spared`: an unclosed `<aside>` can swallow the whole article).
fn in_tag_chrome(el: &ElementRef, spared: &HashSet<NodeId>) -> bool {
    el.ancestors().filter_map(ElementRef::wrap).any(|a| {
        !spared.contains(&a.id()) && matches!(a.value().name(), "nav" | "aside" | "footer")
            || matches!(
                a.value().attr("role"),
                Some("navigation" | "complementary" | "contentinfo" | "menu")
            )
    })
}

/// The element whose own `<p>` children (or direct text, for `<br>`-separated
/// pages) hold the most text: the body of an article.
fn densest_paragraphs<'a>(page: &'a Page, chrome: &HashSet<NodeId>) -> Option<ElementRef<'a>> {
    let body = page.doc.select(&sel("body")).next()?;
    body.descendent_elements()
        .filter(|e| !chrome.contains(&e.id()))
        .map(|e| {
            let own: usize = e
                .children()
                .map(|c| match ElementRef::wrap(c) {
                    Some(p) if p.value().name() == "p" => text_of(&p).len(),
                    Some(_) => 0,
                    None => c.value().as_text().map_or(0, |t| t.trim().len()),
                })
                .sum();
            (own, e)
        })
        .filter(|(n, _)| *n >= 100)
        .max_by_key(|(n, _)| *n)
        .map(|(_, e)| e)
}

/// Cards of other articles: `<article>` and schema.org Article scopes that
/// hold neither the headline nor the main text. Without a headline a lone
/// `<article>` is the article itself.
fn teasers(
    page: &Page,
    headline: Option<&ElementRef>,
    main: Option<&ElementRef>,
    chrome: &HashSet<NodeId>,
) -> HashSet<NodeId> {
    let scopes: Vec<ElementRef> = page
        .doc
        .select(&ARTICLE_SCOPES)
        .filter(|e| !chrome.contains(&e.id()))
        .take(MAX_HEADINGS * 5)
        .collect();
    let holds = |scope: &ElementRef, el: Option<&ElementRef>| {
        el.is_some_and(|el| el.ancestors().any(|a| a.id() == scope.id()) || el.id() == scope.id())
    };
    let mut out = HashSet::new();
    if headline.is_none() && main.is_none() && scopes.len() <= 1 {
        return out;
    }
    for s in &scopes {
        if holds(s, headline) || holds(s, main) {
            continue;
        }
        // A scope inside the article's own text (a quoted post) stays; only separate cards go.
        if headline.is_none() && scopes.len() == 1 {
            continue;
        }
        out.insert(s.id());
        out.extend(s.descendants().map(|d| d.id()));
    }
    out
}
