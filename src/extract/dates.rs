//! Dates as German partners write them, in feeds and on pages.
//!
//! Hand-written because no crate reads German RFC 822 variants ("Mo, 02 Mär
//! 2026 10:00:00 MEZ") or German page dates ("Freitag, 13. Februar 2026",
//! "13.2.26, 10:00 Uhr"). Times without a zone are Europe/Berlin; a date
//! without a time is taken as 12:00 Berlin time, so that its calendar day is
//! the same in UTC and in every European zone. Impossible dates (year 206,
//! 31 February) are rejected, never guessed.

use std::sync::LazyLock;

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Utc,
};
use chrono_tz::Europe::Berlin;
use regex::Regex;

/// Years outside this range are typos ("206") or placeholders, not news dates.
const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

static DATE_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,2}\.\s?\d{1,2}\.\s?\d{1,5}\b").expect("valid regex"));

/// Text that is meant as a date but is impossible ("13.02.206", "31.02.2026"):
/// worth a warning, never a guess.
pub fn broken_date(text: &str) -> Option<String> {
    if find_date(text).is_some() {
        return None;
    }
    DATE_LIKE.find(text).map(|m| m.as_str().to_string())
}

/// The feed-rs timestamp hook: the whole string is one date.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    timestamp(text, None)
}

/// Like [`parse_timestamp`], also reading a slash date ("05/29/2007
/// 09:49:00", as US CMSs write `<meta name="publishdate">`) in the page's order.
pub fn parse_timestamp_in(text: &str, order: DayOrder) -> Option<DateTime<Utc>> {
    timestamp(text, Some(order))
}

fn timestamp(text: &str, order: Option<DayOrder>) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return plausible(t.with_timezone(&Utc));
    }
    if let Some(t) = parse_iso(s) {
        return Some(t);
    }
    // chrono reads RFC 822 military zones as -0000 (RFC 2822's advice);
    // feeds, and feedparser, mean RFC 822's offsets.
    let military = s
        .rsplit(' ')
        .next()
        .is_some_and(|z| z.len() == 1 && !z.eq_ignore_ascii_case("z"));
    if let Ok(t) = DateTime::parse_from_rfc2822(s)
        .map_err(|_| ())
        .and_then(|t| if military { Err(()) } else { Ok(t) })
    {
        return plausible(t.with_timezone(&Utc));
    }
    if let Some(t) = parse_rfc822_like(s) {
        return Some(t);
    }
    if let Some(t) = parse_asctime(s).or_else(|| parse_compact_iso(s)) {
        return Some(t);
    }
    // A time with a zone we could not read: the date is unknown, not Berlin time.
    if ZONE_AFTER_TIME
        .captures(s)
        .is_some_and(|c| !c[1].eq_ignore_ascii_case("uhr"))
    {
        return None;
    }
    find_any(s, order).map(|(t, _)| t)
}

/// Pattern of a zone after a clock time: a name ("PDT", "GMT-01:01",
/// "Europe/Berlin") or an offset.
const ZONE: &str = r"[a-z][a-z/_]*(?:[+-]\d{1,2}(?::?\d{2})?)?|[+-]\d{1,2}(?::?\d{2})?";

static ZONE_AFTER_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:[.,]\d+)?\s*({ZONE})(?:\s+\d{{4}})?\s*$"
    ))
    .expect("valid regex")
});

/// asctime: "Sun Jan  4 16:29:06 2004", "Sun Jan 4 16:29:06 PST 2004".
static ASCTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:[a-z]{{2,10}},?\s+)?({MONTH_PATTERN})\.?\s+(\d{{1,2}}),?\s+(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?(?:\s+({ZONE}))?\s+(\d{{4}})$"
    ))
    .expect("valid regex")
});

fn parse_asctime(s: &str) -> Option<DateTime<Utc>> {
    let c = ASCTIME.captures(s)?;
    let month = month_number(&c[1])?;
    let day = c[2].parse().ok()?;
    let time = time_from(&c, 3)?;
    let zone = match c.get(6) {
        Some(z) => Some(zone_offset(z.as_str())?),
        None => None,
    };
    assemble(full_year(&c[7])?, month, day, time, zone)
}

/// ISO 8601 basic format: "20260302T101500Z", "20260302T1015+0100".
static COMPACT_ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?(z|[+-]\d{2}:?\d{2})?$",
    )
    .expect("valid regex")
});

fn parse_compact_iso(s: &str) -> Option<DateTime<Utc>> {
    let c = COMPACT_ISO.captures(s)?;
    let zone = match c.get(7) {
        Some(z) => Some(zone_offset(z.as_str())?),
        None => None,
    };
    assemble(
        c[1].parse().ok()?,
        c[2].parse().ok()?,
        c[3].parse().ok()?,
        time_from(&c, 4)?,
        zone,
    )
}

/// The first plausible date inside free text, e.g. "Dienstag, 17.03.2026 | Meldung".
pub fn find_date(text: &str) -> Option<DateTime<Utc>> {
    find_date_with_position(text).map(|(t, _)| t)
}

/// Which number comes first in a slash date ("05/08/2019"): the day in
/// German and most other usage, the month in US English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DayOrder {
    #[default]
    DayFirst,
    MonthFirst,
}

impl DayOrder {
    /// The order a page's language implies (`<html lang>`, else the host's
    /// top-level domain): month first only for US English.
    pub fn for_page(lang: Option<&str>, host: Option<&str>) -> DayOrder {
        let lang = lang.map(|l| l.trim().to_ascii_lowercase().replace('_', "-"));
        let tld = host.and_then(|h| h.rsplit('.').next()).unwrap_or_default();
        // A country's domain other than the US's: uk, ie, au, de, at, …
        let non_us_tld = tld.len() == 2 && tld != "us";
        match lang.as_deref() {
            Some("en-us") => DayOrder::MonthFirst,
            Some("en") if !non_us_tld => DayOrder::MonthFirst,
            None if matches!(tld, "com" | "us" | "gov" | "edu") => DayOrder::MonthFirst,
            _ => DayOrder::DayFirst,
        }
    }
}

/// Like [`find_date`], also returning where the date starts (earlier matches win).
/// Slash dates are not read here: without a page's language their order
/// is a guess ("05/08/2019").
pub fn find_date_with_position(text: &str) -> Option<(DateTime<Utc>, usize)> {
    find_any(text, None)
}

/// Like [`find_date`], reading slash dates in the given order.
pub fn find_date_in(text: &str, order: DayOrder) -> Option<DateTime<Utc>> {
    find_date_with_position_in(text, order).map(|(t, _)| t)
}

/// Like [`find_date_with_position`], reading slash dates in the given order;
/// a slash date one of whose numbers exceeds 12 is read whatever the order.
pub fn find_date_with_position_in(text: &str, order: DayOrder) -> Option<(DateTime<Utc>, usize)> {
    find_any(text, Some(order))
}

fn find_any(text: &str, order: Option<DayOrder>) -> Option<(DateTime<Utc>, usize)> {
    let mut best: Option<(DateTime<Utc>, usize)> = None;
    let mut consider = |found: Option<(DateTime<Utc>, usize)>| {
        if let Some((t, pos)) = found {
            if best.is_none_or(|(_, b)| pos < b) {
                best = Some((t, pos));
            }
        }
    };
    consider(first_match(&NUMERIC, text, numeric_date));
    consider(first_match(&TEXTUAL, text, textual_date));
    consider(first_match(&ISO_IN_TEXT, text, |c| {
        parse_iso(c.get(0)?.as_str())
    }));
    consider(first_match(&ENGLISH, text, english_date));
    if text.contains(['年', '년']) {
        consider(first_match(&CJK, text, cjk_date));
    }
    if let Some(order) = order.filter(|_| text.contains('/')) {
        consider(first_match(&SLASHED, text, |c| slashed_date(c, order)));
    }
    best
}

/// "05/08/2019", "8/17/13": day and month in the page's order.
static SLASHED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})/(\d{{1,2}})/(\d{{4}}|\d{{2}})\b(/)?{TIME_PATTERN}"
    ))
    .expect("valid regex")
});

fn slashed_date(c: &regex::Captures, order: DayOrder) -> Option<DateTime<Utc>> {
    if c.get(4).is_some() {
        return None; // "12/05/2019/…" is a path, not a date
    }
    let a: u32 = c[1].parse().ok()?;
    let b: u32 = c[2].parse().ok()?;
    let (day, month) = match order {
        _ if a > 12 && b <= 12 => (a, b),
        _ if b > 12 && a <= 12 => (b, a),
        DayOrder::DayFirst => (a, b),
        DayOrder::MonthFirst => (b, a),
    };
    let year = full_year(&c[3])?;
    assemble(year, month, day, time_from(c, 5)?, None)
}

fn first_match(
    re: &Regex,
    text: &str,
    convert: impl Fn(&regex::Captures) -> Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, usize)> {
    re.captures_iter(text)
        .find_map(|c| convert(&c).map(|t| (t, c.get(0).map(|m| m.start()).unwrap_or(0))))
}

/// Month names in German and English (also abbreviated), and written out
/// in French, Spanish, Italian, Portuguese, Dutch, Turkish, and (as a date
/// writes them, in the genitive) Russian, Ukrainian and Polish.
static MONTH_PATTERN: &str = r"(?:jan(?:uar|uary)?|jän(?:ner)?|feb(?:ruar|ruary)?|mär(?:z)?|mrz|mar(?:ch)?|apr(?:il)?|mai|may|jun[ie]?|jul[iy]?|aug(?:ust)?|sep(?:t|tember)?|okt(?:ober)?|oct(?:ober)?|nov(?:ember)?|dez(?:ember)?|dec(?:ember)?|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|sept?iembre|octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня|januari|februari|maart|mei|juni|juli|augustus|stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia|ocak|şubat|mart|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım|aralık)";

static TIME_PATTERN: &str =
    r"(?:(?:\s*[,|\-–]\s*|\s+)(?:um\s*)?(\d{1,2})[:.](\d{2})(?::(\d{2}))?\s*(?:uhr|h\b)?)?";

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})\.\s?(\d{{1,2}})\.\s?(\d{{4}}|\d{{2}})\b{TIME_PATTERN}"
    ))
    .expect("valid regex")
});

static TEXTUAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})\.?\s*(?:de\s+)?({MONTH_LIKE}{{3,12}})\.?,?\s+(?:de\s+)?(\d{{4}})\b{TIME_PATTERN}"
    ))
    .expect("valid regex")
});

/// Chinese and Japanese "2016年10月14日 07:17", Korean "2013년 10월 24일".
/// An ASCII word boundary: the characters before the year are letters to Unicode.
static CJK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일](?:\s*(?:\([^)]{1,3}\)|（[^）]{1,3}）))?(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?",
    )
    .expect("valid regex")
});

fn cjk_date(c: &regex::Captures) -> Option<DateTime<Utc>> {
    assemble(
        c[1].parse().ok()?,
        c[2].parse().ok()?,
        c[3].parse().ok()?,
        time_from(c, 4)?,
        None,
    )
}

/// "March 3, 2021", also with the weekday before the year ("Dec 28 Sat 2013").
static ENGLISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b({MONTH_LIKE}{{3,9}})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?:(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?,?\s+)?(\d{{4}})\b"
    ))
    .expect("valid regex")
});

static ISO_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    )
    .expect("valid regex")
});

static RFC822_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:[a-zäöü]{{2,10}}\.?,?\s*)?(\d{{1,2}})\.?\s*({MONTH_PATTERN})\.?\s+(\d{{2,4}})(?:\s+(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?)?\s*(?:uhr\s*)?({ZONE})?$"
    ))
    .expect("valid regex")
});

/// A character of a word where a month name may stand: an ASCII letter or
/// any non-ASCII character (a small automaton; `\p{L}` costs milliseconds to
/// compile). [`month_word`] decides.
const MONTH_LIKE: &str = r"[^\x00-@\[-`{-\x7F]";

/// A whole word that is a month name (`MONTH_PATTERN`), as its number.
static MONTH_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("(?i)^{MONTH_PATTERN}$")).expect("valid regex"));

/// The free-text patterns match any word where the month stands and ask
/// here: one alternation of a hundred month names in every pattern made
/// each line's search a fifth slower.
fn month_word(word: &str) -> Option<u32> {
    MONTH_WORD.is_match(word).then(|| month_number(word))?
}

fn month_number(name: &str) -> Option<u32> {
    let n = name.to_lowercase();
    let n = n.trim_end_matches('.');
    let prefix: String = n.chars().take(3).collect();
    let m = match prefix.as_str() {
        "jan" | "jän" | "ene" | "gen" => 1,
        "feb" | "fév" | "fev" => 2,
        "mär" | "mrz" | "mar" => 3,
        "apr" | "avr" | "abr" => 4,
        "mai" | "may" | "mag" => 5,
        "jun" | "giu" => 6,
        "jul" | "lug" => 7,
        "jui" if n.starts_with("juin") => 6,
        "jui" => 7,
        "aug" | "aoû" | "aou" | "ago" => 8,
        "sep" | "set" => 9,
        "okt" | "oct" | "ott" | "out" => 10,
        "nov" => 11,
        "dez" | "dec" | "déc" | "dic" => 12,
        "янв" | "січ" => 1,
        "фев" | "лют" => 2,
        "мар" | "бер" => 3,
        "апр" | "кві" => 4,
        "мая" | "тра" => 5,
        "июн" | "чер" => 6,
        "июл" | "лип" => 7,
        "авг" | "сер" => 8,
        "сен" | "вер" => 9,
        "окт" | "жов" => 10,
        "ноя" | "лис" => 11,
        "дек" | "гру" => 12,
        "sty" | "oca" => 1,
        "lut" | "şub" => 2,
        "maa" => 3,
        "kwi" | "nis" => 4,
        "mei" | "maj" => 5,
        "cze" | "haz" => 6,
        "lip" | "tem" => 7,
        "sie" | "ağu" => 8,
        "wrz" | "eyl" => 9,
        "paź" | "eki" => 10,
        "lis" | "kas" => 11,
        "gru" | "ara" => 12,
        _ => return None,
    };
    Some(m)
}

/// A zone as feeds write it: "+0100", "+01:00", "GMT-01:01", "UTC+2", a
/// North American or European abbreviation, or an RFC 822 military letter.
/// `None` for anything else: an unknown zone is never guessed.
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let z = zone.trim().to_ascii_uppercase();
    let z = ["GMT", "UTC", "UT"]
        .iter()
        .find_map(|p| z.strip_prefix(p).filter(|r| r.starts_with(['+', '-'])))
        .unwrap_or(&z);
    if let Some(rest) = z.strip_prefix(['+', '-']) {
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (h, m) = match rest.split_once(':') {
            Some((h, m)) if (1..=2).contains(&h.len()) && m.len() == 2 => (h, m),
            None if rest.len() == 4 => rest.split_at(2),
            None if (1..=2).contains(&rest.len()) => (rest, "00"),
            _ => return None,
        };
        let h: i32 = h.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        if h > 14 || m > 59 {
            return None;
        }
        return FixedOffset::east_opt(sign * (h * 3600 + m * 60));
    }
    let hours = match z {
        "Z" | "UT" | "UTC" | "GMT" | "WEZ" | "WET" => 0,
        "MEZ" | "CET" | "MET" | "BST" | "WESZ" | "WEST" => 1,
        "MESZ" | "CEST" | "MEST" | "OEZ" | "EET" => 2,
        "OESZ" | "EEST" => 3,
        "ADT" => -3,
        "AST" | "AT" => -4,
        "EST" | "ET" => -5,
        "EDT" => -4,
        "CST" | "CT" => -6,
        "CDT" => -5,
        "MST" | "MT" => -7,
        "MDT" => -6,
        "PST" | "PT" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        // RFC 822 military zones: A–I and K–M west (-1…-12), N–Y east (+1…+12).
        m if m.len() == 1 => {
            let c = m.as_bytes()[0];
            match c {
                b'A'..=b'I' => -i32::from(c - b'A' + 1),
                b'K'..=b'M' => -i32::from(c - b'K' + 10),
                b'N'..=b'Y' => i32::from(c - b'N' + 1),
                _ => return None,
            }
        }
        _ => return None,
    };
    FixedOffset::east_opt(hours * 3600)
}

fn full_year(text: &str) -> Option<i32> {
    let y: i32 = text.parse().ok()?;
    let y = match text.len() {
        2 => 2000 + y,
        4 => y,
        _ => return None,
    };
    YEARS.contains(&y).then_some(y)
}

/// A local wall-clock time in Berlin, resolving DST gaps and overlaps.
pub fn berlin_local(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let t = match Berlin.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(earliest, _) => earliest,
        // In the spring-forward gap; the hour that does not exist reads as the next one.
        LocalResult::None => Berlin
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()?,
    };
    Some(t.with_timezone(&Utc))
}

/// A calendar day with no time: 12:00 in Berlin, which is the same day everywhere in Europe and in UTC.
pub fn berlin_day(date: NaiveDate) -> Option<DateTime<Utc>> {
    berlin_local(date.and_time(NaiveTime::from_hms_opt(12, 0, 0)?))
}

fn plausible(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    YEARS.contains(&t.year()).then_some(t)
}

fn assemble(
    year: i32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32)>,
    zone: Option<FixedOffset>,
) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if !YEARS.contains(&year) {
        return None;
    }
    let Some((h, m, s)) = time else {
        return berlin_day(date);
    };
    let naive = date.and_time(NaiveTime::from_hms_opt(h, m, s.min(59))?);
    match zone {
        Some(off) => off
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc)),
        None => berlin_local(naive),
    }
}

fn time_from(c: &regex::Captures, first: usize) -> Option<Option<(u32, u32, u32)>> {
    let Some(h) = c.get(first) else {
        return Some(None);
    };
    let h: u32 = h.as_str().parse().ok()?;
    let m: u32 = c.get(first + 1)?.as_str().parse().ok()?;
    let s: u32 = c
        .get(first + 2)
        .map_or(Some(0), |s| s.as_str().parse().ok())?;
    if h > 23 || m > 59 {
        // "13.02.2026 25.00" is not a time; keep the date alone.
        return Some(None);
    }
    Some(Some((h, m, s)))
}

fn numeric_date(c: &regex::Captures) -> Option<DateTime<Utc>> {
    let day = c[1].parse().ok()?;
    let month = c[2].parse().ok()?;
    let year = full_year(&c[3])?;
    assemble(year, month, day, time_from(c, 4)?, None)
}

fn textual_date(c: &regex::Captures) -> Option<DateTime<Utc>> {
    let day = c[1].parse().ok()?;
    let month = month_word(&c[2])?;
    let year = full_year(&c[3])?;
    assemble(year, month, day, time_from(c, 4)?, None)
}

fn english_date(c: &regex::Captures) -> Option<DateTime<Utc>> {
    let month = month_word(&c[1])?;
    let day = c[2].parse().ok()?;
    let year = full_year(&c[3])?;
    assemble(year, month, day, None, None)
}

/// ISO 8601 forms chrono's RFC 3339 parser refuses: no zone, a space, no seconds, a bare date.
fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return YEARS.contains(&d.year()).then(|| berlin_day(d)).flatten();
    }
    let (body, zone) = split_zone(s);
    let body = body.replacen(' ', "T", 1);
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&body, f).ok())?;
    if !YEARS.contains(&naive.year()) {
        return None;
    }
    match zone {
        Some(z) => zone_offset(z)?
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc)),
        None => berlin_local(naive),
    }
}

fn split_zone(s: &str) -> (&str, Option<&str>) {
    if let Some(body) = s.strip_suffix(['Z', 'z']) {
        return (body, Some("Z"));
    }
    // A trailing +hh:mm / -hhmm after the time part (the date's own '-' are before the 'T').
    if let Some(t_pos) = s.find(['T', ' ']) {
        if let Some(rel) = s[t_pos..].rfind(['+', '-']) {
            let pos = t_pos + rel;
            return (s[..pos].trim_end(), Some(&s[pos..]));
        }
        // A zone name glued to or after the time: "2021-01-03T17:40:00EET".
        let name = s.len() - s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
        if (2..=5).contains(&name) && t_pos + 1 < s.len() - name {
            let pos = s.len() - name;
            return (s[..pos].trim_end(), Some(&s[pos..]));
        }
    }
    (s, None)
}

/// RFC 822 shapes with German names or zone abbreviations: "Mo, 02 Mär 2026 10:00:00 MEZ".
fn parse_rfc822_like(s: &str) -> Option<DateTime<Utc>> {
    let c = RFC822_LIKE.captures(s)?;
    let day = c[1].parse().ok()?;
    let month = month_number(&c[2])?;
    let year = match c[3].len() {
        2 | 4 => full_year(&c[3])?,
        _ => return None,
    };
    let time = time_from(&c, 4)?;
    let zone = match c.get(7) {
        Some(z) => Some(zone_offset(z.as_str())?),
        None => None,
    };
    assemble(year, month, day, time, zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slash_dates_follow_the_page_order_unless_a_number_decides() {
        let day = |t: &str, o| find_date_in(t, o).map(|d| d.with_timezone(&Berlin).date_naive());
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        use DayOrder::*;
        assert_eq!(
            day("Veröffentlicht am 11/04/2012 von X", DayFirst),
            ymd(2012, 4, 11)
        );
        assert_eq!(day("Digital Life 05/08/2019", MonthFirst), ymd(2019, 5, 8));
        assert_eq!(day("Digital Life 05/08/2019", DayFirst), ymd(2019, 8, 5));
        // 17 can only be the day, 25 only the day: the order does not matter.
        assert_eq!(
            day("Andrew Tarantola 8/17/13 11:04am", DayFirst),
            ymd(2013, 8, 17)
        );
        assert_eq!(day("am 25/12/2020", MonthFirst), ymd(2020, 12, 25));
        // Paths and fractions are not dates; without an order no slash date is read.
        assert_eq!(day("/blog/12/05/2019/post", DayFirst), None);
        assert_eq!(day("13/14/2020", DayFirst), None);
        assert_eq!(find_date("11/04/2012"), None);
    }

    #[test]
    fn month_names_in_other_languages() {
        let day = |t: &str| find_date(t).map(|d| d.with_timezone(&Berlin).date_naive());
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(day("jueves, 09 enero 2014 - 10:21 h"), ymd(2014, 1, 9));
        assert_eq!(day("1 de diciembre de 2017 3:00 AM PST"), ymd(2017, 12, 1));
        assert_eq!(
            day("Par Alexandre — 24 novembre 2017 à 18:42"),
            ymd(2017, 11, 24)
        );
        assert_eq!(day("le 3 juin 2019"), ymd(2019, 6, 3));
        assert_eq!(day("le 14 juillet 2019"), ymd(2019, 7, 14));
        assert_eq!(day("30 avril 2015"), ymd(2015, 4, 30));
        assert_eq!(day("12 agosto 2020"), ymd(2020, 8, 12));
        assert_eq!(day("5 settembre 2021"), ymd(2021, 9, 5));
        assert_eq!(day("21 de dezembro de 2018"), ymd(2018, 12, 21));
        assert_eq!(day("7 outubro 2016"), ymd(2016, 10, 7));
        assert_eq!(day("00:02, 12 ноября 2020"), ymd(2020, 11, 12));
        assert_eq!(day("7 мая 2021 г."), ymd(2021, 5, 7));
        assert_eq!(day("21 вересня 2020"), ymd(2020, 9, 21));
        assert_eq!(day("maandag 12 maart 2018"), ymd(2018, 3, 12));
        assert_eq!(day("3 mei 2019 om 10:00"), ymd(2019, 5, 3));
        assert_eq!(day("12 października 2023"), ymd(2023, 10, 12));
        assert_eq!(day("4 lipca 2022"), ymd(2022, 7, 4));
        assert_eq!(day("12 Kasım 2020 14:05"), ymd(2020, 11, 12));
        assert_eq!(day("01 Şubat 2021"), ymd(2021, 2, 1));
        // German stays as it was.
        assert_eq!(day("Dienstag, 3. März 2026"), ymd(2026, 3, 3));
        assert_eq!(
            parse_timestamp("jueves, 09 enero 2014 10:21")
                .map(|d| d.with_timezone(&Berlin).date_naive()),
            ymd(2014, 1, 9)
        );
    }

    #[test]
    fn chinese_japanese_and_korean_dates() {
        let day = |t: &str| find_date(t).map(|d| d.with_timezone(&Berlin).date_naive());
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(day("TNW中文站2016年10月14日07:17"), ymd(2016, 10, 14));
        assert_eq!(day("2019年03月30日06:38 来源：人民网"), ymd(2019, 3, 30));
        assert_eq!(day("2017年3月9日(木) 18:45配信"), ymd(2017, 3, 9));
        assert_eq!(day("입력 2013년 10월 24일 03:00"), ymd(2013, 10, 24));
        assert_eq!(day("2019年13月30日"), None);
    }

    #[test]
    fn an_english_date_may_name_the_weekday_before_the_year() {
        let day = |t: &str| find_date(t).map(|d| d.with_timezone(&Berlin).date_naive());
        assert_eq!(
            day("Dec 28 Sat 2013 00:28"),
            NaiveDate::from_ymd_opt(2013, 12, 28)
        );
        assert_eq!(
            day("March 3, Wednesday, 2021"),
            NaiveDate::from_ymd_opt(2021, 3, 3)
        );
        assert_eq!(day("May 12 Saturn 2020"), None, "a weekday, not any word");
    }

    #[test]
    fn a_slash_timestamp_is_read_only_with_the_page_order() {
        let day =
            |t: &str, o| parse_timestamp_in(t, o).map(|d| d.with_timezone(&Berlin).date_naive());
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(
            day("05/29/2007 09:49:00", DayOrder::DayFirst),
            ymd(2007, 5, 29),
            "29 can only be the day"
        );
        assert_eq!(
            day("05/08/2014 07:01:00", DayOrder::MonthFirst),
            ymd(2014, 5, 8)
        );
        assert_eq!(
            day("05/08/2014 07:01:00", DayOrder::DayFirst),
            ymd(2014, 8, 5)
        );
        assert_eq!(
            parse_timestamp("05/08/2014 07:01:00"),
            None,
            "no order, no guess"
        );
        // Everything else reads as parse_timestamp reads it.
        assert_eq!(
            parse_timestamp_in("2015-07-10T09:53:00-04:00", DayOrder::MonthFirst),
            parse_timestamp("2015-07-10T09:53:00-04:00")
        );
        assert_eq!(
            parse_timestamp_in("3/9/2017 10:00 XYZT", DayOrder::MonthFirst),
            None
        );
    }

    #[test]
    fn day_order_from_language_and_domain() {
        assert_eq!(
            DayOrder::for_page(Some("en-US"), Some("example.com")),
            DayOrder::MonthFirst
        );
        assert_eq!(
            DayOrder::for_page(Some("en"), Some("www.theverge.com")),
            DayOrder::MonthFirst
        );
        assert_eq!(
            DayOrder::for_page(Some("en"), Some("www.bbc.co.uk")),
            DayOrder::DayFirst
        );
        assert_eq!(
            DayOrder::for_page(Some("en-GB"), Some("example.com")),
            DayOrder::DayFirst
        );
        assert_eq!(
            DayOrder::for_page(Some("de"), Some("futurezone.at")),
            DayOrder::DayFirst
        );
        assert_eq!(
            DayOrder::for_page(None, Some("stadt-forst.de")),
            DayOrder::DayFirst
        );
        assert_eq!(
            DayOrder::for_page(None, Some("cnet.com")),
            DayOrder::MonthFirst
        );
    }

    #[test]
    fn a_zone_name_glued_to_the_time() {
        assert_eq!(
            parse_timestamp("2021-01-03T17:40:00EET"),
            Some(utc("2021-01-03T17:40:00+02:00"))
        );
        assert_eq!(
            parse_timestamp("2021-01-03 17:40 CET"),
            Some(utc("2021-01-03T17:40:00+01:00"))
        );
    }

    #[test]
    fn rfc822_with_german_names_and_zones() {
        let cases = [
            (
                "Fr, 13 Feb 2026 09:00:00 +0100",
                "2026-02-13T09:00:00+01:00",
            ),
            (
                "Mo, 15 Dez 2025 13:20:00 +0100",
                "2025-12-15T13:20:00+01:00",
            ),
            ("Mo, 02 Mär 2026 10:00:00 MEZ", "2026-03-02T10:00:00+01:00"),
            ("Fr, 16 Okt 2026 11:15:00 MESZ", "2026-10-16T11:15:00+02:00"),
            (
                "Mon, 31 Aug 2026 07:45:00 +0200",
                "2026-08-31T07:45:00+02:00",
            ),
            ("Mon, 16 Nov 2026 09:12:44 +0000", "2026-11-16T09:12:44Z"),
            ("Thu, 15 Oct 2026 18:05:00 GMT", "2026-10-15T18:05:00Z"),
            ("Di, 3 März 2026 08:00 MEZ", "2026-03-03T08:00:00+01:00"),
            (
                "Mittwoch, 8 Juli 2026 15:00:00 +0200",
                "2026-07-08T15:00:00+02:00",
            ),
            ("08 Sept. 2026 10:00:00 CEST", "2026-09-08T10:00:00+02:00"),
            ("Sat, 05 Dec 2026 10:00:00", "2026-12-05T10:00:00+01:00"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_timestamp(input), Some(utc(want)), "{input}");
        }
    }

    #[test]
    fn asctime_compact_iso_and_odd_zones() {
        let cases = [
            ("Sun Jan  4 16:29:06 2004", "2004-01-04T16:29:06+01:00"),
            ("Sun Jan 4 16:29:06 PST 2004", "2004-01-04T16:29:06-08:00"),
            ("20260302T101500Z", "2026-03-02T10:15:00Z"),
            ("20260302T1015+0100", "2026-03-02T10:15:00+01:00"),
            (
                "Thu, 01 Jan 2004 19:48:21 GMT-01:01",
                "2004-01-01T19:48:21-01:01",
            ),
            (
                "Thu, 01 Jan 2004 19:48:21 UTC+2",
                "2004-01-01T19:48:21+02:00",
            ),
            ("Thu, 01 Jan 2004 19:48:21 ET", "2004-01-01T19:48:21-05:00"),
            ("Thu, 01 Jan 2004 19:48:21 EST", "2004-01-01T19:48:21-05:00"),
            ("Thu, 01 Jul 2004 19:48:21 PDT", "2004-07-01T19:48:21-07:00"),
            ("Thu, 01 Jan 2004 19:48:21 A", "2004-01-01T19:48:21-01:00"),
            ("Thu, 01 Jan 2004 19:48:21 Y", "2004-01-01T19:48:21+12:00"),
            ("Thu, 01 Jan 2004 19:48:21 z", "2004-01-01T19:48:21Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_timestamp(input), Some(utc(want)), "{input}");
        }
    }

    #[test]
    fn an_unreadable_zone_is_no_date_not_berlin() {
        for input in [
            "Thu, 01 Jan 2004 19:48:21 XYZ",
            "Thu, 01 Jan 2004 19:48:21 GMT+25:00",
            "Thu, 01 Jan 2004 19:48:21 J",
            "2004-01-01T19:48:21 Mars/Olympus",
        ] {
            assert_eq!(parse_timestamp(input), None, "{input}");
        }
        // A German "Uhr" is not a zone.
        assert_eq!(
            parse_timestamp("13.02.2026, 10:00 Uhr"),
            Some(utc("2026-02-13T10:00:00+01:00"))
        );
    }

    #[test]
    fn iso_forms_default_to_berlin() {
        assert_eq!(
            parse_timestamp("2026-03-17T11:00:00+01:00"),
            Some(utc("2026-03-17T11:00:00+01:00"))
        );
        assert_eq!(
            parse_timestamp("2026-06-12T05:00:00Z"),
            Some(utc("2026-06-12T05:00:00Z"))
        );
        assert_eq!(
            parse_timestamp("2026-07-01T08:00:00"),
            Some(utc("2026-07-01T08:00:00+02:00"))
        );
        assert_eq!(
            parse_timestamp("2026-01-05 08:00"),
            Some(utc("2026-01-05T08:00:00+01:00"))
        );
        assert_eq!(
            parse_timestamp("2026-07-01T08:00:00.123+0200"),
            Some(utc("2026-07-01T08:00:00.123+02:00"))
        );
        // A bare date is noon in Berlin: the same calendar day in UTC.
        assert_eq!(
            parse_timestamp("2026-10-14"),
            Some(utc("2026-10-14T12:00:00+02:00"))
        );
    }

    #[test]
    fn page_dates_in_every_german_form() {
        let cases = [
            ("13.02.2026", "2026-02-13T12:00:00+01:00"),
            ("13.2.26", "2026-02-13T12:00:00+01:00"),
            ("13. Februar 2026", "2026-02-13T12:00:00+01:00"),
            ("Freitag, 13. Februar 2026", "2026-02-13T12:00:00+01:00"),
            ("3. März 2026", "2026-03-03T12:00:00+01:00"),
            (
                "Dienstag, 17.03.2026 | Meldung",
                "2026-03-17T12:00:00+01:00",
            ),
            ("12. Mär 2026", "2026-03-12T12:00:00+01:00"),
            ("8. Sept. 2026", "2026-09-08T12:00:00+02:00"),
            ("13.02.2026, 10:00 Uhr", "2026-02-13T10:00:00+01:00"),
            ("13. Februar 2026 um 9.30 Uhr", "2026-02-13T09:30:00+01:00"),
            (
                "Veröffentlicht am 1. September 2026",
                "2026-09-01T12:00:00+02:00",
            ),
            ("February 13, 2026", "2026-02-13T12:00:00+01:00"),
            (
                "Donnerstag, 12. März 2026 - 14:30",
                "2026-03-12T14:30:00+01:00",
            ),
            ("24.02.2026 | 08:15 Uhr", "2026-02-24T08:15:00+01:00"),
        ];
        for (input, want) in cases {
            assert_eq!(find_date(input), Some(utc(want)), "{input}");
        }
    }

    #[test]
    fn impossible_dates_are_rejected_not_guessed() {
        for input in [
            "13.02.206",
            "Datum 13.02.206",
            "31.02.2026",
            "00.01.2026",
            "13.13.2026",
            "1. Foo 2026",
            "0206-02-13",
            "Mo, 32 Mär 2026 10:00:00 MEZ",
            "",
            "morgen",
        ] {
            assert_eq!(find_date(input), None, "{input}");
            assert_eq!(parse_timestamp(input), None, "{input}");
        }
    }

    #[test]
    fn broken_dates_are_recognised_for_warnings() {
        assert_eq!(broken_date("13.02.206").as_deref(), Some("13.02.206"));
        assert_eq!(broken_date("31.02.2026").as_deref(), Some("31.02.2026"));
        assert_eq!(broken_date("13.02.2026"), None);
        assert_eq!(broken_date("Esther Wegener"), None);
    }

    #[test]
    fn earliest_date_in_text_wins() {
        let text = "1. September 2026 – Das Kolloquium am 24. September";
        assert_eq!(find_date(text), Some(utc("2026-09-01T12:00:00+02:00")));
    }

    #[test]
    fn dst_gap_does_not_lose_the_date() {
        // 02:30 on 29 March 2026 does not exist in Berlin.
        assert_eq!(
            parse_timestamp("2026-03-29T02:30:00"),
            Some(utc("2026-03-29T03:30:00+02:00"))
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Partner text is arbitrary: parsing must never panic, and what it
        // returns is always a plausible year.
        #[test]
        fn never_panics_and_never_invents_years(s in "\\PC{0,80}") {
            for t in [parse_timestamp(&s), find_date(&s)].into_iter().flatten() {
                prop_assert!(YEARS.contains(&t.year()));
            }
        }

        #[test]
        fn german_numeric_dates_round_trip(y in 1990i32..2100, m in 1u32..=12, d in 1u32..=28, weekday in prop::sample::select(vec!["", "Montag, ", "Di, "])) {
            let text = format!("{weekday}{d}.{m:02}.{y}");
            let t = find_date(&text).unwrap();
            prop_assert_eq!(t.with_timezone(&Berlin).date_naive(), NaiveDate::from_ymd_opt(y, m, d).unwrap());
        }

        #[test]
        fn digits_and_dots_never_panic(s in "[0-9. :,MEZSäÄ-]{0,40}") {
            let _ = parse_timestamp(&s);
            let _ = find_date(&s);
        }
    }
}
