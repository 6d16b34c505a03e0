//! The story index's per-item data, packed into one byte arena: each indexed
//! item's term ids and its facts, as one record. At 110,000 items a boxed
//! term list and a boxed facts string per item were ~30 MB of heap (two heap
//! blocks each, with their headers); packed, the same is a few MB
//! (BENCHMARKS.md, "Issue 18: memory").
//!
//! A record: the number of terms, their length in bytes, the sorted term
//! ids as differences from the previous one, then the facts (a zero byte
//! when the item has none), every number a LEB128 varint. Strings of the facts (places, names, units,
//! numbers) are interned once in a symbol table of their own, apart from the
//! index's terms so that they never count as terms. Records of removed items
//! stay in the arena as garbage until it is half of it, then the live ones
//! are copied together.

use super::{Facts, Map};

/// Where a record starts in the arena.
pub(super) type At = u64;

#[derive(Debug, Default)]
pub(super) struct Records {
    bytes: Vec<u8>,
    /// Bytes of records no indexed item points to any more.
    garbage: usize,
    symbols: Vec<Box<str>>,
    symbol_ids: Map<Box<str>, u32>,
}

// LEB128 by hand: seven lines, and the only varint the crate needs.
fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// An item's key places and dates as [`Records`] symbols
/// ([`Records::place_and_dates`]).
pub(super) struct PlaceAndDates {
    key_places: Vec<u32>,
    dates: Vec<(u8, u8)>,
}

/// The bytes [`put`] writes for `n`.
fn varint_len(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a record from where it starts.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> u64 {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let b = self.bytes[self.pos];
            self.pos += 1;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn count(&mut self) -> usize {
        self.next() as usize
    }

    fn byte(&mut self) -> u8 {
        self.pos += 1;
        self.bytes[self.pos - 1]
    }

    /// Reads past the terms: their count, then their length in bytes.
    fn skip_terms(&mut self) {
        self.count();
        let bytes = self.count();
        self.pos += bytes;
    }

    /// Reads past the facts; `symbol` is called with every symbol id read.
    fn facts(&mut self, mut symbol: impl FnMut(Field, u32)) {
        if self.byte() == 0 {
            return;
        }
        for _ in 0..self.count() {
            let (d, m) = (self.byte(), self.byte());
            symbol(Field::Date(d, m), 0);
        }
        for _ in 0..self.count() {
            symbol(Field::Unit, self.next() as u32);
            symbol(Field::Quantity, self.next() as u32);
        }
        for field in [Field::Place, Field::KeyPlace] {
            for _ in 0..self.count() {
                symbol(field, self.next() as u32);
            }
        }
        let name = self.next();
        let strong = self.byte() == 1;
        if name > 0 {
            symbol(Field::KeyName(strong), (name - 1) as u32);
        }
        for _ in 0..self.count() {
            symbol(Field::TitleNumber, self.next() as u32);
        }
    }
}

/// Sets `s` to `to`, keeping its memory.
fn set(s: &mut String, to: &str) {
    s.clear();
    s.push_str(to);
}

/// Sets the `n`th string of `list` to `to` (appended when the list is that
/// short), and counts it.
fn put_at(list: &mut Vec<String>, n: &mut usize, to: &str) {
    match list.get_mut(*n) {
        Some(s) => set(s, to),
        None => list.push(to.to_string()),
    }
    *n += 1;
}

/// Which fact a symbol read from a record belongs to.
#[derive(Clone, Copy)]
enum Field {
    Date(u8, u8),
    Unit,
    Quantity,
    Place,
    KeyPlace,
    KeyName(bool),
    TitleNumber,
}

impl Records {
    fn symbol(&mut self, s: &str) -> u64 {
        if let Some(&id) = self.symbol_ids.get(s) {
            return u64::from(id);
        }
        let id = self.symbols.len() as u32;
        self.symbols.push(s.into());
        self.symbol_ids.insert(s.into(), id);
        u64::from(id)
    }

    fn cursor(&self, at: At) -> Cursor<'_> {
        Cursor {
            bytes: &self.bytes,
            pos: at as usize,
        }
    }

    /// Appends an item's record: `terms` sorted and unique.
    pub(super) fn push(&mut self, terms: &[u32], facts: &Facts) -> At {
        let at = self.bytes.len() as At;
        let mut out = std::mem::take(&mut self.bytes);
        // The terms' length in bytes lets a reader of the facts skip them
        // at once: a search reads the facts of many candidates it never
        // weighs (a lone rare compound's place and date).
        put(&mut out, terms.len() as u64);
        let deltas = || {
            terms.iter().scan(0, |last, &t| {
                Some(u64::from(t - std::mem::replace(last, t)))
            })
        };
        put(&mut out, deltas().map(varint_len).sum::<usize>() as u64);
        for delta in deltas() {
            put(&mut out, delta);
        }
        if *facts == Facts::default() {
            out.push(0);
        } else {
            out.push(1);
            put(&mut out, facts.dates.len() as u64);
            for &(d, m) in &facts.dates {
                out.extend([d, m]);
            }
            put(&mut out, facts.quantities.len() as u64);
            for (unit, value) in &facts.quantities {
                put(&mut out, self.symbol(unit));
                put(&mut out, self.symbol(value));
            }
            for list in [&facts.places, &facts.key_places] {
                put(&mut out, list.len() as u64);
                for s in list {
                    put(&mut out, self.symbol(s));
                }
            }
            let name = facts.key_name.as_deref().map_or(0, |n| self.symbol(n) + 1);
            put(&mut out, name);
            out.push(u8::from(facts.key_name_strong));
            put(&mut out, facts.title_numbers.len() as u64);
            for s in &facts.title_numbers {
                put(&mut out, self.symbol(s));
            }
        }
        self.bytes = out;
        at
    }

    /// The record's term ids, sorted, into `out` (cleared first).
    pub(super) fn terms_into(&self, at: At, out: &mut Vec<u32>) {
        out.clear();
        let mut c = self.cursor(at);
        let mut last = 0u32;
        let count = c.count();
        c.count(); // their length in bytes
        for _ in 0..count {
            last += c.next() as u32;
            out.push(last);
        }
    }

    /// The record's facts, whole.
    #[cfg(test)]
    pub(super) fn facts(&self, at: At) -> Facts {
        let mut f = Facts::default();
        self.facts_into(at, &mut f);
        f
    }

    /// [`facts`](Self::facts) into `f`, whose strings are reused: a search
    /// decodes a candidate's facts for every candidate that gets far
    /// enough, and a String per symbol (a long text states dozens of sums)
    /// was most of that.
    pub(super) fn facts_into(&self, at: At, f: &mut Facts) {
        let mut c = self.cursor(at);
        c.skip_terms();
        f.dates.clear();
        f.key_name_strong = false;
        let (mut quantities, mut places, mut key_places, mut title_numbers) = (0, 0, 0, 0);
        let mut key_name = false;
        let sym = |id: u32| &*self.symbols[id as usize];
        c.facts(|field, id| match field {
            Field::Date(d, m) => f.dates.push((d, m)),
            Field::Unit => {
                if quantities == f.quantities.len() {
                    f.quantities.push(Default::default());
                }
                set(&mut f.quantities[quantities].0, sym(id));
            }
            Field::Quantity => {
                set(&mut f.quantities[quantities].1, sym(id));
                quantities += 1;
            }
            Field::Place => put_at(&mut f.places, &mut places, sym(id)),
            Field::KeyPlace => put_at(&mut f.key_places, &mut key_places, sym(id)),
            Field::KeyName(strong) => {
                set(f.key_name.get_or_insert_default(), sym(id));
                key_name = true;
                f.key_name_strong = strong;
            }
            Field::TitleNumber => put_at(&mut f.title_numbers, &mut title_numbers, sym(id)),
        });
        f.quantities.truncate(quantities);
        f.places.truncate(places);
        f.key_places.truncate(key_places);
        f.title_numbers.truncate(title_numbers);
        if !key_name {
            f.key_name = None;
        }
    }

    /// An item's places and dates as this arena's symbols, for
    /// [`agrees_on_place_and_date`](Self::agrees_on_place_and_date): its key
    /// (gazetteer) places that some record holds (one no record holds
    /// cannot be shared), and the dates it names.
    pub(super) fn place_and_dates(&self, f: &Facts) -> PlaceAndDates {
        PlaceAndDates {
            key_places: f
                .key_places
                .iter()
                .filter_map(|p| self.symbol_ids.get(p.as_str()).copied())
                .collect(),
            dates: f.dates.clone(),
        }
    }

    /// Whether the record at `at` names a key place of `item` and a date
    /// that agrees with it: one both name, or `item_day`
    /// (the item's publication day) named by the record; `dated` when the
    /// item names the record's own publication day already. The part of
    /// `index::corroborated` for a lone compound that reads the record's
    /// symbols as ids, with no string built: a search asks it of every
    /// candidate that shares only a rare compound, most of them by chance.
    pub(super) fn agrees_on_place_and_date(
        &self,
        at: At,
        item: &PlaceAndDates,
        item_day: Option<(u8, u8)>,
        dated: bool,
    ) -> bool {
        // The layout of `Cursor::facts`, read by hand so that a record
        // whose dates disagree (most) is left after its dates.
        let mut c = self.cursor(at);
        c.skip_terms();
        if c.byte() == 0 {
            return false;
        }
        let mut date = dated;
        for _ in 0..c.count() {
            let (d, m) = (c.byte(), c.byte());
            date |= item.dates.contains(&(d, m)) || item_day == Some((d, m));
        }
        if !date {
            return false;
        }
        for _ in 0..c.count() {
            c.next(); // unit
            c.next(); // value
        }
        for _ in 0..c.count() {
            c.next(); // place
        }
        let mut place = false;
        for _ in 0..c.count() {
            place |= item.key_places.contains(&(c.next() as u32));
        }
        place
    }

    /// Whether the record holds any facts.
    #[cfg(test)]
    pub(super) fn has_facts(&self, at: At) -> bool {
        let mut c = self.cursor(at);
        c.skip_terms();
        c.byte() != 0
    }

    fn len_at(&self, at: At) -> usize {
        let mut c = self.cursor(at);
        c.skip_terms();
        c.facts(|_, _| {});
        c.pos - at as usize
    }

    /// The record at `at` is no longer pointed to.
    pub(super) fn release(&mut self, at: At) {
        self.garbage += self.len_at(at);
    }

    /// Whether garbage is half of the arena: time to [`compact`](Self::compact).
    pub(super) fn wasteful(&self) -> bool {
        self.garbage > 4096 && self.garbage * 2 > self.bytes.len()
    }

    /// Copies the live records together; `live` are where each starts, updated in place.
    pub(super) fn compact<'a>(&mut self, live: impl Iterator<Item = &'a mut At>) {
        let mut out = Vec::with_capacity(self.bytes.len() - self.garbage);
        for at in live {
            let len = self.len_at(*at);
            let from = *at as usize;
            *at = out.len() as At;
            out.extend_from_slice(&self.bytes[from..from + len]);
        }
        self.bytes = out;
        self.garbage = 0;
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.symbols.shrink_to_fit();
        self.symbol_ids.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::story::Signature;

    #[test]
    fn records_give_back_terms_and_facts_and_compact_without_losing_any() {
        let sig = Signature::of(
            "Übergabe: 6.412 Unterschriften am 15. Oktober",
            "Petition für Kleinmühlen in Neuwerda, 7,8 Mio. € für Schwarze Pumpe am Cottbuser Ostsee. RE 2 fährt.",
        );
        assert_ne!(sig.facts, Facts::default());
        let mut r = Records::default();
        let terms = [0, 1, 127, 128, 300, 16_384, u32::MAX];
        let mut ats = [
            r.push(&terms, &sig.facts),
            r.push(&[], &Facts::default()),
            r.push(&[5], &sig.facts),
        ];
        let mut out = Vec::new();
        r.terms_into(ats[0], &mut out);
        assert_eq!(out, terms);
        assert_eq!(r.facts(ats[0]), sig.facts);
        assert!(r.has_facts(ats[0]) && !r.has_facts(ats[1]));
        assert_eq!(r.facts(ats[1]), Facts::default());
        // The first record dropped, the others moved together.
        r.release(ats[0]);
        let kept = &mut ats[1..];
        r.compact(kept.iter_mut());
        assert_eq!(ats[1], 0);
        r.terms_into(ats[2], &mut out);
        assert_eq!(out, [5]);
        assert_eq!(r.facts(ats[2]), sig.facts);
        assert_eq!(r.facts(ats[1]), Facts::default());
    }

    #[test]
    fn facts_decoded_into_a_used_buffer_are_those_of_the_record_alone() {
        let many = Signature::of(
            "Neuwerda: 6.412 Unterschriften am 15. Oktober",
            "Die Gemeinde Neuwerda am Cottbuser Ostsee: 7,8 Mio. € für sechs Ladesäulen, 3 Busse.",
        )
        .facts;
        let few = Signature::of("Zwei Busse in Cottbus", "Am 3. Mai, 120 Millionen Euro.").facts;
        assert!(
            many.quantities.len() > few.quantities.len(),
            "{many:?} {few:?}"
        );
        assert!(many.key_name.is_some() && few.key_name.is_none(), "{few:?}");
        let mut r = Records::default();
        let ats = [
            r.push(&[1], &many),
            r.push(&[2], &few),
            r.push(&[3], &Facts::default()),
        ];
        let mut f = Facts::default();
        for (at, want) in ats.iter().zip([&many, &few, &Facts::default(), &many]) {
            r.facts_into(*at, &mut f);
            assert_eq!(&f, want);
        }
        r.facts_into(ats[0], &mut f);
        assert_eq!(f, many);
    }
}
