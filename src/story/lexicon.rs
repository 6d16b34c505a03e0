//! The German word lists of the analysis: stop words, spelled-out numbers,
//! abbreviations, month names and the units whose counts are not compared,
//! folded into one lookup table.

use std::sync::LazyLock;

use super::fold::folded;
use super::{Map, Set};

/// German stop words (the Snowball list) and news filler, in folded form.
static STOP_WORDS: LazyLock<Set<String>> = LazyLock::new(|| {
    const WORDS: &str = "aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern anders auch auf aus bei beim bin bis bist da dabei damit dann der den des dem die das dass daß du dies diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer eines einig einige einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem euren eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich mich mir ihr ihre ihrem ihren ihrer ihres euch im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können könnte machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie ihnen sind so solche solchem solchen solcher solches soll sollte sondern sonst über um und uns unsere unserem unseren unser unseres unter viel vom von vor während war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen \
        wurde wurden worden sei seien seit gibt geht ab sowie bereits rund etwa mehr neu neue neuen neuer neues neuem heute gestern morgen uhr wegen denn ganz gut erst ersten erste erster beiden \
        sollen sollten können konnte konnten müssen mussten dürfen darf möchte hatte schon immer insgesamt dafür dazu davon darüber darauf daran dadurch hierzu deren dessen denen wer wem wen viele vielen weitere weiteren weiterer weiteres ans aufs durchs übers unters laut sagt sagte erklärt erklärte heißt hieß sowohl bzw ca dr je weiterlesen";
    WORDS.split_whitespace().map(folded).collect()
});

/// Spelled-out numbers, which German style guides prefer up to twelve.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zwei", "2"),
    ("drei", "3"),
    ("vier", "4"),
    ("funf", "5"),
    ("sechs", "6"),
    ("sieben", "7"),
    ("acht", "8"),
    ("neun", "9"),
    ("zehn", "10"),
    ("elf", "11"),
    ("zwolf", "12"),
    ("zwanzig", "20"),
    ("dreissig", "30"),
    ("vierzig", "40"),
    ("funfzig", "50"),
    ("hundert", "100"),
    ("tausend", "1000"),
];

/// Abbreviations and symbols written out, so "Mio." and "Millionen" agree.
const SYNONYMS: &[(&str, &str)] = &[
    ("mio", "millionen"),
    ("mrd", "milliarden"),
    ("tsd", "tausend"),
    ("mw", "megawatt"),
    ("mwh", "megawattstunden"),
    ("kw", "kilowatt"),
    ("kwh", "kilowattstunden"),
    ("gw", "gigawatt"),
    ("gwh", "gigawattstunden"),
    ("eur", "euro"),
    ("proz", "prozent"),
    ("km", "kilometer"),
    ("ha", "hektar"),
];

/// Month names and their abbreviations, folded.
const MONTHS: &[(&str, u8)] = &[
    ("januar", 1),
    ("jan", 1),
    ("janner", 1),
    ("februar", 2),
    ("feb", 2),
    ("marz", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("mai", 5),
    ("juni", 6),
    ("jun", 6),
    ("juli", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("oktober", 10),
    ("okt", 10),
    ("november", 11),
    ("nov", 11),
    ("dezember", 12),
    ("dez", 12),
];

/// What a folded word is to the analysis, in one lookup per word.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lex {
    Stop,
    Synonym(&'static str),
    Number(&'static str),
    Month(u8),
}

pub(super) static LEXICON: LazyLock<Map<String, Lex>> = LazyLock::new(|| {
    let mut m: Map<String, Lex> = Map::default();
    // Later entries win: a synonym before a number word before a month before a stop word.
    for w in STOP_WORDS.iter() {
        m.insert(w.clone(), Lex::Stop);
    }
    for &(w, n) in MONTHS {
        m.insert(w.to_string(), Lex::Month(n));
    }
    for &(w, n) in NUMBER_WORDS {
        m.insert(w.to_string(), Lex::Number(n));
    }
    for &(w, to) in SYNONYMS {
        m.insert(w.to_string(), Lex::Synonym(to));
    }
    m
});

/// Stems of units whose numbers are not compared: reports of one news count
/// durations and times differently ("drei Jahre", "seit 2019", "ab 20 Uhr").
pub(super) const UNCOMPARED_UNITS: &[&str] = &[
    "jahr", "monat", "woch", "tag", "stund", "minut", "uhr", "mal", "seit", "folg",
];

/// The term a month stands for, by month number − 1, whichever way it was written.
pub(super) const MONTH_TERMS: [&str; 12] = [
    "januar",
    "februar",
    "marz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
];

/// Prepositions after which a capitalised word without article is a place
/// name ("in Neuwerda", "aus Tschechien", "zwischen Altdorf"). Folded.
pub(super) const NAME_SLOT_PREPOSITIONS: &[&str] = &["in", "aus", "nach", "bei", "zwischen", "gen"];

/// Role nouns after which a capitalised word is a name ("Gemeinde
/// Kleinmühlen", "Bahnhof Neustadt", "Ortsteil Sandow"), and the usual
/// abbreviations of sports clubs, which are named after their town ("SV
/// Burg", "FC Energie"). Folded.
pub(super) const NAME_ROLE_NOUNS: &[&str] = &[
    "stadt",
    "gemeinde",
    "landkreis",
    "kreis",
    "ortsteil",
    "ortschaft",
    "stadtteil",
    "dorf",
    "bahnhof",
    "haltepunkt",
    "amt",
    "kommune",
    "sv",
    "fc",
    "sg",
    "sc",
    "tsv",
    "ssv",
    "fsv",
    "bsv",
    "esv",
    "lsv",
    "tsg",
    "vfb",
    "vfl",
    "spvgg",
];

/// Common nouns that stand without article after those words in set
/// phrases ("in Betrieb", "nach Angaben", "bei Bedarf"), folded: never names.
pub(super) const NOT_NAMES: &[&str] = &[
    "betrieb",
    "kraft",
    "zukunft",
    "planung",
    "arbeit",
    "hohe",
    "form",
    "folge",
    "sachen",
    "bezug",
    "anspruch",
    "ordnung",
    "gefahr",
    "summe",
    "kurze",
    "teilzeit",
    "vollzeit",
    "sicht",
    "mitteln",
    "grunden",
    "angst",
    "holz",
    "stahl",
    "angaben",
    "ansicht",
    "abschluss",
    "ende",
    "auskunft",
    "plan",
    "hause",
    "jahren",
    "bedarf",
    "regen",
    "fragen",
    "interesse",
    "anwesenheit",
    "begleitung",
    "zusammenarbeit",
    "kooperation",
    "partnerschaft",
    "richtung",
    "abstimmung",
    "absprache",
    "vorbereitung",
    "erinnerung",
    "gedenken",
    "anwesenheit",
    "frage",
    "zeiten",
    "zahlen",
    "euro",
    "prozent",
    "teilen",
    "verbindung",
    "anlehnung",
    "person",
    "persona",
    "prasenz",
    "vertretung",
    "summa",
    "ruhe",
    "sachsen",
    "brandenburg",
    "deutschland",
    "berlin",
    "europa",
    "polen",
    "tschechien",
    "lausitz",
    "spreewald",
    "niederlausitz",
    "oberlausitz",
    "ostdeutschland",
    "bund",
    "land",
    "dresden",
    "potsdam",
    "leipzig",
    "mitte",
    "ost",
    "west",
    "nord",
    "sud",
    "innenstadt",
    "zentrum",
    "schulen",
    "kitas",
    "betrieben",
    "unternehmen",
    "firmen",
    "kommunen",
    "gemeinden",
    "stadten",
    "dorfern",
    "orten",
    "regionen",
    "projekten",
    "kooperation",
    "gesprach",
    "kontakt",
    "zahlreichen",
    "einzelfallen",
    "mehreren",
    "verantwortung",
    "teil",
    "rahmen",
    "umfang",
    "prasenz",
    "kraftwerk",
    "tagebau",
];

/// Endings of abstract and collective nouns, folded: never names.
pub(super) const NOT_NAME_SUFFIXES: &[&str] = &[
    "ung", "ungen", "heit", "keit", "schaft", "tion", "tionen", "itat", "nis", "nisse", "ismus",
    "tum", "ment", "ente", "anz", "enz", "ik", "ie", "ien",
];
