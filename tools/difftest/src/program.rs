//! A disassembled program as lines that the mutator can edit: instructions (opcode and
//! operands split at top-level commas), labels, and everything else kept as written.
//!
//! The text comes from `pyasm::dis::disassemble`. Before mutating, `Program::from_dis` strips
//! source positions (`.loc`, `.line`) so that every instruction gets its own line of the
//! `.pyasm` file as its line number: a crash's faulthandler report then names the line, and so
//! the instruction, that was running.

/// One line of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    Instr(Instr),
    Label(String),
    /// Directives, `.code` headers, `.end`, comments, blank lines.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instr {
    pub op: String,
    pub args: Vec<String>,
}

impl Instr {
    pub fn new(op: &str, args: &[&str]) -> Instr {
        Instr { op: op.to_string(), args: args.iter().map(|a| a.to_string()).collect() }
    }
    pub fn render(&self) -> String {
        if self.args.is_empty() { format!("    {}", self.op) } else { format!("    {} {}", self.op, self.args.join(", ")) }
    }
}

/// What the mutator needs to know about one code object: where it is and its variables, in
/// the fast-locals order documented in docs/format.md §1.5.
#[derive(Clone, Debug, Default)]
pub struct CodeInfo {
    pub name: String,
    /// Index of the `.code` line and of the `.end` line.
    pub start: usize,
    pub end: usize,
    pub locals: Vec<String>,
    pub cells: Vec<String>,
    pub freevars: Vec<String>,
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub lines: Vec<Line>,
}

impl Program {
    /// Parses pyasm's disassembly; drops positions and raw line tables, and names the file
    /// `filename` (its co_filename, which tracebacks and faulthandler print).
    pub fn from_dis(text: &str, filename: &str) -> Program {
        let mut lines = Vec::new();
        for raw in text.lines() {
            let t = raw.trim();
            if t.starts_with(".loc ") || t.starts_with(".line ") || t.starts_with(".linetable ") || t.starts_with('#') {
                continue;
            }
            if t.starts_with(".filename ") {
                lines.push(Line::Other(format!(".filename \"{filename}\"")));
                continue;
            }
            lines.push(parse_line(raw));
        }
        Program { lines }
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            match l {
                Line::Instr(i) => s.push_str(&i.render()),
                Line::Label(n) => {
                    s.push_str(n);
                    s.push(':');
                }
                Line::Other(o) => s.push_str(o),
            }
            s.push('\n');
        }
        s
    }

    /// The version named by the `.python` line.
    pub fn python_line(&self) -> Option<usize> {
        self.lines.iter().position(|l| matches!(l, Line::Other(o) if o.trim_start().starts_with(".python ")))
    }

    pub fn codes(&self) -> Vec<CodeInfo> {
        let mut out = Vec::new();
        let mut cur: Option<CodeInfo> = None;
        for (i, l) in self.lines.iter().enumerate() {
            match l {
                Line::Other(o) => {
                    let t = o.trim();
                    if let Some(header) = t.strip_prefix(".code ") {
                        let (name, params) = split_header(header);
                        cur = Some(CodeInfo { name, start: i, locals: params, ..Default::default() });
                    } else if t == ".end" {
                        if let Some(mut c) = cur.take() {
                            c.end = i;
                            out.push(c);
                        }
                    } else if let Some(c) = cur.as_mut() {
                        let list = |rest: &str| split_operands(rest);
                        if let Some(r) = t.strip_prefix(".locals ") {
                            c.locals.extend(list(r));
                        } else if let Some(r) = t.strip_prefix(".cells ") {
                            c.cells.extend(list(r));
                        } else if let Some(r) = t.strip_prefix(".freevars ") {
                            c.freevars.extend(list(r));
                        }
                    }
                }
                Line::Label(n) => {
                    if let Some(c) = cur.as_mut() {
                        c.labels.push(n.clone());
                    }
                }
                Line::Instr(_) => {}
            }
        }
        out
    }

    /// Indexes of the instruction lines of one code object.
    pub fn instrs_of(&self, code: &CodeInfo) -> Vec<usize> {
        (code.start..code.end).filter(|&i| matches!(self.lines[i], Line::Instr(_))).collect()
    }

    pub fn instr(&self, i: usize) -> Option<&Instr> {
        match &self.lines[i] {
            Line::Instr(x) => Some(x),
            _ => None,
        }
    }

    pub fn instr_mut(&mut self, i: usize) -> Option<&mut Instr> {
        match &mut self.lines[i] {
            Line::Instr(x) => Some(x),
            _ => None,
        }
    }

    /// The instruction on 1-based `line` of the rendered text, if that line is one.
    pub fn instr_at_line(&self, line: usize) -> Option<&Instr> {
        line.checked_sub(1).and_then(|i| self.lines.get(i)).and_then(|l| match l {
            Line::Instr(x) => Some(x),
            _ => None,
        })
    }
}

fn parse_line(raw: &str) -> Line {
    let t = raw.trim();
    if t.is_empty() || t.starts_with('.') || t.starts_with('#') {
        return Line::Other(raw.to_string());
    }
    if let Some(name) = t.strip_suffix(':').filter(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_')) {
        return Line::Label(name.to_string());
    }
    let (op, rest) = match t.find(char::is_whitespace) {
        Some(k) => (&t[..k], t[k..].trim()),
        None => (t, ""),
    };
    Line::Instr(Instr { op: op.to_string(), args: split_operands(rest) })
}

/// `outer(a, *args, k, **kw)` → ("outer", [a, k, args, kw]): positional, keyword-only, then
/// `*args` and `**kwargs`, as the fast locals are laid out.
fn split_header(header: &str) -> (String, Vec<String>) {
    let header = header.trim();
    let Some(open) = header.find('(').filter(|_| header.ends_with(')') && !header.starts_with('"')) else {
        return (header.to_string(), Vec::new());
    };
    let name = header[..open].to_string();
    let mut plain = Vec::new();
    let mut stars = Vec::new();
    for p in split_operands(&header[open + 1..header.len() - 1]) {
        if p == "/" || p == "*" {
            continue;
        }
        if let Some(s) = p.strip_prefix("**").or_else(|| p.strip_prefix('*')) {
            stars.push(s.to_string());
        } else {
            plain.push(p);
        }
    }
    plain.extend(stars);
    (name, plain)
}

/// Splits operands at commas outside strings and brackets.
pub fn split_operands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escape = false;
    let mut cur = String::new();
    for c in s.chars() {
        if let Some(q) = quote {
            cur.push(c);
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            '(' | '[' | '{' => {
                depth += 1;
                cur.push(c);
            }
            ')' | ']' | '}' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_split_outside_strings_and_brackets() {
        assert_eq!(split_operands(r#"("a, b", (1, 2)), null"#), vec![r#"("a, b", (1, 2))"#, "null"]);
        assert_eq!(split_operands(r#""it\"s, x", 3"#), vec![r#""it\"s, x""#, "3"]);
        assert!(split_operands("").is_empty());
    }

    #[test]
    fn parses_codes_and_renders_back() {
        let text = ".python 3.12\n.filename \"s.py\"\n\n.code f(a, /, b, *args, c, **kw)\n    .locals x\n    .cells y\n    .loc 1:0-1\n    RESUME 0\nloop1:\n    LOAD_GLOBAL len, null\n    JUMP_BACKWARD loop1\n.end\n";
        let p = Program::from_dis(text, "m.pyasm");
        let codes = p.codes();
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].name, "f");
        assert_eq!(codes[0].locals, vec!["a", "b", "c", "args", "kw", "x"]);
        assert_eq!(codes[0].cells, vec!["y"]);
        assert_eq!(codes[0].labels, vec!["loop1"]);
        assert_eq!(p.instrs_of(&codes[0]).len(), 3);
        let out = p.render();
        assert!(out.contains(".filename \"m.pyasm\"\n"));
        assert!(!out.contains(".loc "));
        assert!(out.contains("    LOAD_GLOBAL len, null\n"));
        assert_eq!(Program::from_dis(&out, "m.pyasm"), p);
        let line = out.lines().position(|l| l.contains("LOAD_GLOBAL")).unwrap() + 1;
        assert_eq!(p.instr_at_line(line).unwrap().op, "LOAD_GLOBAL");
    }
}
