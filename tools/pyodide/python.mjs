// A `python3` command line for CPython compiled to WebAssembly (pyodide), run by node.
//
//     node python.mjs --pyodide DIR [-B] [-u] [-E] [-I] [-s] [-S] [-q] [-X OPT] [-W ARG]
//                     (-c CODE | -m MODULE | FILE.py | FILE.pyc | -) [ARGS...]
//
// DIR is an `npm install --prefix DIR pyodide@VERSION` folder (or a bare VERSION, looked up
// beside this file). pyasm writes this file into its cache and calls it through
// `pyasm::interpreters::Interpreter::command`, so tests and `pyasm run` can treat pyodide as
// one more `python3`: same arguments, same byte-exact stdout/stderr, same exit status.
//
// Pyodide has its own in-memory file system. The current folder and the folder of every
// argument that looks like a path are mounted from the host at the same path, so paths mean
// the same inside and outside. Nothing is fetched from the network: only the stdlib shipped
// in the npm package is available (modules pyodide "unvendors", like sqlite3 or ssl, are not).
//
// Things the emulation does not do: subprocesses, signals, threads (pyodide cannot); a REPL;
// options other than the ones above (they are rejected with status 2, as python rejects
// unknown ones). Only -X utf8 of the -X options has an effect.

import fs from "node:fs";
import path from "node:path";
import { isatty } from "node:tty";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, isMainThread, workerData } from "node:worker_threads";

const HERE = path.dirname(fileURLToPath(import.meta.url));

// Python runs in a worker thread because only a worker's stack size can be chosen: CPython
// compiled to WebAssembly recurses on node's stack, and node's default (under 1 MB) is
// exhausted — a fatal error, not a RecursionError — by programs that native CPython runs
// within its recursion limit (nested data structures, deep repr and marshal calls).
const STACK_MB = 256;

// Messages go straight to the file descriptor: a worker's process.stderr is relayed through
// the main thread and would be lost by process.exit.
function say(message) {
  writeAll(2, Buffer.from(message));
}

function usage(message) {
  say(`python.mjs: ${message}\nusage: node python.mjs --pyodide DIR [options] (-c CODE | -m MODULE | FILE | -) [ARGS...]\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// The command line, read the way python reads it: options until the first non-option, which
// is the program; everything after the program belongs to it.

function parseArgs(argv) {
  const opts = { pyodide: null, flags: new Set(), xoptions: [], warnings: [], mode: null, target: null, rest: [] };
  let i = 0;
  if (argv[0] === "--pyodide") {
    opts.pyodide = argv[1];
    i = 2;
  } else if (argv[0] && argv[0].startsWith("--pyodide=")) {
    opts.pyodide = argv[0].slice("--pyodide=".length);
    i = 1;
  }
  if (!opts.pyodide) usage("the first argument must be --pyodide DIR");
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-" || !a.startsWith("-")) {
      opts.mode = a === "-" ? "stdin" : "file";
      opts.target = a;
      opts.rest = argv.slice(i + 1);
      return opts;
    }
    if (a === "--") {
      if (i + 1 >= argv.length) usage("-- must be followed by a program");
      opts.mode = argv[i + 1] === "-" ? "stdin" : "file";
      opts.target = argv[i + 1];
      opts.rest = argv.slice(i + 2);
      return opts;
    }
    // A cluster of one-letter options, like python's `-Bu`; -c, -m, -X and -W take the rest
    // of the cluster or the next argument as their value.
    for (let j = 1; j < a.length; j++) {
      const letter = a[j];
      if ("cmXW".includes(letter)) {
        let value = a.slice(j + 1);
        if (value === "") {
          i += 1;
          if (i >= argv.length) usage(`Argument expected for the -${letter} option`);
          value = argv[i];
        }
        if (letter === "c" || letter === "m") {
          opts.mode = letter === "c" ? "code" : "module";
          opts.target = value;
          opts.rest = argv.slice(i + 1);
          return opts;
        }
        (letter === "X" ? opts.xoptions : opts.warnings).push(value);
        break;
      }
      // -B, -u, -E and -I take effect; -s, -S and -q change nothing that matters here.
      // Options that cannot be honoured once pyodide is built (-O, -d, …) are refused.
      if (!"BuEIsSq".includes(letter)) usage(`Unknown option: -${letter}`);
      opts.flags.add(letter);
    }
  }
  // No program: python would start a REPL, or read the program from a non-terminal stdin.
  opts.mode = "stdin";
  opts.target = "-";
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Host folders to mount: the current folder and the folder of each path-like argument. Pyodide
// keeps its own /lib (the stdlib), /dev, /proc and /sys; mounting over them would break it.

const RESERVED = ["/lib", "/dev", "/proc", "/sys"];

function isReserved(dir) {
  return dir === "/" || RESERVED.some((r) => dir === r || dir.startsWith(r + "/"));
}

/// The folder to mount for one argument, or null when it does not name a host path. An
/// argument names a path when it exists, or contains a slash and its nearest existing
/// ancestor is a folder (an output file that is not there yet).
function folderFor(arg) {
  if (!arg || arg.includes("\0")) return null;
  let p = path.resolve(arg);
  let stat = null;
  try {
    stat = fs.statSync(p);
  } catch {
    if (!arg.includes("/")) return null;
  }
  if (stat && stat.isDirectory()) return p;
  p = path.dirname(p);
  for (;;) {
    try {
      if (fs.statSync(p).isDirectory()) return p;
    } catch {
      /* keep climbing */
    }
    const up = path.dirname(p);
    if (up === p) return null;
    p = up;
  }
}

function mountsFor(opts) {
  const candidates = [process.cwd()];
  const args = opts.mode === "file" ? [opts.target, ...opts.rest] : opts.rest;
  for (const a of args) {
    candidates.push(a);
    // `--out=PATH` style options name a path after the `=`.
    const eq = a.indexOf("=");
    if (a.startsWith("-") && eq > 0) candidates.push(a.slice(eq + 1));
  }
  const folders = candidates.map((c, k) => (k === 0 ? c : folderFor(c))).filter((d) => d && !isReserved(d));
  // Shortest first, so that a folder inside one already mounted is skipped: it is visible
  // through its ancestor, and a second mount would shadow it.
  const unique = [...new Set(folders)].sort((a, b) => a.length - b.length);
  const chosen = [];
  for (const d of unique) {
    if (!chosen.some((c) => d === c || d.startsWith(c.endsWith("/") ? c : c + "/"))) chosen.push(d);
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------
// Byte-exact output. fs.writeSync is synchronous, so output is in order with respect to the
// program's own flushes; a full pipe (EAGAIN) is waited out rather than dropping bytes.

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd, bytes) {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
  return bytes.length;
}

function readSome(buffer) {
  for (;;) {
    try {
      return fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 2);
        continue;
      }
      if (e.code === "EOF" || e.code === "EBADF") return 0;
      throw e;
    }
  }
}

/// Older pyodide (before 0.25) only offers per-byte callbacks: collect bytes and write them at
/// each newline, when the other stream writes, and at exit.
function byteSink(fd, others) {
  const sink = {
    buf: Buffer.alloc(8192),
    len: 0,
    flush() {
      if (sink.len) writeAll(fd, sink.buf.subarray(0, sink.len));
      sink.len = 0;
    },
    put(byte) {
      for (const o of others) o.flush();
      if (byte < 0) byte += 256;
      sink.buf[sink.len++] = byte;
      if (byte === 10 || sink.len === sink.buf.length) sink.flush();
    },
  };
  return sink;
}

function setUpStreams(py, versionParts, tty) {
  const modern = versionParts[0] > 0 || versionParts[1] >= 25;
  const stdoutTTY = tty.stdout;
  const stderrTTY = tty.stderr;
  if (modern) {
    py.setStdout({ write: (b) => writeAll(1, b), isatty: stdoutTTY });
    py.setStderr({ write: (b) => writeAll(2, b), isatty: stderrTTY });
    py.setStdin({ read: (b) => readSome(b), isatty: tty.stdin });
    return () => {};
  }
  const others = [];
  const out = byteSink(1, others);
  const err = byteSink(2, [out]);
  others.push(err);
  py.setStdout({ raw: out.put, isatty: stdoutTTY });
  py.setStderr({ raw: err.put, isatty: stderrTTY });
  const chunk = Buffer.alloc(65536);
  py.setStdin({
    stdin: () => {
      const n = readSome(chunk);
      return n === 0 ? null : new Uint8Array(chunk.subarray(0, n));
    },
    autoEOF: false,
  });
  return () => {
    out.flush();
    err.flush();
  };
}

// ---------------------------------------------------------------------------------------------
// The program itself runs in Python, under a driver that does what python's main does: set
// sys.argv and sys.path[0], run the code as __main__, turn SystemExit into the exit status,
// print an uncaught exception's traceback (without the driver's own frame), run atexit
// handlers and flush. The driver returns the exit status.

const DRIVER = String.raw`
def _pyasm_driver(params):
    import atexit, importlib.machinery, importlib.util, marshal, os, sys, types

    def status_of(exc):
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        # sys.exit("message"): python prints the message and exits with 1.
        try:
            sys.stderr.write(str(code) + "\n")
        except Exception:
            pass
        return 1

    def report(exc, tb):
        # The hook prints the exception's own __traceback__, so trim that one.
        exc.__traceback__ = tb
        try:
            if sys.excepthook is sys.__excepthook__:
                # Pyodide's built-in hook leaves out the source lines that python's shows;
                # the traceback module prints the same text with them.
                import traceback
                traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
            else:
                sys.excepthook(type(exc), exc, tb)
        except Exception:
            pass

    for k, v in params["environ"].items():
        os.environ[k] = v
    if params["dont_write_bytecode"]:
        sys.dont_write_bytecode = True
    for w in params["warnings"]:
        sys.warnoptions.append(w)
    if params["warnings"]:
        import warnings
        warnings._processoptions(params["warnings"])

    mode, target = params["mode"], params["target"]
    sys.argv = [target if mode == "file" else "-c" if mode == "code" else "-" if mode == "stdin" else target] + params["rest"]
    main = types.ModuleType("__main__")
    import builtins
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main

    status = 0
    try:
        try:
            if mode == "module":
                import runpy
                sys.argv[0] = "-m"
                sys.path.insert(0, os.getcwd())
                runpy._run_module_as_main(target, alter_argv=True)
            else:
                if mode == "file":
                    try:
                        with open(target, "rb") as f:
                            data = f.read()
                    except OSError as e:
                        sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n"
                                         % (params["program"], os.path.abspath(target), e.errno, e.strerror))
                        return 2
                    # python names the main script by its absolute path (__file__, tracebacks).
                    filename = os.path.abspath(target)
                    sys.path.insert(0, os.path.dirname(filename))
                    main.__file__ = filename
                    main.__cached__ = None
                    if target.endswith(".pyc") or data[:4] == importlib.util.MAGIC_NUMBER:
                        if data[:4] != importlib.util.MAGIC_NUMBER:
                            report(RuntimeError("Bad magic number in .pyc file"), None)
                            return 1
                        main.__loader__ = importlib.machinery.SourcelessFileLoader("__main__", filename)
                        code = marshal.loads(data[16:])
                    else:
                        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", filename)
                        code = compile(data, filename, "exec", dont_inherit=True)
                else:
                    if mode == "stdin":
                        data = sys.stdin.buffer.read()
                        filename = "<stdin>"
                    else:
                        data = target
                        filename = "<string>"
                    sys.path.insert(0, "")
                    main.__loader__ = importlib.machinery.BuiltinImporter
                    code = compile(data, filename, "exec", dont_inherit=True)
                exec(code, main.__dict__)
        except SyntaxError as e:
            if e.__traceback__ is not None and e.__traceback__.tb_next is None:
                # The program's own compile() failed: python shows no traceback for that.
                report(e, None)
                return 1
            raise
    except SystemExit as e:
        status = status_of(e)
    except BaseException as e:
        report(e, e.__traceback__.tb_next if e.__traceback__ else None)
        status = 1
    finally:
        try:
            atexit._run_exitfuncs()
        except SystemExit as e:
            status = status_of(e)
        except BaseException:
            pass
        for stream in (sys.stdout, sys.stderr):
            if stream is None or getattr(stream, "closed", False):
                continue
            try:
                stream.flush()
            except Exception:
                # python exits with 120 when it cannot flush stdout at exit.
                status = 120 if status == 0 else status
    return status
`;

// Variables that configure the host's python and would point this one at host paths.
const HOST_ONLY = new Set(["HOME", "PWD", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONPLATLIBDIR", "PYTHONEXECUTABLE", "PYTHONSAFEPATH"]);

async function main(argv, tty) {
  const opts = parseArgs(argv);
  const prefix = opts.pyodide.includes("/") ? path.resolve(opts.pyodide) : path.join(HERE, opts.pyodide);
  const entry = path.join(prefix, "node_modules", "pyodide", "pyodide.mjs");
  if (!fs.existsSync(entry)) usage(`no pyodide installed in ${prefix} (missing ${entry})`);

  // Pyodide loads everything from its package folder; a request to the network would be a
  // mistake (fullStdLib is off below), so fail it loudly instead of waiting on it.
  const localFetch = globalThis.fetch;
  globalThis.fetch = (url, init) => {
    const u = String(url && url.url ? url.url : url);
    if (/^https?:/i.test(u)) return Promise.reject(new Error(`python.mjs: network access refused: ${u}`));
    return localFetch(url, init);
  };

  const environ = {};
  // -E and -I make python ignore every PYTHON* variable.
  const ignorePython = opts.flags.has("E") || opts.flags.has("I");
  for (const [k, v] of Object.entries(process.env)) {
    if (!HOST_ONLY.has(k) && !(ignorePython && k.startsWith("PYTHON"))) environ[k] = v;
  }
  // Variables python reads while starting (PYTHONHASHSEED, PYTHONUNBUFFERED, …) only take
  // effect when given to loadPyodide; the options that mean the same are passed that way too.
  const startEnv = { HOME: "/home/pyodide", ...environ };
  if (opts.flags.has("u")) startEnv.PYTHONUNBUFFERED = "1";
  if (opts.flags.has("B")) startEnv.PYTHONDONTWRITEBYTECODE = "1";
  if (opts.xoptions.includes("utf8")) startEnv.PYTHONUTF8 = "1";

  const { loadPyodide } = await import(pathToFileURL(entry).href);
  const quiet = () => {};
  let py;
  try {
    py = await loadPyodide({ indexURL: path.dirname(entry) + "/", fullStdLib: false, env: startEnv, stdout: quiet, stderr: quiet });
  } catch (e) {
    say(`python.mjs: pyodide did not start: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  }
  const versionParts = String(py.version).split(".").map((x) => parseInt(x, 10) || 0);
  const finish = setUpStreams(py, versionParts, tty);

  for (const dir of mountsFor(opts)) {
    try {
      py.FS.mkdirTree(dir);
      py.FS.mount(py.FS.filesystems.NODEFS, { root: dir }, dir);
    } catch (e) {
      say(`python.mjs: cannot mount ${dir}: ${e && e.message ? e.message : e}\n`);
    }
  }
  try {
    py.FS.chdir(process.cwd());
  } catch {
    /* the current folder was not mountable (it is / or reserved): stay in pyodide's home */
  }

  const params = {
    mode: opts.mode,
    target: opts.target,
    rest: opts.rest,
    environ,
    warnings: opts.warnings,
    dont_write_bytecode: opts.flags.has("B"),
    program: "python3",
  };
  let status;
  try {
    const ns = py.toPy({});
    py.runPython(DRIVER, { globals: ns });
    const driver = ns.get("_pyasm_driver");
    status = driver(py.toPy(params));
  } catch (e) {
    // Only a failure of the driver itself gets here (the program's own exceptions are
    // printed by the driver). Print pyodide's message only: the whole error object would
    // make node print megabytes of minified source.
    finish();
    say(`python.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  }
  finish();
  process.exit(typeof status === "number" ? status : 1);
}

if (isMainThread) {
  // Whether the real streams are terminals is only known here (a worker's are relays).
  // Asked of the descriptors, not process.stdin & co: creating those streams can switch a
  // pipe to non-blocking mode.
  const tty = { stdin: isatty(0), stdout: isatty(1), stderr: isatty(2) };
  const worker = new Worker(fileURLToPath(import.meta.url), {
    workerData: { argv: process.argv.slice(2), tty },
    resourceLimits: { stackSizeMb: STACK_MB },
  });
  // process.exit(status) in the worker ends it with that exit code.
  worker.on("exit", (code) => process.exit(code));
  worker.on("error", (e) => {
    say(`python.mjs: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  });
} else {
  main(workerData.argv, workerData.tty);
}
