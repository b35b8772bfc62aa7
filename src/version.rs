//! Python versions pyasm knows about.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    pub const fn new(major: u8, minor: u8) -> PythonVersion {
        PythonVersion { major, minor }
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for PythonVersion {
    type Err = String;
    /// Accepts `3.11` and `3.11.7` (the micro part is ignored).
    fn from_str(s: &str) -> Result<PythonVersion, String> {
        let bad = || format!("`{s}` is not a Python version (write it like 3.11)");
        let mut parts = s.trim().split('.');
        let major: u8 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let minor: u8 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        Ok(PythonVersion::new(major, minor))
    }
}

/// The versions that have an instruction table, oldest first.
pub fn supported() -> impl Iterator<Item = PythonVersion> {
    crate::opcodes::TABLES.iter().map(|t| t.version)
}

pub fn newest_supported() -> PythonVersion {
    supported().last().expect("at least one version table")
}
