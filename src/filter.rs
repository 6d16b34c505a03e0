//! Operator rules that keep, drop or tag items, so a general regional source
//! can be narrowed to the structural change and items can be grouped for
//! per-tag feeds. Rules never delete: an item they hide stays stored with the
//! reason, and a changed config re-judges every item. A written rule is
//! validated here (`Rule::new`); the config only says where it stands.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::model::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Items must match at least one keep rule (if any apply to their source).
    Keep,
    /// Items that match are hidden.
    Drop,
    /// Items that match get the rule's tags.
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Category,
}

const ALL_FIELDS: &[Field] = &[
    Field::Title,
    Field::Summary,
    Field::Content,
    Field::Author,
    Field::Category,
];

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    /// Lower-cased keywords, matched as substrings ("lausitz" matches "Lausitzer").
    pub keywords: Vec<String>,
    pub regexes: Vec<Regex>,
    pub fields: Vec<Field>,
    pub tags: Vec<String>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.action == other.action
            && self.keywords == other.keywords
            && self
                .regexes
                .iter()
                .map(Regex::as_str)
                .eq(other.regexes.iter().map(Regex::as_str))
            && self.fields == other.fields
            && self.tags == other.tags
    }
}

/// A rule as the operator wrote it. Errors point into these lists by index,
/// so the caller can say where in its file the bad value stands.
pub(crate) struct RuleSpec<'a> {
    pub name: String,
    pub action: &'a str,
    pub keywords: &'a [String],
    pub regexes: Vec<&'a str>,
    /// Empty: every field.
    pub fields: Vec<&'a str>,
    pub tags: Vec<&'a str>,
}

/// Why a written rule is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RuleError {
    #[error("`{0}` is not an action; use \"keep\", \"drop\" or \"tag\"")]
    UnknownAction(String),
    #[error("not a regular expression: {message}")]
    BadRegex { index: usize, message: String },
    #[error("a rule needs `keywords` or `regex`")]
    NothingToMatch,
    #[error("`{name}` is not a field; use title, summary, content, author or category")]
    UnknownField { index: usize, name: String },
    #[error("tag `{tag}` must be 1–64 lower-case letters, digits, '-' or '_'")]
    BadTag { index: usize, tag: String },
    #[error("a rule with action = \"tag\" needs `tags`")]
    TagWithoutTags,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        match text {
            "keep" => Some(Action::Keep),
            "drop" => Some(Action::Drop),
            "tag" => Some(Action::Tag),
            _ => None,
        }
    }
}

impl Rule {
    /// Validates a written rule. Every problem is reported, not just the
    /// first, so an operator fixes a rule in one go; an unknown action ends
    /// the check because nothing else can be judged without it.
    pub(crate) fn new(spec: RuleSpec<'_>) -> Result<Rule, Vec<RuleError>> {
        let Some(action) = Action::parse(spec.action) else {
            return Err(vec![RuleError::UnknownAction(spec.action.to_string())]);
        };
        let mut errors = Vec::new();
        let mut regexes = Vec::new();
        for (index, pattern) in spec.regexes.iter().enumerate() {
            match compile_regex(pattern) {
                Ok(re) => regexes.push(re),
                Err(message) => errors.push(RuleError::BadRegex { index, message }),
            }
        }
        let keywords: Vec<String> = spec
            .keywords
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        // A broken regex already says what is wrong; "needs a regex" would only add noise.
        if keywords.is_empty() && regexes.is_empty() && errors.is_empty() {
            errors.push(RuleError::NothingToMatch);
        }
        let mut fields = Vec::new();
        for (index, name) in spec.fields.iter().enumerate() {
            match ALL_FIELDS.iter().find(|f| field_name(**f) == *name) {
                Some(f) => fields.push(*f),
                None => errors.push(RuleError::UnknownField {
                    index,
                    name: name.to_string(),
                }),
            }
        }
        if fields.is_empty() {
            fields = ALL_FIELDS.to_vec();
        }
        let mut tags = Vec::new();
        for (index, tag) in spec.tags.iter().enumerate() {
            if valid_tag(tag) {
                tags.push(tag.to_string());
            } else {
                errors.push(RuleError::BadTag {
                    index,
                    tag: tag.to_string(),
                });
            }
        }
        if action == Action::Tag && tags.is_empty() && errors.is_empty() {
            errors.push(RuleError::TagWithoutTags);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Rule {
            name: spec.name,
            action,
            keywords,
            regexes,
            fields,
            tags,
        })
    }
}

/// Whether `tag` can name a tag: it appears in feed URLs (`/tags/<tag>.atom`).
pub(crate) fn valid_tag(tag: &str) -> bool {
    (1..=64).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Compiles a rule's regex: case-insensitive, with a size limit so a config
/// typo can't make matching explode.
fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        // regex errors draw the pattern over several lines; config errors are one line.
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string()
        })
}

/// What the rules decided for one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Why the item is hidden; `None` when it is shown.
    pub hidden: Option<String>,
    /// Source tags and the tags of matching rules, sorted, without repeats.
    pub tags: Vec<String>,
}

impl Rule {
    /// The first keyword or pattern that matches, with the field it matched in.
    fn matches(&self, item: &Item) -> Option<(String, Field)> {
        for field in &self.fields {
            for text in field_texts(item, *field) {
                let lower = text.to_lowercase();
                if let Some(k) = self.keywords.iter().find(|k| lower.contains(k.as_str())) {
                    return Some((k.clone(), *field));
                }
                if let Some(r) = self.regexes.iter().find(|r| r.is_match(&text)) {
                    return Some((format!("/{}/", r.as_str()), *field));
                }
            }
        }
        None
    }
}

fn field_texts(item: &Item, field: Field) -> Vec<String> {
    match field {
        Field::Title => vec![item.title.clone()],
        // `text` is the plain text of summary or content; content HTML is reduced to text once.
        Field::Summary => vec![item.text.clone()],
        Field::Content => item
            .content_html
            .as_deref()
            .map(crate::normalize::html_to_text)
            .into_iter()
            .collect(),
        Field::Author => item.authors.clone(),
        Field::Category => item.categories.clone(),
    }
}

fn field_name(f: Field) -> &'static str {
    match f {
        Field::Title => "title",
        Field::Summary => "summary",
        Field::Content => "content",
        Field::Author => "author",
        Field::Category => "category",
    }
}

/// A digest of everything that decides verdicts (the global rules, and each
/// source's id, tags and rules), so a changed config can be detected even
/// across restarts.
pub fn fingerprint<'a>(
    global: &[Rule],
    sources: impl IntoIterator<Item = (&'a str, &'a [String], &'a [Rule])>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let rule = |h: &mut Sha256, r: &Rule| {
        h.update(
            format!(
                "{}|{:?}|{:?}|{:?}|{:?}|",
                r.name, r.action, r.keywords, r.fields, r.tags
            )
            .as_bytes(),
        );
        for re in &r.regexes {
            h.update(re.as_str().as_bytes());
            h.update([0]);
        }
    };
    for r in global {
        rule(&mut h, r);
    }
    for (id, tags, own) in sources {
        h.update(format!("source|{id}|{tags:?}|").as_bytes());
        for r in own {
            rule(&mut h, r);
        }
    }
    hex::encode(&h.finalize()[..16])
}

/// Judges an item by the global rules and its source's rules, then adds tags.
pub fn judge(item: &Item, source_tags: &[String], global: &[Rule], own: &[Rule]) -> Verdict {
    let rules: Vec<&Rule> = global.iter().chain(own.iter()).collect();
    let mut tags: Vec<String> = source_tags.to_vec();
    let mut hidden = None;
    for rule in rules.iter().filter(|r| r.action == Action::Drop) {
        if let Some((what, field)) = rule.matches(item) {
            hidden = Some(format!(
                "dropped by rule \"{}\": {} matched in {}",
                rule.name,
                what,
                field_name(field)
            ));
            break;
        }
    }
    let keep: Vec<&&Rule> = rules.iter().filter(|r| r.action == Action::Keep).collect();
    if hidden.is_none() && !keep.is_empty() {
        match keep.iter().find_map(|r| r.matches(item).map(|m| (r, m))) {
            Some((rule, _)) => tags.extend(rule.tags.iter().cloned()),
            None => {
                let names: Vec<&str> = keep.iter().map(|r| r.name.as_str()).collect();
                hidden = Some(format!(
                    "not kept: matches none of the keep rules \"{}\"",
                    names.join("\", \"")
                ));
            }
        }
    }
    for rule in rules.iter().filter(|r| r.action == Action::Tag) {
        if rule.matches(item).is_some() {
            tags.extend(rule.tags.iter().cloned());
        }
    }
    tags.sort();
    tags.dedup();
    Verdict { hidden, tags }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, text: &str) -> Item {
        Item {
            guid: None,
            link: None,
            link_key: None,
            title: title.into(),
            summary_html: None,
            content_html: None,
            text: text.into(),
            published: None,
            updated: None,
            authors: vec![],
            categories: vec!["Wirtschaft".into()],
            hidden: None,
            tags: vec![],
            media: vec![],
        }
    }

    fn rule(action: Action, keywords: &[&str], tags: &[&str]) -> Rule {
        Rule {
            name: format!("{action:?}"),
            action,
            keywords: keywords.iter().map(|k| k.to_lowercase()).collect(),
            regexes: vec![],
            fields: ALL_FIELDS.to_vec(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn keep_rules_narrow_a_general_source_and_say_why() {
        let keep = [rule(
            Action::Keep,
            &["Strukturwandel", "Kohleausstieg", "Lausitz"],
            &["strukturwandel"],
        )];
        let on_topic = judge(
            &item("Neues aus der Lausitzer Wirtschaft", ""),
            &["magazin".into()],
            &[],
            &keep,
        );
        assert_eq!(
            on_topic,
            Verdict {
                hidden: None,
                tags: vec!["magazin".into(), "strukturwandel".into()]
            }
        );
        let off_topic = judge(
            &item("Stadtfest in Potsdam", "Bühne und Musik"),
            &[],
            &[],
            &keep,
        );
        assert!(
            off_topic
                .hidden
                .unwrap()
                .contains("matches none of the keep rules")
        );
    }

    #[test]
    fn drop_beats_keep_and_regexes_work_on_chosen_fields() {
        let mut drop = rule(Action::Drop, &[], &[]);
        drop.name = "Stellen".into();
        drop.regexes = vec![compile_regex(r"\bstellen(anzeige|angebot)").unwrap()];
        drop.fields = vec![Field::Title];
        let keep = rule(Action::Keep, &["lausitz"], &[]);
        let v = judge(
            &item("Stellenanzeige: Lausitz sucht Planer", ""),
            &[],
            &[drop.clone()],
            std::slice::from_ref(&keep),
        );
        assert_eq!(
            v.hidden.as_deref(),
            Some("dropped by rule \"Stellen\": /\\bstellen(anzeige|angebot)/ matched in title")
        );
        // Only the title is searched by that rule.
        assert_eq!(
            judge(
                &item("Lausitz aktuell", "Stellenanzeige"),
                &[],
                &[drop],
                &[keep]
            )
            .hidden,
            None
        );
    }

    #[test]
    fn a_written_rule_reports_every_problem_with_its_position() {
        let spec = |action, regexes, fields, tags| RuleSpec {
            name: "r".into(),
            action,
            keywords: &[],
            regexes,
            fields,
            tags,
        };
        assert_eq!(
            Rule::new(spec("hide", vec![], vec![], vec![])).unwrap_err(),
            vec![RuleError::UnknownAction("hide".into())]
        );
        let errors =
            Rule::new(spec("tag", vec!["ok", "(x"], vec!["titel"], vec!["A b"])).unwrap_err();
        assert!(
            matches!(
                errors.as_slice(),
                [
                    RuleError::BadRegex { index: 1, .. },
                    RuleError::UnknownField { index: 0, .. },
                    RuleError::BadTag { index: 0, .. }
                ]
            ),
            "{errors:?}"
        );
        let rule = Rule::new(spec("keep", vec!["lausitz"], vec![], vec![])).unwrap();
        assert_eq!(rule.fields, ALL_FIELDS);
    }

    #[test]
    fn tag_rules_add_tags_by_category_too() {
        let mut t = rule(Action::Tag, &["wirtschaft"], &["wirtschaft"]);
        t.fields = vec![Field::Category];
        assert_eq!(
            judge(&item("x", ""), &[], &[t], &[]).tags,
            vec!["wirtschaft"]
        );
    }
}
