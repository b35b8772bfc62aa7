// Placeholder until tools/gen_opcodes.py writes the real table.
use super::*;
pub static TABLE: VersionTable = VersionTable {
    version: PythonVersion::new(3, 11),
    magic: 3495,
    marshal_version: 4,
    opcodes: &[],
    pseudo_jumps: &[],
    binary_ops: &[],
    compare_ops: &[],
    extended_arg: 144,
    cache: 0,
};
