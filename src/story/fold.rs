//! Spelling variants folded to one form: case, diacritics, ß and the
//! "ae"/"oe"/"ue" written for umlauts, so "Görlitz", "Goerlitz" and
//! "GÖRLITZ" agree.

/// Lower case with diacritics removed; umlauts become their base vowel (the
/// spelled-out "ae"/"oe"/"ue" are folded the same way in [`fold_digraphs`]).
/// A fixed table of the Latin letters of German, Sorbian, Polish, Czech and
/// French names: NFKD alone would miss ł, ø and đ, and needs another crate.
fn fold_into(word: &str, out: &mut String) {
    for c in word.chars() {
        for l in c.to_lowercase() {
            match l {
                'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => out.push('a'),
                'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ō' | 'ő' => out.push('o'),
                'ü' | 'ù' | 'ú' | 'û' | 'ů' | 'ű' | 'ū' => out.push('u'),
                'ß' => out.push_str("ss"),
                'ç' | 'ć' | 'č' => out.push('c'),
                'ď' | 'đ' => out.push('d'),
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
                'ì' | 'í' | 'î' | 'ï' => out.push('i'),
                'ł' | 'ľ' | 'ĺ' => out.push('l'),
                'ñ' | 'ń' | 'ň' => out.push('n'),
                'ŕ' | 'ř' => out.push('r'),
                'ś' | 'š' | 'ş' => out.push('s'),
                'ť' | 'ţ' => out.push('t'),
                'ý' | 'ÿ' => out.push('y'),
                'ź' | 'ż' | 'ž' => out.push('z'),
                'æ' => out.push_str("ae"),
                c if unicode_normalization::char::is_combining_mark(c) => {}
                'œ' => out.push_str("oe"),
                other => out.push(other),
            }
        }
    }
}

/// "ae", "oe", "ue" written for ä, ö, ü (except "que") become the base vowel,
/// as Snowball's german2 variant does (not after q or a vowel), so "Goerlitz" and "Görlitz" agree.
fn fold_digraphs(w: &mut String) {
    let digraph = w
        .as_bytes()
        .windows(2)
        .any(|p| p[1] == b'e' && matches!(p[0], b'a' | b'o' | b'u'));
    if !digraph {
        return;
    }
    let b = w.as_bytes();
    let mut out = String::with_capacity(w.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // Not after q ("Quelle") or a vowel ("neue", "Steuer", "Mauer").
        let after_vowel_or_q =
            i > 0 && matches!(b[i - 1], b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'q');
        if i + 1 < b.len()
            && b[i + 1] == b'e'
            && matches!(c, b'a' | b'o' | b'u')
            && !after_vowel_or_q
        {
            out.push(c as char);
            i += 2;
        } else {
            let ch = w[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    *w = out;
}

pub(super) fn folded(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    fold_into(word, &mut s);
    fold_digraphs(&mut s);
    s
}

/// [`folded`] into a reused buffer: the analysis runs for every word of every item.
pub(super) fn folded_into(word: &str, out: &mut String) {
    out.clear();
    if word.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        fold_into(word, out);
    }
    fold_digraphs(out);
}
