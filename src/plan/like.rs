//! SQL `LIKE` patterns: what they mean, for the planner (which checks constant patterns before
//! anything runs) and for evaluation (`render::scalar`).

/// One element of a `LIKE` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeToken {
    /// A character that must match itself (a wildcard character after the escape is one).
    Char(char),
    /// `_`: any one character.
    One,
    /// `%`: any run of characters, possibly empty.
    Run,
}

/// Why a `LIKE` pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePatternError(pub String);

/// Split a `LIKE` pattern into tokens. The escape character must be followed by `%`, `_` or
/// itself, which then stand for themselves; anything else after it (or nothing) makes the
/// pattern invalid, as in Flink.
fn tokens(pattern: &str, escape: Option<char>) -> Result<Vec<LikeToken>, LikePatternError> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            c if Some(c) == escape => match chars.next() {
                Some(next) if next == '%' || next == '_' || next == c => LikeToken::Char(next),
                Some(next) => {
                    return Err(LikePatternError(format!(
                        "invalid escape sequence '{c}{next}' in LIKE pattern '{pattern}' (the escape character may precede only %, _ or itself)"
                    )))
                }
                None => {
                    return Err(LikePatternError(format!(
                        "LIKE pattern '{pattern}' ends with its escape character '{c}'"
                    )))
                }
            },
            '%' => LikeToken::Run,
            '_' => LikeToken::One,
            c => LikeToken::Char(c),
        });
    }
    Ok(out)
}

/// Check a `LIKE` pattern (the planner checks constant patterns before anything runs).
pub fn check_pattern(pattern: &str, escape: Option<char>) -> Result<(), LikePatternError> {
    tokens(pattern, escape).map(|_| ())
}

/// SQL `LIKE`: `%` matches any run of characters, `_` any one character, the escape character
/// (if any) makes the next pattern character literal. `None` for an invalid pattern.
pub fn like(s: &str, pattern: &str, escape: Option<char>) -> Option<bool> {
    let p = tokens(pattern, escape).ok()?;
    let s: Vec<char> = s.chars().collect();
    // Greedy matching that, on a mismatch, lets the last `%` seen swallow one more character
    // and retries from there. Backtracking to the last `%` alone suffices: an earlier `%`
    // could only take fewer characters, which the later one can make up for.
    let (mut i, mut j) = (0, 0);
    let mut last_run: Option<(usize, usize)> = None; // (pattern index of `%`, text index)
    while i < s.len() {
        match p.get(j) {
            Some(LikeToken::Run) => {
                last_run = Some((j, i));
                j += 1;
                continue;
            }
            Some(LikeToken::One) => {
                i += 1;
                j += 1;
                continue;
            }
            Some(LikeToken::Char(c)) if *c == s[i] => {
                i += 1;
                j += 1;
                continue;
            }
            _ => {}
        }
        match last_run.as_mut() {
            Some((run, taken)) => {
                *taken += 1;
                i = *taken;
                j = *run + 1;
            }
            None => return Some(false),
        }
    }
    Some(p[j..].iter().all(|t| *t == LikeToken::Run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards() {
        let l = |s, p| like(s, p, None).unwrap();
        assert!(l("hello", "h%o"));
        assert!(l("hello", "h_llo"));
        assert!(!l("hello", "h_lo"));
        assert!(l("", "%"));
        assert!(l("abcabc", "%bc"));
        // A `%` in the data is an ordinary character for a `%` in the pattern.
        assert!(l("a%c", "a%"));
        assert!(l("a%%c", "%%c"));
        assert!(like("100%", "%!%%", Some('!')).unwrap());
        assert!(!like("100", "%!%%", Some('!')).unwrap());
        assert!(like("a_b", "a!_b", Some('!')).unwrap());
        assert!(!like("axb", "a!_b", Some('!')).unwrap());
        assert!(like("a!b", "a!!b", Some('!')).unwrap());
        assert_eq!(like("a", "a!", Some('!')), None);
        assert_eq!(like("ab", "a!b", Some('!')), None);
    }

    proptest::proptest! {
        /// Against a reference: the pattern translated into an anchored regular expression.
        #[test]
        fn like_matches_a_regex_reference(
            s in "[ab%_!]{0,8}",
            p in "[ab%_!]{0,6}",
            escaped in proptest::bool::ANY,
        ) {
            let escape = escaped.then_some('!');
            let mut re = String::from("(?s)^");
            let mut chars = p.chars();
            let mut valid = true;
            while let Some(c) = chars.next() {
                match c {
                    c if Some(c) == escape => match chars.next() {
                        Some(n) if n == '%' || n == '_' || n == c => {
                            re.push_str(&regex::escape(&n.to_string()))
                        }
                        _ => valid = false,
                    },
                    '%' => re.push_str(".*"),
                    '_' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            let got = like(&s, &p, escape);
            if valid {
                let want = regex::Regex::new(&re).unwrap().is_match(&s);
                proptest::prop_assert_eq!(got, Some(want), "{:?} LIKE {:?} escape {:?}", s, p, escape);
            } else {
                proptest::prop_assert_eq!(got, None);
            }
        }
    }
}
