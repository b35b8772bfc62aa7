//! Python source to compile: the fixed corpus (`corpus/*.py`, each a small program about one
//! part of the language) and a random generator of small programs in the same spirit.
//!
//! Each version's own interpreter compiles them, so the bytecode is what that version's
//! compiler really writes — no per-version templates. A corpus file may start with
//! `# min-version: 3.10` (a `match`, say); the generator only writes syntax that every
//! version from 3.6 reads, plus, where the version has them, the walrus and `match`.

use crate::choice::Choices;
use pyasm::version::PythonVersion;

pub struct Snippet {
    pub name: String,
    pub source: String,
}

/// The corpus, in a fixed order.
const CORPUS: &[(&str, &str)] = &[
    ("calls", include_str!("../corpus/calls.py")),
    ("closures", include_str!("../corpus/closures.py")),
    ("loops", include_str!("../corpus/loops.py")),
    ("comprehensions", include_str!("../corpus/comprehensions.py")),
    ("exceptions", include_str!("../corpus/exceptions.py")),
    ("withs", include_str!("../corpus/withs.py")),
    ("generators", include_str!("../corpus/generators.py")),
    ("coroutines", include_str!("../corpus/coroutines.py")),
    ("asyncgen", include_str!("../corpus/asyncgen.py")),
    ("unpacking", include_str!("../corpus/unpacking.py")),
    ("strings", include_str!("../corpus/strings.py")),
    ("classes", include_str!("../corpus/classes.py")),
    ("mixed", include_str!("../corpus/mixed.py")),
    ("walrus", include_str!("../corpus/walrus.py")),
    ("matching", include_str!("../corpus/matching.py")),
    ("exceptgroups", include_str!("../corpus/exceptgroups.py")),
];

/// The corpus files that `version` can compile.
pub fn corpus(version: PythonVersion) -> Vec<Snippet> {
    CORPUS
        .iter()
        .filter(|(_, src)| min_version(src).is_none_or(|m| version >= m))
        .map(|(name, src)| Snippet { name: name.to_string(), source: src.to_string() })
        .collect()
}

fn min_version(src: &str) -> Option<PythonVersion> {
    src.lines().find_map(|l| l.strip_prefix("# min-version: ")).and_then(|v| v.parse().ok())
}

/// A random program: helpers, then a function of random statements (closures, loops,
/// comprehensions, try regions, calls of every layout, unpacking, f-strings), a generator, and
/// module-level code that calls them inside `try` (so that the unmutated program exits 0
/// even where a random expression raises).
pub fn random(c: &mut dyn Choices, version: PythonVersion, name: &str) -> Snippet {
    let mut g = Gen { c, version, out: String::new(), vars: Vec::new(), depth: 0, fresh: 0 };
    g.out.push_str(PRELUDE);
    g.function("work", 0);
    g.generator();
    g.out.push_str("def main():\n    out = []\n");
    g.out.push_str("    for args in ((1, 2), (3, 0), (-2, 5)):\n        try:\n            out.append(work(*args, k=3))\n        except Exception as e:\n            out.append(type(e).__name__)\n");
    g.out.push_str("    out.append(list(gen(4)))\n    return out\n\nprint(main())\n");
    Snippet { name: name.to_string(), source: g.out }
}

const PRELUDE: &str = "\
class Obj:
    def __init__(self, v):
        self.v = v
        self.items = [v, v + 1]
    def get(self, d=0):
        return self.v + d
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False

def helper(a, b=1, *rest, **kw):
    return a + b + len(rest) + len(kw)

";

const BINOPS: &[&str] = &["+", "-", "*", "&", "|", "^"];
const CMPS: &[&str] = &["<", "<=", "==", "!=", ">", ">="];

struct Gen<'a> {
    c: &'a mut dyn Choices,
    version: PythonVersion,
    out: String,
    /// Variables bound in the current function (all bound at its start, so every read is
    /// defined on every path).
    vars: Vec<String>,
    depth: usize,
    fresh: usize,
}

impl Gen<'_> {
    fn line(&mut self, indent: usize, s: &str) {
        for _ in 0..indent {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn var(&mut self) -> String {
        self.c.pick(&self.vars).clone()
    }

    fn new_name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    fn atom(&mut self) -> String {
        match self.c.below(6) {
            0 => format!("{}", self.c.below(10)),
            1 => format!("len({}.items)", "o"),
            2 => "o.get(1)".to_string(),
            _ => self.var(),
        }
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth > 2 {
            return self.atom();
        }
        match self.c.below(12) {
            0 | 1 => format!("({} {} {})", self.expr(depth + 1), self.c.pick(BINOPS), self.expr(depth + 1)),
            2 => format!("({} // {})", self.expr(depth + 1), 1 + self.c.below(4)),
            3 => format!("helper({}, {})", self.expr(depth + 1), self.expr(depth + 1)),
            4 => format!("helper({}, b={}, z={})", self.atom(), self.atom(), self.atom()),
            5 => format!("helper(*[{}, {}], **{{'q': {}}})", self.atom(), self.atom(), self.atom()),
            6 => format!("({} if {} {} {} else {})", self.atom(), self.atom(), self.c.pick(CMPS), self.atom(), self.atom()),
            7 => format!("sum([{} for i in range({}) if i != {}])", self.atom(), self.c.below(4), self.atom()),
            8 => format!("max({}, {}, key=abs)", self.atom(), self.atom()),
            9 => format!("len({{{}, {}}})", self.atom(), self.atom()),
            _ => self.atom(),
        }
    }

    fn cond(&mut self) -> String {
        match self.c.below(4) {
            0 => format!("{} {} {}", self.expr(1), self.c.pick(CMPS), self.expr(1)),
            1 => format!("{} and {}", self.atom(), self.atom()),
            2 => format!("not {}", self.atom()),
            _ => format!("{} {} {}", self.atom(), self.c.pick(CMPS), self.atom()),
        }
    }

    fn function(&mut self, name: &str, indent: usize) {
        self.line(indent, &format!("def {name}(a, b=2, *args, k=1, **kw):"));
        let saved = std::mem::replace(&mut self.vars, vec!["a".into(), "b".into(), "k".into()]);
        for v in ["x", "y", "z"] {
            let e = self.expr(2);
            self.line(indent + 1, &format!("{v} = {e}"));
            self.vars.push(v.into());
        }
        self.line(indent + 1, "o = Obj(a)");
        self.line(indent + 1, "acc = []");
        let n = 3 + self.c.below(5);
        for _ in 0..n {
            self.statement(indent + 1);
        }
        let e = self.expr(0);
        self.line(indent + 1, &format!("return acc, {e}, x, y, z"));
        self.vars = saved;
    }

    fn statement(&mut self, ind: usize) {
        let deep = self.depth >= 2;
        let pick = self.c.below(if deep { 8 } else { 17 });
        self.depth += 1;
        match pick {
            0 => {
                let (v, e) = (self.var(), self.expr(0));
                self.line(ind, &format!("{v} = {e}"));
            }
            1 => {
                let (v, op, e) = (self.var(), self.c.pick(BINOPS).to_string(), self.expr(1));
                self.line(ind, &format!("{v} {op}= {e}"));
            }
            2 => {
                let e = self.expr(0);
                self.line(ind, &format!("acc.append({e})"));
            }
            3 => {
                let (v, w) = (self.var(), self.var());
                self.line(ind, &format!("{v}, {w} = {w}, {v}"));
            }
            4 => {
                let (v, e1, e2) = (self.var(), self.atom(), self.atom());
                self.line(ind, &format!("{v}, *rest = [{e1}, {e2}, 3]"));
                self.line(ind, "acc.extend(rest)");
            }
            5 => {
                let (v, w) = (self.var(), self.var());
                self.line(ind, &format!("acc.append(f\"{{{v}}}-{{{w}!r:>3}}\")"));
            }
            6 => {
                let (d, e) = (self.var(), self.expr(1));
                self.line(ind, &format!("acc.append({{str(i): i * {e} for i in range(3)}}.get('1', {d}))"));
            }
            7 => {
                let e = self.atom();
                self.line(ind, &format!("acc.append(sorted({{i % 3 for i in range({e} % 5)}}))"));
            }
            8 => {
                let c = self.cond();
                self.line(ind, &format!("if {c}:"));
                self.statement(ind + 1);
                if self.c.chance(50) {
                    self.line(ind, "else:");
                    self.statement(ind + 1);
                }
            }
            9 => {
                let i = self.new_name("i");
                let n = 1 + self.c.below(4);
                self.line(ind, &format!("for {i} in range({n}):"));
                self.vars.push(i.clone());
                let c = self.cond();
                match self.c.below(3) {
                    0 => self.line(ind + 1, &format!("if {c}:\n{}    continue", "    ".repeat(ind + 1))),
                    1 => self.line(ind + 1, &format!("if {c}:\n{}    break", "    ".repeat(ind + 1))),
                    _ => {}
                }
                self.statement(ind + 1);
            }
            10 => {
                let n = self.new_name("n");
                self.line(ind, &format!("{n} = 0"));
                let limit = 1 + self.c.below(4);
                self.line(ind, &format!("while {n} < {limit}:"));
                self.line(ind + 1, &format!("{n} += 1"));
                self.vars.push(n);
                self.statement(ind + 1);
            }
            11 => {
                self.line(ind, "try:");
                let d = self.c.below(3);
                let a = self.atom();
                let divisor = if d == 0 { "(x - x)".to_string() } else { d.to_string() };
                self.line(ind + 1, &format!("acc.append({a} // {divisor})"));
                self.statement(ind + 1);
                self.line(ind, "except ZeroDivisionError as e:");
                self.line(ind + 1, "acc.append(type(e).__name__)");
                if self.c.chance(40) {
                    self.line(ind, "else:");
                    self.statement(ind + 1);
                }
                if self.c.chance(40) {
                    self.line(ind, "finally:");
                    self.line(ind + 1, "acc.append('f')");
                }
            }
            12 => {
                self.line(ind, "with Obj(x) as m:");
                self.line(ind + 1, "acc.append(m.get(1))");
                self.statement(ind + 1);
            }
            13 => {
                // A closure that rebinds one of our variables.
                let f = self.new_name("inner");
                let v = self.var();
                self.line(ind, &format!("def {f}(p):"));
                if !["a", "b", "k"].contains(&v.as_str()) && !v.starts_with('i') && !v.starts_with('n') {
                    self.line(ind + 1, &format!("nonlocal {v}"));
                    self.line(ind + 1, &format!("{v} = p + 1"));
                }
                let e = self.expr(1);
                self.line(ind + 1, &format!("return p * 2 + ({e})"));
                let a = self.atom();
                self.line(ind, &format!("acc.append({f}({a}))"));
            }
            14 => {
                let e = self.expr(1);
                self.line(ind, &format!("acc.append(list(map(lambda q: q + {e}, acc[:2] if acc and isinstance(acc[0], int) else [1])))"));
            }
            15 if self.version >= PythonVersion::new(3, 8) && self.c.chance(50) => {
                let e = self.expr(1);
                self.line(ind, &format!("if (w := {e}) > 2:"));
                self.line(ind + 1, "acc.append(w)");
            }
            15 => {
                let e = self.atom();
                self.line(ind, &format!("acc.append(any(t > {e} for t in (x, y, z)))"));
            }
            _ if self.version >= PythonVersion::new(3, 10) => {
                let v = self.var();
                self.line(ind, &format!("match {v}:"));
                let k = self.c.below(3);
                self.line(ind + 1, &format!("case {k}:"));
                self.line(ind + 2, "acc.append('zero-ish')");
                self.line(ind + 1, "case int(q) if q > 5:");
                self.line(ind + 2, "acc.append(q)");
                self.line(ind + 1, "case _:");
                self.line(ind + 2, "acc.append('other')");
            }
            _ => {
                let e = self.expr(1);
                self.line(ind, &format!("acc.append(o.items[{e} % 2])"));
            }
        }
        self.depth -= 1;
    }

    fn generator(&mut self) {
        self.line(0, "def gen(n):");
        self.line(1, "i = 0");
        self.line(1, "while i < n:");
        self.line(2, "got = yield i * 2");
        self.line(2, "i += 1");
        if self.c.chance(50) {
            self.line(1, "yield from range(2)");
        }
        self.line(1, "return i");
        self.line(0, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::choice::Seeded;

    #[test]
    fn corpus_respects_min_versions() {
        let old: Vec<String> = corpus(PythonVersion::new(3, 6)).into_iter().map(|s| s.name).collect();
        let new: Vec<String> = corpus(PythonVersion::new(3, 13)).into_iter().map(|s| s.name).collect();
        assert!(!old.contains(&"matching".to_string()) && !old.contains(&"walrus".to_string()));
        assert!(new.contains(&"matching".to_string()) && new.contains(&"exceptgroups".to_string()));
        assert_eq!(new.len(), CORPUS.len());
    }

    #[test]
    fn random_programs_are_deterministic_and_vary() {
        let v = PythonVersion::new(3, 12);
        let a = random(&mut Seeded::new(5), v, "r").source;
        let b = random(&mut Seeded::new(5), v, "r").source;
        let c = random(&mut Seeded::new(6), v, "r").source;
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.contains("def work(") && a.contains("print(main())"));
    }
}
