//! A small iCalendar content-line reader (RFC 5545 §3.1): unfolding, parameters with quoted
//! values, and the BEGIN/END nesting of components, keeping for every property and component its
//! physical line number and its byte range in the original text (so that `split_families` can
//! copy events byte for byte and errors can name the line a person sees). What real producers get
//! wrong in the lines themselves and has one sensible reading (a byte-order mark, a fold that lost
//! its leading space, white space around names, a missing last END:VCALENDAR, …) is read that way
//! and noted as a [`Warning`] on the component it belongs to (docs/compatibility.md).

use std::ops::Range;

use super::Warning;
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
    /// What was read leniently in its own lines (not those of its children).
    pub warnings: Vec<Warning>,
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

    /// Its own warnings and those of every component inside it, in line order.
    pub fn all_warnings(&self) -> Vec<Warning> {
        let mut out = self.warnings.clone();
        for c in &self.children {
            out.extend(c.all_warnings());
        }
        out.sort_by_key(|w| w.line);
        out
    }
}

/// A logical (unfolded) line before it is split into name, parameters and value.
struct Logical {
    text: String,
    line: usize,
    span: Range<usize>,
    warnings: Vec<Warning>,
}

fn warn(line: usize, message: impl Into<String>) -> Warning {
    Warning {
        line,
        message: message.into(),
    }
}

/// Splits the text into logical lines: `\r\n` or `\n` end a physical line; a physical line that
/// starts with a space or a tab continues the previous one (the one white-space character is
/// dropped). Empty physical lines are skipped (a continuation after one still continues, with a
/// warning). A UTF-8 byte-order mark at the start of a line (of the text, or of a file appended
/// to another) is skipped with a warning.
fn unfold(text: &str) -> Result<Vec<Logical>> {
    let mut out: Vec<Logical> = Vec::new();
    let mut offset = 0;
    let mut number = 0;
    let mut previous_blank = false;
    let mut pending: Vec<Warning> = Vec::new();
    while offset < text.len() {
        number += 1;
        let rest = &text[offset..];
        let (content_len, full_len) = match rest.find('\n') {
            Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => (i - 1, i + 1),
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        let mut content = &rest[..content_len];
        let mut bom = 0;
        // A byte-order mark at the start of the text, or of a file appended to another: not part
        // of the line (nor of what is copied from it).
        if let Some(after) = content.strip_prefix('\u{feff}') {
            content = after;
            bom = '\u{feff}'.len_utf8();
            pending.push(warn(
                number,
                "a UTF-8 byte-order mark at the start of the line is ignored",
            ));
        }
        let span = offset + bom..offset + full_len;
        offset += full_len;
        if content.is_empty() {
            previous_blank = true;
            continue;
        }
        if let Some(cont) = content.strip_prefix([' ', '\t']) {
            match out.last_mut() {
                Some(last) => {
                    if previous_blank {
                        last.warnings.push(warn(
                            number,
                            "a folded continuation line after an empty line is joined to the content line before the empty line",
                        ));
                    }
                    last.text.push_str(cont);
                    last.span.end = span.end;
                }
                None => {
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
                warnings: std::mem::take(&mut pending),
            });
        }
        previous_blank = false;
    }
    Ok(repair(out))
}

/// Mends logical lines that are not content lines, as real producers write them: one that looks
/// like a broken property (no `:`, and a name followed by `=` or `;`, or an upper-case name
/// alone: `X`, `SUMMARY=text`) is ignored, as the `icalendar` package ignores it; any other (text such as
/// `world and more`) is a fold that lost its leading space and is joined to the property before
/// it. Both with a warning. A line that cannot be joined (the one before is a BEGIN or END, or
/// there is none) is ignored with a warning.
fn repair(lines: Vec<Logical>) -> Vec<Logical> {
    let mut out: Vec<Logical> = Vec::with_capacity(lines.len());
    for mut logical in lines {
        if parse_line(&logical).is_ok() {
            out.push(logical);
            continue;
        }
        let shown = shorten(&logical.text);
        let broken_property = {
            let name_end = logical.text.find(['=', ';']).unwrap_or(logical.text.len());
            let name = &logical.text[..name_end];
            let bare = name_end == logical.text.len();
            !name.is_empty()
                && name.chars().all(is_name_char)
                && !logical.text.contains(':')
                && (!bare || !name.chars().any(|c| c.is_ascii_lowercase()))
        };
        let joinable = out.last().is_some_and(|prev| {
            let upper = prev.text.get(..6).map(str::to_ascii_uppercase);
            !matches!(upper.as_deref(), Some("BEGIN:"))
                && !prev
                    .text
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("END:"))
        });
        match out.last_mut() {
            Some(prev) if joinable && !broken_property => {
                prev.warnings.push(warn(
                    logical.line,
                    format!(
                        "{shown:?} is not a content line: read as a folded continuation that lost its leading space, joined to line {}",
                        prev.line
                    ),
                ));
                prev.warnings.append(&mut logical.warnings);
                prev.text.push_str(&logical.text);
                prev.span.end = logical.span.end;
            }
            Some(prev) => {
                prev.warnings.push(warn(
                    logical.line,
                    format!("{shown:?} is not a content line (NAME[;PARAM=VALUE]:VALUE); ignored"),
                ));
                prev.warnings.append(&mut logical.warnings);
                prev.span.end = logical.span.end;
            }
            None => out.push(logical),
        }
    }
    out
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

/// A name as written, leniently: white space around it, or around its hyphens
/// (`REFRESH - INTERVAL`), is dropped; `None` when it is not a name even so.
fn lenient_name(raw: &str) -> Option<String> {
    let mut name = String::with_capacity(raw.len());
    let trimmed = raw.trim_matches([' ', '\t']);
    for (i, c) in trimmed.char_indices() {
        if c == ' ' || c == '\t' {
            // Only white space next to a hyphen is dropped inside a name.
            let before = trimmed[..i].trim_end_matches([' ', '\t']).ends_with('-');
            let after = trimmed[i..]
                .trim_start_matches([' ', '\t'])
                .starts_with('-');
            if !(before || after) {
                return None;
            }
            continue;
        }
        if !is_name_char(c) {
            return None;
        }
        name.push(c);
    }
    (!name.is_empty()).then_some(name)
}

/// Splits one logical line into name, parameters and value, with what was read leniently: white
/// space around names, an empty parameter (`;;`), a `\;` `\,` `\:` escape inside an unquoted
/// parameter value (the `icalendar` package reads these the same way).
fn parse_line(logical: &Logical) -> Result<(Property, Vec<Warning>)> {
    let line = logical.line;
    let text = logical.text.as_str();
    let mut warnings = Vec::new();
    let name_end = text.find([';', ':']).ok_or_else(|| {
        line_error(
            line,
            format!(
                "{:?} is not a content line (NAME[;PARAM=VALUE]:VALUE); the ':' is missing",
                shorten(text)
            ),
        )
    })?;
    let raw_name = &text[..name_end];
    let name = lenient_name(raw_name).ok_or_else(|| {
        line_error(
            line,
            format!("{:?} is not a property name", shorten(raw_name)),
        )
    })?;
    if name != raw_name {
        warnings.push(warn(
            line,
            format!("white space in the property name {raw_name:?} is ignored ({name})"),
        ));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        if after.starts_with([';', ':']) {
            warnings.push(warn(
                line,
                format!("an empty parameter (';;' or ';:') in property {name} is ignored"),
            ));
            rest = after;
            continue;
        }
        let eq = after
            .find('=')
            .ok_or_else(|| line_error(line, format!("parameter without '=' in property {name}")))?;
        let raw_pname = &after[..eq];
        let pname = lenient_name(raw_pname).ok_or_else(|| {
            line_error(
                line,
                format!(
                    "{:?} is not a parameter name (property {name})",
                    shorten(raw_pname)
                ),
            )
        })?;
        if pname != raw_pname {
            warnings.push(warn(
                line,
                format!("white space in the parameter name {raw_pname:?} is ignored ({pname})"),
            ));
        }
        let mut values = Vec::new();
        let mut cursor = &after[eq + 1..];
        loop {
            let lead = cursor.len() - cursor.trim_start_matches([' ', '\t']).len();
            if let Some(quoted) = cursor[lead..].strip_prefix('"') {
                let close = quoted.find('"').ok_or_else(|| {
                    line_error(
                        line,
                        format!("unterminated quoted value of parameter {pname} (property {name})"),
                    )
                })?;
                if lead > 0 {
                    warnings.push(warn(
                        line,
                        format!("white space before the value of parameter {pname} is ignored"),
                    ));
                }
                values.push(decode_param(&quoted[..close]));
                cursor = &quoted[close + 1..];
            } else {
                let mut end = 0;
                let mut escaped = false;
                let bytes = cursor.as_bytes();
                while end < bytes.len() {
                    match bytes[end] {
                        b'\\' if matches!(bytes.get(end + 1), Some(b';' | b',' | b':')) => {
                            escaped = true;
                            end += 2;
                            continue;
                        }
                        b',' | b';' | b':' | b'"' => break,
                        _ => end += 1,
                    }
                }
                if cursor[end..].starts_with('"') {
                    return Err(line_error(
                        line,
                        format!("stray '\"' in the value of parameter {pname} (property {name})"),
                    ));
                }
                let raw = &cursor[..end];
                let mut value = raw.trim_matches([' ', '\t']).to_owned();
                if value.len() != raw.len() && !raw.trim().is_empty() {
                    warnings.push(warn(
                        line,
                        format!("white space around the value of parameter {pname} is ignored"),
                    ));
                }
                if escaped {
                    value = value
                        .replace("\\;", ";")
                        .replace("\\,", ",")
                        .replace("\\:", ":");
                    warnings.push(warn(
                        line,
                        format!(
                            "a backslash escape in the value of parameter {pname} (property {name}) is read as the character it escapes; RFC 5545 quotes such values"
                        ),
                    ));
                }
                values.push(decode_param(&value));
                cursor = &cursor[end..];
            }
            match cursor.strip_prefix(',') {
                Some(next) => cursor = next,
                None => break,
            }
        }
        let trailing = cursor.len() - cursor.trim_start_matches([' ', '\t']).len();
        cursor = &cursor[trailing..];
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
    // One warning per line, however many things on it were read leniently.
    if warnings.len() > 1 {
        let message = warnings
            .iter()
            .map(|w| w.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        warnings = vec![warn(line, message)];
    }
    Ok((
        Property {
            name: name.to_ascii_uppercase(),
            params,
            value: value.to_owned(),
            line,
            span: logical.span.clone(),
        },
        warnings,
    ))
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
    let logicals = unfold(text)?;
    let count = logicals.len();
    for (index, logical) in logicals.into_iter().enumerate() {
        let last_line = index + 1 == count;
        let (prop, mut warnings) = parse_line(&logical)?;
        warnings.extend(logical.warnings);
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
                    warnings,
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
                if done.name != name && last_line && stack.is_empty() {
                    // A misspelt last line (`END:VCALENDARD`) closes the outermost component.
                    warnings.push(warn(
                        prop.line,
                        format!(
                            "END:{name} on the last line is read as END:{} (BEGIN at line {})",
                            done.name, done.line
                        ),
                    ));
                } else if done.name != name
                    && !stack.is_empty()
                    && !stack.iter().any(|c| c.name == name)
                {
                    // An END that names no open component closes the innermost one, as the
                    // Python readers take it (`END:VTODO` closing a VEVENT).
                    warnings.push(warn(
                        prop.line,
                        format!(
                            "END:{name} names no open component; read as END:{} (BEGIN at line {})",
                            done.name, done.line
                        ),
                    ));
                } else if done.name != name {
                    return Err(line_error(
                        prop.line,
                        format!(
                            "END:{name} but the open component is {} (BEGIN at line {}); components must nest",
                            done.name, done.line
                        ),
                    ));
                }
                done.span.end = prop.span.end;
                done.warnings.extend(warnings);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => top.push(done),
                }
            }
            _ => match (stack.last_mut(), top.last_mut()) {
                (Some(current), _) => {
                    current.warnings.extend(warnings);
                    current.properties.push(prop);
                }
                // A line after the calendar's end (a comment some servers append): not part
                // of any component, so it changes nothing.
                (None, Some(last)) => {
                    last.warnings.extend(warnings);
                    last.warnings.push(warn(
                        prop.line,
                        format!(
                            "property {} after END:{} is outside any component; ignored",
                            prop.name, last.name
                        ),
                    ));
                }
                (None, None) => {
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
    // A calendar whose last line (END:VCALENDAR) is missing: every event in it was closed, so
    // nothing of them is lost.
    if stack.len() == 1 && stack[0].name == "VCALENDAR" {
        if let Some(mut open) = stack.pop() {
            open.span.end = text.len();
            open.warnings.push(warn(
                open.line,
                "END:VCALENDAR is missing at the end of the text; the calendar is read as ending there",
            ));
            top.push(open);
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
            ("\nthis is no property\nBEGIN:VEVENT\n", "line 2:"),
            // An unreadable line is ignored (with a warning); the VEVENT is still unclosed.
            ("BEGIN:VEVENT\nX;A=\"b:c\n", "line 1:"),
            (" folded\nBEGIN:VEVENT\n", "line 1:"),
            ("", "line 1:"),
        ];
        for (text, want) in cases {
            let e = parse_components(text).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
            assert!(e.message().starts_with(want), "{text:?}: {}", e.message());
        }
    }

    /// The warnings of the first component and its children, as (line, message).
    fn warned(text: &str) -> (Vec<Component>, Vec<(usize, String)>) {
        let comps = parse_components(text).unwrap();
        let w = comps
            .iter()
            .flat_map(Component::all_warnings)
            .map(|w| (w.line, w.message))
            .collect();
        (comps, w)
    }

    #[test]
    fn lenient_lines_are_read_with_a_warning() {
        // A byte-order mark, a lost fold, a broken property, white space around names and an
        // empty parameter.
        let text = "\u{feff}BEGIN:VEVENT\r\nSUMMARY:one\r\ntwo and three\r\nX\r\nDTSTART ;; TZID = Europe/Oslo :20260105T090000\r\nORGANIZER;CN=A\\; B:mailto:a@x\r\nEND:VEVENT\r\n";
        let (comps, w) = warned(text);
        let ev = &comps[0];
        assert_eq!(ev.span, 3..text.len());
        let names: Vec<&str> = ev.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["SUMMARY", "DTSTART", "ORGANIZER"]);
        assert_eq!(ev.properties[0].value, "onetwo and three");
        assert_eq!(ev.properties[1].param("TZID"), Some("Europe/Oslo"));
        assert_eq!(ev.properties[2].param("CN"), Some("A; B"));
        let lines: Vec<usize> = w.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 3, 4, 5, 6], "{w:#?}");
        assert!(w[0].1.contains("byte-order mark"));
        assert!(w[1].1.contains("lost its leading space"));
        assert!(w[2].1.contains("ignored"));
        assert!(w[3].1.contains("empty parameter") && w[3].1.contains("white space"));
        assert!(w[4].1.contains("backslash"));
    }

    #[test]
    fn a_byte_order_mark_of_an_appended_file_is_skipped() {
        let text = "BEGIN:VCALENDAR\nEND:VCALENDAR\n\u{feff}BEGIN:VCALENDAR\nEND:VCALENDAR\n";
        let (comps, w) = warned(text);
        assert_eq!(comps.len(), 2);
        assert_eq!(
            &text[comps[1].span.clone()],
            "BEGIN:VCALENDAR\nEND:VCALENDAR\n"
        );
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, 3);
    }

    #[test]
    fn a_name_with_white_space_inside_a_word_is_no_name() {
        assert_eq!(
            lenient_name(" REFRESH - INTERVAL "),
            Some("REFRESH-INTERVAL".into())
        );
        assert_eq!(lenient_name("see http"), None);
        // So such a line is a lost fold, not a property.
        let (comps, _) = warned("BEGIN:VEVENT\nDESCRIPTION:read\nsee http://x.org\nEND:VEVENT\n");
        assert_eq!(comps[0].properties[0].value, "readsee http://x.org");
    }

    #[test]
    fn a_calendar_missing_its_last_end_is_closed_but_an_open_event_is_not() {
        let (comps, w) = warned("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\n");
        assert_eq!(comps[0].children.len(), 1);
        assert_eq!(w.len(), 1);
        assert!(w[0].1.contains("END:VCALENDAR is missing"));
        let (_, w) = warned("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VCALENDARD\n");
        assert_eq!(w[0].0, 5);
        // A misspelt END before the last line is still wrong nesting.
        assert!(parse_components("BEGIN:VCALENDAR\nEND:VCALENDARD\nX:y\n").is_err());
    }

    #[test]
    fn text_values_unescape() {
        assert_eq!(unescape_text(r"a\, b\; c\\d\ne"), "a, b; c\\d\ne");
    }
}
