//! Rewrites the feed dialects feed-rs does not read into the ones it does,
//! one XML event at a time: Atom 0.3 becomes Atom 1.0 (`modified` →
//! `updated`, `issued`/`created` → `published`, `tagline` → `subtitle`,
//! content `mode`), RSS 0.90 becomes RSS 1.0, `<rss>` of any or no version
//! becomes 2.0 and gets the `<channel>` it lacks, Atom `type` values feed-rs
//! rejects are mapped or dropped, empty text elements (which feed-rs treats
//! as fatal) are dropped, and per entry `dc:title`, `dc:date`,
//! `dcterms:modified`/`issued`/`created`, `xhtml:body` and `fullitem` are
//! copied into the elements feed-rs reads when the entry has none.
//!
//! The DOCTYPE and XML declaration are dropped: the text is already UTF-8
//! and entity definitions are never expanded.
//!
//! Events that need no rewrite stay as the input's own bytes ([`Spliced`]):
//! most feeds need none but the dropped declaration, and feed-rs then reads
//! the input itself, without a copy of the document per poll.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;
use quick_xml::writer::Writer;

const ATOM: &str = "http://www.w3.org/2005/Atom";
const ATOM03: &str = "http://purl.org/atom/ns#";
const RSS090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10: &str = "http://purl.org/rss/1.0/";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const DCTERMS: &str = "http://purl.org/dc/terms/";
const XHTML: &str = "http://www.w3.org/1999/xhtml";
const CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// The link written into an RSS 1.0 / 0.90 item that names none (neither
/// `<link>` nor `rdf:about`): feed-rs drops such items, feedparser and RSS
/// 2.0 keep them. Not a web URL, so the adapter never takes it for a link.
pub(crate) const NO_LINK: &str = "urn:x-revierfeed:no-link";

/// Elements whose descendants are an entry's text or another document's
/// metadata, never the entry's own title.
const NOT_TITLE_CONTAINERS: [&str; 8] = [
    "source",
    "content",
    "summary",
    "description",
    "encoded",
    "body",
    "fullitem",
    "textinput",
];

/// Atom's text constructs, 1.0 and 0.3 names.
const TEXT_CONSTRUCTS: [&str; 7] = [
    "title",
    "subtitle",
    "summary",
    "content",
    "rights",
    "tagline",
    "copyright",
];

/// What one entry has and what it could borrow from other vocabularies.
#[derive(Default)]
struct EntryState {
    atom: bool,
    depth: usize,
    has_title: bool,
    has_published: bool,
    has_updated: bool,
    has_content: bool,
    has_link: bool,
    /// An RSS 1.0 / 0.90 item (inside `rdf:RDF`).
    rdf: bool,
    /// RSS 1.0 `rdf:about`: the item's URI, its link when it names none
    /// (feed-rs drops RSS 1.0 items without a link).
    about: Option<String>,
    /// An RSS `guid` that is a permalink (`isPermaLink` absent or true): the
    /// item's link when it names none (RSS 2.0 spec; feedparser does too).
    permalink: Option<String>,
    title: Option<String>,
    /// The shallowest other `title` inside the entry (`media:title`, or one
    /// nested in e.g. a category's image) and its depth: feedparser's last
    /// resort for an entry without a title, and ours.
    nested_title: Option<(usize, String)>,
    published: Option<String>,
    updated: Option<String>,
    body: Option<String>,
}

/// An element whose text is being collected instead of (or besides) written.
struct Capture {
    depth: usize,
    target: CaptureTarget,
    text: String,
    /// Byte offset where the element's content starts (for raw XHTML).
    start: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum CaptureTarget {
    Title,
    Permalink,
    NestedTitle,
    Published,
    Updated,
    /// Raw markup of an `xhtml:body`.
    XhtmlBody,
    /// Escaped HTML text of a `fullitem` / `content:encoded`-like element.
    HtmlText,
    /// Atom 0.3 `mode="base64"`: decoded and written as text.
    Base64,
}

/// One open element: its name as read and as written (renamed or synthetic).
struct Open {
    written: String,
    /// Written by us (a missing `<channel>`), closed when its parent closes.
    synthetic: bool,
}

/// Rewrites `text` (well-formed or not: `lenient` closes mismatched end
/// tags and drops stray ones instead of failing) into the bytes feed-rs reads.
pub(crate) fn upgrade(text: &str, lenient: bool) -> Result<Cow<'_, [u8]>, String> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = !lenient;
    let mut out = Spliced::new(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut entry: Option<EntryState> = None;
    let mut capture: Option<Capture> = None;
    let mut atom_root = false;
    let mut rdf_root = false;
    let mut atom03 = false;
    let mut rss_root_needs_channel = false;
    let mut pending_empty_check: Option<HeldBack> = None;
    let err = |e: quick_xml::Error, pos: u64| format!("{e} (at byte {pos})");
    // The event's namespace, in one buffer for the whole document: names,
    // attributes and namespaces are borrowed where they are only compared
    // or written back, not copied per event (this pass runs on every feed).
    let mut ns_buf = String::new();
    loop {
        let before = reader.buffer_position() as usize;
        let read = reader.read_resolved_event();
        let event = match read {
            Ok((ns, event)) => {
                ns_buf.clear();
                if let ResolveResult::Bound(n) = ns {
                    ns_buf.push_str(n.as_ref());
                }
                event
            }
            Err(e) => return Err(err(e, reader.error_position())),
        };
        let ns = ns_buf.as_str();
        let after = reader.buffer_position() as usize;
        // A text construct held back to see whether it is empty.
        if let Some(held) = pending_empty_check.take() {
            match &event {
                Event::End(_) if stack.len() == held.depth => {
                    // Dropped, start tag and end tag (nothing lies between).
                    out.replace(held.at.0, after);
                    stack.pop();
                    continue;
                }
                _ => {
                    if let Some(start) = held.rewritten {
                        write(out.replace(held.at.0, held.at.1), Event::Start(start))?;
                    }
                }
            }
        }
        match event {
            Event::Decl(_) | Event::DocType(_) => out.drop_span(before, after),
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local_name = e.local_name();
                let local: &str = local_name.as_ref();
                let parent_is_rss_root = stack.len() == 1 && rss_root_needs_channel;
                if stack.is_empty() {
                    atom_root = local == "feed";
                    rdf_root = local == "RDF" && ns == RDF;
                    atom03 = atom_root
                        && (ns == ATOM03 || attribute(e, "version").as_deref() == Some("0.3"));
                    rss_root_needs_channel = local == "rss";
                }
                if parent_is_rss_root {
                    rss_root_needs_channel = false;
                    if local != "channel" {
                        write(out.insert(before), Event::Start(BytesStart::new("channel")))?;
                        stack.push(Open {
                            written: "channel".to_string(),
                            synthetic: true,
                        });
                    }
                }
                let atomish = ns == ATOM || ns == ATOM03 || (ns.is_empty() && atom_root);
                let mut start = rewrite_attributes(e, stack.is_empty() && local == "rss");
                // Atom 0.3 names.
                if atom03 && atomish {
                    let renamed = match local {
                        "modified" => Some("updated"),
                        "issued" => Some("published"),
                        "created" if !entry.as_ref().is_some_and(|s| s.has_published) => {
                            Some("published")
                        }
                        "tagline" => Some("subtitle"),
                        "copyright" => Some("rights"),
                        "url" => Some("uri"),
                        _ => None,
                    };
                    if let Some(new) = renamed {
                        start = rename(&start, new);
                    }
                }
                let depth = stack.len();
                let direct_child = entry.as_ref().is_some_and(|s| depth == s.depth + 1);
                let mut base64 = false;
                if atomish && TEXT_CONSTRUCTS.contains(&local) {
                    let (fixed, is_base64) = fix_text_type(&start, local == "content");
                    start = fixed;
                    base64 = is_base64;
                }
                // What an entry has, and what it could borrow.
                let mut target = None;
                if let Some(state) = entry.as_mut().filter(|_| direct_child) {
                    let rssish = ns.is_empty() || ns == RSS10 || ns == RSS090;
                    match (ns, local) {
                        (_, "title") if rssish || atomish => state.has_title = true,
                        (_, "link") if rssish && !atomish => {
                            state.has_link |= rss_link_href(e).is_none_or(|(_, alt)| alt)
                        }
                        (_, "guid")
                            if rssish
                                && !atomish
                                && !attribute(e, "isPermaLink")
                                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("false")) =>
                        {
                            target = Some(CaptureTarget::Permalink)
                        }
                        (_, "pubDate") if rssish => state.has_published = true,
                        (_, "published" | "issued") if atomish => state.has_published = true,
                        (_, "created") if atomish => state.has_published = true,
                        (_, "updated" | "modified") if atomish => state.has_updated = true,
                        (ATOM, "updated") => state.has_updated = true,
                        (_, "content") if atomish => state.has_content = true,
                        (CONTENT, "encoded") => state.has_content = true,
                        (DC, "title") => target = Some(CaptureTarget::Title),
                        (DC, "date") if !state.atom => state.has_published = true,
                        (DC, "date") | (DCTERMS, "modified") => {
                            target = Some(CaptureTarget::Updated)
                        }
                        (DCTERMS, "issued" | "created") => target = Some(CaptureTarget::Published),
                        (XHTML, "body") => target = Some(CaptureTarget::XhtmlBody),
                        (_, "fullitem") => target = Some(CaptureTarget::HtmlText),
                        _ => {}
                    }
                }
                if let Some(state) = entry.as_ref() {
                    let counted = direct_child
                        && local == "title"
                        && (ns.is_empty() || ns == RSS10 || ns == RSS090 || atomish);
                    let contained =
                        stack
                            .get(state.depth + 1..)
                            .unwrap_or_default()
                            .iter()
                            .any(|o| {
                                let local = o.written.rsplit(':').next().unwrap_or(&o.written);
                                NOT_TITLE_CONTAINERS.contains(&local)
                            });
                    if local == "title"
                        && depth > state.depth
                        && !counted
                        && ns != DC
                        && !contained
                        && capture.is_none()
                    {
                        target = Some(CaptureTarget::NestedTitle);
                    }
                }
                if base64 {
                    target = Some(CaptureTarget::Base64);
                }
                if (local == "item" && !atomish) || (local == "entry" && atomish) {
                    let about = e
                        .attributes()
                        .with_checks(false)
                        .flatten()
                        .find(|a| a.key.as_ref() == "rdf:about" || a.key.as_ref() == "about")
                        .map(|a| a.value.to_string());
                    entry = Some(EntryState {
                        atom: atomish,
                        rdf: rdf_root,
                        depth,
                        about,
                        ..EntryState::default()
                    });
                }
                if is_empty {
                    let rss_link = (local == "link" && !atomish)
                        .then(|| rss_link_href(e))
                        .flatten()
                        .filter(|_| ns.is_empty() || ns == RSS10 || ns == RSS090);
                    match rss_link {
                        // `<link href="…"/>` in RSS (Atom habits): the text form RSS
                        // readers know; other relations (enclosures) are dropped.
                        Some((href, true)) => write_element(
                            out.replace(before, after),
                            start.name().as_ref(),
                            &[],
                            BytesText::from_escaped(href),
                        )?,
                        Some((_, false)) => {
                            out.replace(before, after);
                        }
                        None if same_start(e, &start) => {}
                        None => write(out.replace(before, after), Event::Empty(start))?,
                    }
                    continue;
                }
                stack.push(Open {
                    written: start.name().as_ref().to_string(),
                    synthetic: false,
                });
                if let Some(target) = target.filter(|_| capture.is_none()) {
                    capture = Some(Capture {
                        depth: stack.len(),
                        target,
                        text: String::new(),
                        start: reader.buffer_position() as usize,
                    });
                }
                let unchanged = same_start(e, &start);
                if atomish
                    && TEXT_CONSTRUCTS.contains(&local)
                    && target != Some(CaptureTarget::Base64)
                {
                    pending_empty_check = Some(HeldBack {
                        rewritten: (!unchanged).then(|| start.into_owned()),
                        at: (before, after),
                        depth: stack.len(),
                    });
                } else if !unchanged {
                    write(out.replace(before, after), Event::Start(start))?;
                }
            }
            Event::End(ref e) => {
                let name = e.name().0;
                // Find what this end tag closes; a stray one (lenient) is dropped.
                let Some(open_at) = stack.iter().rposition(|o| {
                    !o.synthetic && (o.written == name || name_read_as(name, &o.written))
                }) else {
                    if lenient {
                        out.replace(before, after);
                        continue;
                    }
                    return Err(format!("end tag </{}> closes nothing", name));
                };
                while stack.len() > open_at {
                    let depth = stack.len();
                    if let Some(c) = capture.take_if(|c| c.depth == depth) {
                        let end_of_content = before.min(text.len());
                        finish_capture(c, text, end_of_content, &mut entry, &mut out, before)?;
                    }
                    if entry.as_ref().is_some_and(|s| s.depth + 1 == depth) {
                        if let Some(state) = entry.take() {
                            write_borrowed(&state, &mut out, before)?;
                        }
                    }
                    let open = stack.pop().expect("checked non-empty");
                    if stack.len() > open_at {
                        // Left open in the input (lenient): closed here.
                        write(out.insert(before), Event::End(BytesEnd::new(open.written)))?;
                    } else if open.written != name {
                        // The element this end tag closes, renamed (Atom 0.3).
                        write(
                            out.replace(before, after),
                            Event::End(BytesEnd::new(open.written)),
                        )?;
                    }
                }
            }
            Event::Text(ref t) => {
                if let Some(c) = capture.as_mut() {
                    c.text.push_str(&t.xml10_content());
                    if c.target == CaptureTarget::Base64 {
                        out.replace(before, after);
                    }
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(c) = capture.as_mut() {
                    let raw = format!("&{};", r.xml10_content());
                    c.text
                        .push_str(&quick_xml::escape::unescape(&raw).unwrap_or(raw.clone().into()));
                    if c.target == CaptureTarget::Base64 {
                        out.replace(before, after);
                    }
                }
            }
            Event::CData(ref t) => {
                if let Some(c) = capture.as_mut() {
                    c.text.push_str(&t.xml10_content());
                    if c.target == CaptureTarget::Base64 {
                        out.replace(before, after);
                    }
                }
            }
            // Comments and processing instructions pass through.
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("the document ends inside <{}>", open.written));
    }
    // UTF-8 by construction (the input's text, split at markup, and our own
    // strings); feed-rs reads bytes, so it is not checked a second time here.
    Ok(out.finish())
}

/// A text construct's start tag, held back until the next event shows
/// whether the element is empty.
struct HeldBack {
    /// The tag as it is to be written; `None` when the input's bytes serve.
    rewritten: Option<BytesStart<'static>>,
    /// Where the tag is in the input.
    at: (usize, usize),
    depth: usize,
}

/// The pass's output: the input, with spans replaced, dropped or inserted
/// at increasing offsets. The bytes between changes are copied from the
/// input only once a change needs them written after it, so a document
/// whose only change is at its very start (the declaration) is borrowed.
struct Spliced<'a> {
    input: &'a str,
    /// The input from here on is output too, up to the next change.
    kept_from: usize,
    written: Option<Writer<Vec<u8>>>,
}

impl<'a> Spliced<'a> {
    fn new(input: &'a str) -> Self {
        Spliced {
            input,
            kept_from: 0,
            written: None,
        }
    }

    /// Ends the input kept so far at `start`, skips it up to `end`, and
    /// returns the writer for what goes in its place.
    fn replace(&mut self, start: usize, end: usize) -> &mut Writer<Vec<u8>> {
        let kept = &self.input.as_bytes()[self.kept_from..start];
        let writer = self
            .written
            .get_or_insert_with(|| Writer::new(Vec::with_capacity(self.input.len() + 256)));
        writer.get_mut().extend_from_slice(kept);
        self.kept_from = end;
        writer
    }

    /// Returns the writer for what goes in at `at`.
    fn insert(&mut self, at: usize) -> &mut Writer<Vec<u8>> {
        self.replace(at, at)
    }

    /// Drops the span; before anything is written, with the whitespace
    /// before it (the prolog's), so that nothing needs copying.
    fn drop_span(&mut self, start: usize, end: usize) {
        let before = &self.input[self.kept_from..start];
        if self.written.is_none() && before.trim_ascii().is_empty() {
            self.kept_from = end;
        } else {
            self.replace(start, end);
        }
    }

    fn finish(self) -> Cow<'a, [u8]> {
        let rest = &self.input.as_bytes()[self.kept_from..];
        match self.written {
            None => Cow::Borrowed(rest),
            Some(mut writer) => {
                writer.get_mut().extend_from_slice(rest);
                Cow::Owned(writer.into_inner())
            }
        }
    }
}

/// Whether `rewritten` is `read` unchanged: the same name and the same
/// attributes, as read, in the same order. An attribute quick-xml cannot
/// read counts as a change (the rewrite drops it).
fn same_start(read: &BytesStart, rewritten: &BytesStart) -> bool {
    // The usual case, bytes for bytes: a name alone, or attributes written
    // as quick-xml writes them.
    if **read == **rewritten {
        return true;
    }
    if read.name() != rewritten.name() {
        return false;
    }
    let mut theirs = read.attributes();
    let mut ours = rewritten.attributes();
    let (theirs, ours) = (theirs.with_checks(false), ours.with_checks(false));
    loop {
        match (theirs.next(), ours.next()) {
            (None, None) => return true,
            (Some(Ok(a)), Some(Ok(b))) if a.key == b.key && a.value == b.value => {}
            _ => return false,
        }
    }
}

fn write(writer: &mut Writer<Vec<u8>>, event: Event<'_>) -> Result<(), String> {
    writer.write_event(event).map_err(|e| e.to_string())
}

/// `written` is a renamed form of `read` with the same prefix (Atom 0.3).
fn name_read_as(read: &str, written: &str) -> bool {
    let prefix = |n: &str| n.rsplit_once(':').map(|(p, _)| p.to_string());
    let local = |n: &str| {
        n.rsplit_once(':')
            .map_or(n.to_string(), |(_, l)| l.to_string())
    };
    let renamed = matches!(
        (local(read).as_str(), local(written).as_str()),
        ("modified", "updated")
            | ("issued" | "created", "published")
            | ("tagline", "subtitle")
            | ("copyright", "rights")
            | ("url", "uri")
    );
    renamed && prefix(read) == prefix(written)
}

/// An RSS `<link>` written the Atom way: its raw `href` and whether it is
/// the item's page (no `rel`, or `alternate`).
fn rss_link_href(e: &BytesStart) -> Option<(String, bool)> {
    let href = attribute(e, "href")?;
    let alternate = attribute(e, "rel").is_none_or(|r| r.trim() == "alternate");
    Some((href, alternate))
}

fn is_web_url(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    s.starts_with("http://") || s.starts_with("https://")
}

fn attribute(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value.to_string())
}

/// Copies `e`, mapping obsolete namespace URIs to the ones feed-rs knows and
/// (on the `<rss>` root) any version feed-rs refuses to "2.0".
fn rewrite_attributes<'a>(e: &'a BytesStart, rss_root: bool) -> BytesStart<'a> {
    let mut out = BytesStart::new(e.name().0);
    let mut has_version = false;
    for attr in e.attributes().with_checks(false).flatten() {
        let key = attr.key.0;
        let raw: &str = &attr.value;
        let value = if key == "xmlns" || key.starts_with("xmlns:") {
            match raw.trim() {
                ATOM03 => ATOM,
                RSS090 => RSS10,
                // Userland's namespaced RSS 0.9x/2.0 is plain RSS.
                u if u.starts_with("http://backend.userland.com/rss") => RSS10,
                _ => raw,
            }
        } else if rss_root && key == "version" {
            has_version = true;
            match raw.trim() {
                "0.91" | "0.92" | "2.0" => raw.trim(),
                _ => "2.0",
            }
        } else {
            raw
        };
        // The value is still escaped as read; write it back unchanged.
        out.push_attribute(raw_attribute(key, value));
    }
    if rss_root && !has_version {
        out.push_attribute(("version", "2.0"));
    }
    out
}

/// An attribute whose value is already escaped (as read).
fn raw_attribute<'a>(key: &'a str, value: &'a str) -> Attribute<'a> {
    Attribute {
        key: QName(key),
        value: std::borrow::Cow::Borrowed(value),
    }
}

/// `e` under another local name, keeping its prefix and attributes.
fn rename(e: &BytesStart, local: &str) -> BytesStart<'static> {
    let name = e.name().as_ref().to_string();
    let new_name = match name.rsplit_once(':') {
        Some((prefix, _)) => format!("{prefix}:{local}"),
        None => local.to_string(),
    };
    let mut out = BytesStart::new(new_name);
    for attr in e.attributes().with_checks(false).flatten() {
        out.push_attribute(raw_attribute(attr.key.as_ref(), &attr.value));
    }
    out
}

/// Maps an Atom text construct's `type` (and Atom 0.3 `mode`) to what feed-rs
/// accepts; says whether the body is base64 to be decoded.
fn fix_text_type(e: &BytesStart, is_content: bool) -> (BytesStart<'static>, bool) {
    let ty = attribute(e, "type").map(|t| t.trim().to_ascii_lowercase());
    let mode = attribute(e, "mode").map(|m| m.trim().to_ascii_lowercase());
    let has_src = attribute(e, "src").is_some();
    let base64 = mode.as_deref() == Some("base64") || (ty.as_deref() == Some("base64") && !has_src);
    let html_like = |t: &str| t == "html" || t == "text/html";
    let fixed = match ty.as_deref() {
        None | Some("") => None,
        Some("text" | "text/plain") => Some("text"),
        Some(t) if html_like(t) => Some("html"),
        Some("xhtml" | "application/xhtml+xml") => {
            if mode.as_deref() == Some("escaped") {
                Some("html")
            } else {
                Some("xhtml")
            }
        }
        // A media type stays on content (feed-rs reads it); anything else is text.
        Some(t) if is_content && is_media_type(t) && (has_src || !base64) => None,
        Some(_) => Some("text"),
    };
    let name = e.name().as_ref().to_string();
    let mut out = BytesStart::new(name);
    for attr in e.attributes().with_checks(false).flatten() {
        match attr.key.as_ref() {
            "mode" => {}
            "type" => {
                if let Some(new) = fixed {
                    out.push_attribute(("type", new));
                } else if ty.as_deref().is_some_and(|t| !t.is_empty()) {
                    out.push_attribute(raw_attribute(attr.key.as_ref(), &attr.value));
                }
            }
            _ => out.push_attribute((attr.key.as_ref(), attr.value.as_ref())),
        }
    }
    (out, base64)
}

fn is_media_type(t: &str) -> bool {
    t.split_once('/').is_some_and(|(kind, sub)| {
        let token = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
        };
        token(kind) && token(sub.split(';').next().unwrap_or("").trim())
    })
}

/// Stores what a capture collected on its entry (or writes decoded base64).
fn finish_capture(
    c: Capture,
    text: &str,
    end_of_content: usize,
    entry: &mut Option<EntryState>,
    out: &mut Spliced,
    at: usize,
) -> Result<(), String> {
    if c.target == CaptureTarget::Base64 {
        let compact: String = c.text.split_whitespace().collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or(c.text);
        return write(out.insert(at), Event::Text(BytesText::new(&decoded)));
    }
    let Some(state) = entry.as_mut() else {
        return Ok(());
    };
    let value = match c.target {
        CaptureTarget::XhtmlBody => text
            .get(c.start..end_of_content)
            .unwrap_or_default()
            .to_string(),
        _ => c.text,
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Ok(());
    }
    if c.target == CaptureTarget::NestedTitle {
        // The shallowest wins; among equals, the first.
        if state
            .nested_title
            .as_ref()
            .is_none_or(|(d, _)| c.depth < *d)
        {
            state.nested_title = Some((c.depth, value));
        }
        return Ok(());
    }
    let slot = match c.target {
        CaptureTarget::Title => &mut state.title,
        CaptureTarget::Permalink => &mut state.permalink,
        CaptureTarget::Published => &mut state.published,
        CaptureTarget::Updated => &mut state.updated,
        CaptureTarget::XhtmlBody | CaptureTarget::HtmlText => &mut state.body,
        CaptureTarget::Base64 | CaptureTarget::NestedTitle => unreachable!("handled above"),
    };
    slot.get_or_insert(value);
    Ok(())
}

/// Before an entry closes (at `at`): the elements feed-rs reads, from what
/// it borrowed; nothing, and nothing copied, when it borrowed nothing.
fn write_borrowed(state: &EntryState, out: &mut Spliced, at: usize) -> Result<(), String> {
    let mut borrowed = Writer::new(Vec::new());
    write_borrowed_into(state, &mut borrowed)?;
    let borrowed = borrowed.into_inner();
    if !borrowed.is_empty() {
        out.insert(at).get_mut().extend_from_slice(&borrowed);
    }
    Ok(())
}

fn write_borrowed_into(state: &EntryState, writer: &mut Writer<Vec<u8>>) -> Result<(), String> {
    let element = |writer: &mut Writer<Vec<u8>>, name: &str, ns_attr: (&str, &str), value: &str| {
        write_element(writer, name, &[ns_attr], BytesText::new(value))
    };
    let (title_ns, content) = if state.atom {
        (("xmlns", ATOM), ("content", ("xmlns", ATOM)))
    } else {
        (
            ("xmlns", RSS10),
            ("content:encoded", ("xmlns:content", CONTENT)),
        )
    };
    let title = state
        .title
        .as_deref()
        .or(state.nested_title.as_ref().map(|(_, t)| t.as_str()));
    if let Some(title) = title.filter(|_| !state.has_title) {
        element(writer, "title", title_ns, title)?;
    }
    if !state.has_link {
        if let Some(about) = state.about.as_deref() {
            // Already escaped as read: an attribute value written back as text.
            write_element(
                writer,
                "link",
                &[("xmlns", RSS10)],
                BytesText::from_escaped(about),
            )?;
        } else if let Some(permalink) = state.permalink.as_deref().filter(|p| is_web_url(p)) {
            element(writer, "link", ("xmlns", RSS10), permalink)?;
        } else if state.rdf {
            element(writer, "link", ("xmlns", RSS10), NO_LINK)?;
        }
    }
    let published = state
        .published
        .as_deref()
        .or(state.updated.as_deref().filter(|_| !state.atom));
    if let Some(date) = published.filter(|_| !state.has_published) {
        if state.atom {
            element(writer, "published", ("xmlns", ATOM), date)?;
        } else {
            element(writer, "dc:date", ("xmlns:dc", DC), date)?;
        }
    }
    if let Some(date) = state.updated.as_deref().filter(|_| !state.has_updated) {
        if state.atom {
            element(writer, "updated", ("xmlns", ATOM), date)?;
        } else {
            element(writer, "atom:updated", ("xmlns:atom", ATOM), date)?;
        }
    }
    if let Some(body) = state.body.as_deref().filter(|_| !state.has_content) {
        if state.atom {
            let start =
                BytesStart::new("content").with_attributes([("xmlns", ATOM), ("type", "html")]);
            write(writer, Event::Start(start))?;
            write(writer, Event::Text(BytesText::new(body)))?;
            write(writer, Event::End(BytesEnd::new("content")))?;
        } else {
            element(writer, content.0, content.1, body)?;
        }
    }
    Ok(())
}

fn write_element(
    writer: &mut Writer<Vec<u8>>,
    name: &str,
    attributes: &[(&str, &str)],
    text: BytesText<'_>,
) -> Result<(), String> {
    let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
    write(writer, Event::Start(start))?;
    write(writer, Event::Text(text))?;
    write(writer, Event::End(BytesEnd::new(name)))
}
