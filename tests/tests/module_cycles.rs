//! No module imports a module that imports it back.
//!
//! Reads the sources of `eventstore-core/src` and `sagas-examples/src` and
//! builds, at every level of each crate's module tree (the crate's
//! top-level modules, then the children of each module with children), the
//! graph of which sibling refers to which: through `crate::` paths (in
//! `use` or in code, grouped imports included) and `super::` paths. A name
//! that a parent re-exports (`crate::Error`, `super::Start`) counts as the
//! child that defines it. The module tree itself is not a dependency: a
//! parent's `mod x;` and `pub use x::..` of its own children, and a module
//! referring to its own descendants or to its ancestors' own items, add no
//! edge. Comments (doc links included) are not read; `$crate::` in macros
//! is not either.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file: its module path in the crate and its text.
struct Source {
    module: Vec<String>,
    file: PathBuf,
    text: String,
}

/// Where a reference from one module to another was seen.
type Evidence = String;

/// The sibling edges of one crate, keyed by the parent module's path.
type Graphs = BTreeMap<Vec<String>, BTreeMap<(String, String), Evidence>>;

fn sources(dir: &Path, module: &[String], out: &mut Vec<Source>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name")
            .to_owned();
        if path.is_dir() {
            if name == "bin" {
                continue;
            }
            let mut child = module.to_vec();
            child.push(name);
            sources(&path, &child, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            // a binary's `main.rs` is a crate of its own
            if module.is_empty() && name == "main" {
                continue;
            }
            let mut this = module.to_vec();
            if !matches!(name.as_str(), "lib" | "mod") {
                this.push(name);
            }
            let text = fs::read_to_string(&path).expect("read a source file");
            out.push(Source {
                module: this,
                file: path,
                text,
            });
        }
    }
}

/// The modules of the crate, each with the names its file re-exports from
/// its children (`pub use child::{A, B}`): name -> child.
fn module_tree(sources: &[Source]) -> BTreeMap<Vec<String>, BTreeMap<String, String>> {
    let mut tree: BTreeMap<Vec<String>, BTreeMap<String, String>> = BTreeMap::new();
    for source in sources {
        let entry = tree.entry(source.module.clone()).or_default();
        for statement in source.text.split(';') {
            let statement = statement.trim();
            let Some(rest) = statement
                .lines()
                .map(str::trim)
                .skip_while(|l| l.starts_with("//") || l.starts_with("#["))
                .collect::<Vec<_>>()
                .join(" ")
                .strip_prefix("pub use ")
                .map(str::to_owned)
            else {
                continue;
            };
            let Some((child, names)) = rest.split_once("::") else {
                continue;
            };
            for name in names
                .trim_matches(|c| c == '{' || c == '}' || c == ' ')
                .split(',')
            {
                let last = name.trim().rsplit("::").next().unwrap_or("").trim();
                if !last.is_empty() {
                    entry.insert(last.to_owned(), child.trim().to_owned());
                }
            }
        }
    }
    tree
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths (as lists of segments) that `text` starts, expanding one
/// level of `{a, b::c}` grouping.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let ident: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        if ident.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let end = group
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map_or(group.len(), |(i, _)| i);
                let mut level = 0;
                let mut items = vec![String::new()];
                for c in group[..end].chars() {
                    match c {
                        '{' => level += 1,
                        '}' => level -= 1,
                        ',' if level == 0 => items.push(String::new()),
                        _ => {}
                    }
                    items.last_mut().expect("an item").push(c);
                }
                return items
                    .iter()
                    .filter_map(|item| {
                        let item = item.trim().trim_start_matches(',').trim();
                        let mut inner = paths_at(item);
                        let first = inner.pop()?;
                        Some(segments.iter().cloned().chain(first).collect())
                    })
                    .collect();
            }
            return vec![segments];
        }
        rest = &rest[ident.len()..];
        segments.push(ident);
        match rest.strip_prefix("::") {
            Some(after) => rest = after,
            None => return vec![segments],
        }
    }
}

/// Whether `code` opens a path group (`::{`) that it does not close.
fn open_group(code: &str) -> bool {
    code.find("::{").is_some_and(|at| {
        let group = &code[at..];
        group.matches('{').count() > group.matches('}').count()
    })
}

/// Every module path that `source` refers to, absolute, with its line.
fn references(source: &Source) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    // how many inline `mod x {` blocks enclose the current line, by depth
    let mut inline_mods: Vec<i32> = Vec::new();
    let mut depth = 0;
    let mut lines = source.text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let mut code = line.split("//").next().unwrap_or("").to_owned();
        // a group that goes on over the next lines (`use crate::{` as
        // rustfmt writes a long import) is read as one line
        while open_group(&code) {
            let Some((_, next)) = lines.next() else { break };
            code.push(' ');
            code.push_str(next.split("//").next().unwrap_or(""));
        }
        let code = code.as_str();
        let trimmed = code.trim_start();
        let opens_mod = (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod "))
            && trimmed.trim_end().ends_with('{');
        let here = &source.module[..];
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| is_ident(c) || c == '$') {
                continue;
            }
            for path in paths_at(&code[at + "crate::".len()..]) {
                found.push((path, number + 1));
            }
        }
        let mut search = 0;
        while let Some(offset) = code[search..].find("super::") {
            let at = search + offset;
            let before = code[..at].chars().next_back();
            let mut rest = &code[at..];
            let mut ups = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                ups += 1;
                rest = after;
            }
            search = code.len() - rest.len();
            if before.is_some_and(is_ident) {
                continue;
            }
            // inside an inline module, the first `super` is the file's module
            let ups = ups - inline_mods.len().min(ups);
            if ups > here.len() {
                continue;
            }
            let base = &here[..here.len() - ups];
            for path in paths_at(rest) {
                found.push((base.iter().cloned().chain(path).collect(), number + 1));
            }
        }
        if opens_mod {
            inline_mods.push(depth);
        }
        for c in code.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if inline_mods.last() == Some(&depth) {
                        inline_mods.pop();
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// The sibling graphs of the crate in `src`.
fn graphs(root: &Path, src: &str) -> Graphs {
    let mut all = Vec::new();
    sources(&root.join(src), &[], &mut all);
    let tree = module_tree(&all);
    let mut graphs = Graphs::new();
    for source in &all {
        for (target, line) in references(source) {
            let common = source
                .module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= source.module.len() || common >= target.len() {
                continue;
            }
            let parent = source.module[..common].to_vec();
            let mut child = target[..=common].to_vec();
            if !tree.contains_key(&child) {
                match tree
                    .get(&parent)
                    .and_then(|names| names.get(&target[common]))
                {
                    Some(defined_in) => child[common].clone_from(defined_in),
                    None => continue,
                }
                // a re-export from outside the parent (`pub use crate::..`)
                if !tree.contains_key(&child) {
                    continue;
                }
            }
            let (from, to) = (source.module[common].clone(), child[common].clone());
            if from == to {
                continue;
            }
            let file = source.file.strip_prefix(root).unwrap_or(&source.file);
            graphs
                .entry(parent)
                .or_default()
                .entry((from, to))
                .or_insert_with(|| format!("{}:{line} uses {}", file.display(), target.join("::")));
        }
    }
    graphs
}

/// The groups of two or more modules that reach each other, at each level.
fn cycles(crate_name: &str, graphs: &Graphs) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, edges) in graphs {
        let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
        let reach = |start: &String| {
            let mut seen = BTreeSet::new();
            let mut todo = vec![start];
            while let Some(node) = todo.pop() {
                for (from, to) in edges.keys() {
                    if from == node && seen.insert(to) {
                        todo.push(to);
                    }
                }
            }
            seen
        };
        let reaches: BTreeMap<&String, BTreeSet<&String>> =
            nodes.iter().map(|&n| (n, reach(n))).collect();
        let mut grouped = BTreeSet::new();
        for &node in &nodes {
            if grouped.contains(node) || !reaches[node].contains(node) {
                continue;
            }
            let group: BTreeSet<&String> = nodes
                .iter()
                .copied()
                .filter(|other| reaches[node].contains(other) && reaches[other].contains(node))
                .collect();
            grouped.extend(group.iter().copied());
            let why: Vec<String> = edges
                .iter()
                .filter(|((a, b), _)| group.contains(a) && group.contains(b))
                .map(|((a, b), evidence)| format!("    {a} -> {b}: {evidence}"))
                .collect();
            let level = if parent.is_empty() {
                format!("{crate_name} (top level)")
            } else {
                format!("{crate_name}::{}", parent.join("::"))
            };
            let names: Vec<&str> = group.iter().map(|s| s.as_str()).collect();
            found.push(format!("{level}: {}\n{}", names.join(", "), why.join("\n")));
        }
    }
    found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let root = workspace();
    let mut found = Vec::new();
    for (name, src) in [
        ("eventstore_core", "eventstore-core/src"),
        ("sagas_examples", "sagas-examples/src"),
    ] {
        found.extend(cycles(name, &graphs(&root, src)));
    }
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_between_siblings_and_ignores_the_tree() {
    let dir = std::env::temp_dir().join(format!("module-cycles-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create a directory");
        fs::write(path, text).expect("write a source file");
    };
    write(
        "src/lib.rs",
        "mod a;\nmod b;\nmod c;\nmod d;\nmod e;\npub use a::Alpha;\n",
    );
    write(
        "src/a/mod.rs",
        "mod x;\nmod y;\npub use x::Ex;\nuse crate::b::Beta;\n",
    );
    write(
        "src/a/x.rs",
        "use super::y::Why;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    );
    write("src/a/y.rs", "fn f() { let _ = super::Ex; }\n");
    write(
        "src/b.rs",
        "use crate::{c, Alpha};\n// crate::c::Gamma in a comment\n",
    );
    write("src/c.rs", "fn g() { crate::b::Beta::new(); }\n");
    // a grouped import over several lines, as rustfmt writes a long one
    write(
        "src/d.rs",
        "use crate::{\n    // the other one\n    e::Eh,\n};\n",
    );
    write("src/e.rs", "use crate::d::Dee;\n");
    let found = cycles("demo", &graphs(&dir, "src"));
    fs::remove_dir_all(&dir).expect("remove the scratch crate");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("demo (top level): a, b, c\n"),
        "{found:#?}"
    );
    assert!(
        found[0].contains("b -> a: src/b.rs:1 uses Alpha"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("demo (top level): d, e\n"),
        "{found:#?}"
    );
    assert!(
        found[1].contains("d -> e: src/d.rs:1 uses e::Eh"),
        "{found:#?}"
    );
    assert!(found[2].starts_with("demo::a: x, y\n"), "{found:#?}");
}
