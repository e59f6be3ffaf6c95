//! What PostgreSQL's `jsonb` refuses though it is JSON that serde reads:
//! found in an imported line, so that the line is refused by its number
//! instead of the COPY failing at a row.

/// What in `json` (valid JSON) PostgreSQL's `jsonb` refuses though serde
/// reads it, if anything: a `\u0000` or a lone surrogate in a string, or a
/// number beyond what `numeric` holds.
pub(super) fn refused_by_jsonb(json: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => match string_end(json, at + 1) {
                Ok(end) => at = end,
                Err(what) => return Some(what),
            },
            b'-' | b'0'..=b'9' => {
                let end = bytes[at..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                    .map_or(bytes.len(), |n| at + n);
                let number = &json[at..end];
                if numeric_refuses(number) {
                    let shown: String = number.chars().take(40).collect();
                    let cut = if shown.len() < number.len() {
                        "..."
                    } else {
                        ""
                    };
                    return Some(format!(
                        "the number {shown}{cut}, beyond what numeric holds"
                    ));
                }
                at = end;
            }
            _ => at += 1,
        }
    }
    None
}

/// The end of the string whose text starts at `at` (after its opening
/// quote): `Ok` with the index after its closing quote, or `Err` naming an
/// escape that `jsonb` refuses: `\u0000`, or a surrogate that is not one
/// of a pair (a high one followed by a low one).
fn string_end(json: &str, mut at: usize) -> Result<usize, String> {
    let bytes = json.as_bytes();
    let code = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    let lone = |at: usize| format!("{} (a lone surrogate)", &json[at..at + 6]);
    while let Some(found) = bytes[at..].iter().position(|&b| b == b'\\' || b == b'"') {
        at += found;
        if bytes[at] == b'"' {
            return Ok(at + 1);
        }
        if bytes.get(at + 1) != Some(&b'u') {
            at += 2;
            continue;
        }
        match code(at + 2) {
            Some(0) => return Err(json[at..at + 6].to_owned()),
            Some(0xD800..=0xDBFF) => {
                let low = (bytes.get(at + 6..at + 8) == Some(&b"\\u"[..]))
                    .then(|| code(at + 8))
                    .flatten();
                if !matches!(low, Some(0xDC00..=0xDFFF)) {
                    return Err(lone(at));
                }
                at += 12;
            }
            Some(0xDC00..=0xDFFF) => return Err(lone(at)),
            _ => at += 6,
        }
    }
    Ok(bytes.len())
}

/// Whether PostgreSQL's `numeric` refuses the JSON number `text` as
/// "value overflows numeric format": an exponent of 2^30 - 1 or more, more
/// than 16,383 digits after the point, or a first significant digit past
/// 10^131071 (the base-10,000 weight of a 16-bit field).
fn numeric_refuses(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = unsigned.split_once(['e', 'E']).unwrap_or((unsigned, "0"));
    let (negative, digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    let digits = digits.trim_start_matches('0');
    let Some(magnitude) = digits
        .parse::<i64>()
        .ok()
        .or(digits.is_empty().then_some(0))
        .filter(|&m| m < 1_073_741_823)
    else {
        return true;
    };
    let exponent = if negative { -magnitude } else { magnitude };
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let length = |part: &str| i64::try_from(part.len()).unwrap_or(i64::MAX);
    if length(fraction).saturating_sub(exponent) > 16_383 {
        return true;
    }
    match int.bytes().chain(fraction.bytes()).position(|d| d != b'0') {
        None => false,
        Some(zeros) => {
            let zeros = i64::try_from(zeros).unwrap_or(i64::MAX);
            let first = (length(int) - 1 + exponent).saturating_sub(zeros);
            first.div_euclid(4) > 32_767
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_numbers_postgresql_refuses() {
        // as PostgreSQL 15 answered '{"a":N}'::jsonb
        let held = [
            "0",
            "-1",
            "1e131071",
            "-1e131071",
            "9.99e131071",
            "0.001e131074",
            "1e1000",
            "1e-16383",
            "0e-16383",
            "100e-16383",
            "1.0e-16382",
            "0e1073741822",
            "0.0000",
            "1.5e-1000",
            "12345678901234567890",
            "1E+2",
        ];
        let refused = [
            "1e131072",
            "10e131071",
            "0.001e131075",
            "1e-16384",
            "0e-16384",
            "100e-16384",
            "0.5e-16383",
            "1.00e-16382",
            "0e1073741823",
            "0e-1073741822",
            "1e99999999999",
        ];
        for number in held {
            assert!(!numeric_refuses(number), "{number} is held");
        }
        for number in refused {
            assert!(numeric_refuses(number), "{number} is refused");
        }
    }

    #[test]
    fn finds_escapes_jsonb_refuses_and_passes_the_rest() {
        for (json, found) in [
            (r#"{"a":"x\u0000"}"#, Some("\\u0000")),
            (r#"{"a":"\ud800"}"#, Some("\\ud800 (a lone surrogate)")),
            (
                r#"{"a":"\ud800\u0041"}"#,
                Some("\\ud800 (a lone surrogate)"),
            ),
            (r#"{"a":"\uDC00"}"#, Some("\\uDC00 (a lone surrogate)")),
            (r#"{"\u0000":1}"#, Some("\\u0000")),
            (
                r#"{"a":"C:\\u0000","b":"\ud83d\ude00","c":"\"1e999999\""}"#,
                None,
            ),
            (r#"{"a":[true,false,null,-0.5e-3]}"#, None),
        ] {
            assert_eq!(refused_by_jsonb(json).as_deref(), found, "{json}");
        }
    }
}
