//! A small, strict iCalendar content-line reader (RFC 5545 §3.1): unfolding, parameters with
//! quoted values, and the BEGIN/END nesting of components, keeping for every property and
//! component its physical line number and its byte range in the original text (so that
//! `split_calendar` can copy events byte for byte and errors can name the line a person sees).

use std::ops::Range;

use crate::error::{Error, Result};

/// An invalid-input error naming a (1-based, physical) line.
pub(crate) fn line_error(line: usize, message: impl std::fmt::Display) -> Error {
    Error::invalid(format!("line {line}: {message}"))
}

/// One parameter: its name (upper case) and its values (unquoted, RFC 6868 `^` escapes decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: String,
    pub values: Vec<String>,
}

/// One unfolded content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Property {
    /// The name, upper case.
    pub name: String,
    pub params: Vec<Param>,
    /// The raw value (unfolded, not unescaped).
    pub value: String,
    /// The physical line the content line starts on (1-based).
    pub line: usize,
    /// The bytes of the content line in the original text, folds and line ending included.
    pub span: Range<usize>,
}

impl Property {
    /// The first value of the parameter `name` (upper case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }
}

/// A component with its properties and nested components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Component {
    /// The name, upper case (`VCALENDAR`, `VEVENT`, …).
    pub name: String,
    pub properties: Vec<Property>,
    pub children: Vec<Component>,
    /// The line of its BEGIN.
    pub line: usize,
    /// The bytes from the start of its BEGIN line to the end of its END line (line ending
    /// included when there is one).
    pub span: Range<usize>,
}

impl Component {
    /// The properties named `name` (upper case).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Property> + 'a {
        self.properties.iter().filter(move |p| p.name == name)
    }

    /// The only property named `name`, or an error naming the second one when it repeats.
    pub fn single(&self, name: &str) -> Result<Option<&Property>> {
        let mut found = self.properties.iter().filter(|p| p.name == name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(line_error(
                second.line,
                format!(
                    "{name} appears more than once in {} (first at line {})",
                    self.name,
                    first.map_or(0, |p| p.line)
                ),
            ));
        }
        Ok(first)
    }
}

/// A logical (unfolded) line before it is split into name, parameters and value.
struct Logical {
    text: String,
    line: usize,
    span: Range<usize>,
}

/// Splits the text into logical lines: `\r\n` or `\n` end a physical line; a physical line that
/// starts with a space or a tab continues the previous one (the one white-space character is
/// dropped). Empty physical lines are skipped.
fn unfold(text: &str) -> Result<Vec<Logical>> {
    let mut out: Vec<Logical> = Vec::new();
    let mut offset = 0;
    let mut number = 0;
    let mut previous_blank = true;
    while offset < text.len() {
        number += 1;
        let rest = &text[offset..];
        let (content_len, full_len) = match rest.find('\n') {
            Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => (i - 1, i + 1),
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        let content = &rest[..content_len];
        let span = offset..offset + full_len;
        offset += full_len;
        if content.is_empty() {
            previous_blank = true;
            continue;
        }
        if let Some(cont) = content.strip_prefix([' ', '\t']) {
            match out.last_mut() {
                Some(last) if !previous_blank => {
                    last.text.push_str(cont);
                    last.span.end = span.end;
                }
                _ => {
                    return Err(line_error(
                        number,
                        "a folded continuation line (starting with white space) follows no content line",
                    ))
                }
            }
        } else {
            out.push(Logical {
                text: content.to_owned(),
                line: number,
                span,
            });
        }
        previous_blank = false;
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Decodes RFC 6868 escapes in a parameter value: `^n` newline, `^^` caret, `^'` double quote.
fn decode_param(value: &str) -> String {
    if !value.contains('^') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            match chars.peek() {
                Some('n') | Some('N') => {
                    out.push('\n');
                    chars.next();
                }
                Some('^') => {
                    out.push('^');
                    chars.next();
                }
                Some('\'') => {
                    out.push('"');
                    chars.next();
                }
                _ => out.push('^'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits one logical line into name, parameters and value.
fn parse_line(logical: Logical) -> Result<Property> {
    let line = logical.line;
    let text = logical.text.as_str();
    let name_end = text.find([';', ':']).ok_or_else(|| {
        line_error(
            line,
            format!(
                "{:?} is not a content line (NAME[;PARAM=VALUE]:VALUE); the ':' is missing",
                shorten(text)
            ),
        )
    })?;
    let name = &text[..name_end];
    if name.is_empty() || !name.chars().all(is_name_char) {
        return Err(line_error(
            line,
            format!("{:?} is not a property name", shorten(name)),
        ));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after
            .find('=')
            .ok_or_else(|| line_error(line, format!("parameter without '=' in property {name}")))?;
        let pname = &after[..eq];
        if pname.is_empty() || !pname.chars().all(is_name_char) {
            return Err(line_error(
                line,
                format!(
                    "{:?} is not a parameter name (property {name})",
                    shorten(pname)
                ),
            ));
        }
        let mut values = Vec::new();
        let mut cursor = &after[eq + 1..];
        loop {
            if let Some(quoted) = cursor.strip_prefix('"') {
                let close = quoted.find('"').ok_or_else(|| {
                    line_error(
                        line,
                        format!("unterminated quoted value of parameter {pname} (property {name})"),
                    )
                })?;
                values.push(decode_param(&quoted[..close]));
                cursor = &quoted[close + 1..];
            } else {
                let end = cursor.find([',', ';', ':', '"']).unwrap_or(cursor.len());
                if cursor[end..].starts_with('"') {
                    return Err(line_error(
                        line,
                        format!("stray '\"' in the value of parameter {pname} (property {name})"),
                    ));
                }
                values.push(decode_param(&cursor[..end]));
                cursor = &cursor[end..];
            }
            match cursor.strip_prefix(',') {
                Some(next) => cursor = next,
                None => break,
            }
        }
        if !(cursor.starts_with(';') || cursor.starts_with(':')) {
            return Err(line_error(
                line,
                format!("the value of parameter {pname} (property {name}) is not followed by ';' or ':'"),
            ));
        }
        params.push(Param {
            name: pname.to_ascii_uppercase(),
            values,
        });
        rest = cursor;
    }
    let value = rest
        .strip_prefix(':')
        .ok_or_else(|| line_error(line, format!("property {name} has no ':' before its value")))?;
    Ok(Property {
        name: name.to_ascii_uppercase(),
        params,
        value: value.to_owned(),
        line,
        span: logical.span,
    })
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        let mut s: String = text.chars().take(40).collect();
        s.push('…');
        s
    } else {
        text.to_owned()
    }
}

/// Parses the whole text into its top-level components.
///
/// # Errors
///
/// Invalid input naming the line: a malformed content line, a property outside any component,
/// an END that closes another component than the last BEGIN, a BEGIN without END.
pub(crate) fn parse_components(text: &str) -> Result<Vec<Component>> {
    let mut top: Vec<Component> = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    for logical in unfold(text)? {
        let prop = parse_line(logical)?;
        match prop.name.as_str() {
            "BEGIN" => {
                let name = prop.value.trim().to_ascii_uppercase();
                if name.is_empty() || !name.chars().all(is_name_char) {
                    return Err(line_error(
                        prop.line,
                        format!("BEGIN names no component ({:?})", shorten(&prop.value)),
                    ));
                }
                stack.push(Component {
                    name,
                    properties: Vec::new(),
                    children: Vec::new(),
                    line: prop.line,
                    span: prop.span.clone(),
                });
            }
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                let mut done = stack.pop().ok_or_else(|| {
                    line_error(
                        prop.line,
                        format!("END:{name} without a matching BEGIN:{name}"),
                    )
                })?;
                if done.name != name {
                    return Err(line_error(
                        prop.line,
                        format!(
                            "END:{name} but the open component is {} (BEGIN at line {}); components must nest",
                            done.name, done.line
                        ),
                    ));
                }
                done.span.end = prop.span.end;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => top.push(done),
                }
            }
            _ => match stack.last_mut() {
                Some(current) => current.properties.push(prop),
                None => {
                    return Err(line_error(
                        prop.line,
                        format!(
                            "property {} outside any component (a calendar starts with BEGIN:VCALENDAR)",
                            prop.name
                        ),
                    ))
                }
            },
        }
    }
    if let Some(open) = stack.last() {
        return Err(line_error(
            open.line,
            format!(
                "BEGIN:{} is never closed: END:{} is missing before the end of the text",
                open.name, open.name
            ),
        ));
    }
    if top.is_empty() {
        return Err(Error::invalid(
            "line 1: the text holds no iCalendar component (no BEGIN:VCALENDAR or BEGIN:VEVENT)",
        ));
    }
    Ok(top)
}

/// Unescapes a TEXT value (RFC 5545 §3.3.11): `\n`/`\N` newline, `\\`, `\;`, `\,`.
pub(crate) fn unescape_text(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_keeps_physical_line_numbers_and_spans() {
        let text = "BEGIN:VEVENT\r\nSUMMARY:a long\r\n  folded\r\n\tsummary\r\nUID:x\r\nEND:VEVENT";
        let comps = parse_components(text).unwrap();
        assert_eq!(comps.len(), 1);
        let ev = &comps[0];
        assert_eq!(ev.span, 0..text.len());
        assert_eq!(ev.properties[0].value, "a long foldedsummary");
        assert_eq!(ev.properties[1].line, 5);
        assert_eq!(&text[ev.properties[1].span.clone()], "UID:x\r\n");
        assert_eq!(
            &text[ev.properties[0].span.clone()],
            "SUMMARY:a long\r\n  folded\r\n\tsummary\r\n"
        );
    }

    #[test]
    fn parameters_with_quotes_and_lists() {
        let text = "BEGIN:X\nATTENDEE;CN=\"Doe; John: Jr\";DELEGATED-TO=\"mailto:a@x\",\"mailto:b@x\";partstat=ACCEPTED:mailto:j@x\nEND:X\n";
        let comps = parse_components(text).unwrap();
        let p = &comps[0].properties[0];
        assert_eq!(p.name, "ATTENDEE");
        assert_eq!(p.param("CN"), Some("Doe; John: Jr"));
        assert_eq!(p.params[1].values, vec!["mailto:a@x", "mailto:b@x"]);
        assert_eq!(p.param("PARTSTAT"), Some("ACCEPTED"));
        assert_eq!(p.value, "mailto:j@x");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n", "line 2:"),
            ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n", "line 3:"),
            ("BEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VEVENT\n", "line 4:"),
            ("UID:x\n", "line 1:"),
            (
                "BEGIN:VEVENT\n\nthis is no property\nEND:VEVENT\n",
                "line 3:",
            ),
            ("BEGIN:VEVENT\nX;A=\"b:c\n", "line 2:"),
            (" folded\nBEGIN:VEVENT\n", "line 1:"),
            ("", "line 1:"),
        ];
        for (text, want) in cases {
            let e = parse_components(text).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
            assert!(e.message().starts_with(want), "{text:?}: {}", e.message());
        }
    }

    #[test]
    fn text_values_unescape() {
        assert_eq!(unescape_text(r"a\, b\; c\\d\ne"), "a, b; c\\d\ne");
    }
}
