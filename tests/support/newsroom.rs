//! A deterministic newsroom for story matching at realistic size: thousands
//! of different German regional reports (the same templates for other
//! towns, sums and dates; follow-ups of one project with the same people and
//! institutions; recurring formats), and a few true cross-posts of them,
//! retold by another partner in other words. Only the reports' facts make
//! them different news, which is what matching must notice at scale.

/// One generated report; reports with the same `story` are the same news.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: String,
    pub title: String,
    pub text: String,
    /// Days after the first day of the corpus, and the hour.
    pub day: u32,
    pub hour: u32,
    pub story: usize,
    /// Which template the report was written from, and for which town (for
    /// the corpus's own checks).
    pub template: usize,
    pub town: &'static str,
}

/// xorshift64: the same corpus on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Towns and villages of the region, with and without a gazetteer entry.
const TOWNS: &[&str] = &[
    "Cottbus",
    "Hoyerswerda",
    "Spremberg",
    "Senftenberg",
    "Weißwasser",
    "Forst",
    "Guben",
    "Lübbenau",
    "Lübben",
    "Finsterwalde",
    "Bautzen",
    "Görlitz",
    "Zittau",
    "Kamenz",
    "Niesky",
    "Lauchhammer",
    "Schwarzheide",
    "Großräschen",
    "Calau",
    "Vetschau",
    "Welzow",
    "Drebkau",
    "Peitz",
    "Döbern",
    "Bad Muskau",
    "Boxberg",
    "Lauta",
    "Bernsdorf",
    "Lohsa",
    "Ruhland",
    "Ortrand",
    "Elsterwerda",
    "Herzberg",
    "Luckau",
    "Kolkwitz",
    "Schipkau",
    "Altdöbern",
    "Rietschen",
    "Krauschwitz",
    "Schleife",
    "Trebendorf",
    "Gablenz",
    "Neupetershain",
    "Briesen",
    "Tauer",
    "Turnow",
    "Jämlitz",
    "Wiednitz",
    "Hosena",
    "Sallgast",
    "Burg",
    "Werben",
    "Straupitz",
    "Lieberose",
    "Jänschwalde",
    "Teichland",
    "Neuhausen",
    "Felixsee",
    "Tschernitz",
    "Wiesengrund",
    "Groß Schacksdorf",
    "Schenkendöbern",
    "Hohenbocka",
    "Grünewald",
    "Schwarzbach",
    "Kroppen",
    "Frauendorf",
    "Lindenau",
    "Tettau",
    "Hermsdorf",
    "Guteborn",
    "Schwepnitz",
    "Königswartha",
    "Radibor",
    "Malschwitz",
    "Großdubrau",
    "Hochkirch",
    "Weißenberg",
    "Mücka",
    "Hähnichen",
    "Horka",
    "Kodersdorf",
    "Waldhufen",
    "Vierkirchen",
    "Reichenbach",
    "Markersdorf",
    "Ostritz",
    "Bernstadt",
    "Schönau-Berzdorf",
    "Herrnhut",
];

const LAKES: &[&str] = &[
    "Senftenberger See",
    "Geierswalder See",
    "Partwitzer See",
    "Bärwalder See",
    "Knappensee",
    "Gräbendorfer See",
    "Großräschener See",
    "Scheibe-See",
    "Helenesee",
    "Hainer See",
];

const FIRST: &[&str] = &[
    "Anja", "Torsten", "Sabine", "Michael", "Petra", "Jens", "Ulrike", "Frank", "Heike", "Stefan",
    "Claudia", "Marco", "Yvonne", "Rico", "Doreen", "Susann", "Holger", "Kerstin", "Ronny", "Grit",
    "Mandy", "Sven", "Ines", "Uwe", "Katja", "Steffen", "Nadine", "Dirk", "Romy", "Matthias",
    "Jana", "Lutz", "Silke", "André", "Cornelia", "Maik", "Antje", "Enrico", "Madlen", "Karsten",
];
const LAST: &[&str] = &[
    "Richter",
    "Kühn",
    "Wendt",
    "Krause",
    "Noack",
    "Schulze",
    "Domaschk",
    "Lehmann",
    "Paulick",
    "Mros",
    "Reschke",
    "Bartsch",
    "Zschech",
    "Hanusch",
    "Kaiser",
    "Bierholz",
    "Kschischo",
    "Nowak",
    "Rentsch",
    "Wjelk",
    "Buder",
    "Kito",
    "Schmole",
    "Zieschank",
    "Lorenz",
    "Mättig",
    "Ratschke",
    "Kubasch",
    "Pjech",
    "Hantscho",
    "Ziesche",
    "Jurisch",
    "Nitsche",
    "Lachmann",
    "Wawrzyniak",
    "Scholze",
    "Kotissek",
    "Budich",
    "Matschke",
    "Raschke",
    "Hentschel",
    "Schwella",
    "Petrick",
    "Kliemann",
    "Dubrau",
    "Mudra",
    "Rjenč",
    "Šołta",
    "Wowčer",
    "Kupsch",
    "Thiemig",
    "Gärtner",
    "Weinhold",
    "Schuster",
    "Hoika",
    "Janke",
    "Kokot",
    "Lubina",
    "Mietzsch",
    "Nagora",
    "Pietsch",
    "Radochla",
    "Schiemenz",
    "Stanke",
    "Tzschoppe",
    "Urban",
    "Wukasch",
    "Zimmack",
    "Bresan",
    "Dzierza",
    "Elsner",
    "Fanselow",
    "Gruhl",
    "Hagen",
    "Iwan",
    "Jähnichen",
    "Kalauch",
    "Lunow",
    "Mickan",
    "Nerlich",
];

const INSTITUTIONS: &[&str] = &[
    "die Stadtwerke",
    "der Landkreis",
    "die Sparkasse",
    "die Hochschule",
    "der Zweckverband",
    "die Handwerkskammer",
    "die Wirtschaftsförderung",
    "der Wasserverband",
    "die Kreisverwaltung",
    "das Klinikum",
    "die Wohnungsgenossenschaft",
    "der Tourismusverband",
];

const MONTHS: &[&str] = &[
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

const WEEKDAYS: &[&str] = &[
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
];

/// The facts of one news: every template fills its slots from these.
#[derive(Debug, Clone)]
struct Facts {
    town: &'static str,
    lake: &'static str,
    person: String,
    institution: &'static str,
    /// Millions of euro, one decimal ("2,5").
    sum: String,
    count: u32,
    date: String,
    weekday: &'static str,
    line: String,
}

impl Facts {
    fn fill(&self, s: &str) -> String {
        let mut inst = self.institution.to_string();
        // A sentence may start with the institution.
        if s.starts_with("{Inst}") {
            let mut c = inst.chars();
            inst = c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default();
        }
        s.replace("{town}", self.town)
            .replace("{lake}", self.lake)
            .replace("{person}", &self.person)
            .replace("{Inst}", &inst)
            .replace("{inst}", self.institution)
            .replace("{sum}", &self.sum)
            .replace("{count}", &self.count.to_string())
            .replace("{date}", &self.date)
            .replace("{weekday}", self.weekday)
            .replace("{line}", &self.line)
    }
}

/// A kind of report: headlines, leads and detail sentences, each with slots.
/// A cross-post takes another headline and lead and some of the details in
/// another order, as a partner retelling a press release does.
struct Template {
    titles: &'static [&'static str],
    leads: &'static [&'static str],
    details: &'static [&'static str],
}

/// Reports of one project in stages: a follow-up is the next template with
/// the same town, people and institution, and new dates and figures.
const TEMPLATES: &[Template] = &[
    // 0–2: a station building, in stages.
    Template {
        titles: &[
            "Bahnhof {town}: Sanierung des Empfangsgebäudes beginnt",
            "{town} saniert sein Bahnhofsgebäude für {sum} Millionen Euro",
            "Baustart am Bahnhof {town}",
        ],
        leads: &[
            "Am {date} beginnt die Sanierung des Empfangsgebäudes am Bahnhof {town}. Die Kosten liegen bei {sum} Millionen Euro.",
            "Das Bahnhofsgebäude in {town} wird ab dem {date} saniert; {sum} Millionen Euro sind dafür eingeplant.",
        ],
        details: &[
            "Bürgermeisterin {person} sprach von einem Signal für die ganze Stadt.",
            "In das Gebäude sollen ein Wartebereich, eine Bibliothek und {count} Büros einziehen.",
            "Gefördert wird der Umbau aus dem Strukturstärkungsgesetz.",
            "Während der Bauzeit bleiben die Bahnsteige erreichbar.",
        ],
    },
    Template {
        titles: &[
            "Richtfest am Bahnhof {town}",
            "Bahnhof {town}: Dach ist dicht, Richtfest gefeiert",
            "{town} feiert Richtfest am sanierten Bahnhofsgebäude",
        ],
        leads: &[
            "Am {date} wurde am Bahnhofsgebäude in {town} Richtfest gefeiert. Die Kosten sind inzwischen auf {sum} Millionen Euro gestiegen.",
            "Richtfest in {town}: Am {date} feierten Bauleute und Stadt am Empfangsgebäude; {sum} Millionen Euro kostet der Umbau nun.",
        ],
        details: &[
            "Bürgermeisterin {person} dankte den {count} beteiligten Firmen.",
            "Der Innenausbau soll im kommenden Jahr abgeschlossen sein.",
            "Die Bibliothek zieht als erste Nutzerin ein.",
        ],
    },
    Template {
        titles: &[
            "Bahnhof {town} nach Umbau eröffnet",
            "Neues Leben im Bahnhof {town}",
            "{town}: Sanierter Bahnhof öffnet am {weekday}",
        ],
        leads: &[
            "Nach zwei Jahren Bauzeit ist das Empfangsgebäude am Bahnhof {town} am {date} eröffnet worden. Insgesamt kostete der Umbau {sum} Millionen Euro.",
            "Das sanierte Bahnhofsgebäude in {town} ist seit dem {date} offen; {sum} Millionen Euro wurden investiert.",
        ],
        details: &[
            "Zur Eröffnung kamen nach Angaben der Stadt {count} Gäste.",
            "Bürgermeisterin {person} schnitt das Band durch.",
            "Die Bibliothek öffnet am ersten Tag bis 20 Uhr.",
        ],
    },
    // 3: a lake reopened for bathing.
    Template {
        titles: &[
            "Badeverbot am {lake} aufgehoben",
            "{lake}: Baden wieder erlaubt",
            "Blaualgen verschwunden: {lake} wieder freigegeben",
        ],
        leads: &[
            "Das Gesundheitsamt hat das Badeverbot am {lake} bei {town} am {date} aufgehoben. Die Blaualgen-Werte liegen wieder unter dem Grenzwert.",
            "Am {lake} nahe {town} darf seit dem {date} wieder gebadet werden, teilte das Gesundheitsamt mit.",
        ],
        details: &[
            "Proben an {count} Messstellen waren unauffällig.",
            "Das Verbot hatte knapp drei Wochen gegolten.",
            "Die Rettungsschwimmer sind am Wochenende wieder im Einsatz.",
        ],
    },
    // 4: a timetable change.
    Template {
        titles: &[
            "Neuer Fahrplan: {line} fährt öfter nach {town}",
            "{line}: Mehr Züge für {town} ab {date}",
            "Fahrplanwechsel bringt {town} einen Stundentakt",
        ],
        leads: &[
            "Ab dem {date} fährt die Linie {line} im Stundentakt nach {town}. Damit halten dort {count} Züge mehr am Tag.",
            "Mit dem Fahrplanwechsel am {date} bekommt {town} auf der Linie {line} {count} zusätzliche Verbindungen.",
        ],
        details: &[
            "Der Verkehrsverbund finanziert die Mehrleistung.",
            "Die ersten Züge fahren schon vor 5 Uhr.",
            "Pendler hatten den Takt seit Jahren gefordert.",
        ],
    },
    // 5: a call for small projects.
    Template {
        titles: &[
            "Kleinprojektefonds {town}: Anträge bis {date}",
            "{town} fördert Ideen von Vereinen",
            "Geld für Vereine: {town} startet Förderaufruf",
        ],
        leads: &[
            "Vereine und Initiativen in {town} können bis zum {date} Anträge beim Kleinprojektefonds stellen. Im Topf sind {sum} Millionen Euro.",
            "Der Kleinprojektefonds in {town} ist offen: Bis {date} werden Ideen gesucht, {sum} Millionen Euro stehen bereit.",
        ],
        details: &[
            "Gefördert werden bis zu {count} Projekte.",
            "Beraten wird im Rathaus, Ansprechpartnerin ist {person}.",
            "Die Jury entscheidet im Frühjahr.",
        ],
    },
    // 6–7: a company investment, and its follow-up.
    Template {
        titles: &[
            "Neues Werk in {town}: {count} Arbeitsplätze geplant",
            "Investor baut in {town} für {sum} Millionen Euro",
            "{town} bekommt eine Fabrik für Wärmepumpen",
        ],
        leads: &[
            "Ein Hersteller von Wärmepumpen will in {town} {sum} Millionen Euro investieren und {count} Arbeitsplätze schaffen. Das gab {inst} am {date} bekannt.",
            "Für {sum} Millionen Euro entsteht in {town} ein Werk für Wärmepumpen; {count} Stellen sollen es werden, teilte {inst} am {date} mit.",
        ],
        details: &[
            "Geschäftsführer {person} nannte die Nähe zur Autobahn als Grund.",
            "Die Produktion soll in zwei Jahren anlaufen.",
            "Das Grundstück liegt im Gewerbegebiet am Stadtrand.",
        ],
    },
    Template {
        titles: &[
            "Wärmepumpenwerk {town}: Erster Spatenstich",
            "Spatenstich für Fabrik in {town}",
            "{town}: Bau des Werks beginnt",
        ],
        leads: &[
            "Mit dem ersten Spatenstich hat am {date} in {town} der Bau des Wärmepumpenwerks begonnen. Die Investition ist auf {sum} Millionen Euro gewachsen.",
            "In {town} ist am {date} der Bau der Wärmepumpenfabrik gestartet; investiert werden nun {sum} Millionen Euro.",
        ],
        details: &[
            "Geschäftsführer {person} will {count} Beschäftigte einstellen.",
            "Die ersten Stellen werden schon im Herbst ausgeschrieben.",
            "Der Landrat lobte das Tempo der Genehmigung.",
        ],
    },
    // 8: a road closure.
    Template {
        titles: &[
            "Vollsperrung in {town} ab {weekday}",
            "{town}: Ortsdurchfahrt wird gesperrt",
            "Bauarbeiten: Umleitung in {town}",
        ],
        leads: &[
            "Die Ortsdurchfahrt von {town} wird ab dem {date} voll gesperrt. Die Bauarbeiten dauern rund {count} Wochen.",
            "Ab {date} ist die Hauptstraße in {town} dicht; {count} Wochen sollen die Arbeiten an Fahrbahn und Leitungen dauern.",
        ],
        details: &[
            "{Inst} erneuert dabei Wasser- und Abwasserleitungen.",
            "Die Umleitung ist ausgeschildert.",
            "Busse halten an einer Ersatzhaltestelle.",
        ],
    },
    // 9: a council decision on a school.
    Template {
        titles: &[
            "Stadtrat {town} beschließt Neubau der Grundschule",
            "{town}: Grünes Licht für neue Grundschule",
            "Neue Grundschule für {town} kostet {sum} Millionen Euro",
        ],
        leads: &[
            "Der Stadtrat von {town} hat am {date} den Neubau der Grundschule beschlossen. Veranschlagt sind {sum} Millionen Euro.",
            "Am {date} stimmte der Stadtrat in {town} für eine neue Grundschule, die {sum} Millionen Euro kosten soll.",
        ],
        details: &[
            "Die Schule soll Platz für {count} Kinder bieten.",
            "Schulleiterin {person} freut sich auf größere Klassenräume.",
            "Baubeginn ist für das kommende Frühjahr geplant.",
        ],
    },
    // 10: a festival.
    Template {
        titles: &[
            "Stadtfest {town} lockt {count} Besucher",
            "{town} feiert am Wochenende",
            "Volles Programm beim Stadtfest in {town}",
        ],
        leads: &[
            "Rund {count} Menschen haben am {date} das Stadtfest in {town} besucht. Auf drei Bühnen spielten Bands aus der Region.",
            "Das Stadtfest in {town} zog am {date} nach Angaben der Veranstalter {count} Gäste an.",
        ],
        details: &[
            "Organisatorin {person} zog eine positive Bilanz.",
            "Am Abend gab es ein Feuerwerk am Marktplatz.",
            "Die Polizei meldete einen ruhigen Verlauf.",
        ],
    },
    // 11: a police report.
    Template {
        titles: &[
            "Einbruch in Supermarkt in {town}",
            "{town}: Täter stehlen Zigaretten",
            "Polizei sucht Zeugen nach Einbruch in {town}",
        ],
        leads: &[
            "Unbekannte sind in der Nacht zum {date} in einen Supermarkt in {town} eingebrochen. Sie erbeuteten Zigaretten im Wert von {count} Euro.",
            "In {town} haben Einbrecher in der Nacht zum {date} einen Supermarkt heimgesucht und Zigaretten für {count} Euro gestohlen.",
        ],
        details: &[
            "Die Kriminalpolizei sicherte Spuren.",
            "Hinweise nimmt die Polizeiinspektion entgegen.",
            "Es ist bereits der zweite Einbruch in diesem Jahr.",
        ],
    },
    // 12: a sports result (recurring format).
    Template {
        titles: &[
            "SV {town} gewinnt Derby mit {count}:1",
            "Derbysieg für {town}",
            "Fußball: {town} bleibt Tabellenführer",
        ],
        leads: &[
            "Der SV {town} hat am {weekday}, {date}, das Derby mit {count}:1 gewonnen. Vor 800 Zuschauern fielen die Tore nach der Pause.",
            "Mit {count}:1 setzte sich der SV {town} am {date} im Derby durch.",
        ],
        details: &[
            "Trainer {person} lobte die Geschlossenheit.",
            "Am nächsten Wochenende geht es zum Spitzenspiel.",
            "Der Sieg war verdient.",
        ],
    },
    // 13: a hospital ward.
    Template {
        titles: &[
            "Klinikum {town} eröffnet neue Station",
            "Neue Station in {town} mit {count} Betten",
            "{town}: Krankenhaus erweitert Geriatrie",
        ],
        leads: &[
            "Das Klinikum in {town} hat am {date} eine neue geriatrische Station mit {count} Betten eröffnet. Der Umbau kostete {sum} Millionen Euro.",
            "Am {date} ging in {town} die neue Altersmedizin des Klinikums in Betrieb: {count} Betten, {sum} Millionen Euro.",
        ],
        details: &[
            "Chefärztin {person} leitet die Station.",
            "Es wurden zwölf Pflegekräfte eingestellt.",
            "Die Patientenzimmer haben eigene Bäder.",
        ],
    },
    // 14: a museum exhibition.
    Template {
        titles: &[
            "Museum {town} zeigt Fotos aus dem Tagebau",
            "Ausstellung in {town}: Die Grube im Bild",
            "{town}: Neue Schau über Bergleute",
        ],
        leads: &[
            "Das Stadtmuseum {town} zeigt ab dem {date} {count} Fotografien aus dem Tagebau. Die Ausstellung läuft bis zum Jahresende.",
            "Ab {date} sind im Museum in {town} {count} Bilder von Bergleuten und Baggern zu sehen.",
        ],
        details: &[
            "Kuratorin {person} hat die Bilder in Privatarchiven gefunden.",
            "Der Eintritt ist frei.",
            "Zur Eröffnung spricht ein ehemaliger Kumpel.",
        ],
    },
    // 15: a wind farm.
    Template {
        titles: &[
            "Windpark bei {town} genehmigt",
            "{count} Windräder für {town}",
            "{town}: Bürger sollen am Windpark verdienen",
        ],
        leads: &[
            "Das Landesamt hat am {date} den Windpark bei {town} genehmigt. Geplant sind {count} Anlagen für {sum} Millionen Euro.",
            "Bei {town} dürfen {count} Windräder gebaut werden, die Genehmigung kam am {date}; {sum} Millionen Euro kostet das Projekt.",
        ],
        details: &[
            "Die Gemeinde erhält eine Abgabe je Kilowattstunde.",
            "Ortsvorsteherin {person} hatte eine Bürgerversammlung organisiert.",
            "Der Bau soll im Sommer beginnen.",
        ],
    },
    // 16: a bus line.
    Template {
        titles: &[
            "Neue Buslinie {line} verbindet {town} mit dem Umland",
            "{line}: Rufbus für {town}",
            "{town}: Bus fährt jetzt auch am Wochenende",
        ],
        leads: &[
            "Ab dem {date} fährt die neue Buslinie {line} von {town} in {count} Dörfer der Umgebung. {Inst} bezahlt den Betrieb.",
            "Die Linie {line} startet am {date} und bindet {count} Ortsteile an {town} an.",
        ],
        details: &[
            "Der Bus fährt alle zwei Stunden.",
            "Fahrgäste können auch per App buchen.",
            "Ortsvorsteher {person} hatte sich dafür eingesetzt.",
        ],
    },
    // 17: a research grant.
    Template {
        titles: &[
            "Forschungsgeld für Wasserstoffprojekt in {town}",
            "{sum} Millionen Euro für Labor in {town}",
            "{town}: Hochschule bekommt Förderbescheid",
        ],
        leads: &[
            "Die Hochschule hat am {date} einen Förderbescheid über {sum} Millionen Euro für ein Wasserstofflabor in {town} erhalten.",
            "Für ein Wasserstofflabor in {town} fließen {sum} Millionen Euro; den Bescheid gab es am {date}.",
        ],
        details: &[
            "Projektleiterin {person} will mit {count} Firmen zusammenarbeiten.",
            "Das Labor soll Elektrolyseure testen.",
            "Es entstehen Stellen für Doktoranden.",
        ],
    },
    // 18: a fire.
    Template {
        titles: &[
            "Scheunenbrand in {town}",
            "{town}: Feuerwehr löscht brennende Scheune",
            "Großeinsatz der Feuerwehr in {town}",
        ],
        leads: &[
            "In {town} ist am {date} eine Scheune abgebrannt. {count} Feuerwehrleute waren im Einsatz.",
            "Eine Scheune in {town} stand am {date} in Flammen; die Feuerwehr rückte mit {count} Kräften an.",
        ],
        details: &[
            "Verletzt wurde niemand.",
            "Die Brandursache ist noch unklar.",
            "Wehrleiter {person} lobte die Zusammenarbeit der Wehren.",
        ],
    },
    // 19: a weekly market (recurring, same text every week).
    Template {
        titles: &[
            "Wochenmarkt in {town} am {weekday}",
            "{town}: Markt mit regionalen Produkten",
            "Regionaler Markt in {town}",
        ],
        leads: &[
            "Am {weekday}, {date}, findet auf dem Marktplatz in {town} wieder der Wochenmarkt statt. {count} Händler haben sich angemeldet.",
            "Der Wochenmarkt in {town} öffnet am {date}; {count} Stände bieten Obst, Käse und Fisch an.",
        ],
        details: &[
            "Marktmeisterin {person} erwartet viele Besucher.",
            "Der Markt öffnet um 8 Uhr.",
            "Parkplätze gibt es am Rathaus.",
        ],
    },
];

/// Which templates continue a project: the follow-up of `i` is `i + 1`.
const STAGED: &[usize] = &[0, 1, 6];

fn facts(rng: &mut Rng, day: u32) -> Facts {
    let month = 3 + rng.below(8);
    // A date near the publication day, or a deadline further out.
    let d = 1 + ((day as usize + rng.below(20)) % 28);
    Facts {
        town: TOWNS[rng.below(TOWNS.len())],
        lake: LAKES[rng.below(LAKES.len())],
        person: format!("{} {}", rng.pick(FIRST), rng.pick(LAST)),
        institution: INSTITUTIONS[rng.below(INSTITUTIONS.len())],
        sum: format!("{},{}", 1 + rng.below(60), 1 + rng.below(9)),
        count: 3 + rng.below(400) as u32,
        date: format!("{d}. {}", MONTHS[month - 1]),
        weekday: rng.pick(WEEKDAYS),
        line: format!(
            "{}{}",
            rng.pick(&["RE ", "RB ", "Linie "]),
            1 + rng.below(90)
        ),
    }
}

/// A report of `facts` by one partner: a headline, a lead and some details.
fn write(rng: &mut Rng, t: &Template, f: &Facts, variant: usize) -> (String, String) {
    let title = f.fill(t.titles[variant % t.titles.len()]);
    let mut sentences = vec![f.fill(t.leads[variant % t.leads.len()])];
    let mut details: Vec<&str> = t.details.to_vec();
    // Another partner keeps other details, in its own order.
    let keep = 1 + rng.below(details.len());
    for _ in 0..keep {
        let d = details.remove(rng.below(details.len()));
        sentences.push(f.fill(d));
    }
    if variant % 2 == 1 {
        sentences[1..].reverse();
    }
    (title, sentences.join(" "))
}

/// `events` different news by `sources` partners over `days` days; one news
/// in `cross_every` is also told by a second partner within two days.
pub fn reports(events: usize, sources: usize, days: u32, cross_every: usize) -> Vec<Report> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::new();
    let mut story = 0;
    let mut staged: Vec<(usize, Facts, u32)> = Vec::new();
    let mut written = std::collections::HashSet::new();
    while story < events {
        let day = rng.below(days as usize) as u32;
        // A follow-up of an earlier project: same town, person and
        // institution, the next stage with its own date and figures.
        let (template, f) = match staged.pop() {
            Some((t, earlier, d)) if rng.chance(60) => {
                let mut f = facts(&mut rng, day.max(d + 1));
                f.town = earlier.town;
                f.person = earlier.person.clone();
                f.institution = earlier.institution;
                (t + 1, f)
            }
            _ => {
                let t = rng.below(TEMPLATES.len());
                (t, facts(&mut rng, day))
            }
        };
        // Two different news of one template, town and date would be the
        // same news to any reader: each is written once.
        if !written.insert((template, f.town, f.date.clone())) {
            continue;
        }
        if STAGED.contains(&template) {
            staged.insert(0, (template, f.clone(), day));
        }
        let source = rng.below(sources);
        let variant = rng.below(6);
        let (title, text) = write(&mut rng, &TEMPLATES[template], &f, variant);
        out.push(Report {
            source: format!("partner{source}"),
            title,
            text,
            day,
            hour: 6 + rng.below(14) as u32,
            story,
            template,
            town: f.town,
        });
        if story % cross_every == cross_every / 2 {
            let other = (source + 1 + rng.below(sources - 1)) % sources;
            let (title, text) = write(&mut rng, &TEMPLATES[template], &f, variant + 1);
            out.push(Report {
                source: format!("partner{other}"),
                title,
                text,
                day: (day + rng.below(2) as u32).min(days - 1),
                hour: 6 + rng.below(14) as u32,
                story,
                template,
                town: f.town,
            });
        }
        story += 1;
    }
    out
}
