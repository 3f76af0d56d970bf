//! Verbs and their regular English inflections ("fly" → "flies", "flying").

/// A verb with the two inflections the captions use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verb {
    /// "run".
    pub base: String,
    /// "runs".
    pub third: String,
    /// "running".
    pub gerund: String,
}

impl Verb {
    /// Inflect a regular English verb ("fly" → "flies", "flying"; "run" → "runs", "running").
    pub fn regular(base: &str) -> Verb {
        Verb {
            base: base.to_string(),
            third: third_person(base),
            gerund: gerund(base),
        }
    }
}

fn is_vowel(c: u8) -> bool {
    b"aeiou".contains(&c)
}

fn third_person(v: &str) -> String {
    let b = v.as_bytes();
    if v.ends_with('s')
        || v.ends_with("sh")
        || v.ends_with("ch")
        || v.ends_with('x')
        || v.ends_with('o')
    {
        format!("{v}es")
    } else if v.ends_with('y') && b.len() > 1 && !is_vowel(b[b.len() - 2]) {
        format!("{}ies", &v[..v.len() - 1])
    } else {
        format!("{v}s")
    }
}

fn gerund(v: &str) -> String {
    let b = v.as_bytes();
    let n = b.len();
    if v.ends_with("ie") {
        format!("{}ying", &v[..n - 2])
    } else if v.ends_with('e') && !v.ends_with("ee") && n > 2 {
        format!("{}ing", &v[..n - 1])
    } else if (3..=4).contains(&n)
        && !is_vowel(b[n - 3])
        && is_vowel(b[n - 2])
        && !is_vowel(b[n - 1])
        && !b"wxy".contains(&b[n - 1])
    {
        // Short consonant-vowel-consonant verbs double the last letter: run → running.
        format!("{v}{}ing", b[n - 1] as char)
    } else {
        format!("{v}ing")
    }
}
