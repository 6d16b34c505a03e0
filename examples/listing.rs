use revierfeed::extract::html::{Page, merge, parse_article, parse_listing};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let url = url::Url::parse(&std::env::args().nth(2).unwrap()).unwrap();
    let raw = std::fs::read(&path).unwrap();
    let text = revierfeed::extract::charset::decode_html(&raw, None)
        .replace("{{BASE}}", "http://127.0.0.1:9/site");
    let page = Page::parse(&text, &url);
    if std::env::args().nth(3).as_deref() == Some("article") {
        let a = parse_article(&page, None);
        println!("{:#?}", Article2(&a));
        return;
    }
    let l = parse_listing(&page, None);
    println!(
        "method: {}  next: {:?}",
        l.method,
        l.next_page.map(|u| u.to_string())
    );
    for e in &l.entries {
        println!(
            "- {} | {:?} | {} | {:?} | {:?}",
            e.published.map(|d| d.to_rfc3339()).unwrap_or_default(),
            e.title,
            e.link,
            e.author,
            e.summary
                .as_deref()
                .map(|s| s.chars().take(50).collect::<String>())
        );
    }
    let _ = merge;
}
struct Article2<'a>(&'a revierfeed::extract::html::Article);
impl std::fmt::Debug for Article2<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let a = self.0;
        write!(
            f,
            "canon={:?}\nts={:?}\ntv={:?}\nps={:?}\npt={:?}\npv={:?}\nupd={:?}\nauth={:?}\ndesc={:?}\ncats={:?}\ncontent={:?}",
            a.canonical.as_ref().map(|u| u.as_str()),
            a.title_structured,
            a.title_visible,
            a.published_structured,
            a.published_time_element,
            a.published_visible,
            a.updated,
            a.authors,
            a.description,
            a.categories,
            a.content_html
                .as_deref()
                .map(|c| c.chars().take(300).collect::<String>())
        )
    }
}
