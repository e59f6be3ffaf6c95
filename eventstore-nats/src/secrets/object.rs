//! A JSON object written field by field, in the order given (the callers
//! give the sorted, de-duplicated fields of a parsed body), as serde_json
//! writes a map: no spaces, names escaped, values as given.

/// A JSON object being written.
pub(crate) struct Object {
    text: String,
}

impl Object {
    /// An empty object with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        Self { text }
    }

    /// Adds the field `name` with the JSON text `value`.
    pub(crate) fn field(&mut self, name: &str, value: &str) {
        self.name(name);
        self.text.push_str(value);
    }

    /// Adds the field `name` with the string `sealed`, a sealed value,
    /// which holds nothing JSON escapes.
    pub(crate) fn sealed_field(&mut self, name: &str, sealed: &str) {
        debug_assert!(!sealed.contains(['"', '\\']), "{sealed}");
        self.name(name);
        self.text.push('"');
        self.text.push_str(sealed);
        self.text.push('"');
    }

    /// The object's text.
    pub(crate) fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }

    /// Writes the separator and `name`, escaped, and its colon.
    fn name(&mut self, name: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        escape(&mut self.text, name);
        self.text.push(':');
    }
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it.
fn escape(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn an_object_is_written_as_serde_json_writes_a_map() {
        let names = [
            "",
            "a b",
            "ctl\n\r\t\u{8}\u{c}\u{1}\u{1f}",
            "quote\"back\\slash",
            "ü🦀/",
        ];
        let mut object = Object::with_capacity(0);
        let mut map = BTreeMap::new();
        for (n, name) in names.iter().enumerate() {
            object.field(name, &n.to_string());
            map.insert(*name, n);
        }
        assert_eq!(object.finish(), serde_json::to_string(&map).unwrap());
        let mut sealed = Object::with_capacity(0);
        sealed.sealed_field("f", "3:AB+/=");
        sealed.field("g", "null");
        assert_eq!(sealed.finish(), r#"{"f":"3:AB+/=","g":null}"#);
        assert_eq!(Object::with_capacity(0).finish(), "{}");
    }
}
