//! Literal operands → constants.

use crate::diagnostics::{Diagnostic, codes};
use crate::object::Constant;
use crate::syntax::ast::{Spanned, Value};

/// A co_consts entry before code objects are built: code objects are referenced by the
/// index of their `.code` block and filled in once every block is assembled.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PoolConst {
    Value(Constant),
    Code(usize),
}

/// Converts a literal to a constant. `code_ref` looks up `@name` references (only allowed at
/// the top level, as CPython never nests code objects inside tuples).
pub fn to_constant(
    v: &Spanned<Value>,
    code_ref: &mut dyn FnMut(&Spanned<Value>) -> Result<usize, Diagnostic>,
) -> Result<PoolConst, Diagnostic> {
    if let Value::CodeRef(_) = &v.node {
        return code_ref(v).map(PoolConst::Code);
    }
    literal(v).map(PoolConst::Value)
}

pub fn literal(v: &Spanned<Value>) -> Result<Constant, Diagnostic> {
    let err = |msg: String| Diagnostic::error(codes::CONSTANT, msg).with_primary(v.span, "");
    Ok(match &v.node {
        Value::Word(w) => match w.as_str() {
            "None" => Constant::None,
            "True" => Constant::True,
            "False" => Constant::False,
            "Ellipsis" => Constant::Ellipsis,
            "inf" => Constant::Float(f64::INFINITY),
            "nan" => Constant::Float(f64::NAN),
            _ => {
                return Err(err(format!("`{w}` is not a constant"))
                    .with_help(format!(
                        "strings need quotes (\"{w}\"); to load a variable use LOAD_NAME, LOAD_FAST or LOAD_GLOBAL"
                    )));
            }
        },
        Value::Int(i) => Constant::Int(i.clone()),
        Value::Float(f) => Constant::Float(*f),
        Value::Imag(f) => Constant::Complex { re: 0.0, im: *f },
        Value::Str(s) => Constant::Str(s.clone()),
        Value::Bytes(b) => Constant::Bytes(b.clone()),
        Value::Ellipsis => Constant::Ellipsis,
        Value::Tuple(items) => Constant::Tuple(items.iter().map(literal).collect::<Result<_, _>>()?),
        Value::Call(f, args) => match (f.node.as_str(), args.as_slice()) {
            ("frozenset", []) => Constant::FrozenSet(Vec::new()),
            ("frozenset", [arg]) => match &arg.node {
                Value::Set(items) | Value::Tuple(items) => {
                    Constant::FrozenSet(items.iter().map(literal).collect::<Result<_, _>>()?)
                }
                _ => return Err(err("write a frozenset as frozenset({a, b})".into())),
            },
            ("complex", [re, im]) => Constant::Complex { re: real(re)?, im: real(im)? },
            ("complex", _) => return Err(err("write a complex number as complex(REAL, IMAG)".into())),
            ("slice", [start, stop, step]) => Constant::Slice(vec![literal(start)?, literal(stop)?, literal(step)?]),
            ("slice", _) => return Err(err("write a slice constant with all three parts: slice(START, STOP, STEP)".into())),
            (other, _) => {
                return Err(err(format!("`{other}(...)` is not a constant form"))
                    .with_help("the constant forms are frozenset({...}), complex(re, im) and slice(start, stop, step)"));
            }
        },
        Value::Set(_) => return Err(err("a set constant is written frozenset({...})".into())),
        Value::CodeRef(n) => {
            return Err(err(format!("a code object (@{}) cannot appear inside another constant", n.text())));
        }
        Value::Angle(a) => {
            return Err(err(format!("`{a}` is not a constant")).with_help(format!("for the string, write \"{a}\"")));
        }
        Value::Raw(_) => return Err(err("`$N` gives a raw argument, not a constant".into())),
        Value::Symbol(s) => return Err(err(format!("`{s}` is not a constant"))),
        Value::Loc(_) => return Err(err("a source position is not a constant".into())),
    })
}

fn real(v: &Spanned<Value>) -> Result<f64, Diagnostic> {
    match &v.node {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(i.to_string().parse::<f64>().unwrap_or(f64::NAN)),
        Value::Word(w) if w == "inf" => Ok(f64::INFINITY),
        Value::Word(w) if w == "nan" => Ok(f64::NAN),
        _ => Err(Diagnostic::error(codes::CONSTANT, "expected a real number").with_primary(v.span, "")),
    }
}

/// An integer operand that must fit the argument field.
pub fn small_int(v: &Spanned<Value>, what: &str) -> Result<u32, Diagnostic> {
    match &v.node {
        Value::Int(i) => u32::try_from(i.clone()).map_err(|_| {
            Diagnostic::error(codes::OUT_OF_RANGE, format!("{what} {i} is out of range"))
                .with_primary(v.span, "must be between 0 and 4294967295")
        }),
        Value::Raw(r) => Ok(*r),
        _ => Err(Diagnostic::error(codes::OPERAND, format!("expected {what}")).with_primary(v.span, "")),
    }
}
