//! The import graph of `src/`, as DESIGN.md draws it: every `crate::…` path (and every
//! `super::…` that climbs to the crate root) in every `src/**/*.rs` is an edge from the
//! file's top-level module to the module it names; items re-exported by `lib.rs` count as
//! their defining module. The graph of top-level modules has no cycle, and no module uses
//! a module of a higher layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// DESIGN.md's layers, bottom up; a module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    &["error", "limits"],
    &["geo"],
    &["raster", "tiling"],
    &["preprocess", "inference", "postprocess"],
    &["detection"],
    &["pipeline", "analysis", "output"],
    // Jobs of many scenes: runs the pipeline per scene, merges with the analysis plane.
    &["job"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// One use of another module: where, and the path as written.
#[derive(Debug, Clone)]
struct Use {
    from: String,
    to: String,
    /// The path reached the crate root and named a re-export of `lib.rs` (or a glob).
    via_root: bool,
    at: String,
    line: String,
}

/// Rust source with comments, string and char literals blanked (newlines kept, so line
/// numbers stay right).
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&b, i) {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    _ => j += 1,
                }
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\''
            && (b.get(i + 2) == Some(&'\'') || (next == Some('\\') && b[i..].len() > 3))
        {
            // A char literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            let end = b[i + 1..]
                .iter()
                .skip(1)
                .position(|&ch| ch == '\'')
                .map_or(b.len(), |p| i + 2 + p + 1);
            for &ch in &b[i..end.min(b.len())] {
                out.push(blank(ch));
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first segment of each path a use names after `prefix::`: `x` for `x::…`, each
/// item's first segment for a group `{x::…, y, z::{…}}`, `*` for a glob.
fn first_segments(rest: &str) -> Vec<String> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        let mut items = Vec::new();
        let (mut depth, mut cur) = (0, String::new());
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        items.push(cur);
        items
            .iter()
            .flat_map(|i| first_segments(i.trim()))
            .filter(|s| !s.is_empty() && s != "self")
            .collect()
    } else if rest.starts_with('*') {
        vec!["*".into()]
    } else {
        vec![rest.chars().take_while(|&c| is_ident(c)).collect()]
    }
}

/// Module path of a file below `src/`: `geo/crs.rs` → [geo, crs], `geo/mod.rs` → [geo].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The uses in one file's code. `module` is the file's module path; inline `mod x { … }`
/// blocks are followed so that `super::` resolves from where it is written.
fn uses_in(
    file: &str,
    code: &str,
    module: &[String],
    root_items: &BTreeMap<String, String>,
) -> Vec<Use> {
    let from = module[0].clone();
    let lines: Vec<&str> = code.lines().collect();
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    // Brace depths at which inline modules opened.
    let mut inline: Vec<usize> = Vec::new();
    let (mut depth, mut line_no, mut pending_mod) = (0usize, 1usize, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => line_no += 1,
            '{' => {
                depth += 1;
                if pending_mod {
                    inline.push(depth);
                    pending_mod = false;
                }
            }
            '}' => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            ';' => pending_mod = false,
            _ => {}
        }
        let starts_word = matches!(c, 'c' | 's' | 'm')
            && !prev_is_ident(&chars, i)
            && (i == 0 || chars[i - 1] != '$');
        if !starts_word {
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 400)].iter().collect();
        if rest.starts_with("mod ") {
            pending_mod = true;
        }
        // The path after the prefix, when the prefix reaches the crate root.
        let (prefix_len, at_root) = if rest.starts_with("crate::") {
            ("crate::".len(), true)
        } else if rest.starts_with("super::") {
            let mut r = rest.as_str();
            let mut ups = 0;
            while let Some(x) = r.strip_prefix("super::") {
                ups += 1;
                r = x;
            }
            (rest.len() - r.len(), ups >= module.len() + inline.len())
        } else {
            i += 1;
            continue;
        };
        if at_root {
            for seg in first_segments(&rest[prefix_len..]) {
                let (to, via_root) = if layer(&seg).is_some() {
                    (seg.clone(), false)
                } else if let Some(m) = root_items.get(&seg) {
                    (m.clone(), true)
                } else {
                    (format!("<{seg}>"), true)
                };
                if to != from {
                    out.push(Use {
                        from: from.clone(),
                        to,
                        via_root,
                        at: format!("src/{file}:{line_no}"),
                        line: lines.get(line_no - 1).unwrap_or(&"").trim().to_string(),
                    });
                }
            }
        }
        // Past the prefix (the path itself is scanned on, for its braces and lines).
        i += prefix_len;
    }
    out
}

/// `lib.rs`'s re-exports: item name → the top-level module it comes from.
fn root_items(lib: &str) -> BTreeMap<String, String> {
    let code = code_only(lib);
    let mut map = BTreeMap::new();
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(path) = stmt.strip_prefix("pub use ") else {
            continue;
        };
        let (module, items) = path.split_once("::").unwrap_or((path, ""));
        let items = items.trim();
        let names: Vec<&str> = match items.strip_prefix('{') {
            Some(g) => g.trim_end_matches('}').split(',').collect(),
            None => vec![items],
        };
        for n in names {
            let n = n.trim();
            let name = n.rsplit(" as ").next().unwrap_or(n);
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    map
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every use between top-level modules in `src/`.
fn all_uses() -> Vec<Use> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let items = root_items(&lib);
    assert!(
        items.get("Scene").map(String::as_str) == Some("raster"),
        "lib.rs re-exports not understood: {items:?}"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut uses = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("below src");
        if rel == Path::new("lib.rs") {
            continue;
        }
        let module = module_path(rel);
        assert!(
            layer(&module[0]).is_some(),
            "src/{} belongs to no layer of DESIGN.md: add `{}` to LAYERS here (and to the design)",
            rel.display(),
            module[0]
        );
        let text = std::fs::read_to_string(&f).expect("read");
        let file = rel.to_string_lossy();
        uses.extend(uses_in(&file, &code_only(&text), &module, &items));
    }
    uses
}

fn show(uses: &[&Use]) -> String {
    let lines: BTreeSet<String> = uses
        .iter()
        .map(|u| format!("  {}  {} -> {}: {}", u.at, u.from, u.to, u.line))
        .collect();
    lines.into_iter().collect::<Vec<_>>().join("\n")
}

#[test]
fn every_path_names_a_module_or_a_root_re_export() {
    let uses = all_uses();
    let unknown: Vec<&Use> = uses.iter().filter(|u| u.to.starts_with('<')).collect();
    assert!(
        unknown.is_empty(),
        "paths this test cannot place:\n{}",
        show(&unknown)
    );
    // The parse finds the imports it should (a guard against a test that sees nothing).
    assert!(uses
        .iter()
        .any(|u| u.from == "pipeline" && u.to == "raster"));
    assert!(uses.iter().any(|u| u.from == "raster" && u.to == "geo"));
}

#[test]
fn no_module_uses_a_higher_layer() {
    let uses = all_uses();
    let up: Vec<&Use> = uses
        .iter()
        .filter(|u| match (layer(&u.from), layer(&u.to)) {
            (Some(a), Some(b)) => b > a,
            _ => false,
        })
        .collect();
    assert!(
        up.is_empty(),
        "imports from a higher layer (layers bottom-up: {LAYERS:?}):\n{}",
        show(&up)
    );
}

/// A cycle in a directed graph, as the path that closes it (first node repeated last).
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().insert(b);
    }
    // Depth-first search; an edge back into the stack closes a cycle.
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(p) = stack.iter().position(|&s| s == n) {
            let mut cycle: Vec<String> = stack[p..].iter().map(|s| s.to_string()).collect();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for &m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let (mut stack, mut done) = (Vec::new(), BTreeSet::new());
    graph
        .keys()
        .find_map(|&n| visit(n, &graph, &mut stack, &mut done))
}

#[test]
fn top_level_modules_form_no_cycle() {
    let uses = all_uses();
    let edges: BTreeSet<(String, String)> = uses
        .iter()
        .map(|u| (u.from.clone(), u.to.clone()))
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let on_cycle: Vec<&Use> = uses
            .iter()
            .filter(|u| cycle.windows(2).any(|w| u.from == w[0] && u.to == w[1]))
            .collect();
        panic!(
            "a cycle between top-level modules: {}\n{}",
            cycle.join(" -> "),
            show(&on_cycle)
        );
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let edges = |e: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        e.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        find_cycle(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert_eq!(
        find_cycle(&edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// DESIGN.md: modules import from their own layer or below, "never through lib.rs".
#[test]
fn no_module_imports_through_lib_rs() {
    let uses = all_uses();
    let via: Vec<&Use> = uses.iter().filter(|u| u.via_root).collect();
    assert!(
        via.is_empty(),
        "paths through lib.rs's re-exports:\n{}",
        show(&via)
    );
}

#[test]
fn the_parser_reads_groups_super_inline_modules_and_skips_comments_and_strings() {
    let items = root_items("pub use error::{Error, Result};\npub use raster::Scene;");
    let src = r#"
use crate::{error::{Error, Result}, limits::Limits};
use super::super::geo::Crs; // from raster/tiff/x.rs: the crate root's geo
// use crate::pipeline::Detector;
/* crate::output */
const S: &str = "crate::pipeline";
const C: char = '"';
fn f<'a>(x: &'a str) -> crate::Result<()> { let _ = crate::tiling::TileGrid::new; Ok(()) }
mod tests {
    use super::*;
    use super::super::super::Scene;
    use super::super::super::super::Error;
}
"#;
    let module: Vec<String> = ["raster", "tiff", "x"].map(String::from).to_vec();
    let uses = uses_in("raster/tiff/x.rs", &code_only(src), &module, &items);
    let got: Vec<(String, bool, usize)> = uses
        .iter()
        .map(|u| {
            assert!(u.at.starts_with("src/raster/tiff/x.rs:"), "{}", u.at);
            let line: usize = u.at.rsplit(':').next().unwrap_or("0").parse().unwrap_or(0);
            (u.to.clone(), u.via_root, line)
        })
        .collect();
    let want: Vec<(String, bool, usize)> = vec![
        ("error".into(), false, 2),
        ("limits".into(), false, 2),
        ("error".into(), true, 8),
        ("tiling".into(), false, 8),
        ("error".into(), true, 12),
    ];
    assert_eq!(got, want, "{uses:#?}");
}
