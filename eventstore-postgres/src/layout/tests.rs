//! Every layout against the select list of the `.sql` files read through
//! it, parsed from the files themselves.

use super::*;

/// A layout, or one column of it: the names of its columns by index.
pub(super) trait Columns {
    /// Adds the columns, `name` being this one's when it is one column.
    fn push(&self, name: &'static str, names: &mut Vec<(&'static str, usize)>);
}

impl Columns for usize {
    fn push(&self, name: &'static str, names: &mut Vec<(&'static str, usize)>) {
        names.push((name, *self));
    }
}

/// What the code reads of a statement's rows.
enum Shape {
    /// Columns through a layout.
    Rows(&'static dyn Columns),
    /// One column, as a scalar (or nothing, when only whether a row came
    /// back counts).
    Scalar,
    /// Not a statement of its own: read_after.sql and read_partition.sql
    /// select from it by column name.
    Fragment,
}

/// Every `.sql` file that returns rows, with what the code reads of them.
const SHAPES: &[(&str, Shape)] = &[
    ("acquire_lease.sql", Shape::Scalar),
    ("append.sql", Shape::Rows(&APPENDED)),
    ("append_one.sql", Shape::Rows(&APPENDED)),
    ("checkpoints_of.sql", Shape::Rows(&CHECKPOINTS_OF)),
    ("deadline_summary.sql", Shape::Rows(&DEADLINE_SUMMARY)),
    ("due_deadlines.sql", Shape::Rows(&DUE_DEADLINES)),
    ("head.sql", Shape::Rows(&CHECKPOINT)),
    ("heartbeat.sql", Shape::Scalar),
    ("holdback.sql", Shape::Rows(&HOLDBACK)),
    ("import_versions.sql", Shape::Scalar),
    ("join_lock.sql", Shape::Rows(&JOIN_LOCK)),
    ("jsonb_check.sql", Shape::Scalar),
    ("key_outcome.sql", Shape::Rows(&KEY_OUTCOME)),
    ("lease_holder.sql", Shape::Scalar),
    ("lease_holders.sql", Shape::Scalar),
    ("live_counts.sql", Shape::Scalar),
    ("live_runners.sql", Shape::Scalar),
    ("load.sql", Shape::Rows(&LOAD)),
    ("load_checkpoint.sql", Shape::Rows(&CHECKPOINT)),
    ("load_page.sql", Shape::Rows(&LOAD_PAGE)),
    ("load_snapshot.sql", Shape::Rows(&LOAD_SNAPSHOT)),
    ("load_stream.sql", Shape::Rows(&LOAD_STREAM)),
    ("load_stream_key.sql", Shape::Fragment),
    ("next_deadline.sql", Shape::Scalar),
    ("next_tx.sql", Shape::Scalar),
    ("parked.sql", Shape::Rows(&PARKED)),
    ("parked_count.sql", Shape::Scalar),
    ("parked_event.sql", Shape::Rows(&PARKED)),
    ("partition_count.sql", Shape::Scalar),
    ("read_after.sql", Shape::Rows(&READ)),
    ("read_page.sql", Shape::Fragment),
    ("read_partition.sql", Shape::Rows(&READ)),
    ("record_refusal.sql", Shape::Scalar),
    ("renew_lease.sql", Shape::Scalar),
    ("stream_lock.sql", Shape::Scalar),
    ("stream_version.sql", Shape::Scalar),
    ("sync_deadlines.sql", Shape::Rows(&SYNC_DEADLINES)),
];

/// A token of SQL text: a word (identifiers, keywords, parameters,
/// qualified names) or one character of punctuation.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Punct(char),
}

/// The tokens of `sql` with their parenthesis depth, without comments and
/// string literals.
fn tokens(sql: &str) -> Vec<(usize, Token)> {
    let mut tokens = Vec::new();
    let mut depth = 0_usize;
    let mut chars = sql.chars().peekable();
    let is_word = |c: char| c.is_alphanumeric() || "_$.{}*".contains(c);
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                chars.by_ref().find(|&c| c == '\n');
            }
            '\'' => {
                chars.by_ref().find(|&c| c == '\'');
            }
            '(' => {
                tokens.push((depth, Token::Punct(c)));
                depth += 1;
            }
            ')' => {
                depth -= 1;
                tokens.push((depth, Token::Punct(c)));
            }
            c if c.is_whitespace() => {}
            c if is_word(c) => {
                let mut word = c.to_ascii_lowercase().to_string();
                while let Some(&next) = chars.peek().filter(|&&c| is_word(c)) {
                    word.push(next.to_ascii_lowercase());
                    chars.next();
                }
                tokens.push((depth, Token::Word(word)));
            }
            c => tokens.push((depth, Token::Punct(c))),
        }
    }
    tokens
}

/// Whether `token` is the keyword `word` at depth 0.
fn top(token: &(usize, Token), word: &str) -> bool {
    matches!(token, (0, Token::Word(w)) if w == word)
}

/// The column names of the rows `sql` returns (`None` for a column that
/// is neither a column reference nor aliased), or `None` when it returns
/// no rows: the outermost select list (the first branch of a union), or a
/// RETURNING list.
fn select_list(sql: &str) -> Option<Vec<Option<String>>> {
    let tokens = tokens(sql);
    let start = match tokens.iter().position(|t| top(t, "returning")) {
        Some(returning) => returning,
        None => {
            let verb = tokens.iter().position(|t| {
                ["select", "insert", "update", "delete"]
                    .iter()
                    .any(|verb| top(t, verb))
            })?;
            top(&tokens[verb], "select").then_some(verb)?
        }
    };
    let list = &tokens[start + 1..];
    let end = list
        .iter()
        .position(|t| {
            ["from", "where", "union", "order", "group", "limit"]
                .iter()
                .any(|keyword| top(t, keyword))
        })
        .unwrap_or(list.len());
    let columns = list[..end]
        .split(|t| *t == (0, Token::Punct(',')))
        .map(column_name)
        .collect();
    Some(columns)
}

/// The name PostgreSQL gives a select-list item: its alias, or the column
/// it names.
fn column_name(item: &[(usize, Token)]) -> Option<String> {
    match item {
        [.., as_, (0, Token::Word(alias))] if top(as_, "as") => Some(alias.clone()),
        [(0, Token::Word(reference))] if !reference.starts_with('$') => {
            reference.rsplit('.').next().map(str::to_owned)
        }
        _ => None,
    }
}

/// The layout's column names by index: `None` for a column it does not
/// read.
fn expected(layout: &dyn Columns) -> Vec<Option<&'static str>> {
    let mut names = Vec::new();
    layout.push("", &mut names);
    let width = names.iter().map(|&(_, index)| index + 1).max().unwrap_or(0);
    let mut by_index = vec![None; width];
    for (name, index) in names {
        assert!(by_index[index].is_none(), "two columns at {index}");
        by_index[index] = Some(name);
    }
    by_index
}

/// The problems of a statement's select list against its shape.
fn mismatches(list: &[Option<String>], shape: &Shape) -> Vec<String> {
    match shape {
        Shape::Rows(layout) => {
            let expected = expected(*layout);
            let mut problems = Vec::new();
            if expected.len() != list.len() {
                problems.push(format!(
                    "{} columns selected, the layout has {}",
                    list.len(),
                    expected.len()
                ));
            }
            for (index, name) in expected.iter().enumerate() {
                let selected = list.get(index).cloned().flatten();
                if let Some(name) = name {
                    if selected.as_deref() != Some(*name) {
                        problems.push(format!(
                            "column {index} is {selected:?}, the layout reads {name:?} there"
                        ));
                    }
                }
            }
            problems
        }
        Shape::Scalar if list.len() != 1 => {
            vec![format!("{} columns selected, read as a scalar", list.len())]
        }
        Shape::Scalar | Shape::Fragment => Vec::new(),
    }
}

#[test]
fn every_statement_selects_the_columns_its_layout_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/sql")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &files {
        let file = path.file_name().and_then(|f| f.to_str()).expect("name");
        let sql = std::fs::read_to_string(path).expect("read");
        let shape = SHAPES.iter().find(|(f, _)| *f == file).map(|(_, s)| s);
        match (select_list(&sql), shape) {
            (Some(list), Some(shape)) => {
                checked += 1;
                for problem in mismatches(&list, shape) {
                    problems.push(format!("{file}: {problem}"));
                }
            }
            (Some(_), None) => problems.push(format!("{file} returns rows: give it a layout")),
            (None, Some(_)) => problems.push(format!("{file} returns no rows, yet has a shape")),
            (None, None) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(checked, SHAPES.len(), "a shape names a file that is gone");
}

#[test]
fn the_parser_finds_the_outermost_list_and_its_names() {
    let names = |sql| select_list(sql).map(|l| l.into_iter().collect::<Vec<_>>());
    assert_eq!(
        names(
            "-- a, b\nWITH x AS (SELECT 1 AS no FROM t) \
             SELECT p.a, (y = 0) AS b, CASE WHEN c THEN 'x,y' END, count(*) FROM x UNION ALL SELECT 1"
        ),
        Some(vec![Some("a".into()), Some("b".into()), None, None])
    );
    assert_eq!(
        names("INSERT INTO t SELECT $1, q FROM s RETURNING position, tx"),
        Some(vec![Some("position".into()), Some("tx".into())])
    );
    assert_eq!(names("INSERT INTO t (a) SELECT a FROM s"), None);
    assert_eq!(
        names("WITH g AS (DELETE FROM t) INSERT INTO u VALUES ($1)"),
        None
    );
}

#[test]
fn a_layout_that_disagrees_with_the_sql_is_reported() {
    let swapped = select_list("SELECT position, tx FROM c").expect("rows");
    assert_eq!(
        mismatches(&swapped, &Shape::Rows(&CHECKPOINT)),
        [
            "column 0 is Some(\"position\"), the layout reads \"tx\" there",
            "column 1 is Some(\"tx\"), the layout reads \"position\" there",
        ]
    );
    let longer = select_list("SELECT tx, position, more FROM c").expect("rows");
    assert_eq!(
        mismatches(&longer, &Shape::Rows(&CHECKPOINT)),
        ["3 columns selected, the layout has 2"]
    );
}
