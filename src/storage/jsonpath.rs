//! The JSON paths an index takes its value from: `$` (the whole value), then steps
//! `.name` (a member; names of letters, digits, `_` and `-`), `["any name"]` (a
//! member, as a JSON string) and `[N]` (array element N, from 0). No wildcards,
//! slices or filters: one path names at most one value, and an array found at the
//! path is not expanded (it is not indexed, as objects are not).

use serde_json::Value as Json;

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

    /// The value at the path, if there is one.
    pub(crate) fn find<'v>(&self, mut v: &'v Json) -> Option<&'v Json> {
        for step in &self.0 {
            v = match (step, v) {
                (Step::Member(m), Json::Object(o)) => o.get(m)?,
                (Step::Element(n), Json::Array(a)) => a.get(*n)?,
                _ => return None,
            };
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_and_find() {
        let doc = json!({"a": {"b-c": [10, {"d": "x"}]}, "odd key": 1, "": 2});
        let at = |p: &str| JsonPath::parse(p).unwrap().find(&doc).cloned();
        assert_eq!(at("$"), Some(doc.clone()));
        assert_eq!(at("$.a.b-c[0]"), Some(json!(10)));
        assert_eq!(at("$.a.b-c[1].d"), Some(json!("x")));
        assert_eq!(at("$[\"odd key\"]"), Some(json!(1)));
        assert_eq!(at("$[\"\"]"), Some(json!(2)));
        assert_eq!(at("$.a[\"b-c\"][5]"), None);
        assert_eq!(at("$.missing"), None);
        assert_eq!(at("$.a.b-c.d"), None);
        for bad in ["", "a", "$.", "$..a", "$[", "$[]", "$[-1]", "$[x]", "$[\"a\"", "$[\"a]", "$.a b", "$*", "$.a[*]"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
