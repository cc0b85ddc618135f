//! A small RFC 4180 reader: quoted fields, doubled quotes, newlines inside
//! quotes, any one-byte separator. Enough for the watch list and the tweet data
//! sets without another dependency.
//!
//! Kept over the `csv` crate, which reads `"a"b` as `ab` and an unterminated
//! quote as a field to the end of the file without an error (csv 1.3, checked):
//! an operator's malformed watch list must be refused with its line, not read.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("line {line}: unterminated quoted field")]
    Unterminated { line: usize },
    #[error("line {line}: unexpected character after a closing quote")]
    AfterQuote { line: usize },
}

/// Parses the whole text into records of fields.
pub fn parse(text: &str, separator: u8) -> Result<Vec<Vec<String>>, CsvError> {
    let sep = char::from(separator);
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut at_field_start = true;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if at_field_start && c == '"' {
            let start_line = line;
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(ch) => {
                        if ch == '\n' {
                            line += 1;
                        }
                        field.push(ch);
                    }
                    None => return Err(CsvError::Unterminated { line: start_line }),
                }
            }
            match chars.peek() {
                Some(&ch) if ch == sep || ch == '\n' || ch == '\r' => {}
                None => {}
                Some(_) => return Err(CsvError::AfterQuote { line }),
            }
            at_field_start = false;
            continue;
        }
        if c == sep {
            record.push(std::mem::take(&mut field));
            at_field_start = true;
        } else if c == '\n' || c == '\r' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            line += 1;
            record.push(std::mem::take(&mut field));
            records.push(std::mem::take(&mut record));
            at_field_start = true;
            any = false;
        } else {
            field.push(c);
            at_field_start = false;
        }
    }
    if any || !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_separators_and_newlines() {
        let r = parse("a;b;c\n1;\"x;y\";\"say \"\"hi\"\"\nthere\"\r\n2;;\n", b';').unwrap();
        assert_eq!(
            r,
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x;y", "say \"hi\"\nthere"],
                vec!["2", "", ""]
            ]
        );
        assert_eq!(parse("x,y", b',').unwrap(), vec![vec!["x", "y"]]);
        assert_eq!(
            parse("\"open", b',').unwrap_err(),
            CsvError::Unterminated { line: 1 }
        );
        assert_eq!(
            parse("\"a\"b", b',').unwrap_err(),
            CsvError::AfterQuote { line: 1 }
        );
        assert!(parse("", b',').unwrap().is_empty());
    }
}
