# The difftest driver: one long-lived interpreter process of the version under test that
# compiles snippets and runs .pyc files on request, so that a campaign does not pay an
# interpreter start per program. Written for every version pyasm targets (3.6 on), native
# or pyodide.
#
# Protocol: one command per line on stdin (words separated by tabs), one reply line on stdout.
#   compile SRC OUT   -> "ok" | "error HEX"     compile SRC with this interpreter, write OUT.pyc
#   run PYC TIMEOUT   -> "result STATUS SIGNAL TIMEDOUT HEX"
#   quit
# HEX is hex-encoded UTF-8 text (a message or the tail of the program's stderr). STATUS is the
# exit status (0 clean, 1 an uncaught exception), SIGNAL the signal that killed the program
# (0 if none), TIMEDOUT 1 when it ran past TIMEOUT seconds and was stopped.
#
# Natively each program runs in a forked child (a crash kills only the child): stdout goes to
# /dev/null, stderr to a pipe of which the parent keeps the tail, the address space is limited
# and faulthandler prints the Python frame that was running when a fatal signal came. Pyodide
# cannot fork, so there the program runs in this process with its output captured; a crash
# ends the process, which the caller notices (end of stdout) and restarts.
import binascii
import builtins
import marshal
import os
import sys

TAIL = 4096
MEMORY_LIMIT = 2 * 1024 * 1024 * 1024
REPLY = sys.stdout


def hexed(text):
    if isinstance(text, str):
        text = text.encode("utf-8", "replace")
    return binascii.hexlify(text[-TAIL:]).decode("ascii") or "-"


def reply(line):
    REPLY.write(line + "\n")
    REPLY.flush()


def pyc_header():
    import importlib.util
    magic = importlib.util.MAGIC_NUMBER
    if sys.version_info >= (3, 7):
        return magic + b"\0\0\0\0" + b"\0" * 8
    return magic + b"\0" * 8


def compile_one(src, out):
    try:
        with open(src, "rb") as f:
            source = f.read()
        code = compile(source, os.path.basename(src), "exec", dont_inherit=True)
        with open(out, "wb") as f:
            f.write(pyc_header() + marshal.dumps(code))
        reply("ok")
    except BaseException as e:  # a snippet this version cannot compile
        reply("error " + hexed("%s: %s" % (type(e).__name__, e)))


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    return marshal.loads(data[len(pyc_header()):])


def exec_main(code):
    """Runs `code` as __main__ would run; returns the exit status."""
    main = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(code, main)
    except SystemExit as e:
        if e.code is None:
            return 0
        return e.code & 0xFF if isinstance(e.code, int) else 1
    except BaseException:
        try:
            import traceback
            traceback.print_exc()
        except BaseException:
            pass
        return 1
    return 0


def run_forked(path, timeout):
    import select
    import signal
    import time
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(write_end, 2)
            try:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
            except BaseException:
                pass
            import faulthandler
            faulthandler.enable(file=sys.stderr, all_threads=False)
            status = exec_main(load(path))
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                pass
            os._exit(status)
        except BaseException:
            os._exit(1)
    os.close(write_end)
    tail = b""
    deadline = time.time() + timeout
    timed_out = False
    while True:
        left = deadline - time.time()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([read_end], [], [], left)
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            tail = (tail + chunk)[-TAIL:]
    os.close(read_end)
    _, wstatus = os.waitpid(pid, 0)
    sig = os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else 0
    status = os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else 0
    if timed_out:
        sig = 0
    reply("result %d %d %d %s" % (status, sig, 1 if timed_out else 0, hexed(tail)))


class Capped(object):
    """A text stream that keeps only the last TAIL characters written to it."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text = (self.text + str(s))[-TAIL:]
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return False


def run_inline(path):
    saved = sys.stdout, sys.stderr
    err = Capped()
    sys.stdout, sys.stderr = Capped(), err
    try:
        status = exec_main(load(path))
    finally:
        sys.stdout, sys.stderr = saved
    reply("result %d 0 0 %s" % (status, hexed(err.text)))


def main():
    fork = hasattr(os, "fork") and sys.platform not in ("emscripten", "wasi")
    reply("ready %d.%d %s" % (sys.version_info[0], sys.version_info[1], "fork" if fork else "inline"))
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        words = line.rstrip("\n").split("\t")
        if words[0] == "compile":
            compile_one(words[1], words[2])
        elif words[0] == "run":
            if fork:
                run_forked(words[1], float(words[2]))
            else:
                run_inline(words[1])
        elif words[0] == "quit":
            return
        else:
            reply("error " + hexed("unknown command " + words[0]))


main()
