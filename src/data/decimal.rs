//! Exact decimals: a `DECIMAL(p, s)` value is held as an integer count of `10^-s` (its
//! mantissa: `12.34` at scale 2 is `1234`), 128 bits wide, with the scale in the column's
//! type. Arithmetic on mantissas is integer arithmetic, so sums and comparisons are exact; a
//! value of more than [`MAX_PRECISION`] digits is an overflow, reported as an evaluation
//! error, never rounded silently.
//!
//! Rounding, where a scale shrinks, is half away from zero (`HALF_UP` in Java), as in Flink.

/// A mantissa as a row holds it: an `i128` in two 64-bit halves, so a [`Datum`] stays 24
/// bytes (an `i128` would align it to 16). The derived order is the `i128` order.
///
/// [`Datum`]: super::Datum
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mantissa {
    hi: i64,
    lo: u64,
}

impl Mantissa {
    /// The mantissa `m`.
    pub fn new(m: i128) -> Mantissa {
        Mantissa {
            hi: (m >> 64) as i64,
            lo: m as u64,
        }
    }

    /// Its value.
    pub fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }
}

/// The largest precision `DECIMAL(p, s)` may declare (as in Flink).
pub const MAX_PRECISION: u8 = 38;

/// `10^n`, for `n <= 38` (read from a table: every cast, rescale and precision check of a
/// decimal takes one or two).
pub fn pow10(n: u32) -> i128 {
    POW10
        .get(n as usize)
        .copied()
        .unwrap_or_else(|| 10i128.pow(n))
}

/// `10^0` to `10^38`.
const POW10: [i128; MAX_PRECISION as usize + 1] = {
    let mut table = [1i128; MAX_PRECISION as usize + 1];
    let mut n = 1;
    while n < table.len() {
        table[n] = table[n - 1] * 10;
        n += 1;
    }
    table
};

/// Whether `m` is a mantissa of at most [`MAX_PRECISION`] digits.
pub fn in_range(m: i128) -> bool {
    m.unsigned_abs() < pow10(u32::from(MAX_PRECISION)).unsigned_abs()
}

/// Decimal text (`-12.5`, `.5`, `1e3`, `+7`) as a mantissa at `scale`, rounded half up;
/// `None` when it is not a number or has more than [`MAX_PRECISION`] digits.
pub fn parse(text: &str, scale: u8) -> Option<i128> {
    let t = text.trim();
    let (negative, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (number, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // digits × 10^(exponent - fraction digits), brought to `scale`.
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let shift = i64::from(exponent) - fraction.len() as i64 + i64::from(scale);
    let keep = (digits.len() as i64 + shift.min(0)).max(0) as usize;
    let mut m: i128 = 0;
    let mut round_up = false;
    for (i, b) in digits.bytes().enumerate() {
        if i < keep {
            m = m.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        } else if i == keep {
            round_up = b >= b'5';
        }
    }
    if shift > 0 && m != 0 {
        m = m.checked_mul(pow10(u32::try_from(shift).ok().filter(|s| *s <= 38)?))?;
    }
    if round_up {
        m += 1;
    }
    let m = if negative { -m } else { m };
    in_range(m).then_some(m)
}

/// A mantissa at `scale` as text with exactly `scale` fraction digits (`-0.50`).
pub fn format(m: i128, scale: u8) -> String {
    let digits = m.unsigned_abs().to_string();
    let sign = if m < 0 { "-" } else { "" };
    let s = usize::from(scale);
    if s == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = s + 1);
    let (whole, fraction) = padded.split_at(padded.len() - s);
    format!("{sign}{whole}.{fraction}")
}

/// A mantissa moved from scale `from` to scale `to` (rounded half up when it shrinks);
/// `None` when it has more than [`MAX_PRECISION`] digits at `to`.
pub fn rescale(m: i128, from: u8, to: u8) -> Option<i128> {
    let r = if to == from {
        m
    } else if to > from {
        multiply(m, pow10(u32::from(to - from)))?
    } else {
        divide_half_up(m, pow10(u32::from(from - to)))
    };
    in_range(r).then_some(r)
}

/// `a × b`, `None` on overflow of 128 bits. Two mantissas of at most 18 digits (most
/// values: a BIGINT's, a price's) multiply as 64-bit halves, which cannot overflow.
pub fn multiply(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => Some(i128::from(a) * i128::from(b)),
        _ => a.checked_mul(b),
    }
}

/// `a / b` rounded half away from zero (`b != 0`).
pub fn divide_half_up(a: i128, b: i128) -> i128 {
    let (q, r) = (a / b, a % b);
    // |r| >= |b| / 2, without overflowing 2 * r.
    if r.unsigned_abs() >= b.unsigned_abs() - r.unsigned_abs() {
        q + (a.signum() * b.signum())
    } else {
        q
    }
}

/// `a × 10^shift / b`, rounded half up, computed digit by digit so no intermediate value
/// overflows; `None` when `b` is 0 or the quotient has more than [`MAX_PRECISION`] digits.
pub fn divide(a: i128, b: i128, shift: i32) -> Option<i128> {
    if b == 0 {
        return None;
    }
    let negative = (a < 0) != (b < 0);
    let (a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    let mut digits = shift;
    if digits < 0 {
        b = b.checked_mul(10u128.checked_pow(digits.unsigned_abs())?)?;
        digits = 0;
    }
    // One long-division step: (⌊10r / b⌋, 10r mod b) for r < b, without computing 10r.
    let step = |r: u128| -> (u128, u128) {
        if let Some(ten) = r.checked_mul(10) {
            return (ten / b, ten % b);
        }
        let (mut digit, mut t) = (0, r);
        for _ in 1..10 {
            // t < b and r < b, both below 2^127: the sum fits.
            t += r;
            if t >= b {
                t -= b;
                digit += 1;
            }
        }
        (digit, t)
    };
    let (mut q, mut r) = (a / b, a % b);
    for _ in 0..digits {
        let (d, next) = step(r);
        q = q.checked_mul(10)?.checked_add(d)?;
        r = next;
    }
    if step(r).0 >= 5 {
        q += 1;
    }
    let q = i128::try_from(q).ok()?;
    let q = if negative { -q } else { q };
    in_range(q).then_some(q)
}

/// Whether the mantissa `m` fits `DECIMAL(precision, _)`.
pub fn fits(m: i128, precision: u8) -> bool {
    m.unsigned_abs() < pow10(u32::from(precision.min(MAX_PRECISION))).unsigned_abs()
}

/// A mantissa at `scale` as the nearest double.
pub fn to_f64(m: i128, scale: u8) -> f64 {
    format(m, scale).parse().unwrap_or(f64::NAN)
}

/// A double as a mantissa at `scale` (from its shortest exact text, rounded half up); `None`
/// for NaN, infinities and values that do not fit.
pub fn from_f64(x: f64, scale: u8) -> Option<i128> {
    if !x.is_finite() {
        return None;
    }
    parse(&format!("{x:e}"), scale)
}

/// The precision and scale of a literal as Flink types it: `0.908` is `DECIMAL(3, 3)`,
/// `12.50` is `DECIMAL(4, 2)`.
pub fn literal_type(text: &str) -> (u8, u8) {
    let t = text.trim_start_matches(['-', '+']);
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let whole = whole.trim_start_matches('0');
    let scale = fraction.len().min(usize::from(MAX_PRECISION)) as u8;
    let precision = (whole.len() + fraction.len()).clamp(1, usize::from(MAX_PRECISION)) as u8;
    (precision.max(scale), scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rounds_half_up_at_the_scale() {
        assert_eq!(parse("12.345", 2), Some(1235));
        assert_eq!(parse("-12.345", 2), Some(-1235));
        assert_eq!(parse("12.344", 2), Some(1234));
        assert_eq!(parse("7", 3), Some(7000));
        assert_eq!(parse(".5", 0), Some(1));
        assert_eq!(parse("1.5e2", 0), Some(150));
        assert_eq!(parse("1e-3", 3), Some(1));
        assert_eq!(parse("0.0004", 3), Some(0));
        assert_eq!(parse("00012.10", 2), Some(1210));
        assert_eq!(parse("abc", 2), None);
        assert_eq!(parse("1.2.3", 2), None);
        assert_eq!(parse("", 2), None);
        assert_eq!(parse("99999999999999999999", 0), Some(99999999999999999999));
        assert_eq!(parse(&"9".repeat(38), 0), Some(pow10(38) - 1));
        assert_eq!(parse(&"9".repeat(39), 0), None);
        assert_eq!(parse("1", 38), None);
        assert_eq!(parse("0", 38), Some(0));
    }

    #[test]
    fn format_keeps_the_scale() {
        assert_eq!(format(1235, 2), "12.35");
        assert_eq!(format(-5, 2), "-0.05");
        assert_eq!(format(0, 3), "0.000");
        assert_eq!(format(42, 0), "42");
    }

    #[test]
    fn rescale_and_divide() {
        assert_eq!(rescale(1235, 2, 1), Some(124));
        assert_eq!(rescale(-1235, 2, 1), Some(-124));
        assert_eq!(rescale(1234, 2, 4), Some(123400));
        assert_eq!(rescale(pow10(37), 0, 1), None);
        assert_eq!(rescale(-1234, 3, 3), Some(-1234));
        assert_eq!(rescale(pow10(38), 3, 3), None);
        // Products of 64-bit halves and of wider mantissas, as 128-bit arithmetic has them.
        let edges = [
            0,
            1,
            -1,
            908,
            i64::MAX as i128,
            i64::MIN as i128,
            1 << 63,
            pow10(30),
        ];
        for a in edges {
            for b in edges {
                assert_eq!(multiply(a, b), a.checked_mul(b), "{a} * {b}");
            }
        }
        assert_eq!(multiply(i128::MAX, 2), None);
        assert_eq!(divide_half_up(i128::MAX, i128::MAX - 1), 1);
        assert_eq!(divide_half_up(7, 2), 4);
        assert_eq!(divide_half_up(-7, 2), -4);
        assert_eq!(divide_half_up(5, 3), 2);
        assert!(fits(999, 3) && !fits(1000, 3));
        // 10.25 / 3 at scale 22; 1 / 3 at 0; -2 / 3 at 1 (half up, away from zero).
        assert_eq!(divide(1025, 3, 20), Some(34166666666666666666667));
        assert_eq!(divide(1, 3, 0), Some(0));
        assert_eq!(divide(-2, 3, 1), Some(-7));
        assert_eq!(divide(5, 0, 1), None);
        assert_eq!(divide(150, 1, -2), Some(2));
        let big = pow10(38) - 1;
        assert_eq!(divide(big - 1, big, 37), Some(pow10(37)));
        assert_eq!(divide(big, 1, 1), None);
        assert_eq!(Mantissa::new(-5).get(), -5);
        assert_eq!(Mantissa::new(i128::MIN).get(), i128::MIN);
        assert!(Mantissa::new(-1) < Mantissa::new(0) && Mantissa::new(1 << 70) > Mantissa::new(3));
    }

    #[test]
    fn doubles_and_literals() {
        assert_eq!(from_f64(0.1, 3), Some(100));
        assert_eq!(from_f64(1120986.836 - 1e-10, 3), Some(1120986836));
        assert_eq!(from_f64(f64::NAN, 3), None);
        assert_eq!(to_f64(1235, 2), 12.35);
        assert_eq!(literal_type("0.908"), (3, 3));
        assert_eq!(literal_type("12.50"), (4, 2));
        assert_eq!(literal_type("100"), (3, 0));
    }
}
