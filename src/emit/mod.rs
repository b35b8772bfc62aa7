//! The encoder: turns resolved, verified code into bytes — instruction layout (EXTENDED_ARG,
//! CACHE units, jump offsets), the location and exception tables, marshal and the pyc header.

pub mod exceptions;
pub mod linetable;
pub mod lnotab;
pub mod marshal;
pub mod pyc;
pub mod layout;
