//! The operator's `remove` selectors applied to an article body: elements
//! the automatic reading keeps but that are no part of the article (share
//! boxes, ads, "Lesen Sie auch" teasers) are cut out before sanitising.

use scraper::{Html, Selector};

/// `html` without the elements any of `selectors` matches (and their content).
pub fn remove_matching(html: &str, selectors: &[Selector]) -> String {
    if selectors.is_empty() {
        return html.to_string();
    }
    let mut doc = Html::parse_fragment(html);
    let doomed: Vec<_> = selectors
        .iter()
        .flat_map(|s| doc.select(s).map(|e| e.id()).collect::<Vec<_>>())
        .collect();
    for id in doomed {
        if let Some(mut node) = doc.tree.get_mut(id) {
            node.detach();
        }
    }
    doc.root_element().inner_html()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_elements_go_with_their_content() {
        let selectors = [
            Selector::parse(".share").unwrap(),
            Selector::parse("aside, .ad").unwrap(),
        ];
        let out = remove_matching(
            r#"<p>Erster Absatz.</p><div class="share"><a href="x">Teilen</a></div><aside>Lesen Sie auch</aside><p>Zweiter <span class="ad">Werbung</span>Absatz.</p>"#,
            &selectors,
        );
        assert_eq!(out, "<p>Erster Absatz.</p><p>Zweiter Absatz.</p>");
        assert_eq!(remove_matching("<p>x</p>", &[]), "<p>x</p>");
    }
}
