//! The Python extension module `pyasm._pyasm` (cargo feature `python`, built by maturin from
//! pyproject.toml): a thin layer over the library, one function per library entry point. It
//! takes and returns plain data — bytes, strings, dicts — and the Python package
//! (`python/pyasm/`) makes its API of them: exceptions, warnings, code objects, functions.
//!
//! Each call that assembles or disassembles releases the GIL while the library works
//! (`Python::detach`): the inputs are copied out of Python objects first and the results
//! converted after, so Python threads can use pyasm in parallel.

mod convert;

use pyo3::prelude::*;

#[pymodule]
mod _pyasm {
    use super::convert;
    use crate::version::PythonVersion;
    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;

    /// A version given as `"3.11"`.
    fn version(v: &str) -> PyResult<PythonVersion> {
        v.parse::<PythonVersion>().map_err(PyValueError::new_err)
    }

    /// Assembles `sources` (name, UTF-8 bytes) together into one module, as the command line
    /// does with several files. `python` overrides the files' `.python`; `default_python`
    /// applies when neither names one. `mtime` goes into the pyc header, with the sources'
    /// total size.
    #[pyfunction]
    #[pyo3(signature = (sources, python=None, default_python=None, mtime=0, listing=false))]
    fn assemble(
        py: Python<'_>,
        sources: Vec<(String, Vec<u8>)>,
        python: Option<&str>,
        default_python: Option<&str>,
        mtime: u32,
        listing: bool,
    ) -> PyResult<convert::Assembled> {
        let opts = crate::Options {
            version: python.map(version).transpose()?,
            default_version: default_python.map(version).transpose()?,
            filename: None,
            listing,
            ..Default::default()
        };
        Ok(py.detach(move || convert::assemble(sources, &opts, mtime)))
    }

    /// Disassembles a .pyc (bytes 2–3 are `\r\n`, as after every magic number) or else
    /// marshalled code of the version `python`.
    #[pyfunction]
    fn disassemble(py: Python<'_>, data: Vec<u8>, python: &str) -> PyResult<convert::Disassembled> {
        let python = version(python)?;
        Ok(py.detach(move || convert::disassemble(&data, python)))
    }

    /// What an instruction does (`pyasm explain`); `ValueError` for one that is unknown.
    #[pyfunction]
    fn explain(opname: &str, python: &str) -> PyResult<String> {
        crate::explain::explain(opname, convert::table(version(python)?)?).map_err(PyValueError::new_err)
    }

    /// Every instruction of a version, one line each (`pyasm explain --list`).
    #[pyfunction]
    fn instructions(python: &str) -> PyResult<String> {
        Ok(crate::explain::list(convert::table(version(python)?)?))
    }

    /// The versions pyasm can target, oldest first: `["3.6", …]`.
    #[pyfunction]
    fn versions() -> Vec<String> {
        crate::version::supported().map(|v| v.to_string()).collect()
    }

    /// The IDs of the code objects a source defines, in order (`<module>` included).
    #[pyfunction]
    fn code_ids(source: &str) -> Vec<String> {
        convert::code_ids(source)
    }

    /// Runs the `pyasm` command line (`argv[0]` is the program name) in this process, with
    /// the GIL released, and returns its exit status: the binary's behaviour, for the `pyasm`
    /// console script and `python -m pyasm`.
    #[pyfunction]
    fn cli_main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
        py.detach(move || {
            let status = crate::cli::main(argv);
            // A binary's standard output is flushed when it exits; here the process goes on.
            let _ = std::io::Write::flush(&mut std::io::stdout());
            status
        })
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
