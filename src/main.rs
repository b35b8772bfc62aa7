//! The `pyasm` command: the command line lives in the library (`pyasm::cli`), so that other
//! hosts can run it too; this only passes the process's arguments and exit status.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(pyasm::cli::main(std::env::args_os()))
}
