//! The fast path of [`super::decode_object`]: the records most sources carry, read byte by
//! byte at about the cost of checking their syntax.
//!
//! Fields are found as the serde path finds them (the same [`Fields`], the same rule for a
//! name of another case, the same handling of a field that comes twice); the fields the table
//! does not read are skipped with their syntax checked as serde_json checks it. Whatever this
//! reader does not take on itself makes it give up (`None`): a value that does not fit its
//! column (the serde path's message names it), a number for a STRING column or a fraction for
//! a DECIMAL one, an array column, an escaped field name, a `\u` escape of a surrogate, a
//! number of more than 19 digits or a fractional one past `1e±22`, nesting deeper than 64,
//! any syntax error. The serde path then reads the record from its start, so it owns every
//! error message and every rare form, and the two can differ only in speed: a record this
//! reader takes decodes to exactly what serde's would (the unit tests compare them on
//! generated records, valid and broken).

use ordered_float::OrderedFloat;

use super::{text_value, Field, Fields, Found, Name, ONES};
use crate::data::{DataType, Datum, Schema};

/// Decode the JSON object `bytes` into `values` (as [`super::decode_object`]), or `None`
/// when the serde path must read it; `values` may then hold some columns already.
pub(super) fn decode<'a>(
    bytes: &'a [u8],
    schema: &Schema,
    fields: &Fields,
    arena: &'a bumpalo::Bump,
    values: &mut [Datum<'a>],
) -> Option<()> {
    let mut r = Reader {
        bytes,
        at: 0,
        arena,
    };
    let mut found = Found::new(values.len());
    r.ws();
    r.expect(b'{')?;
    r.object(schema, fields, values, &mut found)?;
    r.ws();
    (r.at == bytes.len()).then_some(())
}

/// A position in one record's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where unescaped strings go.
    arena: &'a bumpalo::Bump,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// Past JSON's whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The rest of `null`, `true` or `false`, whose first byte has been read.
    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        let found = self.bytes[self.at..].starts_with(rest);
        self.at += rest.len();
        found.then_some(())
    }

    /// The fields of an object whose `{` has been read, through its `}`.
    fn object(
        &mut self,
        schema: &Schema,
        fields: &Fields,
        values: &mut [Datum<'a>],
        found: &mut Found,
    ) -> Option<()> {
        self.ws();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        // The declared field expected next.
        let mut next = 0;
        loop {
            let field = match fields.expected(next, &self.bytes[self.at..]) {
                Some((field, len)) => {
                    self.at += len;
                    next += 1;
                    field
                }
                None => {
                    self.expect(b'"')?;
                    let (name, head) = self.name()?;
                    self.ws();
                    self.expect(b':')?;
                    next = fields.after(name).unwrap_or(next);
                    fields.field_with_head(name, head)
                }
            };
            self.ws();
            match field {
                Field::Row(row) => match self.next()? {
                    b'{' => self.object(schema, row, values, found)?,
                    b'n' => self.literal(b"ull")?, // a NULL row: its fields stay NULL
                    _ => return None,
                },
                // As the serde path: a field of another case comes second to one that
                // matches exactly, and to an earlier one of another case.
                Field::Column(i, c, is_exact) if is_exact || !found.get(i) => {
                    values[c] = self.value(schema.columns[c].ty)?;
                    found.set(i);
                }
                _ => self.skip()?,
            }
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A field name whose `"` has been read, through its closing `"`: its bytes as written,
    /// and its [`Name::head`] (loaded as one word).
    fn name(&mut self) -> Option<(&'a [u8], u64)> {
        let start = self.at;
        self.at += to_special(&self.bytes[start..]);
        let name = &self.bytes[start..self.at];
        let head = match self.bytes.get(start..start + 8) {
            Some(word) if name.len() >= 8 => u64::from_le_bytes(word.try_into().ok()?),
            Some(word) => {
                u64::from_le_bytes(word.try_into().ok()?) & !(u64::MAX << (8 * name.len()))
            }
            None => Name::head(name),
        };
        (self.next()? == b'"').then_some((name, head))
    }

    /// One value as a datum of type `ty`, its first byte not yet read.
    fn value(&mut self, ty: DataType) -> Option<Datum<'a>> {
        match self.next()? {
            b'"' => text_value(self.string()?, ty),
            b'n' => self.literal(b"ull").map(|()| Datum::Null),
            b't' => self.literal(b"rue").and_then(|()| bool_value(true, ty)),
            b'f' => self.literal(b"alse").and_then(|()| bool_value(false, ty)),
            b @ (b'-' | b'0'..=b'9') => {
                let start = self.at - 1;
                let number = self.number(b)?;
                number.datum(ty, &self.bytes[start..self.at])
            }
            _ => None,
        }
    }

    /// A string whose `"` has been read, through its closing `"`: borrowed from the record,
    /// or unescaped into the arena.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let (len, ascii) = to_special_ascii(&self.bytes[start..]);
        self.at += len;
        match self.next()? {
            b'"' if ascii => Some(ascii_str(&self.bytes[start..self.at - 1])),
            b'"' => std::str::from_utf8(&self.bytes[start..self.at - 1]).ok(),
            b'\\' => self.unescape(start),
            _ => None, // a control character
        }
    }

    /// The string begun at `start`, its first `\` just read.
    #[cold]
    fn unescape(&mut self, start: usize) -> Option<&'a str> {
        let mut text = self.bytes[start..self.at - 1].to_vec();
        loop {
            match self.next()? {
                b'u' => {
                    // A surrogate (a pair, or one alone) is left to the serde path.
                    let c = char::from_u32(u32::from(self.hex4()?))?;
                    text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                b => text.push(simple_escape(b)?),
            }
            let from = self.at;
            self.at += to_special(&self.bytes[from..]);
            text.extend_from_slice(&self.bytes[from..self.at]);
            match self.next()? {
                b'"' => break,
                b'\\' => {}
                _ => return None,
            }
        }
        let text = std::str::from_utf8(&text).ok()?;
        Some(self.arena.alloc_str(text))
    }

    /// The four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Option<u16> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        (digits.iter()).try_fold(0, |v, &b| Some(v << 4 | char::from(b).to_digit(16)? as u16))
    }

    /// Past a string whose `"` has been read, checking its escapes and that it holds no
    /// control character (as serde_json skips one: its bytes are not checked as UTF-8).
    fn skip_string(&mut self) -> Option<()> {
        loop {
            self.at += to_special(&self.bytes[self.at..]);
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'u' => {
                        self.hex4()?;
                    }
                    b => {
                        simple_escape(b)?;
                    }
                },
                _ => return None,
            }
        }
    }

    /// A number whose first byte (`-` or a digit) has been read, by JSON's grammar.
    fn number(&mut self, first: u8) -> Option<Number> {
        let negative = first == b'-';
        let first = if negative { self.next()? } else { first };
        let mut significand = match first {
            b'0' if matches!(self.peek(), Some(b'0'..=b'9')) => return None,
            b'0'..=b'9' => u64::from(first - b'0'),
            _ => return None,
        };
        if first != b'0' {
            significand = self.digits(significand)?.0;
        }
        let mut exponent = 0;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            let (fraction, digits) = self.digits(significand)?;
            if digits == 0 {
                return None;
            }
            (significand, exponent) = (fraction, -digits);
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            integer = false;
            let negative = match self.peek() {
                Some(b'-') => {
                    self.at += 1;
                    true
                }
                Some(b'+') => {
                    self.at += 1;
                    false
                }
                _ => false,
            };
            let start = self.at;
            let mut e = 0i32;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                if self.at - start == 4 {
                    return None;
                }
                e = e * 10 + i32::from(d - b'0');
                self.at += 1;
            }
            if self.at == start {
                return None;
            }
            exponent += if negative { -e } else { e };
        }
        Some(Number {
            negative,
            significand,
            exponent,
            integer,
        })
    }

    /// The digits that follow, appended to `significand`, and how many there were; `None`
    /// past `u64`.
    fn digits(&mut self, mut significand: u64) -> Option<(u64, i32)> {
        let start = self.at;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            significand = significand
                .checked_mul(10)?
                .checked_add(u64::from(d - b'0'))?;
            self.at += 1;
        }
        Some((significand, (self.at - start) as i32))
    }

    /// Past one value, its first byte not yet read, checking its syntax.
    fn skip(&mut self) -> Option<()> {
        // The open containers, innermost in the lowest bit: 1 for an object.
        let (mut objects, mut depth) = (0u64, 0u32);
        loop {
            match self.next()? {
                b'"' => self.skip_string()?,
                b'n' => self.literal(b"ull")?,
                b't' => self.literal(b"rue")?,
                b'f' => self.literal(b"alse")?,
                b @ (b'-' | b'0'..=b'9') => {
                    self.number(b)?;
                }
                open @ (b'{' | b'[') => {
                    self.ws();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                    } else {
                        if depth == 64 {
                            return None;
                        }
                        objects = objects << 1 | u64::from(open == b'{');
                        depth += 1;
                        if open == b'{' {
                            self.skip_name()?;
                        }
                        continue;
                    }
                }
                _ => return None,
            }
            // After a value: the containers it closes, up to a `,` or the end.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                let in_object = objects & 1 == 1;
                match self.next()? {
                    b',' => {
                        self.ws();
                        if in_object {
                            self.skip_name()?;
                        }
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    _ => return None,
                }
                objects >>= 1;
                depth -= 1;
            }
        }
    }

    /// Past `"name":` in an object being skipped, and the whitespace after it.
    fn skip_name(&mut self) -> Option<()> {
        self.expect(b'"')?;
        self.skip_string()?;
        self.ws();
        self.expect(b':')?;
        self.ws();
        Some(())
    }
}

/// The byte a one-letter escape (`\n`) stands for.
fn simple_escape(b: u8) -> Option<u8> {
    Some(match b {
        b'"' | b'\\' | b'/' => b,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

/// A JSON boolean as a datum of type `ty`, as the serde path takes it.
fn bool_value<'a>(b: bool, ty: DataType) -> Option<Datum<'a>> {
    match ty {
        DataType::Bool => Some(Datum::Bool(b)),
        DataType::String => Some(Datum::Str(if b { "true" } else { "false" })),
        _ => None,
    }
}

/// A JSON number as read: `significand × 10^exponent`.
struct Number {
    negative: bool,
    significand: u64,
    exponent: i32,
    /// No fraction and no exponent.
    integer: bool,
}

/// The powers of ten a double holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl Number {
    /// The datum of type `ty`, computed as serde_json computes the number: an integer as a
    /// `u64`, or as an `i64` when negative (`-0` and below `i64::MIN` as a double); otherwise
    /// a double, the significand multiplied or divided by a power of ten once (exact inputs to
    /// one rounding, so any correct parse agrees). A DECIMAL from an integer's `text` (the
    /// digits serde_json would print for it); not a STRING (its text is serde's to make).
    fn datum<'a>(&self, ty: DataType, text: &[u8]) -> Option<Datum<'a>> {
        enum Parsed {
            U64(u64),
            I64(i64),
            F64(f64),
        }
        let parsed = if !self.integer {
            let pow = POW10.get(self.exponent.unsigned_abs() as usize)?;
            let f = self.significand as f64;
            let f = if self.exponent >= 0 { f * pow } else { f / pow };
            Parsed::F64(if self.negative { -f } else { f })
        } else if !self.negative {
            Parsed::U64(self.significand)
        } else {
            match (self.significand as i64).wrapping_neg() {
                n if n >= 0 => Parsed::F64(-(self.significand as f64)),
                n => Parsed::I64(n),
            }
        };
        match (ty, parsed) {
            (DataType::Int | DataType::Timestamp | DataType::Interval, Parsed::U64(n)) => {
                i64::try_from(n).ok().map(Datum::Int)
            }
            (DataType::Int | DataType::Timestamp | DataType::Interval, Parsed::I64(n)) => {
                Some(Datum::Int(n))
            }
            (DataType::Float, Parsed::U64(n)) => Some(Datum::Float(OrderedFloat(n as f64))),
            (DataType::Float, Parsed::I64(n)) => Some(Datum::Float(OrderedFloat(n as f64))),
            (DataType::Float, Parsed::F64(f)) => Some(Datum::Float(OrderedFloat(f))),
            (DataType::Decimal(..), Parsed::U64(_) | Parsed::I64(_)) => {
                match text_value(std::str::from_utf8(text).ok()?, ty)? {
                    Datum::Decimal(m) => Some(Datum::Decimal(m)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// How many bytes of `s` come before its first `"`, `\` or control character (all of them
/// when there is none), looked at eight at a time.
#[inline]
fn to_special(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let hit = specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + (s[i..].iter())
        .position(|&b| is_special(b))
        .unwrap_or(s.len() - i)
}

/// [`to_special`], and whether the bytes before it are all ASCII (so UTF-8, unchecked).
#[inline]
fn to_special_ascii(s: &[u8]) -> (usize, bool) {
    let mut i = 0;
    // The high bits of the bytes passed.
    let mut high = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let hit = specials(w);
        if hit != 0 {
            let at = hit.trailing_zeros();
            // The bytes below the hit (`at` is the hit byte's high bit, so `at - 7` bits).
            let below = (1u64 << (at - 7)) - 1;
            return (i + (at / 8) as usize, (high | w & below) & HIGH == 0);
        }
        high |= w;
        i += 8;
    }
    let len = (s[i..].iter())
        .position(|&b| is_special(b))
        .unwrap_or(s.len() - i);
    (i + len, high & HIGH == 0 && s[i..i + len].is_ascii())
}

/// The high bit of each byte of a word.
const HIGH: u64 = ONES << 7;

/// Per byte of `w`, its high bit set where the byte is below 0x20, or equals `"` or `\`:
/// exact in the lowest such byte (a borrow only carries into the bytes above it).
#[inline(always)]
fn specials(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGH
}

/// Whether a string's scan stops at `b`.
#[inline(always)]
fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// `bytes`, all ASCII, as text.
#[allow(unsafe_code)]
fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: ASCII bytes are UTF-8 (the caller found no byte with its high bit set).
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_finds_the_first_special_byte_and_whether_text_before_it_is_ascii() {
        let naive = |s: &[u8]| {
            let len = (s.iter())
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(s.len());
            (len, s[..len].is_ascii())
        };
        // Every length to past four words, a special byte (or none) at every position, and a
        // byte with its high bit set (or none) at every position.
        for n in 0..36 {
            for special in [b'"', b'\\', 0x1f, 0, b'a', b'!', 0x7f] {
                for at in 0..=n {
                    for high in [None, Some(0xc3u8), Some(0x80), Some(0xff)] {
                        for h in 0..=n {
                            let mut s = vec![b'x'; n];
                            if at < n {
                                s[at] = special;
                            }
                            if let (Some(b), true) = (high, h < n) {
                                s[h] = b;
                            }
                            assert_eq!(to_special_ascii(&s), naive(&s), "{s:?}");
                            assert_eq!(to_special(&s), naive(&s).0, "{s:?}");
                        }
                    }
                }
            }
        }
    }
}
