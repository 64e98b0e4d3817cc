//! The JSON paths an index takes its value from: `$` (the whole value), then steps
//! `.name` (a member; names of letters, digits, `_` and `-`), `["any name"]` (a
//! member, as a JSON string) and `[N]` (array element N, from 0). No wildcards,
//! slices or filters: one path names at most one value, and an array found at the
//! path is not expanded (it is not indexed, as objects are not).

use std::borrow::Cow;

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Member(String),
    Element(usize),
}

/// A parsed JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JsonPath(Vec<Step>);

fn bad(path: &str, why: &str) -> Error {
    Error::invalid(format!("invalid JSON path {path:?}: {why} (paths are $, $.name, $[\"name\"], $[0] and chains of them)"))
}

impl JsonPath {
    pub(crate) fn parse(text: &str) -> Result<JsonPath> {
        let rest = text.strip_prefix('$').ok_or_else(|| bad(text, "it must start with $"))?;
        let b = rest.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let end = b[i + 1..]
                        .iter()
                        .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
                        .map_or(b.len(), |p| i + 1 + p);
                    if end == i + 1 {
                        return Err(bad(text, "a member name after '.' is missing or has other characters"));
                    }
                    steps.push(Step::Member(rest[i + 1..end].to_string()));
                    i = end;
                }
                b'[' if b.get(i + 1) == Some(&b'"') => {
                    // A JSON string, then ']'.
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b'"' {
                        j += if b[j] == b'\\' { 2 } else { 1 };
                    }
                    if j >= b.len() || b.get(j + 1) != Some(&b']') {
                        return Err(bad(text, "an unterminated [\"name\"]"));
                    }
                    let name: String =
                        serde_json::from_str(&rest[i + 1..=j]).map_err(|_| bad(text, "a bad string in [\"name\"]"))?;
                    steps.push(Step::Member(name));
                    i = j + 2;
                }
                b'[' => {
                    let end = b[i + 1..].iter().position(|&c| c == b']').map(|p| i + 1 + p);
                    let end = end.ok_or_else(|| bad(text, "an unterminated [N]"))?;
                    let digits = &rest[i + 1..end];
                    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad(text, "an array index must be a number from 0"));
                    }
                    let n = digits.parse().map_err(|_| bad(text, "an array index is too large"))?;
                    steps.push(Step::Element(n));
                    i = end + 1;
                }
                _ => return Err(bad(text, "unexpected character")),
            }
        }
        Ok(JsonPath(steps))
    }

}

/// A scalar found at a path, borrowed from the document unless it had escapes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Str(Cow<'a, str>),
}

/// Most paths one walk follows (a bit each of a `u64`).
pub(crate) const MAX_PATHS: usize = 64;

/// serde_json's nesting limit: a document nested this deep is not JSON to it.
const MAX_NESTING: usize = 128;

/// Walks the JSON document `doc` once, building no tree, following the paths of
/// `paths` whose bits are set in `active` (at most `MAX_PATHS`): calls `found(i, Some(v))`
/// when path `i` reaches the scalar `v`, and `found(i, None)` when a later member of the
/// same name replaces what it reached (a member named twice counts as its last
/// occurrence, as in a `serde_json::Value`); a path that reaches an array or an object
/// or nothing gets no call. Returns whether `doc` is JSON (when not, the calls made
/// mean nothing). What counts as JSON is exactly what `serde_json::from_slice::<Value>`
/// takes: UTF-8, the grammar, control characters and escapes in strings, numbers in
/// f64 range, nesting under 128; escaped strings and numbers are read by serde_json
/// itself, so the values found are those a `Value` holds.
pub(crate) fn find_all<'a>(
    doc: &'a [u8],
    paths: &[&JsonPath],
    active: u64,
    found: &mut dyn FnMut(usize, Option<Scalar<'a>>),
) -> bool {
    debug_assert!(paths.len() <= MAX_PATHS);
    if std::str::from_utf8(doc).is_err() {
        return false;
    }
    let mut w = Walk { b: doc, i: 0, paths, found };
    let ok = w.value(active, 0, 0).is_some();
    ok && {
        w.ws();
        w.i == doc.len()
    }
}

/// The walk's state: the document (UTF-8), the position in it.
struct Walk<'a, 'p, 'f> {
    b: &'a [u8],
    i: usize,
    paths: &'p [&'p JsonPath],
    found: &'f mut dyn FnMut(usize, Option<Scalar<'a>>),
}

/// `None`: not JSON.
type Parsed = Option<()>;


impl<'a> Walk<'a, '_, '_> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// The paths of `active` with `depth` steps (they end here).
    fn ending(&self, active: u64, depth: usize) -> u64 {
        self.select(active, |p| p.0.len() == depth)
    }

    fn select(&self, active: u64, f: impl Fn(&JsonPath) -> bool) -> u64 {
        let mut m = 0;
        let mut rest = active;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if f(self.paths[i]) {
                m |= 1 << i;
            }
        }
        m
    }

    /// Reports `v` to the paths of `ending`.
    fn report(&mut self, ending: u64, v: impl FnOnce() -> Option<Scalar<'a>>) -> Parsed {
        if ending != 0 {
            let v = v()?;
            let mut rest = ending;
            while rest != 0 {
                let i = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                (self.found)(i, Some(v.clone()));
            }
        }
        Some(())
    }

    /// One value (after whitespace), reached by the paths of `active` after `depth`
    /// steps, inside `nesting` arrays and objects.
    fn value(&mut self, active: u64, depth: usize, nesting: usize) -> Parsed {
        self.ws();
        let ending = if active == 0 { 0 } else { self.ending(active, depth) };
        match self.peek()? {
            b'{' => {
                if nesting + 1 >= MAX_NESTING {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    let on = if active & !ending == 0 { 0 } else { self.member(active, depth, &key) };
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.clear(on);
                    self.value(on, depth + 1, nesting + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if nesting + 1 >= MAX_NESTING {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                let mut n = 0;
                loop {
                    let on = if active & !ending == 0 { 0 } else { self.select(active, |p| p.0.get(depth) == Some(&Step::Element(n))) };
                    self.value(on, depth + 1, nesting + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                    n += 1;
                }
            }
            b'"' => {
                let text = self.string()?;
                self.report(ending, || {
                    Some(Scalar::Str(match text {
                        Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).ok()?),
                        Cow::Owned(v) => Cow::Owned(String::from_utf8(v).ok()?),
                    }))
                })
            }
            b't' => self.literal(b"true", ending, Scalar::Bool(true)),
            b'f' => self.literal(b"false", ending, Scalar::Bool(false)),
            b'n' => self.literal(b"null", ending, Scalar::Null),
            b'-' | b'0'..=b'9' => self.number(ending),
            _ => None,
        }
    }

    /// The paths of `active` whose step `depth` is member `key`.
    fn member(&self, active: u64, depth: usize, key: &[u8]) -> u64 {
        self.select(active, |p| matches!(p.0.get(depth), Some(Step::Member(m)) if m.as_bytes() == key))
    }

    /// A member named again replaces what its earlier occurrence reached.
    fn clear(&mut self, on: u64) {
        let mut rest = on;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            (self.found)(i, None);
        }
    }

    fn literal(&mut self, word: &[u8], ending: u64, v: Scalar<'a>) -> Parsed {
        if !self.b[self.i..].starts_with(word) {
            return None;
        }
        self.i += word.len();
        self.report(ending, || Some(v))
    }

    /// The string at the position (its UTF-8 bytes), borrowed unless it has escapes;
    /// one with escapes is read (and its escapes checked) by serde_json.
    fn string(&mut self) -> Option<Cow<'a, [u8]>> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2; // the escaped character never ends the string
                }
                0..=0x1f => return None, // a control character
                _ => self.i += 1,
            }
        }
        self.i += 1;
        if escaped {
            let text = self.b.get(start..self.i)?;
            Some(Cow::Owned(serde_json::from_slice::<String>(text).ok()?.into_bytes()))
        } else {
            Some(Cow::Borrowed(&self.b[start + 1..self.i - 1]))
        }
    }

    /// A number at the position, by JSON's grammar; its value (or, when it could be
    /// out of f64 range, its check) by serde_json.
    fn number(&mut self, ending: u64) -> Parsed {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => {
                self.i += 1;
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return None; // a leading zero
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let int_end = self.i;
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            self.digits();
            plain = false;
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            self.digits();
            exponent = true;
        }
        let text = &self.b[start..self.i];
        // Without an exponent, a number of under 300 integer digits is well inside f64 range.
        let maybe_out_of_range = exponent || int_end - start > 300;
        if ending == 0 && !maybe_out_of_range {
            return Some(());
        }
        let v = if plain && !exponent && int_end - start <= 16 {
            // Exact in f64, as serde_json takes it (an integer, then `as f64`).
            let (neg, digits) = text.strip_prefix(b"-").map_or((false, text), |d| (true, d));
            let n = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64;
            if neg {
                -n
            } else {
                n
            }
        } else {
            serde_json::from_slice::<f64>(text).ok()?
        };
        self.report(ending, || Some(Scalar::Number(v)))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value as Json;

    /// What the path names in a `serde_json::Value` of `doc`: the reference `find_all` must match.
    fn reference(path: &JsonPath, doc: &[u8]) -> Option<Scalar<'static>> {
        let root: Json = serde_json::from_slice(doc).ok()?;
        let mut v = &root;
        for step in &path.0 {
            v = match (step, v) {
                (Step::Member(m), Json::Object(o)) => o.get(m)?,
                (Step::Element(n), Json::Array(a)) => a.get(*n)?,
                _ => return None,
            };
        }
        Some(match v {
            Json::Null => Scalar::Null,
            Json::Bool(b) => Scalar::Bool(*b),
            Json::Number(n) => Scalar::Number(n.as_f64()?),
            Json::String(s) => Scalar::Str(Cow::Owned(s.clone())),
            Json::Array(_) | Json::Object(_) => return None,
        })
    }

    /// What `find_all` reaches by every path of `paths`: `None` when `doc` is not JSON.
    fn walk<'a>(doc: &'a [u8], paths: &[&JsonPath]) -> Option<Vec<Option<Scalar<'a>>>> {
        let mut out = vec![None; paths.len()];
        let all = if paths.len() == MAX_PATHS { u64::MAX } else { (1 << paths.len()) - 1 };
        find_all(doc, paths, all, &mut |i, v| out[i] = v).then_some(out)
    }

    /// `find_all` of every path at once and of each alone, against the reference.
    fn agrees(doc: &[u8], paths: &[&str]) {
        let parsed: Vec<JsonPath> = paths.iter().map(|p| JsonPath::parse(p).unwrap()).collect();
        let refs: Vec<&JsonPath> = parsed.iter().collect();
        let out = walk(doc, &refs);
        assert_eq!(out.is_some(), serde_json::from_slice::<Json>(doc).is_ok(), "{}", String::from_utf8_lossy(doc));
        let out = out.unwrap_or_else(|| vec![None; refs.len()]);
        for (i, p) in parsed.iter().enumerate() {
            let want = reference(p, doc);
            assert_eq!(out[i], want, "{} in {}", paths[i], String::from_utf8_lossy(doc));
            let one = walk(doc, &[p]).and_then(|mut o| o.pop().flatten());
            assert_eq!(one, want, "{} alone in {}", paths[i], String::from_utf8_lossy(doc));
        }
    }

    const PATHS: &[&str] =
        &["$", "$.a", "$.a.b", "$.a[0]", "$.a[1].b", "$.b", "$[\"a b\"]", "$[\"\"]", "$[0]", "$[1]", "$.a.a", "$[\"é\"]"];

    #[test]
    fn paths_parse_and_find() {
        let doc = br#"{"a": {"b-c": [10, {"d": "x"}]}, "odd key": 1, "": 2}"#;
        let at = |p: &str| walk(doc, &[&JsonPath::parse(p).unwrap()]).unwrap().pop().flatten();
        assert_eq!(at("$"), None, "an object is not a scalar");
        assert_eq!(at("$.a.b-c[0]"), Some(Scalar::Number(10.0)));
        assert_eq!(at("$.a.b-c[1].d"), Some(Scalar::Str("x".into())));
        assert_eq!(at("$[\"odd key\"]"), Some(Scalar::Number(1.0)));
        assert_eq!(at("$[\"\"]"), Some(Scalar::Number(2.0)));
        assert_eq!(at("$.a[\"b-c\"][5]"), None);
        assert_eq!(at("$.missing"), None);
        assert_eq!(at("$.a.b-c.d"), None);
        for bad in ["", "a", "$.", "$..a", "$[", "$[]", "$[-1]", "$[x]", "$[\"a\"", "$[\"a]", "$.a b", "$*", "$.a[*]"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_walk_finds_what_a_value_holds() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let docs: Vec<Vec<u8>> = [
            r#"{"a": 1, "b": "x"}"#,
            r#"{"a": {"b": 1}, "a": {"c": 2}}"#, // a member named twice: the last counts
            r#"{"a": {"b": 1}, "a": 3}"#,
            r#"{"a": 1, "a": {"b": 2}}"#,
            r#"{"a": [5, {"b": true}], "b": null}"#,
            r#"{"\u0061": "escaped name", "a b": -0.0, "": 1e300, "é": "ü"}"#,
            r#"{"a": "\ud83d\ude00 and \n"}"#,
            r#"{"a": "\ud800"}"#,       // a lone surrogate: not JSON to serde_json
            r#"{"b": "\ud800", "a": 1}"#, // ... off the path too
            r#"{"a": 1e400}"#,          // out of range
            r#"{"a": 18446744073709551615, "b": -9223372036854775808}"#,
            r#"[1, "two", [3]]"#,
            r#"  "top"  "#,
            r#"{"a": 1} x"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1"#,
            "",
            "not json",
            r#"{"a": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}"#,
            r#"{"a": -0, "b": 0.0e0, "a b": 1E+2, "": -1.5e-3}"#,
            r#"{"a": 9007199254740993, "b": -9007199254740993, "": 12345678901234567890123}"#,
            r#"{"a": 1e309}"#,
            r#"{"b": 1e309, "a": 1}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": .5}"#,
            r#"{"a": -}"#,
            r#"{"a": 1e}"#,
            r#"{"a": +1}"#,
            r#"{"a": tru}"#,
            r#"{"a": nul}"#,
            r#"{"a" 1}"#,
            r#"{a: 1}"#,
            r#"[1,]"#,
            r#"[,1]"#,
            r#"{,}"#,
            r#"{"a": 1 "b": 2}"#,
            r#"{"a": "\x"}"#,
            r#"{"b": "\x", "a": 1}"#,
            r#"{"a": "\u00e9\u0000"}"#,
            r#"{"a\"b": 1, "a": "q\"uote"}"#,
            "{\"a\": \"tab\there\"}",
            "{\"a\": 1}\n\t ",
            "\u{feff}{\"a\": 1}",
            "{\"a\": \"\u{1}\"}",
        ]
        .iter()
        .map(|d| d.as_bytes().to_vec())
        .chain([b"{\"a\": \"\xff\"}".to_vec(), b"{\"b\": \"\xff\", \"a\": 1}".to_vec()]) // not UTF-8
        .chain([200, 127, 126, 100].map(|n| format!(r#"{{"a": {}, "b": 1}}"#, deep(n)).into_bytes()))
        .chain([128, 127].map(|n| deep(n).into_bytes()))
        .collect();
        for doc in &docs {
            agrees(doc, PATHS);
        }
    }

    /// JSON text with repeated member names, escapes and nesting.
    fn json_text() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec!["a", "b", "a b", "", "é", "\\u0061"]);
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
            "[a-z\\\\\"]{0,4}".prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        ];
        leaf.prop_recursive(4, 32, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec((name.clone(), inner), 0..5).prop_map(|v| {
                    format!("{{{}}}", v.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect::<Vec<_>>().join(", "))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn one_walk_agrees_on_any_json(doc in json_text()) {
            agrees(doc.as_bytes(), PATHS);
        }
    }
}
