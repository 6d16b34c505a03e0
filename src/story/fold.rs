//! Spelling variants folded to one form: case, diacritics, ß and the
//! "ae"/"oe"/"ue" written for umlauts, so "Görlitz", "Goerlitz" and
//! "GÖRLITZ" agree.

/// Lower case with diacritics removed; umlauts become their base vowel (the
/// spelled-out "ae"/"oe"/"ue" are folded the same way in [`fold_digraphs`]).
/// A fixed table of the Latin letters of German, Sorbian, Polish, Czech and
/// French names: NFKD alone would miss ł, ø and đ, and needs another crate.
fn fold_into(word: &str, out: &mut String) {
    for c in word.chars() {
        if c.is_ascii() {
            // No ASCII letter is folded further: only its case.
            out.push(c.to_ascii_lowercase());
            continue;
        }
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
/// In place: only ASCII 'e' bytes are dropped, so the rest stays UTF-8.
fn fold_digraphs(w: &mut String) {
    let digraph = w
        .as_bytes()
        .windows(2)
        .any(|p| p[1] == b'e' && matches!(p[0], b'a' | b'o' | b'u'));
    if !digraph {
        return;
    }
    let mut b = std::mem::take(w).into_bytes();
    // An 'e' goes when it follows a/o/u that does not itself follow q or a
    // vowel ("Quelle", "neue", "Steuer", "Mauer"): that a/o/u is never the
    // 'e' of a pair before it, so the bytes as written decide.
    let (mut before, mut prev) = (0u8, 0u8);
    let mut kept = 0;
    for i in 0..b.len() {
        let c = b[i];
        let drop = c == b'e'
            && i > 0
            && matches!(prev, b'a' | b'o' | b'u')
            && !(i > 1 && matches!(before, b'a' | b'e' | b'i' | b'o' | b'u' | b'y' | b'q'));
        (before, prev) = (prev, c);
        if !drop {
            b[kept] = c;
            kept += 1;
        }
    }
    b.truncate(kept);
    *w = String::from_utf8(b).expect("only ASCII bytes were removed");
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
