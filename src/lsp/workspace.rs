//! The open documents, and which files make up the module each belongs to.
//!
//! pyasm has no project file: a module is the files given together on the command line. The
//! server infers it from the folder a document is in, as examples/link/program is laid out:
//! the document's module takes in each `.pyasm` file of the same folder that defines a code
//! object another member refers to by `@name` without defining it (or refers to one only
//! another member defines), until nothing more joins. A file that a sibling `.include`s is
//! not a module of its own: it is checked as part of the module of the file that includes it.
//! A file that defines a code object the module already has (its own `<module>`) stays out.
//! A folder of separate programs (examples/) thus gives one module per file.

use crate::diagnostics::SourceFiles;
use crate::syntax::ast::Value;
use crate::syntax::lexer::Tok;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Siblings beyond this many are not looked at (a folder of thousands of disassembled modules).
const MAX_SIBLINGS: usize = 400;

#[derive(Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
}

#[derive(Clone, Default)]
pub struct Workspace {
    pub docs: HashMap<PathBuf, Document>,
}

/// What one file contributes to finding modules.
#[derive(Default)]
struct FileLinks {
    defines: BTreeSet<String>,
    refers: BTreeSet<String>,
    includes: Vec<PathBuf>,
}

impl FileLinks {
    fn unresolved(&self) -> impl Iterator<Item = &String> {
        self.refers.iter().filter(|r| !self.defines.contains(*r))
    }
}

/// `a/b/../c` as `a/c`, without asking the file system (the file may not exist yet).
pub fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Workspace {
    /// The text of a file: the editor's when it is open, else the disk's.
    pub fn text(&self, path: &Path) -> Option<String> {
        match self.docs.get(path) {
            Some(d) => Some(d.text.clone()),
            None => std::fs::read_to_string(path).ok(),
        }
    }

    fn links(&self, path: &Path) -> FileLinks {
        match self.docs.get(path) {
            Some(d) => links_of(&d.text, path),
            None => std::fs::read_to_string(path).map(|t| links_of(&t, path)).unwrap_or_default(),
        }
    }

    /// The `.pyasm` files of the document's folder, open or on disk, the document first.
    fn siblings(&self, path: &Path) -> Vec<PathBuf> {
        let folder = path.parent().unwrap_or(Path::new("."));
        let mut found: BTreeSet<PathBuf> = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| normalize(&e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pyasm") && p.is_file())
            .take(MAX_SIBLINGS)
            .collect();
        found.extend(self.docs.keys().filter(|p| p.parent() == Some(folder)).cloned());
        found.remove(path);
        std::iter::once(path.to_path_buf()).chain(found).collect()
    }

    /// The files of the module `path` belongs to, in the order to assemble them (the file
    /// that defines `<module>` first: its name is the module's co_filename).
    pub fn module_of(&self, path: &Path) -> Vec<PathBuf> {
        let siblings = self.siblings(path);
        let links: Vec<FileLinks> = siblings.iter().map(|p| self.links(p)).collect();
        let included: BTreeSet<&PathBuf> = links.iter().flat_map(|l| &l.includes).collect();
        // Included by a sibling: the module of the (first) file that includes it.
        if included.contains(&path.to_path_buf()) {
            if let Some(i) = (1..siblings.len()).find(|&i| links[i].includes.iter().any(|p| p == path) && !included.contains(&siblings[i])) {
                return self.module_of(&siblings[i]);
            }
        }
        let mut members = vec![0usize];
        loop {
            let defines: BTreeSet<&String> = members.iter().flat_map(|&m| &links[m].defines).collect();
            let wanted: BTreeSet<&String> =
                members.iter().flat_map(|&m| links[m].unresolved()).filter(|r| !defines.contains(r)).collect();
            let joins = (0..siblings.len()).find(|i| {
                !members.contains(i)
                    && !included.contains(&siblings[*i])
                    // Two files that define the same code object (each its own `<module>`)
                    // are separate programs.
                    && !links[*i].defines.iter().any(|d| defines.contains(d))
                    && (links[*i].defines.iter().any(|d| wanted.contains(d)) || links[*i].unresolved().any(|r| defines.contains(r)))
            });
            match joins {
                Some(i) => members.push(i),
                None => break,
            }
        }
        let first = members.iter().position(|&m| links[m].defines.contains("<module>")).unwrap_or(0);
        members.swap(0, first);
        members[1..].sort_by(|a, b| siblings[*a].cmp(&siblings[*b]));
        members.into_iter().map(|m| siblings[m].clone()).collect()
    }

    /// The files `path`'s text includes (read from its tokens, as the module is found).
    pub fn includes(&self, text: &str, path: &Path) -> Vec<PathBuf> {
        links_of(text, path).includes
    }

    /// The module's files in a fresh `SourceFiles` (open documents as the editor has them,
    /// also for `.include`), with their ids in order.
    pub fn load(&self, module: &[PathBuf]) -> (SourceFiles, Vec<u32>) {
        let mut files = SourceFiles::new();
        for (path, doc) in &self.docs {
            files.set_overlay(path.clone(), doc.text.clone());
        }
        let ids = module.iter().map(|p| files.add(p.display().to_string(), self.text(p).unwrap_or_default())).collect();
        (files, ids)
    }
}

/// The code objects a file defines and refers to, and the files it includes: read from the
/// tokens (`.code NAME`, `@ NAME`, `.include "FILE"`), which is all this needs and much less
/// work than a parse for a large file. Only the lines that can hold one are lexed (a token
/// never spans lines): most lines of a large file are instructions without any, and the
/// lines are found by searching the whole text (much faster than looking at each line).
fn links_of(text: &str, path: &Path) -> FileLinks {
    let mut out = FileLinks::default();
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    let name = |t: &Tok| match t {
        Tok::Ident(n) | Tok::AngleName(n) => Some(n.to_string()),
        Tok::Str(s) => Some(s.to_lossy()),
        _ => None,
    };
    let mut starts: Vec<usize> = ["@", ".code", ".include"]
        .iter()
        .flat_map(|pat| text.match_indices(pat).map(|(i, _)| text[..i].rfind('\n').map_or(0, |n| n + 1)))
        .collect();
    starts.sort_unstable();
    starts.dedup();
    for start in starts {
        let line = text[start..].split('\n').next().unwrap_or("");
        let tokens = crate::syntax::lexer::lex(line, &mut errors);
        for w in tokens.windows(2) {
            match (&w[0].1, &w[1].1) {
                (Tok::DotCode, t) => out.defines.extend(name(t)),
                (Tok::Symbol("@"), t) => out.refers.extend(name(t)),
                (Tok::Directive("include"), Tok::Str(s)) => out.includes.push(normalize(&folder.join(s.to_lossy()))),
                _ => {}
            }
        }
    }
    out
}

/// Every `@name` inside a value.
pub fn code_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::CodeRef(n) => {
            out.insert(n.text());
        }
        Value::Tuple(vs) | Value::Set(vs) | Value::Call(_, vs) => vs.iter().for_each(|x| code_refs(&x.node, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn a_module_is_the_files_linked_by_code_references() {
        let root = normalize(Path::new(env!("CARGO_MANIFEST_DIR")));
        let ws = Workspace::default();
        let program = root.join("examples/link/program");
        // From any of its files; the included calls.pyasm belongs to its includer's module.
        for name in ["numbers.pyasm", "main.pyasm", "text.pyasm", "calls.pyasm"] {
            assert_eq!(names(&ws.module_of(&program.join(name))), ["main.pyasm", "numbers.pyasm", "text.pyasm"], "{name}");
        }
        // A folder of separate programs: one module each.
        assert_eq!(names(&ws.module_of(&root.join("examples/hello.pyasm"))), ["hello.pyasm"]);
    }

    #[test]
    fn open_documents_count_as_they_are_in_the_editor() {
        let root = normalize(Path::new(env!("CARGO_MANIFEST_DIR")));
        let mut ws = Workspace::default();
        // Two documents not saved yet, one using the other's function.
        let (user, helper) = (root.join("examples/user.pyasm"), root.join("examples/helper.pyasm"));
        ws.docs.insert(user.clone(), Document { text: ".code <module>\n    LOAD_CONST @helper\n.end\n".into(), version: 1 });
        ws.docs.insert(helper.clone(), Document { text: ".code helper()\n    RETURN_CONST None\n.end\n".into(), version: 1 });
        assert_eq!(names(&ws.module_of(&helper)), ["user.pyasm", "helper.pyasm"]);
        // factorial.pyasm defines `factorial`, and its own `<module>`: another program.
        let text = ".code <module>\n    LOAD_CONST @factorial\n.end\n";
        ws.docs.insert(user.clone(), Document { text: text.into(), version: 2 });
        assert_eq!(names(&ws.module_of(&user)), ["user.pyasm"]);
    }
}
