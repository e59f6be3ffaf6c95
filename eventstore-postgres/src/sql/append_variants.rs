//! The append statements, one text per combination of the checks an
//! append needs.
//!
//! Each check of an append (the expected version exists, a guarded stream
//! has not moved) is a subquery; the idempotency key is claimed by an
//! insert in front of the append's (`append_claim_key.sql`), which the
//! other checks guard.
//! PostgreSQL sets up every subquery's index scan on each execution of a
//! generic plan, whether a `$n IS NULL OR` in front of it lets it run or
//! not, so an append sends the statement with only the checks it needs.

/// Which checks an append needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Guards {
    /// The expected version is above 0 and must exist.
    pub(crate) version: bool,
    /// An idempotency key must be unused.
    pub(crate) key: bool,
    /// Another stream must not have moved past a version.
    pub(crate) moved: bool,
}

impl Guards {
    /// Every combination, in the order of [`Guards::index`].
    pub(crate) fn all() -> [Guards; 8] {
        std::array::from_fn(|i| Guards {
            version: i & 1 != 0,
            key: i & 2 != 0,
            moved: i & 4 != 0,
        })
    }

    /// The position of this combination in [`Guards::all`].
    fn index(self) -> usize {
        usize::from(self.version) | usize::from(self.key) << 1 | usize::from(self.moved) << 2
    }

    /// `template` with these checks: `{guards}` becomes the WHERE clause
    /// of the version and moved checks (empty when there is none) and
    /// `{claim}` nothing; with the key, the claim of the key
    /// (`append_claim_key.sql`) takes those checks in `{claim}`, and the
    /// events are inserted only when it claimed the key.
    fn splice(self, template: &str) -> String {
        let checks: Vec<&str> = [
            (self.version, include_str!("append_guard_version.sql")),
            (self.moved, include_str!("append_guard_moved.sql")),
        ]
        .into_iter()
        .filter(|(needed, _)| *needed)
        .map(|(_, check)| without_comments(check))
        .collect();
        let checks = if checks.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", checks.join("\n  AND "))
        };
        if self.key {
            let claim =
                without_comments(include_str!("append_claim_key.sql")).replace("{checks}", &checks);
            template
                .replace("{claim}", &format!("{claim}\n"))
                .replace("{guards}", "WHERE EXISTS (SELECT 1 FROM claim)")
        } else {
            template.replace("{claim}", "").replace("{guards}", &checks)
        }
    }
}

/// `sql` without its leading comment lines and final newline: a fragment
/// spliced into a statement.
pub(super) fn without_comments(sql: &str) -> &str {
    let start = sql
        .lines()
        .take_while(|line| line.starts_with("--"))
        .map(|line| line.len() + 1)
        .sum::<usize>();
    sql[start..].trim_end()
}

/// One append statement in its eight forms.
#[derive(Debug)]
pub(crate) struct AppendStatements {
    forms: [String; 8],
}

impl AppendStatements {
    /// The forms of `template`, whose `{claim}` and `{guards}` are
    /// replaced by each combination's checks ([`Guards::splice`]);
    /// `qualify` replaces `{schema}`.
    pub(crate) fn new(template: &str, qualify: impl Fn(&str) -> String) -> Self {
        Self {
            forms: Guards::all().map(|guards| qualify(&guards.splice(template))),
        }
    }

    /// The form with exactly `guards`' checks.
    pub(crate) fn with(&self, guards: Guards) -> &str {
        &self.forms[guards.index()]
    }

    /// Every form, with its checks.
    pub(crate) fn forms(&self) -> impl Iterator<Item = (Guards, &str)> {
        Guards::all()
            .into_iter()
            .zip(self.forms.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_has_exactly_its_checks() {
        let statements = AppendStatements::new(include_str!("append_one.sql"), str::to_owned);
        for guards in Guards::all() {
            let sql = statements.with(guards);
            assert_eq!(sql.contains("version = $3)"), guards.version, "{sql}");
            assert_eq!(sql.contains("command_keys"), guards.key, "{sql}");
            assert_eq!(sql.contains("FROM claim)"), guards.key, "{sql}");
            assert_eq!(sql.contains("version > $11"), guards.moved, "{sql}");
            assert_eq!(sql.contains("\nWHERE"), guards != Guards::all()[0], "{sql}");
            assert!(!sql.contains("{guards}"), "{sql}");
            assert!(!sql.contains("{claim}"), "{sql}");
            assert!(!sql.contains("{checks}"), "{sql}");
            assert_eq!(
                sql.matches(" AND EXISTS").count() + sql.matches(" AND NOT EXISTS").count(),
                usize::from(guards.version && guards.moved),
                "{sql}"
            );
            if guards.key {
                // the other checks guard the claim, not the events' insert
                let claim_end = sql.find("\n)\n").expect("the claim ends");
                for check in ["version = $3)", "version > $11"] {
                    assert!(sql.find(check).is_none_or(|at| at < claim_end), "{sql}");
                }
            }
        }
    }

    #[test]
    fn the_index_finds_each_combination() {
        for (i, guards) in Guards::all().into_iter().enumerate() {
            assert_eq!(guards.index(), i);
        }
    }
}
