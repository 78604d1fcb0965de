//! The crate's layering, checked: every `crate::…` and `super::…` path in
//! `src` is an edge between modules, and
//!
//! - between top-level modules, an edge must point to a lower floor of
//!   [`FLOORS`] (so there is no cycle, and two modules on one floor know
//!   nothing of each other);
//! - between the files of one directory module (`auth/file.rs`,
//!   `auth/session.rs`, …) the edges must not form a cycle. A directory's
//!   `mod.rs` is its entry (dispatch and the types its files share), so its
//!   files may use it without that counting as an edge.
//!
//! Paths are found textually, outside comments and `#[cfg(test)]` modules;
//! `super::` is read relative to the file (inline modules are not tracked).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules, highest floor first. A new module must be placed here.
const FLOORS: &[&[&str]] = &[
    &["run"],
    &["commands"],
    &["auth", "oauth_prompt"],
    &["api", "context"],
    &["output"],
    &["terminal", "error", "args"],
];

/// A module path from the crate root (`["auth", "file"]`).
type Module = Vec<String>;

/// Every module file under `src` (not the binary), with its text.
fn sources() -> BTreeMap<Module, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let mut module: Module = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                // The binary, and this checker (its tests hold sample paths).
                Some("main" | "module_graph") if module.len() == 1 => continue,
                Some("lib") if module.len() == 1 => module.clear(),
                Some("mod") => {
                    module.pop();
                }
                _ => {}
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            out.insert(module, code_only(&text));
        }
    }
    out
}

/// The text without line comments and without the `#[cfg(test)]` module.
fn code_only(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segments after each `prefix` (`crate::a::b` → `[a, b]`;
/// `crate::{a, b::c}` → `[a]`, `[b, c]`), at most two deep.
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        // `crate::` inside a longer name (`my_crate::`) is not ours.
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(j, _)| j);
            let mut depth = 0;
            let mut start = 0;
            let inner = &group[..end];
            for (j, c) in inner.char_indices().chain([(inner.len(), ',')]) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(segments(inner[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(segments(rest));
        }
    }
    out.retain(|p| !p.is_empty() && !p[0].is_empty());
    out
}

fn segments(s: &str) -> Vec<&str> {
    let first = ident(s);
    let mut out = vec![first];
    if let Some(rest) = s[first.len()..].strip_prefix("::") {
        let second = ident(rest);
        if !second.is_empty() {
            out.push(second);
        }
    }
    out
}

/// Module-to-module edges, resolved to the deepest module file named.
fn edges(sources: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let is_module = |m: &[&str]| {
        sources
            .keys()
            .any(|k| k.len() == m.len() && k.iter().zip(m).all(|(a, b)| a == b))
    };
    let resolve = |path: Vec<&str>| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| &path[..n])
            .find(|p| is_module(p))
            .map(|p| p.iter().map(|s| s.to_string()).collect())
    };
    let mut out = BTreeSet::new();
    for (from, text) in sources {
        let mut targets: Vec<Module> = paths_after(text, "crate::")
            .into_iter()
            .filter_map(&resolve)
            .collect();
        if let Some((_, parent)) = from.split_last() {
            for path in paths_after(text, "super::") {
                let full: Vec<&str> = parent
                    .iter()
                    .map(String::as_str)
                    .chain(path.iter().copied())
                    .collect();
                targets.extend(resolve(full));
            }
        }
        for to in targets {
            if &to != from {
                out.insert((from.clone(), to));
            }
        }
    }
    out
}

fn floor(module: &str) -> usize {
    FLOORS
        .iter()
        .position(|f| f.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is not on a floor of FLOORS"))
}

#[test]
fn top_level_modules_only_use_lower_floors() {
    let sources = sources();
    for module in sources.keys().filter(|m| m.len() == 1) {
        floor(&module[0]);
    }
    let mut wrong = Vec::new();
    for (from, to) in edges(&sources) {
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a != b && floor(a) >= floor(b) {
            wrong.push(format!("{} -> {}", from.join("::"), to.join("::")));
        }
    }
    assert!(
        wrong.is_empty(),
        "edges that do not point to a lower floor:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_of_a_directory_module_have_no_cycle() {
    let sources = sources();
    let edges = edges(&sources);
    // Sibling edges only: `a::x -> a::y`.
    let mut graph: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (from, to) in &edges {
        if from.len() == 2 && to.len() == 2 && from[0] == to[0] {
            graph.entry(from).or_default().push(to);
        }
    }
    // Depth-first search; a node met again while on the stack is a cycle.
    fn visit<'a>(
        node: &'a Module,
        graph: &BTreeMap<&'a Module, Vec<&'a Module>>,
        stack: &mut Vec<&'a Module>,
        done: &mut BTreeSet<&'a Module>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(i) = stack.iter().position(|m| *m == node) {
            let cycle: Vec<String> = stack[i..].iter().map(|m| m.join("::")).collect();
            panic!(
                "import cycle: {} -> {}",
                cycle.join(" -> "),
                node.join("::")
            );
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done);
        }
        stack.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_checker_sees_paths_and_groups() {
    let text = "use crate::api::client::{Auth, Http};\nuse crate::{error, output::Ui};\nx::crate::no;\nlet y = crate::terminal::confirm(q);";
    assert_eq!(
        paths_after(text, "crate::"),
        vec![
            vec!["api", "client"],
            vec!["error"],
            vec!["output", "Ui"],
            vec!["terminal", "confirm"],
        ]
    );
    assert_eq!(
        code_only("use a; // crate::x\n#[cfg(test)]\nmod tests {\n use crate::y;\n}\n"),
        "use a; \n"
    );
}
